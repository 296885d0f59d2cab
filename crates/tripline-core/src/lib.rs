//! The vocabulary every tripline crate speaks.
//!
//! `tripline-core` has no I/O. It defines the one [`Header`] model that both a
//! captured packet and a netfilter LOG line decode into, the [`Record`] stream
//! that sources produce and the engine consumes, and the [`Connection`] and
//! [`Alert`] values that outputs store and print.

pub mod alert;
pub mod auth;
pub mod connection;
pub mod dns;
pub mod header;
pub mod homenet;
pub mod input_error;
pub mod record;
pub mod time;

pub use alert::{Alert, Severity};
pub use auth::{AuthEvent, AuthLog};
pub use connection::{ConnOrigin, ConnState, Connection, Direction};
pub use dns::{DnsAnswer, DnsData, DnsEvent, DnsLog, DnsOrigin};
pub use header::{
    Header, IcmpFields, IpFields, OptionBytes, TcpFields, TcpFlags, Transport, UdpFields, ip_proto,
};
pub use homenet::{Cidr, CidrParseError, HomeNets};
pub use input_error::{ErrorKind, InputError, Location};
pub use record::{FirewallLog, LinkInfo, Packet, Record, TripwireHit};
pub use time::Timestamp;
