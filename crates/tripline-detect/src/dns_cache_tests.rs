use super::*;
use tripline_core::{DnsAnswer, DnsOrigin};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn t(secs: f64) -> Timestamp {
    Timestamp::from_secs_f64(1_795_349_900.0 + secs)
}

fn addr(name: &str, a: &str, ttl: Option<u32>) -> DnsAnswer {
    DnsAnswer {
        name: name.into(),
        data: DnsData::Addr(ip(a)),
        ttl,
    }
}

fn reply(at: f64, client: &str, qname: &str, qtype: &str, answers: Vec<DnsAnswer>) -> DnsLog {
    DnsLog {
        ts: t(at),
        origin: DnsOrigin::Packet,
        event: DnsEvent::Reply,
        client: Some(ip(client)),
        server: Some(ip("10.99.1.1")),
        id: None,
        name: qname.into(),
        qtype: qtype.into(),
        rcode: Some("NOERROR".into()),
        answers,
        from_config: false,
        blocked: false,
    }
}

fn name_of(c: &mut DnsCache, client: &str, a: &str, at: f64) -> Option<String> {
    c.lookup(ip(client), ip(a), t(at))
        .name()
        .map(str::to_string)
}

#[test]
fn ttl_expiry_with_grace() {
    let mut c = DnsCache::new(DnsCacheConfig::default());
    c.learn(&reply(
        0.0,
        "10.99.1.2",
        "short.example.net",
        "A",
        vec![addr("short.example.net", "10.99.2.8", Some(10))],
    ));
    assert_eq!(
        name_of(&mut c, "10.99.1.2", "10.99.2.8", 0.1).as_deref(),
        Some("short.example.net")
    );
    // Within TTL + 2 s grace, then gone (dnsconn C17: 14.2 s after a 10 s TTL).
    assert!(name_of(&mut c, "10.99.1.2", "10.99.2.8", 11.9).is_some());
    assert!(name_of(&mut c, "10.99.1.2", "10.99.2.8", 14.2).is_none());
    // Never before the answer.
    assert!(name_of(&mut c, "10.99.1.2", "10.99.2.8", -0.5).is_none());
    // Without a TTL (dnsmasq logs) the default applies.
    c.learn(&reply(
        100.0,
        "10.99.1.2",
        "mail.example.com",
        "A",
        vec![addr("mail.example.com", "10.99.2.5", None)],
    ));
    assert!(name_of(&mut c, "10.99.1.2", "10.99.2.5", 399.0).is_some());
    assert!(name_of(&mut c, "10.99.1.2", "10.99.2.5", 403.0).is_none());
    let m = c.metrics();
    assert_eq!((m.answers, m.addresses, m.direct), (2, 2, 3));
}

#[test]
fn cname_chain_names_the_asked_name_and_keeps_the_chain() {
    let mut c = DnsCache::new(DnsCacheConfig::default());
    // As a packet: the CNAME carries its target.
    let mut d = reply(
        0.0,
        "10.99.1.2",
        "Video.Example.com",
        "A",
        vec![
            DnsAnswer {
                name: "video.example.com".into(),
                data: DnsData::Cname("files.example.net".into()),
                ttl: Some(5),
            },
            addr("files.example.net", "10.99.2.3", Some(300)),
        ],
    );
    c.learn(&d);
    let l = c.lookup(ip("10.99.1.2"), ip("10.99.2.3"), t(1.0));
    let info = l.best().unwrap().info;
    assert_eq!(&*info.name, "video.example.com");
    let chain: Vec<&str> = info.chain.iter().map(|s| &**s).collect();
    assert_eq!(chain, ["video.example.com", "files.example.net"]);
    // The CNAME's 5 s TTL bounds the whole chain.
    assert!(name_of(&mut c, "10.99.1.2", "10.99.2.3", 8.0).is_none());
    // As dnsmasq logs it: `<CNAME>` with an unknown target, the next line's
    // name is the target.
    d.answers[0].data = DnsData::Cname(String::new());
    d.answers[0].ttl = None;
    d.answers[1].ttl = None;
    d.ts = t(20.0);
    c.learn(&d);
    let l = c.lookup(ip("10.99.1.2"), ip("10.99.2.3"), t(21.0));
    assert_eq!(l.best().unwrap().info.chain.len(), 2);
    assert_eq!(l.name(), Some("video.example.com"));
}

