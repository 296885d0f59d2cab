//! Fuzzes stream reassembly and the application parsers behind it: the
//! input is a script of segments (direction, flags, sequence offset,
//! payload) for a few flows under small caps. Nothing may panic, memory
//! must stay under the cap, and the delivered bytes of a direction must be
//! one contiguous stream, but for acknowledged gaps skipped forward.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline_core::{TcpFlags, Timestamp};
use tripline_detect::reassembly::{AppLayer, Direction, Reassembler, ReassemblyConfig, Segment};
use tripline_ingest::app::http::HttpLimits;

fuzz_target!(|data: &[u8]| {
    let config = ReassemblyConfig {
        depth: 4096,
        max_out_of_order: 1024,
        max_unconsumed: 2048,
        window: 64,
        memcap: 256 * 1024,
        max_flows: 3,
    };
    let mut r: Reassembler<u8> = Reassembler::new(config.clone());
    let mut app = AppLayer::new(HttpLimits::default());
    // Per flow and direction: next offset the delivered bytes must start at.
    let mut next = [[None::<u64>; 2]; 4];
    let mut rest = data;
    let mut t = 0i64;
    while rest.len() >= 6 {
        let (hdr, tail) = rest.split_at(6);
        let key = hdr[0] & 3;
        let direction = if hdr[0] & 4 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let flags = TcpFlags(hdr[1]);
        let seq = u32::from_be_bytes([hdr[2], hdr[3], hdr[4], 0]).wrapping_add(u32::MAX - 300);
        let len = (hdr[5] as usize).min(tail.len());
        let (payload, tail) = tail.split_at(len);
        rest = tail;
        t += 1000;
        let seg = Segment {
            direction,
            seq,
            ack: flags.has(TcpFlags::ACK).then_some(seq ^ 0x5555),
            flags,
            payload,
            ts: Timestamp(t),
        };
        let gaps_before = r.stats().gaps_skipped;
        let chunk = r.segment(&key, &seg);
        assert!(chunk.new_from <= chunk.bytes.len());
        assert!(chunk.context().len() <= config.window);
        let d = direction.index();
        let delivered = (!chunk.is_empty()).then(|| {
            (
                chunk.offset + chunk.new_from as u64,
                chunk.new_bytes().len() as u64,
            )
        });
        let gap_skipped = r.stats().gaps_skipped > gaps_before;
        if let Some((new_at, new_len)) = delivered {
            if let Some(n) = next[key as usize][d] {
                // A restart (new SYN, eviction) begins again at 0; an
                // acknowledged gap the capture lost is skipped forward.
                assert!(
                    new_at == n || new_at == 0 || (gap_skipped && new_at > n),
                    "{new_at} vs {n}"
                );
            }
            next[key as usize][d] = Some(new_at + new_len);
            assert!(new_at + new_len <= config.depth);
        }
        if let Some(stream) = r.stream_mut(&key) {
            app.parse(stream, direction, &mut |_| {});
        }
        assert!(r.memory() <= config.memcap + 64 * 1024);
        assert!(r.len() <= config.max_flows);
    }
});
