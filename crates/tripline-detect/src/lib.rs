//! tripline-detect
