//! Who started a conversation, and how a probed TCP handshake ended.
//!
//! Only packet captures need this: a firewall log line already says whether
//! a packet was new or dropped. For a capture, a UDP datagram that answers
//! an earlier one is a reply, not a probe; a bare ACK on a connection whose
//! handshake was seen is traffic, not an ACK probe; and after a SYN-ACK the
//! scanner either resets (half-open SYN scan) or completes the handshake
//! (`connect()` scan). The table is keyed by a hash of the conversation's
//! endpoints, capped, and forgets the oldest entries first (counted).

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::net::IpAddr;
use tripline_core::{Header, TcpFlags, Transport, ip_proto};

/// How far a conversation got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// The initiator's first packet (SYN, or a UDP datagram) was seen.
    Opened,
    /// The responder answered with SYN-ACK.
    SynAck,
    /// The handshake completed or was reset; later segments are traffic.
    Done,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    /// True when the lower (address, port) endpoint started it.
    lower_started: bool,
    stage: Stage,
}

/// What a packet means for a probed handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to report.
    None,
    /// The packet answers the other side (a reply, not a probe).
    Reply,
    /// The initiator reset after the SYN-ACK: half-open.
    HalfOpen,
    /// The initiator completed the handshake.
    Completed,
    /// A bare ACK outside any conversation seen (an ACK probe candidate).
    Stray,
}

/// The bounded conversation table; see the module documentation.
pub struct HandshakeTable {
    cap: usize,
    map: HashMap<u64, Entry, foldhash::fast::FixedState>,
    order: VecDeque<u64>,
    hasher: foldhash::fast::FixedState,
    forgotten: u64,
}

fn endpoint_order(h: &Header, sport: u16, dport: u16) -> bool {
    (h.src, sport) < (h.dst, dport)
}

impl HandshakeTable {
    /// A table holding at most `cap` conversations.
    pub fn new(cap: usize) -> Self {
        HandshakeTable {
            cap: cap.max(1),
            map: HashMap::with_hasher(foldhash::fast::FixedState::with_seed(0x7c9)),
            order: VecDeque::new(),
            hasher: foldhash::fast::FixedState::with_seed(0x51d),
            forgotten: 0,
        }
    }

    /// Conversations forgotten because of the cap.
    pub fn forgotten(&self) -> u64 {
        self.forgotten
    }

    /// Approximate bytes held.
    pub fn bytes(&self) -> usize {
        self.map.capacity() * (std::mem::size_of::<(u64, Entry)>() + 1) + self.order.capacity() * 8
    }

    fn key(&self, proto: u8, a: (IpAddr, u16), b: (IpAddr, u16)) -> u64 {
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        self.hasher.hash_one((proto, lo, hi))
    }

    fn insert(&mut self, key: u64, e: Entry) {
        if self.map.insert(key, e).is_none() {
            self.order.push_back(key);
            while self.map.len() > self.cap {
                match self.order.pop_front() {
                    Some(old) => {
                        if self.map.remove(&old).is_some() {
                            self.forgotten += 1;
                        }
                    }
                    None => break,
                }
            }
        }
        // Keep the order queue from growing with keys already removed.
        if self.order.len() > self.cap * 2 {
            let map = &self.map;
            self.order.retain(|k| map.contains_key(k));
        }
    }

