//! Admin tokens: issuing (`POST /V1/integration/admin/token`), checking, expiry and the lockout
//! after repeated failures.

use crate::config::{ApiVersion, SimConfig};
use crate::data::rng::mix;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures before the account locks (`oauth/authentication_lock/max_failures_count`).
pub const MAX_FAILURES: u32 = 6;
/// How long the lock lasts (`oauth/authentication_lock/timeout`).
pub const LOCK_DURATION: Duration = Duration::from_secs(1800);

#[derive(Debug, Default)]
struct Inner {
    tokens: HashMap<String, Instant>,
    failures: u32,
    locked_until: Option<Instant>,
    issued: u64,
}

/// Issued tokens and login failures.
#[derive(Debug)]
pub struct TokenStore {
    inner: Mutex<Inner>,
    fixed: Option<String>,
    user: String,
    password: String,
    ttl: Duration,
    version: ApiVersion,
    seed: u64,
}

/// Why a login failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginError {
    /// Empty user name or password (400 "is required").
    Missing(&'static str),
    /// Wrong credentials or locked account (401).
    Invalid,
}

impl TokenStore {
    /// A store for `config`'s credentials.
    pub fn new(config: &SimConfig) -> Self {
        TokenStore {
            inner: Mutex::new(Inner::default()),
            fixed: config.token.clone(),
            user: config.admin_user.clone(),
            password: config.admin_password.clone(),
            ttl: config.admin_token_ttl,
            version: config.version,
            seed: config.seed,
        }
    }

    /// Whether `token` is the integration token or a live admin token.
    pub fn is_valid(&self, token: &str) -> bool {
        if self.fixed.as_deref() == Some(token) {
            return true;
        }
        let Ok(g) = self.inner.lock() else {
            return false;
        };
        g.tokens.get(token).is_some_and(|exp| *exp > Instant::now())
    }

    /// Checks the credentials and issues a token.
    pub fn login(&self, user: &str, password: &str) -> Result<String, LoginError> {
        if user.is_empty() {
            return Err(LoginError::Missing("username"));
        }
        if password.is_empty() {
            return Err(LoginError::Missing("password"));
        }
        let mut g = self.inner.lock().map_err(|_| LoginError::Invalid)?;
        let now = Instant::now();
        if g.locked_until.is_some_and(|t| t > now) {
            return Err(LoginError::Invalid);
        }
        if user != self.user || password != self.password {
            g.failures += 1;
            if g.failures >= MAX_FAILURES {
                g.locked_until = Some(now + LOCK_DURATION);
                g.failures = 0;
            }
            return Err(LoginError::Invalid);
        }
        g.failures = 0;
        g.issued += 1;
        let token = self.make_token(g.issued);
        g.tokens.insert(token.clone(), now + self.ttl);
        Ok(token)
    }

    /// Forgets every issued token (the fixed token stays valid).
    pub fn revoke_all(&self) {
        if let Ok(mut g) = self.inner.lock() {
            g.tokens.clear();
        }
    }

    fn make_token(&self, n: u64) -> String {
        let a = mix(self.seed ^ mix(n) ^ Instant::now().elapsed().as_nanos() as u64 ^ nanos());
        let b = mix(a);
        match self.version {
            // Before 2.4.4 admin tokens were 32 characters of [a-z0-9].
            ApiVersion::V2_3 => {
                let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
                let mut s = String::with_capacity(32);
                let mut x = a;
                for i in 0..32 {
                    if i == 12 {
                        x = b;
                    }
                    s.push(alphabet[(x % 36) as usize] as char);
                    x /= 36;
                }
                s
            }
            // 2.4.4+ issues JWTs; clients must treat them as opaque.
            ApiVersion::V2_4 => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let payload = format!(
                    "{{\"uid\":1,\"utypid\":2,\"iat\":{now},\"exp\":{}}}",
                    now + self.ttl.as_secs()
                );
                let sig: Vec<u8> = [a, b, mix(b), mix(a ^ b)]
                    .iter()
                    .flat_map(|x| x.to_le_bytes())
                    .collect();
                format!(
                    "eyJraWQiOiIxIiwiYWxnIjoiSFMyNTYifQ.{}.{}",
                    base64url(payload.as_bytes()),
                    base64url(&sig)
                )
            }
        }
    }
}

fn nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Unpadded base64url, for the JWT-shaped tokens.
fn base64url(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len() * 4 / 3 + 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_and_lockout() {
        let cfg = SimConfig::default();
        let t = TokenStore::new(&cfg);
        let tok = t.login("admin", "admin123").unwrap();
        assert!(tok.starts_with("eyJ"));
        assert!(t.is_valid(&tok));
        for _ in 0..MAX_FAILURES {
            assert_eq!(t.login("admin", "nope"), Err(LoginError::Invalid));
        }
        assert_eq!(t.login("admin", "admin123"), Err(LoginError::Invalid));
        assert_eq!(base64url(b"{\"a\"}"), "eyJhIn0");
    }
}