#[test]
fn two_clients_different_names_same_address() {
    let mut c = DnsCache::new(DnsCacheConfig::default());
    c.learn(&reply(
        0.0,
        "10.99.1.2",
        "www.example.com",
        "A",
        vec![addr("www.example.com", "10.99.2.2", Some(300))],
    ));
    c.learn(&reply(
        1.0,
        "10.99.1.3",
        "blog.example.com",
        "A",
        vec![addr("blog.example.com", "10.99.2.2", Some(300))],
    ));
    // Each client gets its own lookup, although blog is the latest overall.
    let l = c.lookup(ip("10.99.1.2"), ip("10.99.2.2"), t(2.0));
    assert_eq!(l.name(), Some("www.example.com"));
    assert_eq!(l.best().unwrap().scope, NameScope::SameClient);
    let names: Vec<&str> = l.candidates().map(|i| &*i.name).collect();
    assert_eq!(names, ["www.example.com", "blog.example.com"]);
    assert_eq!(
        name_of(&mut c, "10.99.1.3", "10.99.2.2", 2.0).as_deref(),
        Some("blog.example.com")
    );
    // A third client never asked: the latest answer to anyone, marked so.
    let l = c.lookup(ip("10.99.1.4"), ip("10.99.2.2"), t(2.0));
    assert_eq!(l.name(), Some("blog.example.com"));
    assert_eq!(l.best().unwrap().scope, NameScope::OtherClient);
    // Same client, later lookup of the other name wins (dnsconn C03/C18).
    c.learn(&reply(
        3.0,
        "10.99.1.2",
        "blog.example.com",
        "A",
        vec![addr("blog.example.com", "10.99.2.2", Some(300))],
    ));
    assert_eq!(
        name_of(&mut c, "10.99.1.2", "10.99.2.2", 4.0).as_deref(),
        Some("blog.example.com")
    );
    // ... but not for a connection that started before it (history).
    assert_eq!(
        name_of(&mut c, "10.99.1.2", "10.99.2.2", 2.5).as_deref(),
        Some("www.example.com")
    );
    // Without the fallback, the third client's connection is direct.
    let mut strict = DnsCache::new(DnsCacheConfig {
        any_client_fallback: false,
        ..Default::default()
    });
    strict.learn(&reply(
        0.0,
        "10.99.1.3",
        "updates.example.org",
        "A",
        vec![addr("updates.example.org", "10.99.2.9", Some(300))],
    ));
    let l = strict.lookup(ip("10.99.1.2"), ip("10.99.2.9"), t(1.0));
    assert!(l.is_direct());
    // Still, the candidate is kept.
    assert_eq!(l.candidates().count(), 1);
}

#[test]
fn ipv6_answers() {
    let mut c = DnsCache::new(DnsCacheConfig::default());
    c.learn(&reply(
        0.0,
        "fd99:1::2",
        "www.example.com",
        "AAAA",
        vec![addr("www.example.com", "fd99:2::2", Some(300))],
    ));
    assert_eq!(
        name_of(&mut c, "fd99:1::2", "fd99:0002:0000::0002", 1.0).as_deref(),
        Some("www.example.com")
    );
    assert!(name_of(&mut c, "fd99:1::2", "fd99:2::3", 1.0).is_none());
}

#[test]
fn refreshes_merge_and_queries_teach_nothing() {
    let mut c = DnsCache::new(DnsCacheConfig::default());
    for i in 0..100 {
        c.learn(&reply(
            i as f64 * 60.0,
            "10.99.1.2",
            "api.example.org",
            "A",
            vec![addr("api.example.org", "10.99.2.4", Some(300))],
        ));
    }
    // One validity interval covering the whole time: the oldest connection
    // is still named after 100 refreshes.
    assert!(name_of(&mut c, "10.99.1.2", "10.99.2.4", 30.0).is_some());
    assert_eq!(c.metrics().history_dropped, 0);
    let mut q = reply(0.0, "10.99.1.2", "x.example", "A", vec![]);
    q.event = DnsEvent::Query;
    c.learn(&q);
    let mut ptr = reply(
        0.0,
        "10.99.1.2",
        "2.2.99.10.in-addr.arpa",
        "PTR",
        vec![addr("www.example.com", "10.99.2.2", None)],
    );
    c.learn(&ptr);
    ptr.qtype = String::new();
    c.learn(&ptr);
    assert_eq!(c.metrics().answers, 100);
}

#[test]
fn caps_bound_memory_and_count_evictions() {
    let mut c = DnsCache::new(DnsCacheConfig {
        max_pairs: 16,
        max_addresses: 8,
        ..Default::default()
    });
    for i in 0..100u32 {
        c.learn(&reply(
            i as f64,
            "10.99.1.2",
            &format!("n{i}.example"),
            "A",
            vec![addr(
                "x",
                &format!("10.0.{}.{}", i / 256, i % 256),
                Some(300),
            )],
        ));
    }
    assert_eq!(c.pairs(), 16);
    let m = c.metrics();
    assert_eq!((m.pairs_evicted, m.addresses_evicted), (84, 92));
    // The most recent survive, the oldest are forgotten.
    assert!(name_of(&mut c, "10.99.1.2", "10.0.0.99", 100.0).is_some());
    assert!(name_of(&mut c, "10.99.1.2", "10.0.0.1", 100.0).is_none());
    // A full history drops its oldest name.
    for i in 0..(ADDRESS_HISTORY + 2) {
        c.learn(&reply(
            200.0 + i as f64,
            &format!("10.99.1.{}", 10 + i),
            &format!("cdn{i}.example"),
            "A",
            vec![addr("edge.cdn", "10.9.9.9", Some(300))],
        ));
    }
    assert!(c.metrics().history_dropped >= 2);
}

#[test]
fn blocked_answers_are_remembered() {
    let mut c = DnsCache::new(DnsCacheConfig::default());
    let mut d = reply(
        0.0,
        "10.99.1.2",
        "ads.example.net",
        "A",
        vec![addr("ads.example.net", "127.0.0.2", None)],
    );
    d.event = DnsEvent::Config;
    d.blocked = true;
    c.learn(&d);
    let l = c.lookup(ip("10.99.1.2"), ip("127.0.0.2"), t(1.0));
    assert!(l.best().unwrap().info.blocked);
    assert_eq!(c.metrics().blocked_addresses, 1);
}
