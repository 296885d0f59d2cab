//! One tcpdump expression, compiled by libpcap once per link type it meets.
//!
//! A BPF program reads the frame from its link-layer header on, so the same
//! expression compiles to different code for Ethernet, raw IP or Linux
//! cooked frames. A pcapng file may mix interfaces of several link types;
//! [`CompiledFilter`] compiles lazily for each new one and keeps the
//! programs (at most [`MAX_LINKTYPES`] of them). An expression libpcap
//! rejects for one link type (`ether host` on raw IP) simply never matches
//! frames of that type; the failure is kept for the caller to report.

use pcap::BpfProgram;
use tripline_ingest::live::compile_filter;

/// Link types compiled for at most, per expression.
pub const MAX_LINKTYPES: usize = 16;

/// `LINKTYPE_ETHERNET`, `LINKTYPE_RAW`, `LINKTYPE_LINUX_SLL`: the link types
/// an expression is checked against when it is loaded.
const CHECK_LINKTYPES: [u32; 3] = [1, 101, 113];

/// The libpcap `DLT_*` value for a `LINKTYPE_*` value (what capture files
/// and [`tripline_core::LinkInfo`] carry). They are equal except for a few
/// old types whose DLT numbers differ between systems; libpcap maps them
/// when it reads a file, and so must a caller of `pcap_open_dead`.
pub fn dlt_for(linktype: u32) -> i32 {
    let openbsd = cfg!(target_os = "openbsd");
    match linktype {
        100 => 11,            // ATM RFC 1483
        101 if openbsd => 14, // raw IP
        101 => 12,            // raw IP
        102 => 15,            // SLIP BSD/OS
        103 => 16,            // PPP BSD/OS
        108 if openbsd => 12, // OpenBSD loopback
        lt => i32::try_from(lt).unwrap_or(i32::MAX),
    }
}

/// The program for one link type, or why there is none.
struct ForLink {
    linktype: u32,
    program: Result<BpfProgram, String>,
}

/// A tcpdump expression with its compiled programs per link type.
pub struct CompiledFilter {
    expression: String,
    programs: Vec<ForLink>,
}

impl std::fmt::Debug for CompiledFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledFilter")
            .field("expression", &self.expression)
            .field(
                "linktypes",
                &self.programs.iter().map(|p| p.linktype).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl CompiledFilter {
    /// Checks `expression` with libpcap: it must compile for Ethernet, raw
    /// IP or Linux cooked frames. The error names the expression and gives
    /// libpcap's message (for Ethernet, the usual case).
    pub fn new(expression: &str) -> Result<Self, String> {
        let mut first_err = None;
        let mut programs = Vec::new();
        for lt in CHECK_LINKTYPES {
            match compile_filter(expression, dlt_for(lt)) {
                Ok(p) => {
                    programs.push(ForLink {
                        linktype: lt,
                        program: Ok(p),
                    });
                    break;
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if programs.is_empty() {
            return Err(first_err.unwrap_or_else(|| format!("cannot compile `{expression}`")));
        }
        Ok(CompiledFilter {
            expression: expression.to_string(),
            programs,
        })
    }

    /// The expression as given.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Compiles for `linktype` now (if not yet done) and says whether it
    /// could; the error is libpcap's, naming the expression.
    pub fn prepare(&mut self, linktype: u32) -> Result<(), String> {
        match self.index(linktype) {
            Some(i) => match &self.programs[i].program {
                Ok(_) => Ok(()),
                Err(e) => Err(e.clone()),
            },
            None => Err(format!(
                "filter `{}`: more than {MAX_LINKTYPES} link types met; link type {linktype} is not filtered",
                self.expression
            )),
        }
    }

    /// Runs the program for `linktype` on `frame` (the captured bytes from
    /// the link-layer header on). `None` when the expression does not
    /// compile for that link type, or too many link types were met.
    #[inline]
    pub fn matches(&mut self, linktype: u32, frame: &[u8]) -> Option<bool> {
        // Almost always the first entry: one link type per capture.
        let i = match self.programs.first() {
            Some(p) if p.linktype == linktype => 0,
            _ => self.index(linktype)?,
        };
        match &self.programs[i].program {
            Ok(p) => Some(p.filter(frame)),
            Err(_) => None,
        }
    }

    /// Link types for which the expression does not compile, with libpcap's reason.
    pub fn failures(&self) -> impl Iterator<Item = (u32, &str)> {
        self.programs.iter().filter_map(|p| match &p.program {
            Ok(_) => None,
            Err(e) => Some((p.linktype, e.as_str())),
        })
    }

    /// The slot of `linktype`'s program (or of the reason it has none),
    /// compiling on first use; `None` once [`MAX_LINKTYPES`] are held.
    fn index(&mut self, linktype: u32) -> Option<usize> {
        if let Some(i) = self.programs.iter().position(|p| p.linktype == linktype) {
            return Some(i);
        }
        if self.programs.len() >= MAX_LINKTYPES {
            return None;
        }
        let program = compile_filter(&self.expression, dlt_for(linktype));
        self.programs.push(ForLink { linktype, program });
        Some(self.programs.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ethernet + IPv4 + TCP SYN 10.0.0.1:1234 -> 10.0.0.2:143.
    fn eth_syn() -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[
            0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ]);
        f.extend_from_slice(&[
            0x04, 0xd2, 0, 143, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 4, 0, 0, 0, 0, 0,
        ]);
        f
    }

    #[test]
    fn compiles_per_link_type() {
        let eth = eth_syn();
        let raw = &eth[14..];
        let mut f = CompiledFilter::new("tcp[13] & 0x12 = 0x02 and dst port 143").unwrap();
        assert_eq!(f.matches(1, &eth), Some(true));
        assert_eq!(f.matches(101, raw), Some(true));
        // The Ethernet program on raw bytes would look in the wrong place.
        let mut g = CompiledFilter::new("udp").unwrap();
        assert_eq!(g.matches(1, &eth), Some(false));
        assert_eq!(g.matches(101, raw), Some(false));
    }

    #[test]
    fn link_specific_expression_fails_only_where_it_must() {
        let eth = eth_syn();
        let mut f = CompiledFilter::new("ether src 00:00:00:00:00:00").unwrap();
        assert_eq!(f.matches(1, &eth), Some(true));
        assert_eq!(f.matches(101, &eth[14..]), None);
        let fails: Vec<_> = f.failures().collect();
        assert_eq!(fails.len(), 1);
        assert_eq!(fails[0].0, 101);
        assert!(f.prepare(101).is_err());
    }

    #[test]
    fn bad_expression_is_named() {
        let e = CompiledFilter::new("tcp[13] &").unwrap_err();
        assert!(e.contains("`tcp[13] &`"), "{e}");
        assert!(e.contains("syntax error"), "{e}");
    }

    #[test]
    fn link_types_are_capped() {
        let mut f = CompiledFilter::new("ip").unwrap();
        for lt in 1000..1100u32 {
            let _ = f.matches(lt, &[0u8; 4]);
        }
        assert_eq!(f.programs.len(), MAX_LINKTYPES);
        assert_eq!(f.matches(5000, &[0u8; 4]), None);
        assert!(f.prepare(5000).unwrap_err().contains("more than"));
    }
}
