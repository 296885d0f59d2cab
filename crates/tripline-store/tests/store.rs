//! End-to-end tests of the SQLite store on files in temporary directories.

mod common;

use common::*;
use std::collections::BTreeMap;
use tripline_core::{DnsData, DnsEvent, ErrorKind, InputError, Location, Timestamp, ip_proto};
use tripline_store::{
    InputId, InputStats, NewInput, SCHEMA_VERSION, Store, StoreError, StoreSink, TalkerOrder,
    hash_file,
};

fn fixture(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn migrates_a_version_1_database_keeping_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch(&std::fs::read_to_string(fixture("schema_v1.sql")).unwrap())
            .unwrap();
        let v: i64 = db
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, 1);
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    // Old rows survive and read back through the current code.
    let found = store
        .find_input_by_hash("a9993e364706816aba3e25717850c26c9cd0d89d")
        .unwrap()
        .unwrap();
    assert_eq!(found.path, "scans/syn.pcap");
    assert_eq!(found.stats.records, 9);
    let counts = store.counts(Some(found.id)).unwrap();
    assert_eq!((counts.connections, counts.alerts), (1, 1));
    let conns = store
        .connections_between(Timestamp(0), Timestamp(i64::MAX), 10)
        .unwrap();
    assert_eq!(conns[0].conn.src, ip("10.99.2.66"));
    assert_eq!(conns[0].conn.state.as_str(), "REJ");
    // What version 2 added works on the migrated file.
    let cp = tripline_store::Checkpoint {
        path: "/var/log/kern.log".into(),
        inode: 1,
        offset: 2,
        fingerprint: "f".into(),
    };
    store.save_checkpoint(&cp).unwrap();
    assert_eq!(
        store.load_checkpoint("/var/log/kern.log").unwrap(),
        Some(cp)
    );
    drop(store);
    // Opening again is a no-op.
    assert_eq!(
        Store::open(&path).unwrap().schema_version().unwrap(),
        SCHEMA_VERSION
    );
}

