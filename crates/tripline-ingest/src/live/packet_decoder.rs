//! The frame decoder live capture uses: the capture decoder plus IP
//! defragmentation, the same path capture files take.

use super::{FrameDecoder, FrameError};
use crate::capture::decode::{FrameError as DecodeFrameError, decode_frame, decode_ip};
use crate::capture::defrag::{DefragConfig, Defragmenter};
use crate::capture::link::LinkError;
use tripline_core::{ErrorKind, LinkInfo, Packet, Record, Timestamp};

/// Decodes live frames into packet records, reassembling IP fragments
/// (every fragment is emitted, plus the whole datagram once it completes).
pub struct PacketDecoder {
    defrag: Defragmenter,
}

impl PacketDecoder {
    /// A decoder with the default reassembly caps.
    pub fn new() -> Self {
        Self::with_defrag(DefragConfig::default())
    }

    /// A decoder with explicit reassembly caps.
    pub fn with_defrag(config: DefragConfig) -> Self {
        PacketDecoder {
            defrag: Defragmenter::new(config),
        }
    }
}

impl Default for PacketDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder for PacketDecoder {
    fn decode<'a>(
        &mut self,
        linktype: i32,
        ts: Timestamp,
        frame: &'a [u8],
        wire_len: u32,
        emit: &mut dyn FnMut(&Record<'_>),
    ) -> Result<(), FrameError> {
        let Ok(linktype) = u32::try_from(linktype) else {
            return Err(FrameError {
                kind: ErrorKind::UnsupportedLinkType,
                message: format!("link type {linktype}"),
            });
        };
        let decoded = match decode_frame(linktype, frame) {
            Ok(d) => d,
            // Fine frames of no interest (ARP, LLDP...): nothing to emit.
            Err(DecodeFrameError::Link(LinkError::NotIp { .. })) => return Ok(()),
            Err(DecodeFrameError::Link(e @ LinkError::Unsupported { .. })) => {
                return Err(FrameError {
                    kind: ErrorKind::UnsupportedLinkType,
                    message: e.to_string(),
                });
            }
            Err(e) => {
                return Err(FrameError {
                    kind: ErrorKind::Decode,
                    message: e.to_string(),
                });
            }
        };
        let header = decoded.header;
        emit(&Record::Packet(Packet {
            ts,
            header,
            payload: decoded.payload,
            wire_len,
            link: decoded.link,
            frame,
        }));
        if !header.ip.fragmented {
            return Ok(());
        }
        let id = header.ip.id;
        // The reassembled datagram's "frame" is the datagram itself: raw IP.
        let link = LinkInfo {
            linktype: 101,
            ..decoded.link
        };
        let mut result = Ok(());
        if let Some(datagram) = self.defrag.push(ts, decoded.ip) {
            match decode_ip(datagram) {
                Ok((mut header, payload)) => {
                    header.ip.fragmented = true;
                    header.ip.id = id;
                    let wire_len = datagram.len() as u32;
                    emit(&Record::Packet(Packet {
                        ts,
                        header,
                        payload,
                        wire_len,
                        link,
                        frame: datagram,
                    }));
                }
                Err(e) => {
                    result = Err(FrameError {
                        kind: ErrorKind::Decode,
                        message: format!("reassembled datagram: {e}"),
                    })
                }
            }
        }
        // Overlaps and drops are counted by the defragmenter; live capture
        // has no file offset to report them at.
        let _ = self.defrag.drain_events().count();
        result
    }
}
