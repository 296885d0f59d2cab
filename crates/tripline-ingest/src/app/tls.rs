//! The TLS ClientHello at the start of a client's stream: server name
//! (SNI), ALPN protocols and versions, for `tls.sni` and friends.
//!
//! [`parse_client_hello`] reads TLS records from the first byte of the
//! stream (RFC 8446 section 5.1), gathers the handshake message that starts
//! there and walks the ClientHello (section 4.1.2) and its extensions. The
//! result borrows the stream; only a ClientHello split over several records
//! is copied, into a caller-provided scratch buffer. Three outcomes are kept
//! apart: [`TlsError::Incomplete`] (wait for more bytes), [`TlsError::NotTls`]
//! (give up on this stream) and [`TlsError::Malformed`] (TLS, but broken or
//! hostile: a length that overruns its container).

/// Record content type of handshake records.
const HANDSHAKE: u8 = 22;
/// Handshake message type of a ClientHello.
const CLIENT_HELLO: u8 = 1;
/// Largest handshake message accepted (the records carrying it are capped
/// by the protocol at 16 KiB + overhead each).
pub const MAX_HELLO: usize = 64 * 1024;

/// Extension numbers (IANA).
const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// Why the stream start is not a usable ClientHello. Offsets are into the
/// stream for `Incomplete`/`NotTls`, and into the handshake message (the
/// byte after its 4-byte header is 4) for `Malformed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// More bytes are needed: at least `needed` in total.
    #[error("TLS ClientHello incomplete: need {needed} bytes")]
    Incomplete {
        /// Stream bytes needed before trying again.
        needed: usize,
    },
    /// Not a TLS handshake starting with a ClientHello.
    #[error("not a TLS ClientHello at byte {offset}")]
    NotTls {
        /// The offending byte.
        offset: usize,
    },
    /// A TLS ClientHello that breaks the grammar.
    #[error("malformed TLS ClientHello {what} at byte {offset}")]
    Malformed {
        /// Where the bad field is.
        offset: usize,
        /// Which field.
        what: &'static str,
    },
}

/// A parsed ClientHello; borrows the stream (or the scratch buffer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientHello<'a> {
    /// The record layer version (0x0301 for most clients).
    pub record_version: u16,
    /// `legacy_version` of the hello (0x0303 for TLS 1.2 and 1.3).
    pub legacy_version: u16,
    /// The 32 random bytes.
    pub random: &'a [u8],
    /// The legacy session id.
    pub session_id: &'a [u8],
    /// Cipher suites, two bytes each.
    pub cipher_suites: &'a [u8],
    /// The raw extensions block.
    pub extensions: &'a [u8],
    /// `tls.sni`: the first host_name of the server_name extension.
    pub sni: Option<&'a [u8]>,
    /// The ALPN `protocol_name_list`, raw (see [`ClientHello::alpn`]).
    pub alpn_raw: Option<&'a [u8]>,
    /// The supported_versions list, raw (see [`ClientHello::supported_versions`]).
    pub supported_versions_raw: Option<&'a [u8]>,
    /// Stream bytes the records holding the hello took.
    pub consumed: usize,
}

impl<'a> ClientHello<'a> {
    /// The ALPN protocol names offered, in order.
    pub fn alpn(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let mut rest = self.alpn_raw.unwrap_or(&[]);
        std::iter::from_fn(move || {
            let (&len, tail) = rest.split_first()?;
            let name = tail.get(..len as usize)?;
            rest = &tail[len as usize..];
            Some(name)
        })
    }

    /// The versions of the supported_versions extension (TLS 1.3 clients).
    pub fn supported_versions(&self) -> impl Iterator<Item = u16> + 'a {
        self.supported_versions_raw
            .unwrap_or(&[])
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
    }

    /// The cipher suites offered.
    pub fn ciphers(&self) -> impl Iterator<Item = u16> + 'a {
        self.cipher_suites
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
    }

    /// Extensions as (type, data), in order.
    pub fn extension_list(&self) -> impl Iterator<Item = (u16, &'a [u8])> + 'a {
        let mut r = Reader::new(self.extensions, 0);
        std::iter::from_fn(move || {
            let t = r.u16("extension type").ok()?;
            let d = r.vec16("extension data").ok()?;
            Some((t, d))
        })
    }

    /// The highest version offered: the top of supported_versions when
    /// present (GREASE values skipped), else the legacy version.
    pub fn max_version(&self) -> u16 {
        self.supported_versions()
            .filter(|v| v & 0x0f0f != 0x0a0a)
            .max()
            .unwrap_or(self.legacy_version)
    }
}