#[test]
fn reingest_of_same_content_is_found_by_hash() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.log");
    let b = dir.path().join("renamed.log");
    std::fs::write(
        &a,
        b"Nov 22 12:15:36 gw kernel: NEW IN=gw-ext SRC=10.99.2.66\n",
    )
    .unwrap();
    std::fs::copy(&a, &b).unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let ha = hash_file(&a).unwrap();
    assert_eq!(ha.len(), 40);
    assert!(store.find_input_by_hash(&ha).unwrap().is_none());
    let id = store
        .begin_input(&NewInput {
            path: "a.log",
            size: Some(58),
            hash: Some(&ha),
            format: "log",
        })
        .unwrap();
    // An unfinished ingest is reported as such, so the caller can redo it.
    assert_eq!(
        store.find_input_by_hash(&ha).unwrap().unwrap().finished_at,
        None
    );
    let stats = InputStats {
        first_ts: Some(T0),
        last_ts: Some(T0.add_nanos(5)),
        units: 1,
        records: 1,
        skipped: 0,
        errors: 0,
    };
    store.finish_input(id, &stats).unwrap();
    // Same bytes under another name: detected.
    let again = store
        .find_input_by_hash(&hash_file(&b).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(again.id, id);
    assert_eq!(again.stats, stats);
    assert!(again.finished_at.is_some());
    // Different bytes: not.
    std::fs::write(&b, b"other").unwrap();
    assert!(
        store
            .find_input_by_hash(&hash_file(&b).unwrap())
            .unwrap()
            .is_none()
    );
    assert_eq!(store.list_inputs().unwrap().len(), 1);
    assert!(matches!(
        store.finish_input(InputId(999), &stats),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn sink_writes_all_record_kinds_and_caps_error_messages() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let id = store
        .begin_input(&NewInput {
            path: "mixed.log",
            size: None,
            hash: None,
            format: "log",
        })
        .unwrap();
    let mut sink = StoreSink::new(&mut store, Some(id))
        .with_batch_rows(7)
        .with_error_cap(5);
    for i in 0..50u16 {
        sink.connection(&conn(
            "10.99.1.2",
            40000 + i,
            "10.99.2.5",
            443,
            ip_proto::TCP,
        ))
        .unwrap();
    }
    sink.connection(&firewall_conn()).unwrap();
    sink.dns(&dns(
        DnsEvent::Reply,
        "www.example.test",
        "A",
        vec![
            answer(
                "www.example.test",
                DnsData::Cname("edge.example.test".into()),
                Some(60),
            ),
            answer(
                "edge.example.test",
                DnsData::Addr(ip("10.99.2.5")),
                Some(30),
            ),
        ],
    ))
    .unwrap();
    sink.auth(&auth("root'; DROP TABLE auth;--", "10.99.2.66"))
        .unwrap();
    sink.alert(&alert("SYN scan")).unwrap();
    for line in 1..=12u64 {
        let kind = if line % 3 == 0 {
            ErrorKind::Binary
        } else {
            ErrorKind::BadLine
        };
        sink.error(&InputError::new(
            "mixed.log",
            Location::Line(line),
            kind,
            format!("bad line {line}"),
        ))
        .unwrap();
    }
    let written = sink.finish().unwrap();
    assert_eq!(
        (
            written.connections,
            written.dns,
            written.auth,
            written.alerts
        ),
        (51, 1, 1, 1)
    );
    assert_eq!((written.errors, written.errors_kept), (12, 5));

    let counts = store.counts(Some(id)).unwrap();
    assert_eq!(
        (
            counts.connections,
            counts.dns,
            counts.auth,
            counts.alerts,
            counts.input_errors
        ),
        (51, 1, 1, 1, 5)
    );
    assert_eq!(store.counts(None).unwrap(), counts);
    let by_kind = store.error_counts(id).unwrap();
    assert_eq!(
        by_kind,
        BTreeMap::from([("bad_line".to_string(), 8), ("binary".to_string(), 4)])
    );
    let kept = store.input_errors(id, 100).unwrap();
    assert_eq!(kept.len(), 5);
    assert_eq!(kept[0].location, Location::Line(1));
    assert_eq!(kept[4].message, "bad line 5");

    // The hostile user name is data, not SQL.
    assert_eq!(store.counts(None).unwrap().auth, 1);
    // DNS answers are queryable by address.
    assert_eq!(
        store.names_for_address(ip("10.99.2.5"), 5).unwrap(),
        vec!["www.example.test".to_string()]
    );

    // The firewall connection reads back whole, origin included.
    let all = store
        .connections_between(Timestamp(0), Timestamp(i64::MAX), 1000)
        .unwrap();
    assert_eq!(all.len(), 51);
    assert!(all.iter().any(|s| s.conn == firewall_conn()));
    assert!(all.iter().all(|s| s.input == Some(id)));

    // Deleting the input removes everything that came from it.
    assert!(store.delete_input(id).unwrap());
    assert_eq!(store.counts(None).unwrap(), Default::default());
    assert!(store.error_counts(id).unwrap().is_empty());
    assert!(
        store
            .names_for_address(ip("10.99.2.5"), 5)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn dropped_sink_keeps_committed_and_pending_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let mut store = Store::open(&path).unwrap();
        let mut sink = StoreSink::new(&mut store, None).with_batch_rows(4);
        for i in 0..10u16 {
            sink.connection(&conn("10.99.1.2", i, "10.99.2.5", 80, ip_proto::TCP))
                .unwrap();
        }
    }
    assert_eq!(
        Store::open(&path)
            .unwrap()
            .counts(None)
            .unwrap()
            .connections,
        10
    );
}

#[test]
fn top_talkers_by_count_and_by_bytes() {
    let mut store = Store::open_in_memory().unwrap();
    let a = store
        .begin_input(&NewInput {
            path: "a",
            size: None,
            hash: None,
            format: "pcap",
        })
        .unwrap();
    let b = store
        .begin_input(&NewInput {
            path: "b",
            size: None,
            hash: None,
            format: "pcap",
        })
        .unwrap();
    let mut many = Vec::new();
    // 10.99.1.2: 5 small connections; fd99:1::3: 2 big ones; 10.99.2.66: 3 tiny ones.
    for i in 0..5u16 {
        many.push(conn("10.99.1.2", 1000 + i, "10.99.2.5", 80, ip_proto::TCP));
    }
    for i in 0..2u16 {
        let mut c = conn("fd99:1::3", 2000 + i, "fd99:2::2", 443, ip_proto::TCP);
        c.orig_bytes = 1_000_000;
        c.resp_bytes = 9_000_000;
        many.push(c);
    }
    store.insert_connections(Some(a), &many).unwrap();
    let tiny: Vec<_> = (0..3u16)
        .map(|i| {
            let mut c = conn("10.99.2.66", 3000 + i, "10.99.1.2", 22, ip_proto::TCP);
            (c.orig_bytes, c.resp_bytes) = (40, 0);
            c
        })
        .collect();
    store.insert_connections(Some(b), &tiny).unwrap();

    let by_count = store
        .top_talkers(TalkerOrder::Connections, 2, None)
        .unwrap();
    assert_eq!(by_count.len(), 2);
    assert_eq!(
        (by_count[0].addr, by_count[0].connections, by_count[0].bytes),
        (ip("10.99.1.2"), 5, 5 * 3420)
    );
    assert_eq!(by_count[1].addr, ip("10.99.2.66"));

    let by_bytes = store.top_talkers(TalkerOrder::Bytes, 10, None).unwrap();
    assert_eq!(
        by_bytes.iter().map(|t| t.addr).collect::<Vec<_>>(),
        vec![ip("fd99:1::3"), ip("10.99.1.2"), ip("10.99.2.66")]
    );
    assert_eq!(by_bytes[0].bytes, 20_000_000);

    let only_b = store
        .top_talkers(TalkerOrder::Connections, 10, Some(b))
        .unwrap();
    assert_eq!(only_b.len(), 1);
    assert_eq!(
        (only_b[0].addr, only_b[0].connections, only_b[0].bytes),
        (ip("10.99.2.66"), 3, 120)
    );
}

#[test]
fn connections_between_is_half_open_and_ordered() {
    let mut store = Store::open_in_memory().unwrap();
    let conns: Vec<_> = (0..10i64)
        .rev()
        .map(|i| {
            let mut c = conn("10.99.1.2", i as u16, "10.99.2.5", 53, ip_proto::UDP);
            c.start = T0.add_nanos(i * 1_000_000_000);
            c.end = c.start;
            c
        })
        .collect();
    store.insert_connections(None, &conns).unwrap();
    let got = store
        .connections_between(
            T0.add_nanos(2_000_000_000),
            T0.add_nanos(5_000_000_000),
            100,
        )
        .unwrap();
    assert_eq!(
        got.iter().map(|s| s.conn.sport).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
    assert_eq!(got[0].conn, conns[7]);
    let limited = store
        .connections_between(Timestamp(0), Timestamp(i64::MAX), 4)
        .unwrap();
    assert_eq!(limited.len(), 4);
}

#[test]
fn corrupt_rows_are_reported_with_table_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut store = Store::open(&path).unwrap();
    store
        .insert_connections(
            None,
            &[conn("10.99.1.2", 1, "10.99.2.5", 80, ip_proto::TCP)],
        )
        .unwrap();
    drop(store);
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("UPDATE connections SET src = 'not-an-ip'", [])
        .unwrap();
    let store = Store::open(&path).unwrap();
    let err = store
        .connections_between(Timestamp(0), Timestamp(i64::MAX), 10)
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("t.db") && msg.contains("connections") && msg.contains("not-an-ip"),
        "{msg}"
    );
}

#[test]
fn open_failure_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    // A regular file where a directory is needed.
    let err = Store::open(&blocker.join("sub/t.db")).unwrap_err();
    assert!(err.to_string().contains("file/sub/t.db"), "{err}");
    // Not a database at all.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![0x55u8; 8192]).unwrap();
    let err = Store::open(&junk).unwrap_err();
    assert!(err.to_string().contains("junk.db"), "{err}");
}

