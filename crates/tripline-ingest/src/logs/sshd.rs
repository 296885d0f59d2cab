//! OpenSSH sshd login messages.
//!
//! User names are hostile input: they may hold spaces, quotes or the word
//! `from`. sshd prints the name and then a fixed tail (`from ADDR port P
//! ssh2`, `ADDR port P [preauth]`), so every form is read from the right:
//! the address and port come from the tail, the user is whatever lies
//! between the fixed head and the tail.
//!
//! | message | event |
//! |---|---|
//! | `Failed METHOD for [invalid user ]USER from ADDR port P ssh2[: KEY]` | `Failed` |
//! | `Accepted METHOD for USER from ADDR port P ssh2[: KEYTYPE FP]` | `Accepted` |
//! | `Invalid user USER from ADDR[ port P]` | `InvalidUser` |
//! | `Disconnecting [invalid user\|authenticating user\|user] USER ADDR port P: Too many authentication failures [preauth]` | `TooManyFailures` |
//! | `error: maximum authentication attempts exceeded for [invalid user ]USER from ADDR port P ssh2 [preauth]` | `TooManyFailures` |
//! | `PAM N more authentication failures; ... rhost=ADDR  user=USER` | `TooManyFailures` (method `pam`) |
//! | `Connection closed\|reset by [invalid user\|authenticating user ]USER ADDR port P [preauth]` | `ClosedPreauth` |
//!
//! `PAM N more authentication failures` repeats failures already logged one
//! by one, so it is reported as `TooManyFailures` (not `Failed`) to keep
//! failure counts exact.

use super::LineError;
use std::net::IpAddr;
use tripline_core::AuthEvent;

/// One sshd login event, borrowed from the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SshdEvent<'a> {
    /// What happened.
    pub event: AuthEvent,
    /// `password`, `publickey`, `keyboard-interactive/pam`, `none`, `pam`.
    pub method: Option<&'a str>,
    /// The user name as logged (possibly empty).
    pub user: Option<&'a str>,
    /// sshd said the user does not exist.
    pub invalid_user: bool,
    /// Remote address.
    pub src: Option<IpAddr>,
    /// Remote port.
    pub port: Option<u16>,
}

impl<'a> SshdEvent<'a> {
    fn new(event: AuthEvent) -> Self {
        SshdEvent {
            event,
            method: None,
            user: None,
            invalid_user: false,
            src: None,
            port: None,
        }
    }
}

/// Parses one sshd message. Messages that are not login events (session
/// opened, pam_unix, listening, ...) are `NotRecognised`.
pub fn parse(msg: &str) -> Result<SshdEvent<'_>, LineError> {
    if let Some(rest) = msg.strip_prefix("Failed ") {
        return for_user_from(AuthEvent::Failed, rest, true);
    }
    if let Some(rest) = msg.strip_prefix("Accepted ") {
        return for_user_from(AuthEvent::Accepted, rest, true);
    }
    if let Some(rest) = msg.strip_prefix("error: maximum authentication attempts exceeded for ") {
        return for_user_from(AuthEvent::TooManyFailures, rest, false);
    }
    if let Some(rest) = msg.strip_prefix("Invalid user ") {
        let (user, tail) = rest
            .rsplit_once(" from ")
            .ok_or(LineError::bad("from", "missing"))?;
        let (src, port) = addr_port(tail, true)?;
        let mut ev = SshdEvent::new(AuthEvent::InvalidUser);
        (ev.user, ev.invalid_user, ev.src, ev.port) = (Some(user), true, Some(src), port);
        return Ok(ev);
    }
    if let Some(rest) = msg.strip_prefix("Disconnecting ")
        && let Some(head) = rest
            .strip_suffix(": Too many authentication failures [preauth]")
            .or_else(|| rest.strip_suffix(": Too many authentication failures"))
    {
        let mut ev = SshdEvent::new(AuthEvent::TooManyFailures);
        if !head.is_empty() {
            user_addr_port(head, &mut ev)?;
        }
        return Ok(ev);
    }
    if msg == "Disconnecting: Too many authentication failures [preauth]"
        || msg == "Disconnecting: Too many authentication failures"
    {
        return Ok(SshdEvent::new(AuthEvent::TooManyFailures));
    }
    if let Some(rest) = msg
        .strip_prefix("Connection closed by ")
        .or_else(|| msg.strip_prefix("Connection reset by "))
        && let Some(head) = rest.strip_suffix(" [preauth]")
    {
        let mut ev = SshdEvent::new(AuthEvent::ClosedPreauth);
        user_addr_port(head, &mut ev)?;
        return Ok(ev);
    }
    if let Some(rest) = msg.strip_prefix("PAM ")
        && let Some((count, details)) = rest.split_once(" more authentication failure")
        && count.bytes().all(|c| c.is_ascii_digit())
    {
        let mut ev = SshdEvent::new(AuthEvent::TooManyFailures);
        ev.method = Some("pam");
        // `... rhost=ADDR  user=USER`: user is last, rhost before it.
        let (before_user, user) = match details.rsplit_once(" user=") {
            Some((b, u)) => (b, Some(u)),
            None => (details, None),
        };
        ev.user = user;
        if let Some((_, rhost)) = before_user.rsplit_once("rhost=") {
            ev.src = rhost.trim().parse().ok();
        }
        return Ok(ev);
    }
    Err(LineError::NotRecognised)
}

