//! The flow view signatures need: who is the client, whether the flow is
//! established (Suricata's meaning: a completed TCP handshake, or a
//! UDP/ICMP flow seen both ways), bytes per side, and the flow's flowbits.
//! Bounded: least recently used flows are evicted.

use crate::lru::LruMap;
use std::net::IpAddr;
use tripline_core::{Header, Timestamp, Transport};
use tripline_rules::FlowBits;
use tripline_rules::matcher::FlowContext;

/// A flow's identity, the same for both directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct FlowKey {
    lo: (IpAddr, u16),
    hi: (IpAddr, u16),
    proto: u8,
}

impl FlowKey {
    pub(crate) fn of(h: &Header) -> FlowKey {
        let (sp, dp) = ports(h);
        let a = (h.src, sp);
        let b = (h.dst, dp);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        FlowKey {
            lo,
            hi,
            proto: h.protocol,
        }
    }
}

fn ports(h: &Header) -> (u16, u16) {
    match h.transport {
        Transport::Tcp(t) => (t.sport, t.dport),
        Transport::Udp(u) => (u.sport, u.dport),
        Transport::Icmp(i) => (u16::from(i.icmp_type), 0),
        Transport::Other => (0, 0),
    }
}

/// TCP handshake progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Handshake {
    /// First packet was not a SYN (picked up mid-stream).
    Midstream,
    SynSent,
    SynAckSeen,
    /// Split handshake: the server sent its own SYN and the client answered
    /// with SYN/ACK; the server's ACK completes it.
    SplitSynAckSeen,
    Done,
}

/// What is kept per flow.
#[derive(Debug)]
pub(crate) struct SigFlow {
    client: (IpAddr, u16),
    handshake: Handshake,
    /// A packet from the client has been seen.
    seen_request: bool,
    seen_reply: bool,
    client_bytes: u64,
    server_bytes: u64,
    last: Timestamp,
    /// The flow's flowbits.
    pub bits: FlowBits,
}

/// Flow tracking options.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FlowOptions {
    /// Flows picked up without their handshake count as established
    /// (Suricata's `stream.midstream`).
    pub midstream: bool,
    /// Handshakes seen from one side only complete on that side's next
    /// packet (Suricata's `stream.async-oneside`).
    pub async_oneside: bool,
    /// A flow idle this long starts over.
    pub idle_timeout_ns: i64,
}

/// The bounded flow table.
pub(crate) struct SigFlows {
    map: LruMap<FlowKey, SigFlow>,
    opts: FlowOptions,
}

impl SigFlows {
    pub(crate) fn new(cap: usize, opts: FlowOptions) -> Self {
        SigFlows {
            map: LruMap::new(cap.max(1)),
            opts,
        }
    }

    pub(crate) fn evicted(&self) -> u64 {
        self.map.evicted()
    }

    /// A TCP flow as it stands when the input ends: a header in the asked
    /// direction (addresses and ports, other fields zero), the last time
    /// the flow was seen, its context, and its flowbits.
    pub(crate) fn at_end(
        &mut self,
        key: &FlowKey,
        to_server: bool,
    ) -> Option<(Header, Timestamp, FlowContext, &mut FlowBits)> {
        let midstream = self.opts.midstream;
        let f = self.map.get_mut(key)?;
        let server = if key.lo == f.client { key.hi } else { key.lo };
        let (src, dst) = if to_server {
            (f.client, server)
        } else {
            (server, f.client)
        };
        let header = Header {
            src: src.0,
            dst: dst.0,
            protocol: key.proto,
            ip: tripline_core::IpFields::default(),
            transport: Transport::Tcp(tripline_core::TcpFields {
                sport: src.1,
                dport: dst.1,
                ..tripline_core::TcpFields::default()
            }),
        };
        let ctx = FlowContext {
            to_server,
            established: f.handshake == Handshake::Done
                || (midstream && f.handshake == Handshake::Midstream),
            stream: true,
            reassembled_fragment: false,
            client_bytes: f.client_bytes,
            server_bytes: f.server_bytes,
            // A transaction, not a packet.
            repeat: true,
        };
        Some((header, f.last, ctx, &mut f.bits))
    }

