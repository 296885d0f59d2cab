//! A rule match as an [`Alert`]: the rule's identity, its classification's
//! category and severity, and bounded evidence (payload as base64 and
//! printable text, the rule's metadata).

use base64::Engine as _;
use tripline_core::{Alert, Header, Severity, Timestamp};
use tripline_rules::Buffer;
use tripline_rules::header::AppProto;
use tripline_rules::matcher::Buffers;
use tripline_rules::{Classifications, Rule};

/// Most payload bytes kept with an alert.
pub const MAX_ALERT_PAYLOAD: usize = 1024;

fn printable(payload: &[u8]) -> String {
    payload
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect()
}

fn mac_text(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Where the packet an alert was raised on came from (Suricata's
/// `pkt_src`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PacketSource {
    /// A packet as captured (a capture file or a live interface).
    Wire,
    /// A datagram reassembled from IP fragments.
    Defrag,
    /// No packet: the flow ended (the end of the input) and its open
    /// transactions were inspected, as Suricata does with the pseudo
    /// packet of a flow timeout.
    FlowEnd,
}

impl PacketSource {
    /// Suricata's name for it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PacketSource::Wire => "wire/pcap",
            PacketSource::Defrag => "defrag",
            PacketSource::FlowEnd => "stream (flow timeout)",
        }
    }
}

/// libpcap's name of a `LINKTYPE_*` value (as `pcap_datalink_val_to_name`
/// names the link types capture files use), for the common ones.
pub(crate) fn linktype_name(linktype: u32) -> Option<&'static str> {
    Some(match linktype {
        0 => "NULL",
        1 => "EN10MB",
        9 => "PPP",
        50 => "PPP_SERIAL",
        51 => "PPP_ETHER",
        101 => "RAW",
        104 => "C_HDLC",
        105 => "IEEE802_11",
        108 => "LOOP",
        113 => "LINUX_SLL",
        119 => "PRISM_HEADER",
        127 => "IEEE802_11_RADIO",
        228 => "IPV4",
        229 => "IPV6",
        239 => "NFLOG",
        276 => "LINUX_SLL2",
        _ => return None,
    })
}

/// Adds what an alert says of its packet under EVE's names: `ip_v` (the
/// IP version) and `pkt_src` (where the packet came from).
pub(crate) fn add_packet_source(a: &mut Alert, h: &Header, source: PacketSource) {
    a.details.insert("ip_v".into(), h.ip.version.into());
    a.details.insert("pkt_src".into(), source.as_str().into());
}

/// Adds how the rule matched under EVE's names: `stream` (1 when it
/// matched the reassembled stream data, 0 otherwise) and `tx_id` (the
/// matched application transaction's number in its flow).
pub(crate) fn add_match(a: &mut Alert, on_stream: bool, tx_id: Option<u64>) {
    a.details
        .insert("stream".into(), u8::from(on_stream).into());
    if let Some(id) = tx_id {
        a.details.insert("tx_id".into(), id.into());
    }
}

/// Adds the flow's traffic tags (flowbits named `traffic/id/NAME` and
/// `traffic/label/NAME`) as EVE's `traffic` object (`id`, `label`).
pub(crate) fn add_traffic<'t>(a: &mut Alert, tags: impl Iterator<Item = (bool, &'t str)>) {
    let (mut ids, mut labels) = (Vec::new(), Vec::new());
    for (is_id, name) in tags {
        let list = if is_id { &mut ids } else { &mut labels };
        list.push(serde_json::Value::from(name));
    }
    let mut o = serde_json::Map::new();
    if !ids.is_empty() {
        o.insert("id".into(), ids.into());
    }
    if !labels.is_empty() {
        o.insert("label".into(), labels.into());
    }
    if !o.is_empty() {
        a.details.insert("traffic".into(), o.into());
    }
}

