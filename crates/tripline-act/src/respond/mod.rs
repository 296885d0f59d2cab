//! Blocking responses, their safety rules, and rule translation.