/// `METHOD for [invalid user ]USER from ADDR port P ssh2[...]` (with the
/// method when `with_method`).
fn for_user_from(
    event: AuthEvent,
    rest: &str,
    with_method: bool,
) -> Result<SshdEvent<'_>, LineError> {
    let mut ev = SshdEvent::new(event);
    let rest = if with_method {
        let (method, after) = rest
            .split_once(" for ")
            .ok_or(LineError::bad("for", "missing"))?;
        if method.is_empty() || method.contains(' ') {
            return Err(LineError::bad("method", "not one word"));
        }
        ev.method = Some(method);
        after
    } else {
        rest
    };
    let (user, tail) = rest
        .rsplit_once(" from ")
        .ok_or(LineError::bad("from", "missing"))?;
    let (src, port) = addr_port(tail, false)?;
    let user = match user.strip_prefix("invalid user ") {
        Some(u) => {
            ev.invalid_user = true;
            u
        }
        None if user == "invalid user" => {
            ev.invalid_user = true;
            ""
        }
        None => user,
    };
    (ev.user, ev.src, ev.port) = (Some(user), Some(src), port);
    Ok(ev)
}

/// `ADDR port P[ anything]` (port optional when `port_optional`).
fn addr_port(tail: &str, port_optional: bool) -> Result<(IpAddr, Option<u16>), LineError> {
    let (addr, after) = tail.split_once(' ').unwrap_or((tail, ""));
    let src = addr
        .parse()
        .map_err(|_| LineError::bad("address", "not an IP address"))?;
    let port = match after.strip_prefix("port ") {
        Some(p) => {
            let digits = p.split([' ', ':']).next().unwrap_or("");
            Some(
                digits
                    .parse()
                    .map_err(|_| LineError::bad("port", "not a port number"))?,
            )
        }
        None if port_optional => None,
        None => return Err(LineError::bad("port", "missing")),
    };
    Ok((src, port))
}