/// Adds the packet's link layer to an alert's evidence under EVE's names:
/// `pcap_cnt` (the frame's number in its capture), `vlan` (the VLAN ids),
/// `ether` (`src_mac`, `dest_mac`) and `packet_info` (`linktype`, the
/// capture's `LINKTYPE_*` value, and its libpcap `linktype_name`).
pub(crate) fn add_link(a: &mut Alert, link: &tripline_core::LinkInfo) {
    if link.frame_number > 0 {
        a.details
            .insert("pcap_cnt".into(), link.frame_number.into());
    }
    let mut info = serde_json::Map::new();
    info.insert("linktype".into(), link.linktype.into());
    if let Some(name) = linktype_name(link.linktype) {
        info.insert("linktype_name".into(), name.into());
    }
    a.details.insert("packet_info".into(), info.into());
    if let Some(v) = link.vlan {
        a.details.insert("vlan".into(), serde_json::json!([v]));
    }
    let mut ether = serde_json::Map::new();
    if let Some(m) = &link.src_mac {
        ether.insert("src_mac".into(), mac_text(m).into());
    }
    if let Some(m) = &link.dst_mac {
        ether.insert("dest_mac".into(), mac_text(m).into());
    }
    if !ether.is_empty() {
        a.details.insert("ether".into(), ether.into());
    }
}

/// Adds what the application layer knew of the matched transaction under
/// EVE's names: `http` (hostname, url, method, protocol, user agent,
/// content type, status), `tls` (sni), `dns` (queries). An alert raised by
/// an HTTP response also carries the `request` it answers (hostname, url,
/// method, user agent), as Suricata logs the whole transaction. Text is
/// kept lossily as UTF-8 and bounded; hostile bytes stay data.
pub(crate) fn add_app(
    a: &mut Alert,
    app: AppProto,
    buffers: &Buffers<'_>,
    request: Option<&super::app::RequestFields>,
) {
    const MAX_FIELD: usize = 1024;
    let text = |b: Buffer| {
        buffers
            .get(b)
            .or_else(|| request.and_then(|r| r.get(b)))
            .map(|v| String::from_utf8_lossy(&v[..v.len().min(MAX_FIELD)]).into_owned())
    };
    let mut o = serde_json::Map::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            o.insert(k.into(), v.into());
        }
    };
    let key = match app {
        AppProto::Http => {
            put("hostname", text(Buffer::HttpHost));
            put("url", text(Buffer::HttpUriRaw));
            put("http_method", text(Buffer::HttpMethod));
            put("protocol", text(Buffer::HttpProtocol));
            put("http_user_agent", text(Buffer::HttpUserAgent));
            put("http_content_type", text(Buffer::HttpContentType));
            if let Some(status) =
                text(Buffer::HttpStatCode).and_then(|s| s.trim().parse::<u16>().ok())
            {
                o.insert("status".into(), status.into());
            }
            "http"
        }
        AppProto::Tls => {
            put("sni", text(Buffer::TlsSni));
            "tls"
        }
        AppProto::Dns => {
            if let Some(name) = text(Buffer::DnsQuery) {
                // EVE DNS version 3, as Suricata 8 logs a DNS request in an alert.
                o.insert("version".into(), 3.into());
                o.insert("type".into(), "request".into());
                o.insert("queries".into(), serde_json::json!([{ "rrname": name }]));
            }
            "dns"
        }
    };
    if !o.is_empty() {
        a.details.insert(key.into(), o.into());
    }
}

