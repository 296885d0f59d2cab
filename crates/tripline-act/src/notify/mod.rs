//! Notification channels and noise control.
