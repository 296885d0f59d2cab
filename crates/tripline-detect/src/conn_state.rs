//! Zeek's `conn_state` and `history` for one flow, built packet by packet.
//!
//! Each endpoint moves through Zeek's TCP endpoint states (inactive, SYN
//! sent, SYN-ACK sent, partial, established, closed, reset); the connection
//! state is then derived from the pair exactly as Zeek's
//! `base/protocols/conn` script does (REJ, RSTR, RSTRH, RSTO, RSTOS0, SF,
//! SH, S2, SHR, S3, S0, S1, OTH).
//!
//! History letters (upper case for the originator, lower case for the
//! responder): `S` SYN, `H` SYN-ACK, `A` pure ACK, `D` payload, `F` FIN,
//! `R` RST, `T` retransmitted payload, `W` zero window, `I` FIN+RST,
//! `Q` SYN+FIN or SYN+RST, `^` direction flipped (the first packet seen was
//! a SYN-ACK, so its sender is the responder). As in Zeek, `A D I Q` are
//! recorded once per direction, `S H F R` again only when the sequence
//! number differs from the last packet with that flag, and `T W` at 1, 10,
//! 100... occurrences. The history is capped at [`MAX_HISTORY`] letters.
//!
//! Non-TCP flows follow Zeek's UDP rule for every protocol: `S0` when only
//! the originator sent, `SF` when both did (Zeek reports ICMP as `OTH`;
//! tripline keeps the more useful one-way/two-way distinction for ICMP
//! too). Their history is `D`/`d` for the first packet with payload.

use tripline_core::{ConnState, Header, TcpFlags, Transport};

/// Longest history kept (Zeek's rules keep real histories far shorter).
pub const MAX_HISTORY: usize = 40;

/// Zeek's per-endpoint TCP state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EndpointState {
    /// Nothing seen from this endpoint.
    #[default]
    Inactive,
    /// Sent a SYN, handshake not complete.
    SynSent,
    /// Sent a SYN-ACK, handshake not complete.
    SynAckSent,
    /// Sent packets but no SYN was seen (midstream).
    Partial,
    /// The three-way handshake completed.
    Established,
    /// Sent a FIN.
    Closed,
    /// Sent a RST.
    Reset,
}

impl EndpointState {
    fn inactive(self) -> bool {
        matches!(self, EndpointState::Inactive | EndpointState::Partial)
    }
}

/// What one endpoint has done so far.
#[derive(Clone, Copy, Debug, Default)]
struct Endpoint {
    state: EndpointState,
    packets: u64,
    payload_bytes: u64,
    /// Last sequence numbers of S/H, F and R packets (for repeat letters).
    last_syn_seq: Option<u32>,
    last_fin_seq: Option<u32>,
    last_rst_seq: Option<u32>,
    /// Highest sequence number + payload length seen (for `T`).
    next_seq: Option<u32>,
    retransmits: u32,
    zero_windows: u32,
    /// Bit set of once-per-direction letters already recorded.
    once: u8,
}

const ONCE_A: u8 = 1;
const ONCE_D: u8 = 2;
const ONCE_I: u8 = 4;
const ONCE_Q: u8 = 8;

/// Connection state and history of one flow; no allocation.
#[derive(Clone, Copy, Debug)]
pub struct ConnTracker {
    protocol: u8,
    orig: Endpoint,
    resp: Endpoint,
    history: [u8; MAX_HISTORY],
    history_len: u8,
}

/// True when `n` is 1, 10, 100, ... (Zeek's logarithmic letters).
fn is_power_of_ten(n: u32) -> bool {
    let mut p = 1;
    while p < n {
        p = p.saturating_mul(10);
    }
    p == n
}

impl ConnTracker {
    /// A fresh tracker for a flow of `protocol`. `flipped` records `^` (the
    /// first packet came from the responder).
    pub fn new(protocol: u8, flipped: bool) -> Self {
        let mut t = ConnTracker {
            protocol,
            orig: Endpoint::default(),
            resp: Endpoint::default(),
            history: [0; MAX_HISTORY],
            history_len: 0,
        };
        if flipped {
            t.push(b'^');
        }
        t
    }