/// Parses the ClientHello at the start of a client's stream. `scratch` is
/// used only when the hello spans several records.
pub fn parse_client_hello<'a>(
    stream: &'a [u8],
    scratch: &'a mut Vec<u8>,
) -> Result<ClientHello<'a>, TlsError> {
    let first = record_header(stream, 0)?;
    let frag = &stream[5..(5 + first.len).min(stream.len())];
    if frag.is_empty() {
        return Err(TlsError::Incomplete {
            needed: 5 + first.len,
        });
    }
    if frag[0] != CLIENT_HELLO {
        return Err(TlsError::NotTls { offset: 5 });
    }
    if frag.len() >= 4 {
        let total = message_len(frag)?;
        if total <= first.len {
            // The usual case: one record holds the whole hello. The whole
            // record is awaited, so `consumed` never runs past the input.
            if stream.len() < 5 + first.len {
                return Err(TlsError::Incomplete {
                    needed: 5 + first.len,
                });
            }
            return hello(&stream[5..5 + total], first.version, 5 + first.len);
        }
    }
    // Gather the message from consecutive handshake records.
    scratch.clear();
    let mut pos = 0;
    let total = loop {
        if scratch.len() >= 4 {
            let total = message_len(scratch)?;
            if scratch.len() >= total {
                break total;
            }
        }
        let rec = record_header(stream, pos)?;
        if rec.content_type != HANDSHAKE {
            return Err(TlsError::Malformed {
                offset: scratch.len(),
                what: "record type inside the hello",
            });
        }
        let end = pos + 5 + rec.len;
        if stream.len() < end {
            return Err(TlsError::Incomplete { needed: end });
        }
        scratch.extend_from_slice(&stream[pos + 5..end]);
        pos = end;
    };
    scratch.truncate(total);
    let s: &'a Vec<u8> = scratch;
    hello(s, first.version, pos)
}

/// The length of the handshake message starting `msg`, header included.
fn message_len(msg: &[u8]) -> Result<usize, TlsError> {
    let len = u32::from_be_bytes([0, msg[1], msg[2], msg[3]]) as usize;
    if len > MAX_HELLO {
        return Err(TlsError::Malformed {
            offset: 1,
            what: "handshake length",
        });
    }
    Ok(4 + len)
}

struct RecordHeader {
    content_type: u8,
    version: u16,
    len: usize,
}

fn record_header(stream: &[u8], pos: usize) -> Result<RecordHeader, TlsError> {
    let h = stream
        .get(pos..pos + 5)
        .ok_or(TlsError::Incomplete { needed: pos + 5 })?;
    // Check what is there before asking for more, so a non-TLS stream is
    // refused at its first byte.
    if pos == 0 && h[0] != HANDSHAKE {
        return Err(TlsError::NotTls { offset: 0 });
    }
    if h[1] != 3 || h[2] > 4 {
        return Err(TlsError::NotTls { offset: pos + 1 });
    }
    let len = u16::from_be_bytes([h[3], h[4]]) as usize;
    if len == 0 || len > 16384 + 2048 {
        return Err(TlsError::NotTls { offset: pos + 3 });
    }
    Ok(RecordHeader {
        content_type: h[0],
        version: u16::from_be_bytes([h[1], h[2]]),
        len,
    })
}

/// Walks the hello message (with its 4-byte handshake header).
fn hello(msg: &[u8], record_version: u16, consumed: usize) -> Result<ClientHello<'_>, TlsError> {
    let mut r = Reader::new(&msg[4..], 4);
    let legacy_version = r.u16("legacy_version")?;
    let random = r.take(32, "random")?;
    let session_id = r.vec8("session id")?;
    let cipher_suites = r.vec16("cipher suites")?;
    if cipher_suites.len() % 2 != 0 {
        return Err(r.err("cipher suites"));
    }
    let _compression = r.vec8("compression methods")?;
    let extensions = if r.is_empty() {
        &[][..]
    } else {
        r.vec16("extensions")?
    };
    let mut hello = ClientHello {
        record_version,
        legacy_version,
        random,
        session_id,
        cipher_suites,
        extensions,
        sni: None,
        alpn_raw: None,
        supported_versions_raw: None,
        consumed,
    };
    let ext_base = msg.len() - extensions.len();
    let mut e = Reader::new(extensions, ext_base);
    while !e.is_empty() {
        let kind = e.u16("extension type")?;
        let data_at = e.pos + 2;
        let data = e.vec16("extension length")?;
        let mut d = Reader::new(data, data_at);
        match kind {
            EXT_SERVER_NAME if !data.is_empty() => {
                let mut list = Reader::new(d.vec16("server name list")?, data_at + 2);
                while !list.is_empty() {
                    let name_type = list.u8("server name type")?;
                    let name = list.vec16("server name")?;
                    if name_type == 0 && hello.sni.is_none() {
                        hello.sni = Some(name);
                    }
                }
            }
            EXT_ALPN => {
                let list = d.vec16("ALPN list")?;
                let mut l = Reader::new(list, data_at + 2);
                while !l.is_empty() {
                    l.vec8("ALPN protocol name")?;
                }
                hello.alpn_raw = Some(list);
            }
            EXT_SUPPORTED_VERSIONS => {
                let list = d.vec8("supported versions")?;
                if list.len() % 2 != 0 {
                    return Err(d.err("supported versions"));
                }
                hello.supported_versions_raw = Some(list);
            }
            _ => {}
        }
    }
    Ok(hello)
}

/// Bounds-checked big-endian reader; `base` turns positions into message
/// offsets for errors.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn err(&self, what: &'static str) -> TlsError {
        TlsError::Malformed {
            offset: self.base + self.pos,
            what,
        }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], TlsError> {
        let s = self
            .buf
            .get(self.pos..self.pos + n)
            .ok_or_else(|| self.err(what))?;
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, TlsError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, TlsError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn vec8(&mut self, what: &'static str) -> Result<&'a [u8], TlsError> {
        let n = self.u8(what)? as usize;
        self.take(n, what)
    }

    fn vec16(&mut self, what: &'static str) -> Result<&'a [u8], TlsError> {
        let n = self.u16(what)? as usize;
        self.take(n, what)
    }
}
