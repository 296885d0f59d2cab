//! tripline's outputs that act on alerts.
//!
//! * [`notify`]: channels that tell people (email, syslog, webhook, exec),
//!   behind noise control that is on by default.
//! * [`respond`]: responses that block sources, with the safety rules
//!   enforced in one place, and translation of signatures to firewall rules.

pub mod notify;
pub mod respond;