    fn push(&mut self, letter: u8) {
        if (self.history_len as usize) < MAX_HISTORY {
            self.history[self.history_len as usize] = letter;
            self.history_len += 1;
        }
    }

    fn letter(&mut self, from_orig: bool, upper: u8) {
        self.push(if from_orig {
            upper
        } else {
            upper.to_ascii_lowercase()
        });
    }

    /// The history letters so far.
    pub fn history(&self) -> &str {
        // Only ASCII letters are ever pushed.
        std::str::from_utf8(&self.history[..self.history_len as usize]).unwrap_or("")
    }

    /// Packets from the originator and the responder.
    pub fn packets(&self) -> (u64, u64) {
        (self.orig.packets, self.resp.packets)
    }

    /// The originator's and the responder's endpoint states.
    pub fn endpoint_states(&self) -> (EndpointState, EndpointState) {
        (self.orig.state, self.resp.state)
    }

    /// Accounts one packet. `from_orig` says which side sent it,
    /// `payload_len` is the transport payload length.
    pub fn update(&mut self, from_orig: bool, header: &Header, payload_len: usize) {
        let (me, _) = self.sides(from_orig);
        me.packets += 1;
        me.payload_bytes += payload_len as u64;
        match header.transport {
            Transport::Tcp(tcp) => {
                self.update_tcp(from_orig, tcp.flags, tcp.seq, tcp.window, payload_len)
            }
            _ => {
                if payload_len > 0 {
                    self.once_letter(from_orig, ONCE_D, b'D');
                }
            }
        }
    }

    fn sides(&mut self, from_orig: bool) -> (&mut Endpoint, &mut Endpoint) {
        if from_orig {
            (&mut self.orig, &mut self.resp)
        } else {
            (&mut self.resp, &mut self.orig)
        }
    }

    fn once_letter(&mut self, from_orig: bool, bit: u8, upper: u8) {
        let (me, _) = self.sides(from_orig);
        if me.once & bit == 0 {
            me.once |= bit;
            self.letter(from_orig, upper);
        }
    }

    /// Records `upper` unless the previous packet with this flag had the
    /// same sequence number.
    fn seq_letter(&mut self, from_orig: bool, upper: u8, seq: Option<u32>) {
        let (me, _) = self.sides(from_orig);
        let last = match upper {
            b'S' | b'H' => &mut me.last_syn_seq,
            b'F' => &mut me.last_fin_seq,
            _ => &mut me.last_rst_seq,
        };
        // Without a sequence number (firewall logs) the packet counts as
        // sequence 0, so such a letter is recorded once.
        let key = Some(seq.unwrap_or(0));
        if *last != key {
            *last = key;
            self.letter(from_orig, upper);
        }
    }

