//! Live capture from an interface with libpcap.
//!
//! [`LiveCapture`] opens an interface (optionally with a tcpdump filter
//! expression compiled into the kernel), reads frames without copying them
//! and hands each one to a [`FrameDecoder`], whose records go straight to the
//! sink. Downstream a live interface is just a [`Source`] that ends when the
//! sink asks it to stop, after `max_packets`, or when the interface goes away.
//!
//! The handle is non-blocking and the loop waits for the capture descriptor
//! with `poll(2)` for at most `timeout_ms`, so [`RecordSink::should_stop`] and
//! the stop handle are looked at even on a silent interface (with libpcap's
//! TPACKET_V3 ring a blocking read never times out while nothing arrives).

mod decoder;
mod filter;

mod packet_decoder;

pub use decoder::{FrameDecoder, FrameError};
pub use filter::compile_filter;
pub use packet_decoder::PacketDecoder;

use crate::{Format, RecordSink, Source, SourceStats};
use pcap::{Active, Capture};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tripline_core::{ErrorKind, InputError, Location, Record, Timestamp};

/// How to open an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveOptions {
    /// A tcpdump expression applied in the kernel; `None` captures everything.
    pub filter: Option<String>,
    /// Bytes kept of each frame.
    pub snaplen: u32,
    /// Put the interface into promiscuous mode.
    pub promisc: bool,
    /// Kernel capture buffer in bytes; `None` keeps libpcap's default (2 MiB).
    pub buffer_size: Option<u32>,
    /// Longest wait for a frame before the stop conditions are checked again,
    /// and the kernel's batching delay when `immediate` is off.
    pub timeout_ms: u32,
    /// Stop after this many frames.
    pub max_packets: Option<u64>,
    /// Deliver each frame as soon as it arrives instead of in kernel batches
    /// (lower latency, more wake-ups).
    pub immediate: bool,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            filter: None,
            snaplen: 262_144,
            promisc: true,
            buffer_size: None,
            timeout_ms: 250,
            max_packets: None,
            immediate: false,
        }
    }
}

/// Counters from the kernel about what it captured for us.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Frames that passed the filter and reached the capture buffer.
    pub received: u64,
    /// Frames dropped because the capture buffer was full (we read too slowly).
    pub dropped: u64,
    /// Frames dropped by the interface or its driver.
    pub if_dropped: u64,
}

/// Why an interface could not be captured on.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// There is no interface of that name (in this network namespace).
    #[error("live capture: no such interface `{interface}`")]
    NoSuchInterface {
        /// The name given.
        interface: String,
    },
    /// libpcap refused to open or configure the interface.
    #[error("live capture on `{interface}`: {message}")]
    Open {
        /// The interface.
        interface: String,
        /// libpcap's explanation (with a hint for permission problems).
        message: String,
    },
    /// The filter expression does not compile for this interface.
    #[error("live capture on `{interface}`: bad filter expression `{expression}`: {message}")]
    Filter {
        /// The interface.
        interface: String,
        /// The expression as given.
        expression: String,
        /// libpcap's explanation.
        message: String,
    },
}

/// A live capture on one interface, decoding frames with `D`.
pub struct LiveCapture<D: FrameDecoder> {
    interface: String,
    cap: Capture<Active>,
    linktype: i32,
    decoder: D,
    opts: LiveOptions,
    stop: Arc<AtomicBool>,
    stats: SourceStats,
    kernel: LiveStats,
}

impl<D: FrameDecoder> LiveCapture<D> {
    /// Opens `interface` with `opts`; frames will be decoded by `decoder`.
    ///
    /// Needs root or `CAP_NET_RAW`. The capture is opened in the network
    /// namespace of the calling thread.
    pub fn open(interface: &str, opts: LiveOptions, decoder: D) -> Result<Self, LiveError> {
        let open_err = |e: pcap::Error| open_error(interface, &e);
        let mut inactive = Capture::from_device(interface)
            .map_err(open_err)?
            .snaplen(i32::try_from(opts.snaplen).unwrap_or(i32::MAX))
            .promisc(opts.promisc)
            .timeout(i32::try_from(opts.timeout_ms.max(1)).unwrap_or(i32::MAX))
            .immediate_mode(opts.immediate);
        if let Some(size) = opts.buffer_size {
            inactive = inactive.buffer_size(i32::try_from(size).unwrap_or(i32::MAX));
        }
        let mut cap = inactive.open().map_err(open_err)?;
        if let Some(expression) = &opts.filter {
            cap.filter(expression, true)
                .map_err(|e| LiveError::Filter {
                    interface: interface.to_string(),
                    expression: expression.clone(),
                    message: filter::pcap_message(&e),
                })?;
        }
        let cap = cap.setnonblock().map_err(open_err)?;
        let linktype = cap.get_datalink().0;
        Ok(LiveCapture {
            interface: interface.to_string(),
            cap,
            linktype,
            decoder,
            opts,
            stop: Arc::new(AtomicBool::new(false)),
            stats: SourceStats::default(),
            kernel: LiveStats::default(),
        })
    }

    /// The interface's link type (`LINKTYPE_*` value, 1 for Ethernet).
    pub fn linktype(&self) -> i32 {
        self.linktype
    }

    /// A flag another thread (a signal handler's watcher) can set to end
    /// [`Source::run`] within `timeout_ms`.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Counters of everything read so far, over all runs.
    pub fn stats(&self) -> &SourceStats {
        &self.stats
    }

