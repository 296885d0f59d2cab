//! Packet payloads shown safely: a hex dump with the printable ASCII beside
//! it (everything else as `.`), so no byte from the network is ever
//! interpreted by the browser (the templates escape the text column too).

use base64::Engine as _;
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// Bytes shown at most; the rest is counted.
pub const MAX_PAYLOAD_BYTES: usize = 4096;

/// The payload an alert carries in its details, if any: `payload` as
/// base64 (as in EVE), or `payload_printable` as text.
pub fn alert_payload(details: &Map<String, Value>) -> Option<Vec<u8>> {
    if let Some(Value::String(b64)) = details.get("payload") {
        return base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .ok();
    }
    match details.get("payload_printable") {
        Some(Value::String(s)) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

/// `offset  hex bytes  printable` lines, 16 bytes each, at most
/// [`MAX_PAYLOAD_BYTES`]; a final line says how many bytes were left out.
pub fn hex_dump(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(MAX_PAYLOAD_BYTES)];
    let mut out = String::with_capacity(shown.len() * 5);
    for (i, chunk) in shown.chunks(16).enumerate() {
        let _ = write!(out, "{:08x}  ", i * 16);
        for j in 0..16 {
            match chunk.get(j) {
                Some(b) => {
                    let _ = write!(out, "{b:02x} ");
                }
                None => out.push_str("   "),
            }
            if j == 7 {
                out.push(' ');
            }
        }
        out.push(' ');
        out.extend(chunk.iter().map(|b| {
            if b.is_ascii_graphic() || *b == b' ' {
                char::from(*b)
            } else {
                '.'
            }
        }));
        out.push('\n');
    }
    if bytes.len() > shown.len() {
        let _ = writeln!(out, "... {} more bytes", bytes.len() - shown.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dump_shows_hex_and_dots_for_unprintable() {
        let d = hex_dump(b"GET /<script>\x00\x01\nab");
        assert_eq!(
            d,
            "00000000  47 45 54 20 2f 3c 73 63  72 69 70 74 3e 00 01 0a  GET /<script>...\n\
             00000010  61 62                                             ab\n"
        );
        let long = hex_dump(&[b'a'; MAX_PAYLOAD_BYTES + 3]);
        assert!(long.ends_with("... 3 more bytes\n"));
    }

    #[test]
    fn payload_from_details() {
        let d = json!({"payload": "PHNjcmlwdD4="});
        assert_eq!(
            alert_payload(d.as_object().unwrap()),
            Some(b"<script>".to_vec())
        );
        let d = json!({"payload_printable": "x"});
        assert_eq!(alert_payload(d.as_object().unwrap()), Some(b"x".to_vec()));
        assert_eq!(alert_payload(&Map::new()), None);
        let d = json!({"payload": "%%%"});
        assert_eq!(alert_payload(d.as_object().unwrap()), None);
    }
}