fn connection_indexes(path: &std::path::Path) -> usize {
    let db = rusqlite::Connection::open(path).unwrap();
    db.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'connections' AND sql IS NOT NULL",
        [],
        |r| r.get::<_, i64>(0),
    )
    .unwrap() as usize
}

#[test]
fn deferred_index_bulk_load_rebuilds_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bulk.db");
    let mut store = Store::open(&path).unwrap();
    assert_eq!(connection_indexes(&path), 6);
    let mut sink = StoreSink::new(&mut store, None)
        .with_deferred_indexes()
        .unwrap();
    assert_eq!(connection_indexes(&path), 0);
    for i in 0..100u16 {
        sink.connection(&conn("10.99.1.2", i, "10.99.2.5", 80, ip_proto::TCP))
            .unwrap();
    }
    assert_eq!(sink.finish().unwrap().connections, 100);
    assert_eq!(connection_indexes(&path), 6);
    assert_eq!(
        store
            .top_talkers(TalkerOrder::Connections, 1, None)
            .unwrap()[0]
            .connections,
        100
    );

    // Interrupted (the process dies before finish or drop): the next open
    // rebuilds them.
    let sink = StoreSink::new(&mut store, None)
        .with_deferred_indexes()
        .unwrap();
    std::mem::forget(sink);
    assert_eq!(connection_indexes(&path), 0);
    drop(store);
    let _store = Store::open(&path).unwrap();
    assert_eq!(connection_indexes(&path), 6);
}

#[test]
fn processes_opening_a_new_database_at_once_all_succeed() {
    // Two tripline processes started together (say `trap` and `analyze
    // --follow`) must not both try to create the schema.
    for _round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("race.db");
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let p = path.clone();
                std::thread::spawn(move || Store::open(&p).map(|s| s.schema_version().unwrap()))
            })
            .collect();
        for h in handles {
            let version = h.join().unwrap().expect("concurrent open");
            assert_eq!(version, tripline_store::SCHEMA_VERSION);
        }
    }
}
