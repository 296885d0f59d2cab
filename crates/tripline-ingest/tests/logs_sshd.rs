//! sshd auth logs from the shared bruteforce dataset, end to end.

mod logs_support;

use logs_support::{read, shared, year};
use std::net::IpAddr;
use tripline_core::{AuthEvent, AuthLog, Timestamp};

fn count(v: &[AuthLog], e: AuthEvent) -> usize {
    v.iter().filter(|a| a.event == e).count()
}

#[test]
fn event_counts_match_grep() {
    // For F in auth_wan.log auth_lan.log:
    //   grep -c 'sshd\[[0-9]*\]: Failed ' F; grep -c ': Accepted ' F; grep -c ': Invalid user ' F;
    //   grep -c ': Disconnecting .*Too many authentication failures' F
    //     + grep -c 'error: maximum authentication attempts exceeded' F
    //     + grep -cE ': PAM [0-9]+ more authentication failure' F;
    //   grep -cE ': Connection (closed|reset) by .*\[preauth\]$' F; wc -l F
    for (file, failed, accepted, invalid, too_many, closed, lines) in [
        ("auth_wan.log", 31, 3, 12, 0, 31, 146),
        ("auth_lan.log", 21, 0, 5, 2 + 2 + 3, 6, 62),
    ] {
        let (got, stats) = read(&shared(&format!("bruteforce/{file}")), year(2026));
        assert!(got.errors.is_empty(), "{file}: {:?}", got.errors.first());
        let a = &got.auth;
        assert_eq!(
            [
                count(a, AuthEvent::Failed),
                count(a, AuthEvent::Accepted),
                count(a, AuthEvent::InvalidUser),
                count(a, AuthEvent::TooManyFailures),
                count(a, AuthEvent::ClosedPreauth)
            ],
            [failed, accepted, invalid, too_many, closed],
            "{file}"
        );
        assert_eq!(stats.units, lines);
        assert_eq!(stats.skipped as usize, lines as usize - a.len());
        let host = if file == "auth_wan.log" { "wan" } else { "lan" };
        assert!(
            a.iter()
                .all(|r| r.host == host && r.service == "sshd" && r.pid.is_some())
        );
    }
}

/// (src, port, user, result) of every attempt in attempts_ground_truth.tsv against `dst`.
fn ground_truth(dst: &str) -> Vec<(IpAddr, u16, String, String)> {
    let text = std::fs::read_to_string(shared("bruteforce/attempts_ground_truth.tsv")).unwrap();
    let mut rows: Vec<_> = text
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|c| c[5] == dst && c[9] != "NOT-TRIED-DISCONNECTED")
        .map(|c| {
            (
                c[3].parse().unwrap(),
                c[4].parse().unwrap(),
                c[6].to_string(),
                c[9].to_string(),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn failures_and_successes_match_the_ground_truth() {
    for (file, dst) in [
        ("auth_wan.log", "10.99.2.2:22"),
        ("auth_lan.log", "10.99.1.2:22"),
    ] {
        let (got, _) = read(&shared(&format!("bruteforce/{file}")), year(2026));
        let mut seen: Vec<_> = got
            .auth
            .iter()
            .filter(|a| matches!(a.event, AuthEvent::Failed | AuthEvent::Accepted))
            .map(|a| {
                let result = if a.event == AuthEvent::Failed {
                    "FAIL"
                } else {
                    "SUCCESS"
                };
                (
                    a.src.unwrap(),
                    a.port.unwrap(),
                    a.user.clone().unwrap(),
                    result.to_string(),
                )
            })
            .collect();
        seen.sort();
        assert_eq!(seen, ground_truth(dst), "{file}");
    }
}

#[test]
fn field_values_by_hand() {
    let (lan, _) = read(&shared("bruteforce/auth_lan.log"), year(2026));
    // Nov 22 12:22:58 lan sshd[3048]: Disconnecting authenticating user root 10.99.2.66 port 42001: Too many ...
    let d = lan
        .auth
        .iter()
        .find(|a| {
            a.event == AuthEvent::TooManyFailures
                && a.method.is_none()
                && a.user.as_deref() == Some("root")
        })
        .unwrap();
    assert_eq!(
        (d.src, d.port, d.pid, d.invalid_user),
        (
            Some("10.99.2.66".parse().unwrap()),
            Some(42001),
            Some(3048),
            false
        )
    );
    assert_eq!(
        d.ts,
        Timestamp::from_civil(2026, 11, 22, 12, 22, 58).unwrap()
    );
    let pam: Vec<_> = lan
        .auth
        .iter()
        .filter(|a| a.method.as_deref() == Some("pam"))
        .map(|a| a.user.as_deref())
        .collect();
    assert_eq!(pam, [Some("root"), None, Some("nidstest")]);
    let invalid: Vec<_> = lan
        .auth
        .iter()
        .filter(|a| a.event == AuthEvent::Failed && a.invalid_user)
        .map(|a| a.user.as_deref().unwrap())
        .collect();
    assert_eq!(invalid.len(), 10);
    assert!(
        invalid
            .iter()
            .all(|u| ["admin", "oracle", "ubuntu", "git", "test"].contains(u))
    );
}