    fn update_tcp(
        &mut self,
        from_orig: bool,
        flags: TcpFlags,
        seq: Option<u32>,
        window: u16,
        payload_len: usize,
    ) {
        let syn = flags.has(TcpFlags::SYN);
        let ack = flags.has(TcpFlags::ACK);
        let fin = flags.has(TcpFlags::FIN);
        let rst = flags.has(TcpFlags::RST);

        // History letters.
        if syn && (fin || rst) {
            self.once_letter(from_orig, ONCE_Q, b'Q');
        } else if fin && rst {
            self.once_letter(from_orig, ONCE_I, b'I');
        } else if syn {
            self.seq_letter(from_orig, if ack { b'H' } else { b'S' }, seq);
        }
        if payload_len > 0 {
            self.once_letter(from_orig, ONCE_D, b'D');
        } else if ack && !syn && !fin && !rst {
            self.once_letter(from_orig, ONCE_A, b'A');
        }
        if let Some(s) = seq.filter(|_| payload_len > 0) {
            let end = s.wrapping_add(payload_len as u32);
            let (me, _) = self.sides(from_orig);
            match me.next_seq {
                // Serial-number arithmetic: `end` at or before what we
                // already saw means this payload was sent before.
                Some(n) if (n.wrapping_sub(end) as i32) >= 0 => {
                    me.retransmits = me.retransmits.saturating_add(1);
                    let count = me.retransmits;
                    if is_power_of_ten(count) {
                        self.letter(from_orig, b'T');
                    }
                }
                _ => me.next_seq = Some(end),
            }
        }
        if window == 0 && !rst && !syn {
            let (me, _) = self.sides(from_orig);
            me.zero_windows = me.zero_windows.saturating_add(1);
            if is_power_of_ten(me.zero_windows) {
                self.letter(from_orig, b'W');
            }
        }
        if fin && !syn && !rst {
            self.seq_letter(from_orig, b'F', seq);
        }
        if rst && !syn && !fin {
            self.seq_letter(from_orig, b'R', seq);
        }

        // Endpoint states.
        use EndpointState::*;
        let (me, peer) = self.sides(from_orig);
        if rst {
            me.state = Reset;
            return;
        }
        if syn {
            if me.state.inactive() {
                me.state = if ack { SynAckSent } else { SynSent };
            }
        } else if ack || payload_len > 0 {
            let handshaking = |s: EndpointState| matches!(s, SynSent | SynAckSent);
            if (handshaking(me.state) || me.state == Inactive) && matches!(peer.state, SynAckSent) {
                // The ACK that completes a handshake (ours or a flipped one).
                me.state = Established;
                peer.state = Established;
            } else if handshaking(me.state) && matches!(peer.state, SynSent | Established) {
                me.state = Established;
                if peer.state == SynSent {
                    peer.state = Established;
                }
            } else if me.state == Inactive {
                me.state = Partial;
            }
        } else if me.state == Inactive && !fin {
            me.state = Partial;
        }
        if fin && me.state != Reset {
            me.state = Closed;
        }
    }

    /// True when the TCP exchange is over: both sides sent FIN, or either
    /// side sent RST. Never true for other protocols.
    pub fn is_finished(&self) -> bool {
        use EndpointState::*;
        self.protocol == tripline_core::ip_proto::TCP
            && ((self.orig.state == Closed && self.resp.state == Closed)
                || self.orig.state == Reset
                || self.resp.state == Reset)
    }

    /// Zeek's `conn_state` for what has been seen so far.
    pub fn conn_state(&self) -> ConnState {
        use EndpointState::*;
        if self.protocol != tripline_core::ip_proto::TCP {
            return match (self.orig.packets > 0, self.resp.packets > 0) {
                (true, true) => ConnState::SF,
                (true, false) => ConnState::S0,
                (false, true) => ConnState::SHR,
                (false, false) => ConnState::OTH,
            };
        }
        let (os, rs) = (self.orig.state, self.resp.state);
        if rs == Reset {
            if matches!(os, SynSent | SynAckSent)
                || (os == Reset && self.orig.payload_bytes == 0 && self.resp.payload_bytes == 0)
            {
                ConnState::REJ
            } else if os.inactive() {
                ConnState::RSTRH
            } else {
                ConnState::RSTR
            }
        } else if os == Reset {
            if rs.inactive() {
                if self.history_is_syn_then_rst() {
                    ConnState::RSTOS0
                } else {
                    ConnState::OTH
                }
            } else {
                ConnState::RSTO
            }
        } else if rs == Closed && os == Closed {
            ConnState::SF
        } else if os == Closed {
            if rs.inactive() {
                ConnState::SH
            } else {
                ConnState::S2
            }
        } else if rs == Closed {
            if os.inactive() {
                ConnState::SHR
            } else {
                ConnState::S3
            }
        } else if os == SynSent && rs == Inactive {
            ConnState::S0
        } else if os == Established && rs == Established {
            ConnState::S1
        } else {
            ConnState::OTH
        }
    }

    /// Zeek's RSTOS0 test: the history matches `^?S[^HAFGIQ]*R`.
    fn history_is_syn_then_rst(&self) -> bool {
        let h = self.history().as_bytes();
        let h = h.strip_prefix(b"^").unwrap_or(h);
        let Some(rest) = h.strip_prefix(b"S") else {
            return false;
        };
        for &c in rest {
            match c {
                b'R' => return true,
                b'H' | b'A' | b'F' | b'G' | b'I' | b'Q' => return false,
                _ => {}
            }
        }
        false
    }
}

#[cfg(test)]
#[path = "conn_state_tests.rs"]
mod tests;
