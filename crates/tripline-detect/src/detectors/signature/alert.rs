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

/// Adds the packet's link layer to an alert's evidence under EVE's names:
/// `pcap_cnt` (the frame's number in its capture), `vlan` (the VLAN ids)
/// and `ether` (`src_mac`, `dest_mac`).
pub(crate) fn add_link(a: &mut Alert, link: &tripline_core::LinkInfo) {
    if link.frame_number > 0 {
        a.details
            .insert("pcap_cnt".into(), link.frame_number.into());
    }
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
/// content type, status), `tls` (sni), `dns` (queries). Text is kept
/// lossily as UTF-8 and bounded; hostile bytes stay data.
pub(crate) fn add_app(a: &mut Alert, app: AppProto, buffers: &Buffers<'_>) {
    const MAX_FIELD: usize = 1024;
    let text = |b: Buffer| {
        buffers
            .get(b)
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
