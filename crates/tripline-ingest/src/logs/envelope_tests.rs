use super::*;

fn clock_at(y: i64, m: u32, d: u32) -> SyslogClock {
    SyslogClock::new(&LogOptions {
        reference: Timestamp::from_civil(y, m, d, 12, 0, 0),
        ..Default::default()
    })
}

#[test]
fn traditional_forms() {
    let mut c = clock_at(2026, 11, 30);
    let e = parse("Nov 22 12:15:36 gw kernel: NEW IN=gw-ext", &mut c).unwrap();
    assert_eq!(
        (e.host, e.program, e.pid, e.message),
        ("gw", "kernel", None, "NEW IN=gw-ext")
    );
    assert_eq!(e.ts.secs(), 1_795_349_736);
    let e = parse(
        "Nov  2 01:02:03 dnsmasq[30551]: query[A] x from 1.2.3.4",
        &mut c,
    )
    .unwrap();
    assert_eq!((e.host, e.program, e.pid), ("", "dnsmasq", Some(30551)));
    assert_eq!(e.ts, Timestamp::from_civil(2026, 11, 2, 1, 2, 3).unwrap());
    let e = parse(
        "Mar 15 20:55:15 linux kernel: [810294.788657] DROP IN=eth0",
        &mut c,
    )
    .unwrap();
    assert_eq!(e.message, "DROP IN=eth0");
    let e = parse(
        "Nov 22 12:15:36.123456 gw kernel: [UFW BLOCK] IN=eth0",
        &mut c,
    )
    .unwrap();
    assert_eq!(
        (e.message, e.ts.subsec_micros()),
        ("[UFW BLOCK] IN=eth0", 123_456)
    );
    let e = parse("Nov 22 12:15:36 gw last message repeated 3 times", &mut c).unwrap();
    assert_eq!(
        (e.host, e.program, e.message),
        ("gw", "", "last message repeated 3 times")
    );
}

#[test]
fn year_rolls_back_across_new_year() {
    let mut c = clock_at(2027, 1, 2);
    let e = parse("Dec 31 23:59:59 gw kernel: x", &mut c).unwrap();
    assert_eq!(
        e.ts,
        Timestamp::from_civil(2026, 12, 31, 23, 59, 59).unwrap()
    );
    let e = parse("Jan  1 00:00:01 gw kernel: x", &mut c).unwrap();
    assert_eq!(e.ts, Timestamp::from_civil(2027, 1, 1, 0, 0, 1).unwrap());
    let mut fixed = SyslogClock::new(&LogOptions {
        year: Some(2015),
        ..Default::default()
    });
    assert_eq!(
        parse("Feb 28 00:00:00 h p: x", &mut fixed).unwrap().ts,
        Timestamp::from_civil(2015, 2, 28, 0, 0, 0).unwrap()
    );
    assert_eq!(
        parse("Feb 29 00:00:00 h p: x", &mut fixed),
        Err(LineError::bad("timestamp", "impossible date"))
    );
}

#[test]
fn local_zone_applies_to_zone_less_stamps() {
    let opts = LogOptions {
        year: Some(2026),
        tz: Some(chrono_tz::Europe::Berlin),
        ..Default::default()
    };
    let mut c = SyslogClock::new(&opts);
    // CET is UTC+1 in November.
    assert_eq!(
        parse("Nov 22 13:15:36 gw kernel: x", &mut c)
            .unwrap()
            .ts
            .secs(),
        1_795_349_736
    );
    // An explicit offset wins over the zone.
    assert_eq!(
        parse("2026-11-22T12:15:36+0000 gw kernel: x", &mut c)
            .unwrap()
            .ts
            .secs(),
        1_795_349_736
    );
    assert_eq!(
        parse("2026-11-22T13:15:36 gw kernel: x", &mut c)
            .unwrap()
            .ts
            .secs(),
        1_795_349_736
    );
}

#[test]
fn iso_and_journal_forms() {
    let mut c = clock_at(2026, 11, 30);
    let e = parse(
        "2015-03-07T05:09:30.045015+02:00 servername kernel: DROP: IN=eth0",
        &mut c,
    )
    .unwrap();
    assert_eq!(
        e.ts,
        Timestamp::from_civil(2015, 3, 7, 3, 9, 30)
            .unwrap()
            .add_nanos(45_015_000)
    );
    assert_eq!(
        (e.host, e.program, e.message),
        ("servername", "kernel", "DROP: IN=eth0")
    );
    let e = parse("2026-11-22T12:15:36Z gw sshd[5]: x", &mut c).unwrap();
    assert_eq!((e.ts.secs(), e.pid), (1_795_349_736, Some(5)));
    let e = parse("2026-11-22T12:15:36,431438+00:00 NEW IN=x", &mut c).unwrap();
    assert_eq!(
        (e.program, e.host, e.message, e.ts.subsec_micros()),
        ("kernel", "", "NEW IN=x", 431_438)
    );
    let e = parse("1795349736.337321\tNEW IN=gw-ext", &mut c).unwrap();
    assert_eq!(
        (e.ts, e.message),
        (
            Timestamp::from_secs_micros(1_795_349_736, 337_321),
            "NEW IN=gw-ext"
        )
    );
    let e = parse("1795349736.337321 gw kernel: x", &mut c).unwrap();
    assert_eq!((e.host, e.program), ("gw", "kernel"));
}

