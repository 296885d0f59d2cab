//! Who may use the live UI: the password (an argon2 hash from the config)
//! or token check, sessions with their CSRF tokens, and the login rate
//! limit. All tables are bounded: the oldest entry makes room.

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Name of the session cookie.
pub const COOKIE: &str = "tripline_session";

/// One logged-in (or, without a password, anonymous) browser.
#[derive(Clone, Debug)]
pub struct Session {
    /// The token every state-changing form must carry.
    pub csrf: String,
    /// When it was created.
    pub created: Instant,
}

/// 32 random bytes as hex.
pub fn random_token() -> Result<String, String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| format!("no randomness: {e}"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Equality whose time does not depend on where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An argon2id hash (PHC string) of `password` with a random salt, for
/// `web.password_hash`.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|e| format!("no randomness: {e}"))?;
    let salt = SaltString::encode_b64(&raw).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// What a login must match.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// An argon2 PHC string (`$argon2id$v=19$...`).
    pub password_hash: Option<String>,
    /// A shared secret accepted as the password (or as `Authorization:
    /// Bearer`).
    pub token: Option<String>,
}

impl Credentials {
    /// True when anything is configured (then every page needs a session).
    pub fn required(&self) -> bool {
        self.password_hash.is_some() || self.token.is_some()
    }

    /// Checks the configured hash at startup.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(h) = &self.password_hash {
            PasswordHash::new(h)
                .map_err(|e| format!("web.password_hash is not an argon2 hash: {e}"))?;
        }
        if self.token.as_deref().is_some_and(|t| t.len() < 16) {
            return Err("web.token must be at least 16 characters".into());
        }
        Ok(())
    }

    /// Whether `given` is the password or the token.
    pub fn check(&self, given: &str) -> bool {
        if let Some(t) = &self.token
            && constant_time_eq(t.as_bytes(), given.as_bytes())
        {
            return true;
        }
        match self.password_hash.as_deref().map(PasswordHash::new) {
            Some(Ok(h)) => Argon2::default()
                .verify_password(given.as_bytes(), &h)
                .is_ok(),
            _ => false,
        }
    }
}

/// The live sessions, at most `cap`, each valid for `ttl`.
#[derive(Debug)]
pub struct Sessions {
    map: HashMap<String, Session>,
    cap: usize,
    ttl: Duration,
    /// Sessions dropped to make room.
    pub evicted: u64,
}

impl Sessions {
    /// An empty table.
    pub fn new(cap: usize, ttl: Duration) -> Self {
        Sessions {
            map: HashMap::new(),
            cap: cap.max(1),
            ttl,
            evicted: 0,
        }
    }

    /// Starts a session; returns its cookie value.
    pub fn create(&mut self, now: Instant) -> Result<(String, Session), String> {
        self.map
            .retain(|_, s| now.duration_since(s.created) < self.ttl);
        while self.map.len() >= self.cap {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, s)| s.created)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    self.map.remove(&k);
                    self.evicted += 1;
                }
                None => break,
            }
        }
        let id = random_token()?;
        let s = Session {
            csrf: random_token()?,
            created: now,
        };
        self.map.insert(id.clone(), s.clone());
        Ok((id, s))
    }

    /// The session of a cookie value, if live.
    pub fn get(&self, id: &str, now: Instant) -> Option<&Session> {
        self.map
            .get(id)
            .filter(|s| now.duration_since(s.created) < self.ttl)
    }
}

/// Login attempts per client address in a sliding minute, bounded.
#[derive(Debug)]
pub struct LoginLimiter {
    map: HashMap<IpAddr, (Instant, u32)>,
    per_minute: u32,
    cap: usize,
}

impl LoginLimiter {
    /// Allows `per_minute` attempts per address; remembers `cap` addresses.
    pub fn new(per_minute: u32, cap: usize) -> Self {
        LoginLimiter {
            map: HashMap::new(),
            per_minute: per_minute.max(1),
            cap: cap.max(1),
        }
    }

    /// Counts an attempt; false when the address is over its limit.
    pub fn attempt(&mut self, ip: IpAddr, now: Instant) -> bool {
        let window = Duration::from_secs(60);
        if !self.map.contains_key(&ip) && self.map.len() >= self.cap {
            self.map.retain(|_, (t, _)| now.duration_since(*t) < window);
            if self.map.len() >= self.cap
                && let Some(k) = self.map.iter().min_by_key(|(_, v)| v.0).map(|(k, _)| *k)
            {
                self.map.remove(&k);
            }
        }
        let e = self.map.entry(ip).or_insert((now, 0));
        if now.duration_since(e.0) >= window {
            *e = (now, 0);
        }
        e.1 += 1;
        e.1 <= self.per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, SaltString};

    #[test]
    fn password_and_token_checks() {
        let salt = SaltString::from_b64("c2FsdHNhbHRzYWx0").unwrap();
        let hash = Argon2::default()
            .hash_password(b"hunter22", &salt)
            .unwrap()
            .to_string();
        let c = Credentials {
            password_hash: Some(hash),
            token: Some("t0ken-t0ken-t0ken".into()),
        };
        c.validate().unwrap();
        assert!(c.check("hunter22"));
        assert!(c.check("t0ken-t0ken-t0ken"));
        assert!(!c.check("hunter2"));
        assert!(!c.check(""));
        let bad = Credentials {
            password_hash: Some("plain".into()),
            token: None,
        };
        assert!(bad.validate().is_err());
        assert!(!Credentials::default().required());
        let h = hash_password("correct horse").unwrap();
        let c = Credentials {
            password_hash: Some(h),
            token: None,
        };
        assert!(c.check("correct horse") && !c.check("correct horse "));
    }

    #[test]
    fn sessions_are_bounded_and_expire() {
        let t0 = Instant::now();
        let mut s = Sessions::new(2, Duration::from_secs(10));
        let (a, _) = s.create(t0).unwrap();
        let (b, sb) = s.create(t0 + Duration::from_secs(1)).unwrap();
        let (c, _) = s.create(t0 + Duration::from_secs(2)).unwrap();
        assert!(s.get(&a, t0).is_none());
        assert_eq!(s.evicted, 1);
        assert_eq!(
            s.get(&b, t0 + Duration::from_secs(2)).unwrap().csrf,
            sb.csrf
        );
        assert!(s.get(&c, t0 + Duration::from_secs(13)).is_none());
        assert_ne!(sb.csrf, b);
    }

    #[test]
    fn login_limit_per_address_per_minute() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(3, 2);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!((0..3).all(|_| l.attempt(ip, t0)));
        assert!(!l.attempt(ip, t0));
        assert!(l.attempt("10.0.0.2".parse().unwrap(), t0));
        assert!(l.attempt(ip, t0 + Duration::from_secs(61)));
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd"));
    }
}
