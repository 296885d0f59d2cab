//! Compiling tcpdump filter expressions with libpcap, without an interface.

use pcap::{BpfProgram, Capture, Linktype};

/// Compiles a tcpdump/BPF `expression` for frames of link type `linktype`
/// (a `LINKTYPE_*` value: 1 Ethernet, 101 raw IP, 113 Linux cooked, ...).
///
/// No interface or privilege is needed, so offline detectors (named filters,
/// signatures with a BPF header part) compile their expressions with the same
/// libpcap grammar as live capture. Use [`BpfProgram::filter`] to match a
/// frame. The program is compiled for libpcap's "dead" snap length of 65535
/// bytes; that only matters for expressions that load beyond it.
///
/// The error names the expression and carries libpcap's explanation.
pub fn compile_filter(expression: &str, linktype: i32) -> Result<BpfProgram, String> {
    let dead = Capture::dead(Linktype(linktype)).map_err(|e| {
        format!("cannot compile filter `{expression}` for link type {linktype}: {e}")
    })?;
    dead.compile(expression, true)
        .map_err(|e| format!("bad filter expression `{expression}`: {}", pcap_message(&e)))
}

/// libpcap's own words for an error, without the crate's wrapper text.
pub(crate) fn pcap_message(err: &pcap::Error) -> String {
    match err {
        pcap::Error::PcapError(msg) if !msg.is_empty() => msg.clone(),
        pcap::Error::InvalidInputString => "contains a NUL byte".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet + IPv4 + UDP frame to 10.0.0.2:53 from 10.0.0.1:5353.
    fn udp_frame() -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[
            0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ]);
        f.extend_from_slice(&[0x14, 0xe9, 0, 53, 0, 8, 0, 0]);
        f
    }

    #[test]
    fn compiled_filter_matches_frames() {
        let frame = udp_frame();
        assert!(compile_filter("udp dst port 53", 1).unwrap().filter(&frame));
        assert!(
            compile_filter("src host 10.0.0.1 and udp", 1)
                .unwrap()
                .filter(&frame)
        );
        assert!(!compile_filter("tcp", 1).unwrap().filter(&frame));
        assert!(!compile_filter("udp port 54", 1).unwrap().filter(&frame));
    }

    #[test]
    fn bad_expression_names_it() {
        let err = compile_filter("tcp port", 1).err().unwrap();
        assert!(err.contains("`tcp port`"), "{err}");
        let err = compile_filter("host 999.1.1.1", 1).err().unwrap();
        assert!(err.contains("999.1.1.1"), "{err}");
        let err = compile_filter("udp\0", 1).err().unwrap();
        assert!(err.contains("NUL"), "{err}");
    }
}