#[test]
fn rfc5424() {
    let mut c = clock_at(2026, 11, 30);
    let e = parse(
        "<4>1 2026-11-22T12:15:36.123456+00:00 gw kernel - - - NEW IN=x",
        &mut c,
    )
    .unwrap();
    assert_eq!(
        (e.host, e.program, e.pid, e.message),
        ("gw", "kernel", None, "NEW IN=x")
    );
    assert_eq!(e.ts, Timestamp::from_secs_micros(1_795_349_736, 123_456));
    let e = parse(
        r#"<38>1 2026-11-22T12:15:36Z lan sshd 3048 ID47 [a x="]\"y"][b] Failed password"#,
        &mut c,
    )
    .unwrap();
    assert_eq!(
        (e.program, e.pid, e.message),
        ("sshd", Some(3048), "Failed password")
    );
    let e = parse("<38>1 - - - - - -", &mut c).unwrap();
    assert_eq!((e.host, e.message, e.ts.secs()), ("", "", 1_795_349_736));
    assert!(
        parse(
            "<38>1 2026-11-22T12:15:36Z lan sshd 1 - [unterminated",
            &mut c
        )
        .is_err()
    );
    let e = parse("<4>Nov 22 12:15:36 gw kernel: x", &mut c).unwrap();
    assert_eq!(e.ts.secs(), 1_795_349_736);
}

#[test]
fn dmesg_forms() {
    let boot = Timestamp::from_secs_nanos(1_795_348_031, 905_532_000);
    let mut c = SyslogClock::new(&LogOptions {
        boot_time: Some(boot),
        ..Default::default()
    });
    let e = parse("[ 1704.431438] NEW IN=gw-ext", &mut c).unwrap();
    assert_eq!((e.program, e.message), ("kernel", "NEW IN=gw-ext"));
    assert_eq!(e.ts, boot.add_nanos(1_704_431_438_000));
    let mut c = SyslogClock::new(&LogOptions::default());
    assert_eq!(
        parse("[  449.059606] x", &mut c).unwrap().ts,
        Timestamp::from_secs_micros(449, 59_606)
    );
    let e = parse("[Sun Nov 22 12:15:36 2026] NEW IN=x", &mut c).unwrap();
    assert_eq!((e.ts.secs(), e.message), (1_795_349_736, "NEW IN=x"));
}

#[test]
fn rejects_non_envelopes() {
    let mut c = clock_at(2026, 11, 30);
    for line in [
        "",
        "hello",
        "NEW IN=x",
        "Nov 22",
        "Nov 22 12:15:36",
        "[abc] x",
        "3.14 is pi",
        "<999>1 x",
        "2026-13-01T00:00:00Z h p: x",
    ] {
        assert!(parse(line, &mut c).is_err(), "{line}");
    }
    assert_eq!(
        parse("Nov 31 12:00:00 h p: x", &mut c),
        Err(LineError::bad("timestamp", "impossible date"))
    );
    let e = parse(
        "ipv6_scan:Mar 17 13:39:13 linux kernel: DROP IN=eth0",
        &mut c,
    )
    .unwrap();
    assert_eq!((e.host, e.message), ("linux", "DROP IN=eth0"));
}

#[test]
fn dst_gap_and_overlap() {
    let opts = LogOptions {
        year: Some(2026),
        tz: Some(chrono_tz::Europe::Berlin),
        ..Default::default()
    };
    let mut c = SyslogClock::new(&opts);
    // 02:30 does not exist on 2026-03-29 in Berlin: read as 03:30 CEST.
    let gap = parse("Mar 29 02:30:00 gw kernel: x", &mut c).unwrap().ts;
    assert_eq!(gap, Timestamp::from_civil(2026, 3, 29, 1, 30, 0).unwrap());
    // 02:30 happens twice on 2026-10-25: the earlier (CEST) one.
    let twice = parse("Oct 25 02:30:00 gw kernel: x", &mut c).unwrap().ts;
    assert_eq!(
        twice,
        Timestamp::from_civil(2026, 10, 25, 0, 30, 0).unwrap()
    );
}