    /// Updates the flow of `h` with one packet carrying `payload_len` bytes
    /// and returns the packet's flow context and the flow.
    pub(crate) fn observe(
        &mut self,
        ts: Timestamp,
        h: &Header,
        payload_len: usize,
    ) -> (FlowContext, &mut SigFlow) {
        let key = FlowKey::of(h);
        let (sp, dp) = ports(h);
        let tcp = h.tcp().copied();
        let opts = self.opts;
        let fresh = |ts| {
            // A SYN/ACK first means the receiver is the client; a TCP flow
            // picked up mid-stream whose first packet comes from the lower
            // port is taken to come from the server.
            let synack = tcp.is_some_and(|t| t.flags.0 & 0x12 == 0x12);
            let midstream_from_server = tcp.is_some_and(|t| t.flags.0 & 0x02 == 0) && sp < dp;
            let client = if synack || midstream_from_server {
                (h.dst, dp)
            } else {
                (h.src, sp)
            };
            let handshake = match tcp {
                Some(t) if t.flags.0 & 0x12 == 0x02 => Handshake::SynSent,
                Some(_) if synack => Handshake::SynAckSeen,
                _ => Handshake::Midstream,
            };
            SigFlow {
                client,
                handshake,
                seen_request: false,
                seen_reply: false,
                client_bytes: 0,
                server_bytes: 0,
                last: ts,
                bits: FlowBits::default(),
            }
        };
        let mut is_new = false;
        let f = self.map.get_or_insert_with(&key, || {
            is_new = true;
            fresh(ts)
        });
        let restart = !is_new
            && (ts.0.saturating_sub(f.last.0) > opts.idle_timeout_ns
                || (tcp.is_some_and(|t| t.flags.0 & 0x17 == 0x02)
                    && f.handshake == Handshake::Done));
        if restart {
            *f = fresh(ts);
            is_new = true;
        }
        f.last = f.last.max(ts);
        let to_server = (h.src, sp) == f.client;
        let seen = if to_server {
            &mut f.seen_request
        } else {
            &mut f.seen_reply
        };
        let repeat = std::mem::replace(seen, true);
        // As in Suricata, the packet that completes the handshake is not yet
        // "established" (the flow is updated before the stream engine runs);
        // the packets after it are, FIN and RST included.
        let was_done = f.handshake == Handshake::Done;
        if !is_new && let Some(t) = tcp {
            let flags = t.flags.0;
            let ack_only = flags & 0x10 != 0 && flags & 0x02 == 0;
            f.handshake = match (f.handshake, to_server) {
                (Handshake::SynSent, false) if flags & 0x12 == 0x12 => Handshake::SynAckSeen,
                (Handshake::SynSent, true) if flags & 0x12 == 0x12 => Handshake::SplitSynAckSeen,
                (Handshake::SynAckSeen, true) | (Handshake::SplitSynAckSeen, false) if ack_only => {
                    Handshake::Done
                }
                // One side only: the SYN's sender goes on (SYN, then ACK),
                // or the SYN/ACK's sender does (SYN/ACK, then ACK).
                (Handshake::SynSent, true) | (Handshake::SynAckSeen, false)
                    if opts.async_oneside && ack_only =>
                {
                    Handshake::Done
                }
                (h, _) => h,
            };
        }
        if to_server {
            f.client_bytes += payload_len as u64;
        } else {
            f.server_bytes += payload_len as u64;
        }
        let established = match tcp {
            Some(_) => was_done || (opts.midstream && f.handshake == Handshake::Midstream),
            None => f.seen_reply,
        };
        let ctx = FlowContext {
            to_server,
            established,
            stream: false,
            reassembled_fragment: h.ip.fragmented && !h.ip.is_fragment_piece(),
            client_bytes: f.client_bytes,
            server_bytes: f.server_bytes,
            repeat,
        };
        (ctx, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripline_core::{IpFields, TcpFields, TcpFlags};

    fn pkt(src: &str, sp: u16, dst: &str, dp: u16, flags: u8) -> Header {
        Header {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            protocol: 6,
            ip: IpFields::default(),
            transport: Transport::Tcp(TcpFields {
                sport: sp,
                dport: dp,
                flags: TcpFlags(flags),
                ..TcpFields::default()
            }),
        }
    }

    fn flows(midstream: bool) -> SigFlows {
        flows_with(midstream, false)
    }

    fn flows_with(midstream: bool, async_oneside: bool) -> SigFlows {
        SigFlows::new(
            16,
            FlowOptions {
                midstream,
                async_oneside,
                idle_timeout_ns: 600_000_000_000,
            },
        )
    }

    /// Steps of (header, expected to_server, expected established).
    fn run(f: &mut SigFlows, steps: &[(Header, bool, bool)]) {
        for (i, (h, to_server, est)) in steps.iter().enumerate() {
            let (ctx, _) = f.observe(Timestamp(i as i64), h, 10);
            assert_eq!(
                (ctx.to_server, ctx.established),
                (*to_server, *est),
                "step {i}"
            );
        }
    }

    #[test]
    fn split_handshake_is_established() {
        let (c, s) = ("1.1.1.1", "2.2.2.2");
        run(
            &mut flows(false),
            &[
                (pkt(c, 12345, s, 80, 0x02), true, false),
                (pkt(s, 80, c, 12345, 0x10), false, false),
                (pkt(s, 80, c, 12345, 0x02), false, false),
                (pkt(c, 12345, s, 80, 0x12), true, false),
                (pkt(s, 80, c, 12345, 0x10), false, false),
                (pkt(c, 12345, s, 80, 0x18), true, true),
            ],
        );
    }

    #[test]
    fn one_sided_sessions_only_with_async_oneside() {
        let (c, s) = ("10.0.1.150", "123.125.50.47");
        let steps = |est| {
            [
                (pkt(s, 143, c, 55774, 0x12), false, false),
                (pkt(s, 143, c, 55774, 0x18), false, false),
                (pkt(s, 143, c, 55774, 0x18), false, est),
            ]
        };
        run(&mut flows_with(true, false), &steps(false));
        run(&mut flows_with(true, true), &steps(true));
    }

    #[test]
    fn established_after_the_handshake() {
        let mut f = flows(false);
        let c = "10.0.0.1";
        let s = "10.0.0.2";
        let steps = [
            (pkt(c, 1000, s, 80, 0x02), true, false),
            (pkt(s, 80, c, 1000, 0x12), false, false),
            (pkt(c, 1000, s, 80, 0x10), true, false),
            (pkt(c, 1000, s, 80, 0x18), true, true),
            (pkt(s, 80, c, 1000, 0x18), false, true),
        ];
        run(&mut f, &steps);
    }

    #[test]
    fn midstream_only_when_allowed() {
        let h = pkt("10.0.0.1", 1000, "10.0.0.2", 80, 0x18);
        assert!(!flows(false).observe(Timestamp(0), &h, 5).0.established);
        assert!(flows(true).observe(Timestamp(0), &h, 5).0.established);
    }

    #[test]
    fn midstream_pickup_from_the_lower_port_is_the_server_speaking() {
        let reply = pkt("10.0.0.2", 445, "10.0.0.1", 49216, 0x18);
        let request = pkt("10.0.0.1", 49216, "10.0.0.2", 445, 0x18);
        run(
            &mut flows(true),
            &[(reply, false, true), (request, true, true)],
        );
        // From the higher port: the client.
        run(
            &mut flows(true),
            &[(request, true, true), (reply, false, true)],
        );
    }
}