/// Builds the alert for `rule` matching the packet `h` with `payload`.
pub(crate) fn from_match(
    rule: &Rule,
    classes: Option<&Classifications>,
    ts: Timestamp,
    h: &Header,
    payload: &[u8],
    app: Option<AppProto>,
) -> Alert {
    let class = rule
        .classtype
        .as_deref()
        .and_then(|c| classes.and_then(|cs| cs.get(c)));
    let severity = rule
        .priority
        .or(class.map(|c| c.priority))
        .unwrap_or(3)
        .clamp(1, 255);
    let mut details = serde_json::Map::new();
    details.insert("action".into(), rule.header.action.as_str().into());
    if let Some(a) = app {
        let name = match a {
            AppProto::Http => "http",
            AppProto::Dns => "dns",
            AppProto::Tls => "tls",
        };
        details.insert("app_proto".into(), name.into());
    }
    if !payload.is_empty() {
        let kept = &payload[..payload.len().min(MAX_ALERT_PAYLOAD)];
        details.insert(
            "payload".into(),
            base64::engine::general_purpose::STANDARD
                .encode(kept)
                .into(),
        );
        details.insert("payload_printable".into(), printable(kept).into());
        details.insert("payload_len".into(), payload.len().into());
    }
    if !rule.metadata.is_empty() {
        let mut meta = serde_json::Map::new();
        for (k, v) in &rule.metadata {
            let entry = meta
                .entry(k.clone())
                .or_insert_with(|| serde_json::Value::Array(Vec::new()));
            if let serde_json::Value::Array(a) = entry {
                a.push(v.clone().into());
            }
        }
        details.insert("metadata".into(), meta.into());
    }
    Alert {
        ts,
        detector: "signature".into(),
        gid: rule.gid,
        sid: rule.sid,
        rev: rule.rev,
        msg: rule.msg.clone(),
        category: class.map(|c| c.description.clone()).unwrap_or_default(),
        severity: Severity(severity),
        src: Some(h.src),
        sport: Some(h.sport()),
        dst: Some(h.dst),
        dport: Some(h.dport()),
        protocol: Some(h.protocol),
        community_id: Some(crate::community_id::CommunityId::new(0).of_header(h)),
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripline_core::{HomeNets, IpFields};
    use tripline_rules::{Variables, parse_rule};

    fn alert_for(version: u8) -> Alert {
        let vars = Variables::suricata_defaults(&HomeNets::default());
        let rule = parse_rule(r#"alert ip any any -> any any (msg:"t"; sid:7;)"#, &vars)
            .expect("rule parses");
        let src = if version == 6 {
            "2001:db8::1"
        } else {
            "10.0.0.1"
        };
        let h = Header {
            src: src.parse().expect("address"),
            dst: src.parse().expect("address"),
            protocol: 6,
            ip: IpFields {
                version,
                ..IpFields::default()
            },
            transport: tripline_core::Transport::Other,
        };
        let mut a = from_match(&rule, None, Timestamp(0), &h, b"", None);
        add_packet_source(&mut a, &h, PacketSource::Wire);
        a
    }

    #[test]
    fn packet_facts_use_suricata_names() {
        let a = alert_for(6);
        assert_eq!(a.details["ip_v"], 6);
        assert_eq!(a.details["pkt_src"], "wire/pcap");
        assert_eq!(PacketSource::FlowEnd.as_str(), "stream (flow timeout)");
        assert_eq!(PacketSource::Defrag.as_str(), "defrag");
        let mut a = alert_for(4);
        add_link(
            &mut a,
            &tripline_core::LinkInfo {
                linktype: 276,
                frame_number: 3,
                ..tripline_core::LinkInfo::default()
            },
        );
        assert_eq!(a.details["packet_info"]["linktype"], 276);
        assert_eq!(a.details["packet_info"]["linktype_name"], "LINUX_SLL2");
        assert_eq!(a.details["pcap_cnt"], 3);
        assert_eq!(linktype_name(1), Some("EN10MB"));
        assert_eq!(linktype_name(60_000), None);
        add_match(&mut a, true, Some(4));
        assert_eq!(
            (&a.details["stream"], &a.details["tx_id"]),
            (&1.into(), &4.into())
        );
    }

    #[test]
    fn traffic_tags_split_into_ids_and_labels() {
        let mut a = alert_for(4);
        add_traffic(&mut a, std::iter::empty());
        assert!(!a.details.contains_key("traffic"));
        add_traffic(
            &mut a,
            [(true, "mozilla"), (false, "web"), (true, "x")].into_iter(),
        );
        assert_eq!(
            a.details["traffic"],
            serde_json::json!({"id": ["mozilla", "x"], "label": ["web"]})
        );
    }
}
