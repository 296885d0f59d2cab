//! tripline-store
