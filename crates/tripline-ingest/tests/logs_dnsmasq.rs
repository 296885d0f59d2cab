//! dnsmasq logs from the shared datasets, end to end through `LogSource`.

mod logs_support;

use logs_support::{read, shared, year};
use std::net::IpAddr;
use tripline_core::{DnsData, DnsEvent, DnsLog};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn answers(d: &DnsLog) -> Vec<(&str, DnsData)> {
    d.answers
        .iter()
        .map(|a| (a.name.as_str(), a.data.clone()))
        .collect()
}

fn groups(all: &[DnsLog]) -> Vec<&DnsLog> {
    all.iter()
        .filter(|d| !matches!(d.event, DnsEvent::Query | DnsEvent::Forwarded))
        .collect()
}

#[test]
fn dnsconn_counts() {
    let (got, stats) = read(&shared("dnsconn/dnsmasq.log"), year(2026));
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    // grep -c 'query\[' dnsconn/dnsmasq.log → 34; grep -c ': forwarded ' → 24;
    // wc -l → 103, of which 7 are start-up chatter and the exit line.
    let count = |e: DnsEvent| got.dns.iter().filter(|d| d.event == e).count();
    assert_eq!(
        (count(DnsEvent::Query), count(DnsEvent::Forwarded)),
        (34, 24)
    );
    assert_eq!((stats.units, stats.skipped), (103, 7));
    // 38 answer lines form 35 answers: the CNAME chain (2 lines) and the two
    // A records of api.example.org (2 lines) are one record each, the second
    // CNAME chain too (AAAA).
    assert_eq!(groups(&got.dns).len(), 35);
    assert!(got.dns.windows(2).all(|w| w[0].ts <= w[1].ts));
    assert_eq!(stats.records as usize, got.dns.len());
}

#[test]
fn dnsconn_cname_chain_and_attribution() {
    let (got, _) = read(&shared("dnsconn/dnsmasq.log"), year(2026));
    let g = groups(&got.dns);
    let video: Vec<_> = g.iter().filter(|d| d.name == "video.example.com").collect();
    assert_eq!(video.len(), 3);
    let a = video[0];
    assert_eq!(
        (a.event, a.qtype.as_str(), a.client, a.server),
        (
            DnsEvent::Reply,
            "A",
            Some(ip("10.99.1.2")),
            Some(ip("10.99.2.53"))
        )
    );
    assert_eq!(
        answers(a),
        [
            (
                "video.example.com",
                DnsData::Cname("files.example.net".into())
            ),
            ("files.example.net", DnsData::Addr(ip("10.99.2.3")))
        ]
    );
    assert_eq!(
        (video[1].event, video[1].qtype.as_str()),
        (DnsEvent::Cached, "AAAA")
    );
    assert_eq!(
        answers(video[2]),
        [
            (
                "video.example.com",
                DnsData::Cname("files.example.net".into())
            ),
            ("files.example.net", DnsData::NoData)
        ]
    );

    let api = g
        .iter()
        .find(|d| d.name == "api.example.org" && d.qtype == "A")
        .unwrap();
    assert_eq!(
        answers(api),
        [
            ("api.example.org", DnsData::Addr(ip("10.99.2.4"))),
            ("api.example.org", DnsData::Addr(ip("10.99.2.6")))
        ]
    );

    // updates.example.org was asked by the other LAN host (C15).
    let upd: Vec<_> = g
        .iter()
        .filter(|d| d.name == "updates.example.org")
        .map(|d| (d.qtype.as_str(), d.client))
        .collect();
    assert_eq!(
        upd,
        [
            ("A", Some(ip("10.99.1.3"))),
            ("AAAA", Some(ip("10.99.1.3")))
        ]
    );
    // blog.example.com at 12:19:58 was 10.99.1.3's own lookup (C25), cached A.
    let blog_cached = g
        .iter()
        .find(|d| d.name == "blog.example.com" && d.event == DnsEvent::Cached)
        .unwrap();
    assert_eq!(blog_cached.client, Some(ip("10.99.1.3")));

    // www.example.com: the A and AAAA answers are two records, one per question.
    let www: Vec<_> = g
        .iter()
        .filter(|d| d.name == "www.example.com")
        .map(|d| (d.event, d.qtype.as_str(), answers(d)))
        .collect();
    assert_eq!(
        www[0],
        (
            DnsEvent::Reply,
            "A",
            vec![("www.example.com", DnsData::Addr(ip("10.99.2.2")))]
        )
    );
    assert_eq!(
        www[1],
        (
            DnsEvent::Reply,
            "AAAA",
            vec![("www.example.com", DnsData::Addr(ip("fd99:2::2")))]
        )
    );

    let ptr = g.iter().find(|d| d.qtype == "PTR").unwrap();
    assert_eq!(
        (ptr.name.as_str(), answers(ptr)),
        (
            "2.2.99.10.in-addr.arpa",
            vec![(
                "2.2.99.10.in-addr.arpa",
                DnsData::Other("www.example.com".into())
            )]
        )
    );

    let refused: Vec<_> = g
        .iter()
        .filter(|d| d.rcode.as_deref() == Some("REFUSED"))
        .map(|d| (d.name.as_str(), d.qtype.as_str()))
        .collect();
    assert_eq!(
        refused,
        [
            ("www.nowhere.invalid", "AAAA"),
            ("www.nowhere.invalid", "AAAA"),
            ("www.nowhere.invalid", "A"),
            ("www.nowhere.invalid", "A")
        ]
    );
}

