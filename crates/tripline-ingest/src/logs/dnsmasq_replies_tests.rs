use super::*;
use crate::logs::dnsmasq;

/// Feeds `lines` (`second message`) and returns the records, flushed at the end.
fn run(lines: &[(i64, &str)]) -> Vec<DnsLog> {
    let mut a = DnsmasqAssembler::new();
    let mut out = Vec::new();
    let mut emit = |r: &Record<'_>| {
        if let Record::Dns(d) = r {
            out.push(d.clone());
        }
    };
    for (secs, msg) in lines {
        let line = dnsmasq::parse(msg).unwrap();
        a.push(
            Timestamp::from_secs_nanos(*secs, 0),
            Some(1),
            &line,
            &mut emit,
        );
    }
    a.flush(&mut emit);
    out
}

fn answers(d: &DnsLog) -> Vec<(String, DnsData)> {
    d.answers
        .iter()
        .map(|a| (a.name.clone(), a.data.clone()))
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn a_and_aaaa_answers_split_by_family() {
    let recs = run(&[
        (1, "query[A] www.example.com from 10.99.1.2"),
        (1, "forwarded www.example.com to 10.99.2.53"),
        (1, "query[AAAA] www.example.com from 10.99.1.9"),
        (1, "forwarded www.example.com to 10.99.2.54"),
        (1, "reply www.example.com is 10.99.2.2"),
        (1, "reply www.example.com is fd99:2::2"),
    ]);
    let events: Vec<_> = recs.iter().map(|d| d.event).collect();
    assert_eq!(
        events,
        [
            DnsEvent::Query,
            DnsEvent::Forwarded,
            DnsEvent::Query,
            DnsEvent::Forwarded,
            DnsEvent::Reply,
            DnsEvent::Reply
        ]
    );
    assert_eq!(
        (recs[4].qtype.as_str(), recs[4].client, recs[4].server),
        ("A", Some(ip("10.99.1.2")), Some(ip("10.99.2.53")))
    );
    assert_eq!(
        (recs[5].qtype.as_str(), recs[5].client, recs[5].server),
        ("AAAA", Some(ip("10.99.1.9")), Some(ip("10.99.2.54")))
    );
    assert_eq!(
        answers(&recs[5]),
        [(
            "www.example.com".to_string(),
            DnsData::Addr(ip("fd99:2::2"))
        )]
    );
    assert_eq!(recs[4].rcode.as_deref(), Some("NOERROR"));
}

#[test]
fn cname_chain_is_one_record_with_owner_names() {
    let recs = run(&[
        (3, "query[A] video.example.com from 10.99.1.2"),
        (3, "forwarded video.example.com to 10.99.2.53"),
        (3, "reply video.example.com is <CNAME>"),
        (3, "reply files.example.net is 10.99.2.3"),
        (3, "query[A] other.example.com from 10.99.1.2"),
    ]);
    assert_eq!(recs.len(), 4);
    let r = &recs[2];
    assert_eq!(
        (r.name.as_str(), r.qtype.as_str(), r.client),
        ("video.example.com", "A", Some(ip("10.99.1.2")))
    );
    assert_eq!(
        answers(r),
        [
            (
                "video.example.com".to_string(),
                DnsData::Cname("files.example.net".to_string())
            ),
            (
                "files.example.net".to_string(),
                DnsData::Addr(ip("10.99.2.3"))
            ),
        ]
    );
}

#[test]
fn blocks_from_configuration() {
    let recs = run(&[
        (5, "query[A] ads.example.net from 10.99.1.2"),
        (5, "config ads.example.net is 127.0.0.2"),
        (5, "query[A] tracker.example.org from 10.99.1.2"),
        (5, "config tracker.example.org is NXDOMAIN"),
        (5, "query[A] nosuch.example.com from 10.99.1.2"),
        (5, "reply nosuch.example.com is NXDOMAIN"),
        (5, "query[A] localhost from 10.99.1.2"),
        (5, "/etc/hosts localhost is 127.0.0.1"),
        (5, "query[A] nas.home.lan from 10.99.1.2"),
        (5, "/etc/hosts nas.home.lan is 10.99.1.3"),
        (5, "query[A] zero.example from 10.99.1.2"),
        (5, "/etc/hosts.block zero.example is 0.0.0.0"),
    ]);
    let replies: Vec<_> = recs
        .iter()
        .filter(|d| d.event != DnsEvent::Query)
        .map(|d| (d.name.as_str(), d.blocked, d.from_config))
        .collect();
    assert_eq!(
        replies,
        [
            ("ads.example.net", true, true),
            ("tracker.example.org", true, true),
            ("nosuch.example.com", false, false),
            ("localhost", false, true),
            ("nas.home.lan", false, true),
            ("zero.example", true, true),
        ]
    );
    assert_eq!(recs[3].rcode.as_deref(), Some("NXDOMAIN"));
}

#[test]
fn ptr_and_refused() {
    let recs = run(&[
        (7, "query[PTR] 2.2.99.10.in-addr.arpa from 10.99.1.2"),
        (7, "forwarded 2.2.99.10.in-addr.arpa to 10.99.2.53"),
        (7, "reply 10.99.2.2 is www.example.com"),
        (8, "query[AAAA] www.nowhere.invalid from 10.99.1.5"),
        (8, "forwarded www.nowhere.invalid to 10.99.2.53"),
        (8, "reply error is REFUSED"),
    ]);
    let ptr = &recs[2];
    assert_eq!(
        (ptr.name.as_str(), ptr.qtype.as_str(), ptr.client),
        ("2.2.99.10.in-addr.arpa", "PTR", Some(ip("10.99.1.2")))
    );
    assert_eq!(
        answers(ptr),
        [(
            "2.2.99.10.in-addr.arpa".to_string(),
            DnsData::Other("www.example.com".to_string())
        )]
    );
    let refused = &recs[5];
    assert_eq!(
        (
            refused.name.as_str(),
            refused.rcode.as_deref(),
            refused.client
        ),
        (
            "www.nowhere.invalid",
            Some("REFUSED"),
            Some(ip("10.99.1.5"))
        )
    );
    assert!(refused.answers.is_empty());
}

#[test]
fn extra_serial_picks_the_query() {
    let recs = run(&[
        (9, "11 10.0.0.2/5001 query[A] x.example from 10.0.0.2"),
        (9, "12 10.0.0.3/5002 query[A] x.example from 10.0.0.3"),
        (9, "11 10.0.0.2/5001 reply x.example is 1.2.3.4"),
        (9, "12 10.0.0.3/5002 reply x.example is 1.2.3.4"),
    ]);
    assert_eq!(
        (recs[2].client, recs[2].id),
        (Some(ip("10.0.0.2")), Some(11))
    );
    assert_eq!(
        (recs[3].client, recs[3].id),
        (Some(ip("10.0.0.3")), Some(12))
    );
}

#[test]
fn repeated_answers_start_new_groups_and_latest_query_wins() {
    let recs = run(&[
        (1, "query[A] a.example from 10.0.0.1"),
        (1, "cached a.example is 1.1.1.1"),
        (1, "cached a.example is 1.1.1.1"),
        (2, "query[A] a.example from 10.0.0.2"),
        (2, "cached a.example is 1.1.1.1"),
        (2, "cached a.example is 2.2.2.2"),
    ]);
    let cached: Vec<_> = recs
        .iter()
        .filter(|d| d.event == DnsEvent::Cached)
        .map(|d| (d.client, d.answers.len()))
        .collect();
    assert_eq!(
        cached,
        [
            (Some(ip("10.0.0.1")), 1),
            (Some(ip("10.0.0.1")), 1),
            (Some(ip("10.0.0.2")), 2)
        ]
    );
}

#[test]
fn memory_is_bounded() {
    let mut a = DnsmasqAssembler::new();
    let mut n = 0usize;
    let mut emit = |_: &Record<'_>| n += 1;
    for i in 0..(MAX_NAMES * 3) {
        let msg = format!("query[A] host{i}.example from 10.0.0.1");
        a.push(
            Timestamp::ZERO,
            None,
            &dnsmasq::parse(&msg).unwrap(),
            &mut emit,
        );
    }
    for _ in 0..(PER_NAME + 5) {
        a.push(
            Timestamp::ZERO,
            None,
            &dnsmasq::parse("query[A] same.example from 10.0.0.1").unwrap(),
            &mut emit,
        );
    }
    assert!(a.recent.len() <= MAX_NAMES);
    assert!(a.recent.values().all(|v| v.len() <= PER_NAME));
    assert!(a.evicted_queries() >= (MAX_NAMES * 2) as u64);
    assert_eq!(n, MAX_NAMES * 3 + PER_NAME + 5);
}