    /// Asks the kernel for its counters now; on failure the last known ones.
    pub fn live_stats(&mut self) -> LiveStats {
        if let Ok(s) = self.cap.stats() {
            self.kernel = LiveStats {
                received: u64::from(s.received),
                dropped: u64::from(s.dropped),
                if_dropped: u64::from(s.if_dropped),
            };
        }
        self.kernel
    }

    /// The decoder, e.g. to read its own counters after a run.
    pub fn decoder(&self) -> &D {
        &self.decoder
    }

    fn reached_limit(&self, run: &SourceStats) -> bool {
        self.opts.max_packets.is_some_and(|max| run.units >= max)
    }

    /// Reads and decodes frames until a stop condition; returns this run's counters.
    fn capture_loop(&mut self, sink: &mut dyn RecordSink) -> SourceStats {
        let mut run = SourceStats::default();
        let fd = self.cap.as_raw_fd();
        let timeout_ms = i32::try_from(self.opts.timeout_ms.max(1)).unwrap_or(i32::MAX);
        loop {
            if sink.should_stop() || self.stop.load(Ordering::Relaxed) || self.reached_limit(&run) {
                break;
            }
            match self.cap.next_packet() {
                Ok(packet) => {
                    let ts = Timestamp::from_secs_micros(
                        packet.header.ts.tv_sec,
                        u32::try_from(packet.header.ts.tv_usec).unwrap_or(0),
                    );
                    let offset = run.bytes;
                    run.units += 1;
                    run.bytes += packet.data.len() as u64;
                    let mut records = 0u64;
                    let result = self.decoder.decode(
                        self.linktype,
                        ts,
                        packet.data,
                        packet.header.len,
                        &mut |rec: &Record<'_>| {
                            records += 1;
                            sink.record(rec);
                        },
                    );
                    run.records += records;
                    match result {
                        Ok(()) if records == 0 => run.skipped += 1,
                        Ok(()) => {}
                        Err(e) => {
                            run.count_error(e.kind);
                            sink.error(InputError::new(
                                self.interface.as_str(),
                                Location::Offset(offset),
                                e.kind,
                                format!("frame {}: {}", run.units, e.message),
                            ));
                        }
                    }
                    if run.units % 4096 == 0 {
                        sink.progress(run.bytes);
                    }
                }
                Err(pcap::Error::TimeoutExpired) => {
                    sink.progress(run.bytes);
                    sink.idle();
                    if let Err(e) = wait_readable(fd, timeout_ms) {
                        run.count_error(ErrorKind::Io);
                        sink.error(InputError::new(
                            self.interface.as_str(),
                            Location::File,
                            ErrorKind::Io,
                            format!("waiting for frames: {e}"),
                        ));
                        break;
                    }
                }
                Err(pcap::Error::NoMorePackets) => break,
                Err(e) => {
                    // The interface went down or away: report and end the stream.
                    run.count_error(ErrorKind::Io);
                    sink.error(InputError::new(
                        self.interface.as_str(),
                        Location::File,
                        ErrorKind::Io,
                        format!("reading frames: {}", filter::pcap_message(&e)),
                    ));
                    break;
                }
            }
        }
        sink.progress(run.bytes);
        run
    }
}

impl<D: FrameDecoder> Source for LiveCapture<D> {
    fn path(&self) -> &str {
        &self.interface
    }

    fn format(&self) -> Format {
        Format::Live
    }

    fn run(&mut self, sink: &mut dyn RecordSink) -> SourceStats {
        let run = self.capture_loop(sink);
        self.stats.merge(&run);
        self.live_stats();
        run
    }
}

/// Waits until `fd` is readable or `timeout_ms` passed; EINTR counts as a wake-up.
fn wait_readable(fd: i32, timeout_ms: i32) -> std::io::Result<()> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `pfd` is a valid pollfd for the duration of the call and nfds is 1.
    let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if rc < 0 {
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Ok(())
}

/// True when an interface of this name exists in the caller's network namespace.
fn interface_exists(interface: &str) -> bool {
    match std::ffi::CString::new(interface) {
        // SAFETY: `name` is a valid NUL-terminated string for the call.
        Ok(name) => unsafe { libc::if_nametoindex(name.as_ptr()) != 0 },
        Err(_) => false,
    }
}

fn open_error(interface: &str, err: &pcap::Error) -> LiveError {
    if !interface_exists(interface) {
        return LiveError::NoSuchInterface {
            interface: interface.to_string(),
        };
    }
    let mut message = filter::pcap_message(err);
    let lower = message.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        message.push_str(" (live capture needs root or CAP_NET_RAW)");
    }
    LiveError::Open {
        interface: interface.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoDecoder;

    impl FrameDecoder for NoDecoder {
        fn decode<'a>(
            &mut self,
            _linktype: i32,
            _ts: Timestamp,
            _frame: &'a [u8],
            _wire_len: u32,
            _emit: &mut dyn FnMut(&Record<'_>),
        ) -> Result<(), FrameError> {
            Ok(())
        }
    }

    #[test]
    fn missing_interface_is_named() {
        let name = "tl-absent0";
        assert!(!interface_exists(name));
        let err = LiveCapture::open(name, LiveOptions::default(), NoDecoder)
            .err()
            .unwrap();
        assert!(matches!(err, LiveError::NoSuchInterface { .. }), "{err:?}");
        assert!(err.to_string().contains("`tl-absent0`"), "{err}");
    }

    #[test]
    fn loopback_exists() {
        assert!(interface_exists("lo"));
        assert!(!interface_exists("lo\0x"));
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let o = LiveOptions::default();
        assert_eq!(
            (o.snaplen, o.promisc, o.timeout_ms, o.immediate),
            (262_144, true, 250, false)
        );
    }
}