    /// Updates the table with one captured packet and says what it means.
    pub fn observe(&mut self, h: &Header) -> Outcome {
        let (sport, dport) = match h.transport {
            Transport::Tcp(t) => (t.sport, t.dport),
            Transport::Udp(u) => (u.sport, u.dport),
            _ => return Outcome::None,
        };
        let key = self.key(h.protocol, (h.src, sport), (h.dst, dport));
        let src_is_lower = endpoint_order(h, sport, dport);
        let entry = self.map.get(&key).copied();
        let from_initiator = entry.map(|e| e.lower_started == src_is_lower);
        if h.protocol == ip_proto::UDP {
            return match from_initiator {
                Some(false) => Outcome::Reply,
                Some(true) => Outcome::None,
                None => {
                    self.insert(
                        key,
                        Entry {
                            lower_started: src_is_lower,
                            stage: Stage::Opened,
                        },
                    );
                    Outcome::None
                }
            };
        }
        let Transport::Tcp(t) = h.transport else {
            return Outcome::None;
        };
        let f = t.flags.0 & 0x3f;
        let syn = f & TcpFlags::SYN != 0;
        let ack = f & TcpFlags::ACK != 0;
        let rst = f & TcpFlags::RST != 0;
        match (entry, from_initiator) {
            (None, _) if syn && !ack => {
                self.insert(
                    key,
                    Entry {
                        lower_started: src_is_lower,
                        stage: Stage::Opened,
                    },
                );
                Outcome::None
            }
            (None, _) if f == TcpFlags::ACK => Outcome::Stray,
            (None, _) => Outcome::None,
            (Some(mut e), Some(false)) => {
                if syn && ack && e.stage == Stage::Opened {
                    e.stage = Stage::SynAck;
                    self.map.insert(key, e);
                }
                Outcome::Reply
            }
            (Some(mut e), _) => {
                if e.stage != Stage::SynAck {
                    return Outcome::None;
                }
                e.stage = Stage::Done;
                self.map.insert(key, e);
                if rst && !ack {
                    Outcome::HalfOpen
                } else if ack && !syn && !rst {
                    Outcome::Completed
                } else {
                    Outcome::None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripline_core::{TcpFields, UdpFields};

    fn tcp(src: &str, sp: u16, dst: &str, dp: u16, flags: u8) -> Header {
        Header {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            protocol: ip_proto::TCP,
            transport: Transport::Tcp(TcpFields {
                sport: sp,
                dport: dp,
                flags: TcpFlags(flags),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn half_open_and_connect() {
        use TcpFlags as T;
        let mut t = HandshakeTable::new(16);
        let (a, b) = ("10.99.2.66", "10.99.1.3");
        assert_eq!(t.observe(&tcp(a, 40000, b, 22, T::SYN)), Outcome::None);
        assert_eq!(
            t.observe(&tcp(b, 22, a, 40000, T::SYN | T::ACK)),
            Outcome::Reply
        );
        assert_eq!(t.observe(&tcp(a, 40000, b, 22, T::RST)), Outcome::HalfOpen);
        assert_eq!(t.observe(&tcp(a, 40001, b, 80, T::SYN)), Outcome::None);
        t.observe(&tcp(b, 80, a, 40001, T::SYN | T::ACK));
        assert_eq!(t.observe(&tcp(a, 40001, b, 80, T::ACK)), Outcome::Completed);
        assert_eq!(t.observe(&tcp(a, 40001, b, 80, T::ACK)), Outcome::None);
        assert_eq!(t.observe(&tcp(a, 40002, b, 81, T::ACK)), Outcome::Stray);
    }

    #[test]
    fn udp_replies_and_cap() {
        let mut t = HandshakeTable::new(2);
        let udp = |src: &str, sp, dst: &str, dp| Header {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            protocol: ip_proto::UDP,
            transport: Transport::Udp(UdpFields {
                sport: sp,
                dport: dp,
                len: 8,
            }),
            ..Default::default()
        };
        assert_eq!(
            t.observe(&udp("10.99.1.3", 5000, "10.99.2.53", 53)),
            Outcome::None
        );
        assert_eq!(
            t.observe(&udp("10.99.2.53", 53, "10.99.1.3", 5000)),
            Outcome::Reply
        );
        t.observe(&udp("10.99.1.3", 5001, "10.99.2.53", 53));
        t.observe(&udp("10.99.1.3", 5002, "10.99.2.53", 53));
        assert_eq!(t.forgotten(), 1);
        // The first conversation was forgotten: its reply now looks new.
        assert_eq!(
            t.observe(&udp("10.99.2.53", 53, "10.99.1.3", 5000)),
            Outcome::None
        );
    }
}