#[test]
fn dnsconn_nodata_and_blocks() {
    let (got, _) = read(&shared("dnsconn/dnsmasq.log"), year(2026));
    let g = groups(&got.dns);
    // grep -c 'is NODATA-IPv6' → 10 lines; each its own AAAA answer (two after a CNAME).
    let nodata6: Vec<_> = g
        .iter()
        .filter(|d| {
            d.answers.last().is_some_and(|a| a.data == DnsData::NoData) && d.qtype == "AAAA"
        })
        .collect();
    assert_eq!(nodata6.len(), 10);
    // ads.example.net is blocked for A only (sinkhole 127.0.0.2); AAAA went upstream.
    let ads: Vec<_> = g
        .iter()
        .filter(|d| d.name == "ads.example.net")
        .map(|d| (d.event, d.qtype.as_str(), d.blocked))
        .collect();
    assert_eq!(
        ads,
        [
            (DnsEvent::Config, "A", true),
            (DnsEvent::Reply, "AAAA", false)
        ]
    );
    // address=/tracker.example.org/ → NXDOMAIN from config: blocked, both types.
    let tracker: Vec<_> = g
        .iter()
        .filter(|d| d.name == "tracker.example.org")
        .map(|d| (d.rcode.as_deref(), d.blocked, d.from_config))
        .collect();
    assert_eq!(tracker, [(Some("NXDOMAIN"), true, true); 2]);
    // NXDOMAIN from upstream is not a block.
    assert!(
        g.iter()
            .filter(|d| d.name == "nosuch.example.com")
            .all(|d| !d.blocked && d.rcode.as_deref() == Some("NXDOMAIN"))
    );
    // lan_hosts answer: from configuration, not a block.
    let nas = g
        .iter()
        .find(|d| d.name == "nas.home.lan" && d.event == DnsEvent::Hosts)
        .unwrap();
    assert_eq!(
        (answers(nas), nas.from_config, nas.blocked),
        (
            vec![("nas.home.lan", DnsData::Addr(ip("10.99.1.3")))],
            true,
            false
        )
    );
    assert_eq!(g.iter().filter(|d| d.blocked).count(), 3);
}

#[test]
fn mixed_counts_and_blocks() {
    let (got, stats) = read(&shared("mixed/dnsmasq.log"), year(2026));
    assert!(got.errors.is_empty(), "{:?}", got.errors.first());
    // wc -l → 1110; grep -c 'query\[' → 477; grep -c ': forwarded ' → 83;
    // grep -cE ': (reply|cached|config|/[^ ]+) [^ ]+ is ' → 543.
    let count = |e: DnsEvent| got.dns.iter().filter(|d| d.event == e).count();
    assert_eq!(
        (
            stats.units,
            count(DnsEvent::Query),
            count(DnsEvent::Forwarded)
        ),
        (1110, 477, 83)
    );
    assert_eq!(stats.skipped, 1110 - 477 - 83 - 543);
    // grep -c 'config ads.example.net is 127.0.0.2' → 8, 'config tracker.example.org is NXDOMAIN' → 8.
    let blocked: Vec<_> = groups(&got.dns).into_iter().filter(|d| d.blocked).collect();
    assert_eq!(blocked.len(), 16);
    // Every answer is attributed to one of the two LAN clients.
    assert!(
        groups(&got.dns)
            .iter()
            .all(|d| matches!(d.client, Some(c) if c == ip("10.99.1.2") || c == ip("10.99.1.3")))
    );
    // Every CNAME has a target (the next line's name) unless dnsmasq went
    // upstream right after the cached CNAME.
    for d in groups(&got.dns) {
        for (i, a) in d.answers.iter().enumerate() {
            if let DnsData::Cname(t) = &a.data {
                assert_eq!(t.is_empty(), i + 1 == d.answers.len(), "{d:?}");
            }
        }
    }
}
