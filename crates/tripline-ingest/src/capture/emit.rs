//! From a captured frame to records, errors and counters.
//!
//! Both file readers (pcap, pcapng) hand every frame to a [`FrameEmitter`],
//! which decodes it, pushes the `Record::Packet`, feeds fragments to the
//! defragmenter and turns everything that went wrong into an `InputError`
//! naming the file and the byte offset of the record.

use super::decode::{FrameError, decode_frame, decode_ip};
use super::defrag::{DefragConfig, DefragEvent, Defragmenter, FragmentKey};
use super::link::LinkError;
use crate::source::{RecordSink, SourceStats};
use tripline_core::{ErrorKind, InputError, LinkInfo, Location, Packet, Record, Timestamp};

/// `LINKTYPE_RAW`: what a reassembled datagram's frame is.
const RAW_IP: u32 = 101;

/// Bytes between two `progress` calls.
const PROGRESS_STEP: u64 = 1 << 20;
/// Interfaces remembered for "unsupported link type" (reported once each).
const MAX_REPORTED_INTERFACES: usize = 4096;

/// Decodes frames and reports what comes of them.
pub(crate) struct FrameEmitter {
    path: String,
    pub(crate) stats: SourceStats,
    defrag: Defragmenter,
    next_progress: u64,
    /// Interfaces already reported as having an unsupported link type.
    unsupported: Vec<u32>,
}

impl FrameEmitter {
    /// An emitter for the input called `path`.
    pub(crate) fn new(path: &str, defrag: DefragConfig) -> Self {
        FrameEmitter {
            path: path.to_string(),
            stats: SourceStats::default(),
            defrag: Defragmenter::new(defrag),
            next_progress: PROGRESS_STEP,
            unsupported: Vec::new(),
        }
    }

    /// Reports one damaged piece of input at `offset`.
    pub(crate) fn error(
        &mut self,
        sink: &mut dyn RecordSink,
        offset: u64,
        kind: ErrorKind,
        message: impl Into<String>,
    ) {
        self.stats.count_error(kind);
        sink.error(InputError::new(
            self.path.clone(),
            Location::Offset(offset),
            kind,
            message,
        ));
    }

    /// Calls `sink.progress` about every megabyte; returns `true` when the
    /// sink asks to stop.
    pub(crate) fn tick(&mut self, sink: &mut dyn RecordSink, offset: u64) -> bool {
        if offset >= self.next_progress {
            sink.progress(offset);
            self.next_progress = offset + PROGRESS_STEP;
        }
        sink.should_stop()
    }

    /// Reports a link type that cannot be decoded, once per interface.
    pub(crate) fn unsupported_link(
        &mut self,
        sink: &mut dyn RecordSink,
        offset: u64,
        interface: u32,
        linktype: u32,
    ) {
        if self.unsupported.contains(&interface)
            || self.unsupported.len() >= MAX_REPORTED_INTERFACES
        {
            return;
        }
        self.unsupported.push(interface);
        let msg = format!(
            "interface {interface}: link type {linktype} is not supported; its frames are skipped"
        );
        self.error(sink, offset, ErrorKind::UnsupportedLinkType, msg);
    }

    /// Decodes one frame of the record at `offset` and emits what it yields.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn frame(
        &mut self,
        sink: &mut dyn RecordSink,
        offset: u64,
        ts: Timestamp,
        linktype: u32,
        interface: u32,
        frame: &[u8],
        wire_len: u32,
    ) {
        self.stats.units += 1;
        match decode_frame(linktype, frame) {
            Ok(mut decoded) => {
                decoded.link.interface = interface;
                decoded.link.frame_number = self.stats.units;
                let header = decoded.header;
                let packet = Packet {
                    ts,
                    header,
                    payload: decoded.payload,
                    wire_len,
                    link: decoded.link,
                    frame,
                };
                sink.record(&Record::Packet(packet));
                self.stats.records += 1;
                if header.ip.fragmented {
                    self.reassemble(sink, offset, ts, decoded.ip, decoded.link, header.ip.id);
                }
            }
            Err(FrameError::Link(LinkError::NotIp { .. })) => self.stats.skipped += 1,
            Err(FrameError::Link(LinkError::Unsupported { linktype })) => {
                self.stats.skipped += 1;
                self.unsupported_link(sink, offset, interface, linktype);
            }
            Err(e) => self.error(sink, offset, ErrorKind::Decode, e.to_string()),
        }
    }

    fn reassemble(
        &mut self,
        sink: &mut dyn RecordSink,
        offset: u64,
        ts: Timestamp,
        ip: &[u8],
        link: LinkInfo,
        id: u32,
    ) {
        let mut failed = None;
        if let Some(datagram) = self.defrag.push(ts, ip) {
            match decode_ip(datagram) {
                Ok((mut header, payload)) => {
                    header.ip.fragmented = true;
                    header.ip.id = id; // IPv6 carries it in the fragment header, gone now
                    let wire_len = datagram.len() as u32;
                    let link = LinkInfo {
                        linktype: RAW_IP,
                        ..link
                    };
                    sink.record(&Record::Packet(Packet {
                        ts,
                        header,
                        payload,
                        wire_len,
                        link,
                        frame: datagram,
                    }));
                    self.stats.records += 1;
                }
                Err(e) => failed = Some(e),
            }
        }
        if let Some(e) = failed {
            self.error(
                sink,
                offset,
                ErrorKind::Decode,
                format!("reassembled datagram: {e}"),
            );
        }
        self.report_defrag_events(sink, offset);
    }

    fn report_defrag_events(&mut self, sink: &mut dyn RecordSink, offset: u64) {
        // At most a handful per fragment, except when a cap evicts many at once.
        let events: Vec<DefragEvent> = self.defrag.drain_events().collect();
        for event in events {
            match event {
                DefragEvent::Overlap {
                    key,
                    offset: at,
                    len,
                    overlapping,
                } => {
                    let msg = format!(
                        "fragment at {at}+{len} overlaps {overlapping} bytes already received of {}; first received kept",
                        describe(&key)
                    );
                    self.error(sink, offset, ErrorKind::FragmentOverlap, msg);
                }
                DefragEvent::Dropped {
                    key,
                    reason,
                    fragments,
                } => {
                    let msg = format!(
                        "{} dropped after {fragments} fragment(s): {}",
                        describe(&key),
                        reason.as_str()
                    );
                    self.error(sink, offset, ErrorKind::FragmentDropped, msg);
                }
            }
        }
    }

    /// Ends the input at `offset`: incomplete datagrams are reported, the
    /// byte count is settled, and the counters are handed back.
    pub(crate) fn finish(mut self, sink: &mut dyn RecordSink, offset: u64) -> SourceStats {
        self.defrag.finish();
        self.report_defrag_events(sink, offset);
        self.stats.bytes = offset;
        sink.progress(offset);
        self.stats
    }
}

fn describe(key: &FragmentKey) -> String {
    format!(
        "IP datagram {} -> {} proto {} id {}",
        key.src, key.dst, key.protocol, key.id
    )
}
