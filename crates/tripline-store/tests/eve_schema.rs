//! Every EVE line tripline writes validates against Suricata's schema
//! (shared/data/eve/schema.json), and carries the fields Suricata tools read.

mod common;

use common::*;
use serde_json::Value;
use tripline_core::{ConnState, DnsData, DnsEvent, DnsOrigin, Timestamp, ip_proto};
use tripline_store::{EveOptions, EveWriter, flow_id};

const SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/eve/schema.json"
);

fn validator() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(SCHEMA).expect("schema.json")).unwrap();
    jsonschema::validator_for(&schema).expect("schema compiles offline")
}

fn hostile() -> String {
    "evil\"name</script>\u{1}\u{7f}\n\\.example.test".to_string()
}

/// Writes a varied set of records and returns the parsed lines.
fn write_all(opts: EveOptions) -> Vec<Value> {
    let mut w = EveWriter::with_options(Vec::new(), opts);
    let mut conns = vec![
        conn("10.99.1.2", 51000, "10.99.2.5", 443, ip_proto::TCP),
        conn("fd99:1::2", 51001, "fd99:2::2", 80, ip_proto::TCP),
        conn("10.99.1.2", 53000, "10.99.2.53", 53, ip_proto::UDP),
        conn("10.99.2.66", 8, "10.99.1.2", 0, ip_proto::ICMP),
        conn("fd99:2::66", 128, "fd99:1::2", 0, ip_proto::ICMPV6),
        conn("10.99.1.2", 0, "10.99.2.2", 0, ip_proto::GRE),
        conn("10.99.1.2", 0, "10.99.2.2", 0, 253),
        firewall_conn(),
    ];
    let mut s0 = conn("10.99.2.66", 40000, "10.99.1.3", 23, ip_proto::TCP);
    (s0.state, s0.history, s0.resp_packets, s0.community_id) =
        (ConnState::S0, "S".into(), 0, String::new());
    conns.push(s0);
    let mut odd = conn("10.99.1.2", 1, "10.99.2.5", 2, ip_proto::TCP);
    odd.history = hostile();
    conns.push(odd);
    for c in &conns {
        w.flow(c).unwrap();
    }

    let mut nx = dns(
        DnsEvent::Reply,
        "nope.example.test",
        "A",
        vec![answer("nope.example.test", DnsData::NxDomain, None)],
    );
    nx.rcode = Some("NXDOMAIN".into());
    let mut blocked = dns(
        DnsEvent::Config,
        "ads.example.test",
        "A",
        vec![answer(
            "ads.example.test",
            DnsData::Addr(ip("0.0.0.0")),
            None,
        )],
    );
    (blocked.from_config, blocked.blocked) = (true, true);
    let mut packet = dns(DnsEvent::Query, &hostile(), "TYPE65", vec![]);
    (packet.origin, packet.id, packet.server) = (DnsOrigin::Packet, None, None);
    let records = [
        dns(DnsEvent::Query, "www.example.test", "A", vec![]),
        dns(DnsEvent::Forwarded, "www.example.test", "AAAA", vec![]),
        dns(
            DnsEvent::Reply,
            "www.example.test",
            "A",
            vec![
                answer(
                    "www.example.test",
                    DnsData::Cname("cdn.example.test".into()),
                    Some(300),
                ),
                answer("cdn.example.test", DnsData::Cname(String::new()), None),
                answer(
                    "edge.example.test",
                    DnsData::Addr(ip("10.99.2.5")),
                    Some(30),
                ),
                answer(
                    "edge.example.test",
                    DnsData::Addr(ip("10.99.2.6")),
                    Some(30),
                ),
            ],
        ),
        dns(
            DnsEvent::Cached,
            "v6.example.test",
            "AAAA",
            vec![answer(
                "v6.example.test",
                DnsData::Addr(ip("fd99:2::2")),
                None,
            )],
        ),
        dns(
            DnsEvent::Reply,
            "example.test",
            "MX",
            vec![answer(
                "example.test",
                DnsData::Other("10 mail.example.test".into()),
                Some(3600),
            )],
        ),
        dns(
            DnsEvent::Reply,
            "example.test",
            "SRV",
            vec![answer("example.test", DnsData::Other(hostile()), None)],
        ),
        dns(
            DnsEvent::Hosts,
            "nas.lan",
            "A",
            vec![answer("nas.lan", DnsData::NoData, None)],
        ),
        nx,
        blocked,
        packet,
    ];
    for d in &records {
        w.dns(d).unwrap();
    }

    let mut icmp_alert = alert("ICMP sweep");
    (
        icmp_alert.protocol,
        icmp_alert.sport,
        icmp_alert.dport,
        icmp_alert.community_id,
    ) = (Some(ip_proto::ICMP), Some(8), Some(0), None);
    let mut bare = alert(&hostile());
    (
        bare.src,
        bare.dst,
        bare.sport,
        bare.dport,
        bare.protocol,
        bare.community_id,
    ) = (None, None, None, None, None, None);
    bare.details.clear();
    bare.details.insert("why".into(), Value::String(hostile()));
    bare.ts = Timestamp(-1);
    for a in [alert("SYN scan from 10.99.2.66"), icmp_alert, bare] {
        w.alert(&a).unwrap();
    }
    assert_eq!(w.events(), 23);
    let bytes = w.into_inner().unwrap();
    let text = String::from_utf8(bytes).unwrap();
    // One event per line: hostile newlines are escaped inside strings.
    assert_eq!(text.lines().count(), 23);
    text.lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

fn assert_valid(lines: &[Value]) {
    let v = validator();
    for line in lines {
        let errors: Vec<String> = v
            .iter_errors(line)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{line}\n{errors:#?}");
    }
}

#[test]
fn every_event_validates_with_default_options() {
    assert_valid(&write_all(EveOptions::default()));
}

#[test]
fn every_event_validates_with_grouped_dns_and_sensor_name() {
    let lines = write_all(EveOptions {
        sensor_name: Some("gw \"1\"".into()),
        dns_grouped: true,
        extras: true,
    });
    assert_valid(&lines);
    let reply = lines
        .iter()
        .find(|l| l["dns"]["grouped"]["CNAME"].is_array())
        .expect("grouped reply");
    assert_eq!(
        reply["dns"]["grouped"]["A"],
        serde_json::json!(["10.99.2.5", "10.99.2.6"])
    );
    assert!(lines.iter().all(|l| l["host"] == "gw \"1\""));
}

#[test]
fn every_event_validates_without_extras() {
    let lines = write_all(EveOptions {
        extras: false,
        ..EveOptions::default()
    });
    assert_valid(&lines);
    assert!(lines.iter().all(|l| l.get("metadata").is_none()));
}

#[test]
fn the_schema_rejects_what_it_should() {
    // Guards against a vacuous validator: unknown keys and bad types fail.
    let v = validator();
    let mut line = write_all(EveOptions::default()).remove(0);
    assert!(v.is_valid(&line));
    line["tripline"] = serde_json::json!({"direction": "outbound"});
    assert!(!v.is_valid(&line));
    line.as_object_mut().unwrap().remove("tripline");
    line["flow"]["pkts_toserver"] = Value::String("5".into());
    assert!(!v.is_valid(&line));
}

#[test]
fn flow_fields_follow_suricata() {
    let lines = write_all(EveOptions::default());
    let tcp = &lines[0];
    let c = conn("10.99.1.2", 51000, "10.99.2.5", 443, ip_proto::TCP);
    assert_eq!(tcp["event_type"], "flow");
    assert_eq!(tcp["timestamp"], "2026-11-22T12:15:36.275668+0000");
    assert_eq!(tcp["flow_id"], flow_id(&c));
    assert_eq!(tcp["proto"], "TCP");
    assert_eq!(
        (tcp["src_port"].as_u64(), tcp["dest_port"].as_u64()),
        (Some(51000), Some(443))
    );
    let f = &tcp["flow"];
    assert_eq!(
        (f["pkts_toserver"].as_u64(), f["bytes_toclient"].as_u64()),
        (Some(5), Some(3000))
    );
    assert_eq!(
        (f["end"].as_str(), f["age"].as_i64()),
        (Some("2026-11-22T12:15:37.775668+0000"), Some(1))
    );
    assert_eq!(f["state"], "closed");
    assert_eq!(tcp["tcp"]["tcp_flags"], "13");
    assert_eq!(tcp["community_id"], c.community_id);
    let vars = tcp["metadata"]["flowvars"].as_array().unwrap();
    assert!(vars.contains(&serde_json::json!({"key": "tripline.conn_state", "value": "SF"})));

    assert_eq!(lines[1]["src_ip"], "fd99:1::2");
    let icmp = &lines[3];
    assert_eq!(
        (icmp["proto"].as_str(), icmp["icmp_type"].as_u64()),
        (Some("ICMP"), Some(8))
    );
    assert!(icmp.get("src_port").is_none());
    assert_eq!(lines[4]["proto"], "IPv6-ICMP");
    assert_eq!(lines[6]["proto"], "253");
    let fw = &lines[7];
    assert_eq!(fw["in_iface"], "gw-ext");
    assert_eq!(fw["flow"]["state"], "new");
    assert!(lines[8].get("community_id").is_none() && lines[8]["flow_id"].as_u64().is_some());
    assert_eq!(lines[9]["metadata"]["flowvars"][2]["value"], hostile());
}

#[test]
fn dns_follows_version_3() {
    let lines = write_all(EveOptions::default());
    let query = &lines[10]["dns"];
    assert_eq!(
        (query["version"].as_u64(), query["type"].as_str()),
        (Some(3), Some("request"))
    );
    assert_eq!(
        query["queries"],
        serde_json::json!([{"rrname": "www.example.test", "rrtype": "A"}])
    );
    assert_eq!(lines[10]["src_ip"], "10.99.1.2");
    let reply = &lines[12];
    assert_eq!(
        reply["src_ip"], "10.99.2.53",
        "v3 responses come from the responder"
    );
    assert_eq!(reply["dest_ip"], "10.99.1.2");
    let d = &reply["dns"];
    assert_eq!(
        (d["type"].as_str(), d["rcode"].as_str(), d["qr"].as_bool()),
        (Some("response"), Some("NOERROR"), Some(true))
    );
    assert_eq!(
        d["answers"][0],
        serde_json::json!({"rrname": "www.example.test", "rrtype": "CNAME", "ttl": 300, "rdata": "cdn.example.test"})
    );
    assert!(
        d["answers"][1].get("rdata").is_none(),
        "unknown CNAME target is left out, not invented"
    );
    assert_eq!(d["answers"][3]["rdata"], "10.99.2.6");
    assert_eq!(lines[13]["dns"]["answers"][0]["rrtype"], "AAAA");
    assert_eq!(lines[14]["dns"]["answers"][0]["rrtype"], "MX");
    assert!(lines[16]["dns"].get("answers").is_none());
    assert_eq!(lines[17]["dns"]["rcode"], "NXDOMAIN");
    assert!(lines[17]["dns"].get("answers").is_none());
    let blocked = lines[18]["metadata"]["flowvars"].as_array().unwrap();
    assert!(blocked.contains(&serde_json::json!({"key": "tripline.blocked", "value": "true"})));
    assert_eq!(lines[19]["dns"]["queries"][0]["rrname"], hostile());
}

#[test]
fn alerts_carry_signature_and_details() {
    let lines = write_all(EveOptions::default());
    let a = &lines[20];
    assert_eq!(a["event_type"], "alert");
    let body = &a["alert"];
    assert_eq!(body["action"], "allowed");
    assert_eq!(
        (
            body["gid"].as_u64(),
            body["signature_id"].as_u64(),
            body["rev"].as_u64()
        ),
        (Some(1), Some(9_000_001), Some(2))
    );
    assert_eq!(
        (body["severity"].as_u64(), body["category"].as_str()),
        (Some(2), Some("Attempted Information Leak"))
    );
    assert_eq!(body["context"]["tripline"]["detector"], "scan");
    assert_eq!(
        body["context"]["tripline"]["details"]["ports"],
        serde_json::json!([22, 80, 443])
    );
    // Same Community ID as the flow it belongs to: same flow_id.
    let c = conn("10.99.2.66", 40000, "10.99.1.2", 22, ip_proto::TCP);
    assert_eq!(a["flow_id"], flow_id(&c));
    assert_eq!(lines[21]["icmp_type"], 8);
    assert!(lines[21].get("flow_id").is_none());
    let bare = &lines[22];
    assert_eq!(bare["alert"]["signature"], hostile());
    assert_eq!(bare["timestamp"], "1969-12-31T23:59:59.999999+0000");
}

#[test]
fn signature_evidence_is_written_where_suricata_writes_it() {
    let mut a = alert("ET TEST payload rule");
    a.detector = "signature".into();
    let details = serde_json::json!({
        "action": "alert",
        "app_proto": "http",
        "payload": "R0VUIC8=",
        "payload_printable": "GET /",
        "payload_len": 5,
        "vlan": [1111],
        "pcap_cnt": 6,
        "ether": {"src_mac": "00:0c:29:f3:cf:38", "dest_mac": "00:0c:29:f2:ab:42"},
        "metadata": {"signature_severity": ["Major"], "created_at": ["2024_01_01"]},
        "http": {"hostname": "<script>x</script>", "url": "/a?b=\"c\"", "http_method": "GET",
                 "protocol": "HTTP/1.1", "http_user_agent": "curl", "status": 200},
        "tls": {"sni": "example.org"},
        "dns": {"version": 3, "type": "request", "queries": [{"rrname": "evil.example"}]},
        "ip_v": 6,
        "pkt_src": "wire/pcap",
        "tx_id": 2,
        "stream": 1,
        "packet_info": {"linktype": 276, "linktype_name": "LINUX_SLL2"},
        "traffic": {"id": ["mozilla"], "label": ["browser"]},
    });
    a.details = details.as_object().unwrap().clone();
    let mut w = EveWriter::new(Vec::new());
    w.alert(&a).unwrap();
    let line: Value = serde_json::from_slice(&w.into_inner().unwrap()).unwrap();
    assert_valid(std::slice::from_ref(&line));
    assert_eq!(
        (
            &line["app_proto"],
            &line["payload"],
            &line["payload_printable"]
        ),
        (
            &details["app_proto"],
            &details["payload"],
            &details["payload_printable"]
        )
    );
    assert_eq!(line["vlan"], serde_json::json!([1111]));
    assert_eq!(line["pcap_cnt"], 6);
    assert_eq!(line["ether"]["dest_mac"], "00:0c:29:f2:ab:42");
    assert_eq!(line["alert"]["metadata"]["signature_severity"][0], "Major");
    assert_eq!(line["http"]["hostname"], "<script>x</script>");
    assert_eq!(line["http"]["status"], 200);
    assert_eq!(line["tls"]["sni"], "example.org");
    assert_eq!(line["dns"]["queries"][0]["rrname"], "evil.example");
    assert_eq!(
        (
            &line["ip_v"],
            &line["pkt_src"],
            &line["tx_id"],
            &line["stream"]
        ),
        (
            &serde_json::json!(6),
            &serde_json::json!("wire/pcap"),
            &serde_json::json!(2),
            &serde_json::json!(1)
        )
    );
    assert_eq!(line["packet_info"]["linktype_name"], "LINUX_SLL2");
    assert_eq!(line["traffic"]["id"][0], "mozilla");
    assert_eq!(line["traffic"]["label"][0], "browser");
    // A detector without such evidence writes none of these keys.
    let mut w = EveWriter::new(Vec::new());
    w.alert(&alert("SYN scan")).unwrap();
    let plain: Value = serde_json::from_slice(&w.into_inner().unwrap()).unwrap();
    for k in [
        "app_proto",
        "payload",
        "vlan",
        "ether",
        "http",
        "tls",
        "dns",
        "ip_v",
        "pkt_src",
        "tx_id",
        "stream",
        "packet_info",
        "traffic",
    ] {
        assert!(plain.get(k).is_none(), "{k}");
    }
    assert!(plain["alert"].get("metadata").is_none());
}
