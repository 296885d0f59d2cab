-- A database as tripline schema version 1 wrote it (before checkpoints),
-- used by tests/store.rs to check the migration to the current version.
CREATE TABLE inputs (
    id          INTEGER PRIMARY KEY,
    path        TEXT NOT NULL,
    size        INTEGER,
    hash        TEXT,
    format      TEXT NOT NULL,
    first_ts    INTEGER,
    last_ts     INTEGER,
    units       INTEGER NOT NULL DEFAULT 0,
    records     INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    errors      INTEGER NOT NULL DEFAULT 0,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX inputs_hash ON inputs(hash);

CREATE TABLE input_errors (
    id             INTEGER PRIMARY KEY,
    input_id       INTEGER NOT NULL REFERENCES inputs(id) ON DELETE CASCADE,
    location_kind  TEXT NOT NULL CHECK (location_kind IN ('offset', 'line', 'file')),
    location_value INTEGER,
    kind           TEXT NOT NULL,
    message        TEXT NOT NULL
);
CREATE INDEX input_errors_input ON input_errors(input_id);

CREATE TABLE error_counts (
    input_id INTEGER NOT NULL REFERENCES inputs(id) ON DELETE CASCADE,
    kind     TEXT NOT NULL,
    count    INTEGER NOT NULL,
    PRIMARY KEY (input_id, kind)
) WITHOUT ROWID;

CREATE TABLE connections (
    id           INTEGER PRIMARY KEY,
    input_id     INTEGER REFERENCES inputs(id) ON DELETE CASCADE,
    start_ns     INTEGER NOT NULL,
    end_ns       INTEGER NOT NULL,
    src          TEXT NOT NULL,
    sport        INTEGER NOT NULL,
    dst          TEXT NOT NULL,
    dport        INTEGER NOT NULL,
    protocol     INTEGER NOT NULL,
    orig_packets INTEGER NOT NULL,
    orig_bytes   INTEGER NOT NULL,
    resp_packets INTEGER NOT NULL,
    resp_bytes   INTEGER NOT NULL,
    state        TEXT NOT NULL,
    history      TEXT NOT NULL,
    community_id TEXT NOT NULL,
    direction    TEXT NOT NULL,
    origin       TEXT NOT NULL CHECK (origin IN ('capture', 'firewall')),
    fw_prefix    TEXT,
    fw_in        TEXT,
    fw_out       TEXT
);
CREATE INDEX connections_start ON connections(start_ns);
CREATE INDEX connections_src ON connections(src);
CREATE INDEX connections_dst ON connections(dst);
CREATE INDEX connections_dport ON connections(dport);
CREATE INDEX connections_input ON connections(input_id);

CREATE TABLE dns (
    id          INTEGER PRIMARY KEY,
    input_id    INTEGER REFERENCES inputs(id) ON DELETE CASCADE,
    ts_ns       INTEGER NOT NULL,
    origin      TEXT NOT NULL,
    event       TEXT NOT NULL,
    client      TEXT,
    server      TEXT,
    txid        INTEGER,
    name        TEXT NOT NULL,
    qtype       TEXT NOT NULL,
    rcode       TEXT,
    from_config INTEGER NOT NULL,
    blocked     INTEGER NOT NULL
);
CREATE INDEX dns_ts ON dns(ts_ns);
CREATE INDEX dns_client ON dns(client);
CREATE INDEX dns_name ON dns(name);
CREATE INDEX dns_input ON dns(input_id);

CREATE TABLE dns_answers (
    dns_id INTEGER NOT NULL REFERENCES dns(id) ON DELETE CASCADE,
    pos    INTEGER NOT NULL,
    name   TEXT NOT NULL,
    kind   TEXT NOT NULL CHECK (kind IN ('addr', 'cname', 'nxdomain', 'nodata', 'other')),
    data   TEXT,
    ttl    INTEGER,
    PRIMARY KEY (dns_id, pos)
) WITHOUT ROWID;
CREATE INDEX dns_answers_data ON dns_answers(data);

CREATE TABLE auth (
    id           INTEGER PRIMARY KEY,
    input_id     INTEGER REFERENCES inputs(id) ON DELETE CASCADE,
    ts_ns        INTEGER NOT NULL,
    host         TEXT NOT NULL,
    service      TEXT NOT NULL,
    pid          INTEGER,
    event        TEXT NOT NULL,
    method       TEXT,
    user         TEXT,
    invalid_user INTEGER NOT NULL,
    src          TEXT,
    port         INTEGER
);
CREATE INDEX auth_ts ON auth(ts_ns);
CREATE INDEX auth_src ON auth(src);
CREATE INDEX auth_input ON auth(input_id);

CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY,
    input_id     INTEGER REFERENCES inputs(id) ON DELETE CASCADE,
    ts_ns        INTEGER NOT NULL,
    detector     TEXT NOT NULL,
    gid          INTEGER NOT NULL,
    sid          INTEGER NOT NULL,
    rev          INTEGER NOT NULL,
    msg          TEXT NOT NULL,
    category     TEXT NOT NULL,
    severity     INTEGER NOT NULL,
    src          TEXT,
    sport        INTEGER,
    dst          TEXT,
    dport        INTEGER,
    protocol     INTEGER,
    community_id TEXT,
    details      TEXT NOT NULL
);
CREATE INDEX alerts_ts ON alerts(ts_ns);
CREATE INDEX alerts_src ON alerts(src);
CREATE INDEX alerts_input ON alerts(input_id);

INSERT INTO inputs (id, path, size, hash, format, first_ts, last_ts, units, records, skipped, errors, started_at, finished_at)
VALUES (1, 'scans/syn.pcap', 1234, 'a9993e364706816aba3e25717850c26c9cd0d89d', 'pcap',
        1795349736275668000, 1795349737775668000, 10, 9, 1, 0, 1795349800000000000, 1795349801000000000);
INSERT INTO connections (input_id, start_ns, end_ns, src, sport, dst, dport, protocol, orig_packets, orig_bytes,
                         resp_packets, resp_bytes, state, history, community_id, direction, origin)
VALUES (1, 1795349736275668000, 1795349737775668000, '10.99.2.66', 40000, '10.99.1.2', 22, 6, 1, 60, 1, 40,
        'REJ', 'Sr', '1:abc', 'inbound', 'capture');
INSERT INTO alerts (input_id, ts_ns, detector, gid, sid, rev, msg, category, severity, details)
VALUES (1, 1795349736275668000, 'scan', 1, 9000001, 1, 'SYN scan', 'Attempted Information Leak', 2, '{}');
PRAGMA user_version = 1;