/// `[invalid user |authenticating user |user ]USER ADDR port P` or `ADDR port P`.
fn user_addr_port<'a>(head: &'a str, ev: &mut SshdEvent<'a>) -> Result<(), LineError> {
    let (rest, port) = head
        .rsplit_once(" port ")
        .ok_or(LineError::bad("port", "missing"))?;
    ev.port = Some(
        port.parse()
            .map_err(|_| LineError::bad("port", "not a port number"))?,
    );
    let (user_part, addr) = match rest.rsplit_once(' ') {
        Some((u, a)) => (Some(u), a),
        None => (None, rest),
    };
    ev.src = Some(
        addr.parse()
            .map_err(|_| LineError::bad("address", "not an IP address"))?,
    );
    if let Some(u) = user_part {
        let user = if let Some(u) = u.strip_prefix("invalid user ") {
            ev.invalid_user = true;
            u
        } else if let Some(u) = u.strip_prefix("authenticating user ") {
            u
        } else if let Some(u) = u.strip_prefix("user ") {
            u
        } else {
            u
        };
        ev.user = Some(user);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn reads_the_forms() {
        let e = parse("Failed password for invalid user admin from 10.99.2.66 port 42002 ssh2")
            .unwrap();
        assert_eq!(
            (e.event, e.method, e.user, e.invalid_user, e.src, e.port),
            (
                AuthEvent::Failed,
                Some("password"),
                Some("admin"),
                true,
                ip("10.99.2.66"),
                Some(42002)
            )
        );
        let e = parse(
            "Accepted publickey for root from fd99:1::2 port 40101 ssh2: ED25519 SHA256:abc+/x",
        )
        .unwrap();
        assert_eq!(
            (e.event, e.method, e.user, e.src, e.port),
            (
                AuthEvent::Accepted,
                Some("publickey"),
                Some("root"),
                ip("fd99:1::2"),
                Some(40101)
            )
        );
        let e =
            parse("Failed keyboard-interactive/pam for root from 1.2.3.4 port 22 ssh2").unwrap();
        assert_eq!(e.method, Some("keyboard-interactive/pam"));
        let e = parse("Invalid user oracle from 10.99.2.66 port 42004").unwrap();
        assert_eq!(
            (e.event, e.user, e.invalid_user, e.port),
            (AuthEvent::InvalidUser, Some("oracle"), true, Some(42004))
        );
        let e = parse("Invalid user oracle from 10.99.2.66").unwrap();
        assert_eq!(e.port, None);
        let e = parse("Disconnecting authenticating user root 10.99.2.66 port 42001: Too many authentication failures [preauth]").unwrap();
        assert_eq!(
            (e.event, e.user, e.invalid_user, e.src, e.port),
            (
                AuthEvent::TooManyFailures,
                Some("root"),
                false,
                ip("10.99.2.66"),
                Some(42001)
            )
        );
        let e = parse("Disconnecting invalid user admin 10.99.2.66 port 42002: Too many authentication failures [preauth]").unwrap();
        assert_eq!((e.user, e.invalid_user), (Some("admin"), true));
        let e = parse("error: maximum authentication attempts exceeded for invalid user admin from 10.99.2.66 port 42002 ssh2 [preauth]").unwrap();
        assert_eq!(
            (e.event, e.user, e.invalid_user, e.method),
            (AuthEvent::TooManyFailures, Some("admin"), true, None)
        );
        let e = parse(
            "Connection closed by authenticating user nidstest 10.99.2.66 port 42003 [preauth]",
        )
        .unwrap();
        assert_eq!(
            (e.event, e.user, e.src, e.port),
            (
                AuthEvent::ClosedPreauth,
                Some("nidstest"),
                ip("10.99.2.66"),
                Some(42003)
            )
        );
        let e = parse("Connection reset by 10.0.0.9 port 5555 [preauth]").unwrap();
        assert_eq!((e.user, e.src), (None, ip("10.0.0.9")));
        let e = parse("PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.99.2.66  user=root").unwrap();
        assert_eq!(
            (e.event, e.method, e.user, e.src),
            (
                AuthEvent::TooManyFailures,
                Some("pam"),
                Some("root"),
                ip("10.99.2.66")
            )
        );
        let e = parse("PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.99.2.66 ").unwrap();
        assert_eq!((e.user, e.src), (None, ip("10.99.2.66")));
        let e = parse("Failed none for invalid user  from 1.2.3.4 port 5 ssh2").unwrap();
        assert_eq!((e.user, e.invalid_user), (Some(""), true));
    }

    #[test]
    fn hostile_user_names_do_not_move_the_address() {
        let e = parse("Failed password for invalid user a from 6.6.6.6 port 1 ssh2 from 10.99.2.66 port 41003 ssh2").unwrap();
        assert_eq!(
            (e.user, e.src, e.port),
            (
                Some("a from 6.6.6.6 port 1 ssh2"),
                ip("10.99.2.66"),
                Some(41003)
            )
        );
        let e = parse("Invalid user \"x y' from 1.1.1.1 from 10.99.2.66 port 41003").unwrap();
        assert_eq!(
            (e.user, e.src),
            (Some("\"x y' from 1.1.1.1"), ip("10.99.2.66"))
        );
        let e = parse("Connection closed by invalid user a b 1.1.1.1 2.2.2.2 port 9 [preauth]")
            .unwrap();
        assert_eq!(
            (e.user, e.src, e.port),
            (Some("a b 1.1.1.1"), ip("2.2.2.2"), Some(9))
        );
    }

    #[test]
    fn other_messages_and_damage() {
        for msg in [
            "Server listening on 10.99.2.2 port 22.",
            "pam_unix(sshd:auth): check pass; user unknown",
            "Received disconnect from 1.2.3.4 port 1:11: bye",
            "Connection closed by 1.2.3.4 port 5",
        ] {
            assert_eq!(parse(msg), Err(LineError::NotRecognised), "{msg}");
        }
        for (msg, field) in [
            (
                "Failed password for root from nowhere port 1 ssh2",
                "address",
            ),
            ("Failed password for root from 1.2.3.4 port x ssh2", "port"),
            ("Failed password root", "for"),
            ("Accepted password for root", "from"),
            ("Invalid user x from 1.2.3.4 port 99999", "port"),
        ] {
            match parse(msg) {
                Err(LineError::BadField { field: got, .. }) => assert_eq!(got, field, "{msg}"),
                other => panic!("{msg}: {other:?}"),
            }
        }
    }
}
