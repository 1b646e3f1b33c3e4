//! Who is asking: the two tokens and their roles, signed-in sessions, and the check every
//! action goes through (admin role, CSRF token).
//!
//! A request is authenticated by `Authorization: Bearer <token>` (scripts) or by the
//! session cookie the login form sets (browsers). A browser sends its cookie with any
//! request, also one a hostile page makes it send, so an action from a session must carry
//! the session's CSRF token too; a bearer token is never sent by a browser on its own, so
//! scripts need none.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE, LOCATION};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ConsoleState;
use super::error::ConsoleError;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "synckit_session";

/// How long a session lasts after sign-in.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Look at everything, change nothing.
    ReadOnly,
    /// Look and act.
    Admin,
}

impl Role {
    /// The role's name, as the audit log and the pages show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ReadOnly => "read-only",
            Role::Admin => "admin",
        }
    }
}

/// How the caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `Authorization: Bearer …`.
    Bearer,
    /// The session cookie of the login form.
    Session,
    /// Nobody: the console runs with `--insecure-local` and no token.
    InsecureLocal,
}

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// What it may do.
    pub role: Role,
    /// How it signed in.
    pub via: Via,
    /// The CSRF token its actions must carry (none for bearer tokens).
    pub csrf: Option<String>,
}

impl Principal {
    /// Who acted, for the audit log: the role and the way in, never a token.
    pub fn actor(&self) -> String {
        let via = match self.via {
            Via::Bearer => "bearer token",
            Via::Session => "signed-in session",
            Via::InsecureLocal => "insecure local console",
        };
        format!("{} ({via})", self.role.as_str())
    }

    /// Checks that the caller may run an action: the admin role, and the CSRF token when
    /// the request came from a browser session.
    ///
    /// # Errors
    /// 403 for the read-only role, or for a missing or wrong CSRF token.
    pub fn authorize_action(&self, csrf: Option<&str>) -> Result<(), ConsoleError> {
        if self.role != Role::Admin {
            return Err(ConsoleError::read_only());
        }
        match (&self.csrf, csrf) {
            (None, _) => Ok(()),
            (Some(expected), Some(given)) if same_secret(expected, given) => Ok(()),
            _ => Err(ConsoleError::csrf()),
        }
    }
}

/// The console's tokens, from `SYNCKIT_CONSOLE_TOKEN` (admin) and
/// `SYNCKIT_CONSOLE_READ_TOKEN` (read-only). Never printed.
#[derive(Clone, Default)]
pub struct Tokens {
    admin: Option<String>,
    read_only: Option<String>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("admin", &self.admin.as_ref().map(|_| "[set]"))
            .field("read_only", &self.read_only.as_ref().map(|_| "[set]"))
            .finish()
    }
}

impl Tokens {
    /// The admin environment variable.
    pub const ADMIN_ENV: &'static str = "SYNCKIT_CONSOLE_TOKEN";
    /// The read-only environment variable.
    pub const READ_ONLY_ENV: &'static str = "SYNCKIT_CONSOLE_READ_TOKEN";

    /// Tokens given directly (empty ones count as unset).
    pub fn new(admin: Option<String>, read_only: Option<String>) -> Self {
        Tokens {
            admin: admin.filter(|t| !t.is_empty()),
            read_only: read_only.filter(|t| !t.is_empty()),
        }
    }

    /// The tokens of the environment variables.
    pub fn from_env() -> Self {
        Tokens::new(
            std::env::var(Self::ADMIN_ENV).ok(),
            std::env::var(Self::READ_ONLY_ENV).ok(),
        )
    }

    /// Whether no token is set.
    pub fn is_empty(&self) -> bool {
        self.admin.is_none() && self.read_only.is_none()
    }

    /// The role `token` gives, if any.
    pub fn role_of(&self, token: &str) -> Option<Role> {
        // Both are compared, so that the time taken tells nothing about which matched.
        let admin = self.admin.as_deref().is_some_and(|t| same_secret(t, token));
        let read = self
            .read_only
            .as_deref()
            .is_some_and(|t| same_secret(t, token));
        if admin {
            Some(Role::Admin)
        } else if read {
            Some(Role::ReadOnly)
        } else {
            None
        }
    }
}

/// Compares two secrets in a time that depends on their lengths only.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A random value for session ids and CSRF tokens (256 bits, hex).
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone)]
struct Session {
    role: Role,
    csrf: String,
    expires: Instant,
}

/// The signed-in browser sessions, in memory: a restarted console asks to sign in again.
#[derive(Debug, Clone, Default)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<String, Session>>>,
}

impl Sessions {
    /// Starts a session with `role`; returns its id (the cookie's value).
    pub fn start(&self, role: Role) -> String {
        let id = random_token();
        let session = Session {
            role,
            csrf: random_token(),
            expires: Instant::now() + SESSION_LIFETIME,
        };
        let mut sessions = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        // Expired sessions go when a new one starts, so the map stays small.
        let now = Instant::now();
        sessions.retain(|_, s| s.expires > now);
        sessions.insert(id.clone(), session);
        id
    }

    /// The caller of session `id`, while it lasts.
    pub fn principal(&self, id: &str) -> Option<Principal> {
        let sessions = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        sessions
            .get(id)
            .filter(|s| s.expires > Instant::now())
            .map(|s| Principal {
                role: s.role,
                via: Via::Session,
                csrf: Some(s.csrf.clone()),
            })
    }

    /// Ends session `id`.
    pub fn end(&self, id: &str) {
        let mut sessions = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        sessions.remove(id);
    }
}

/// The session id in the request's cookies, if any.
pub fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The paths anyone may reach: the login form itself.
fn is_public(path: &str) -> bool {
    path == "/login"
}

/// Authenticates every request but the login form's, and hands the [`Principal`] to the
/// handlers. Without credentials, the API and `/metrics` answer 401 and the pages send the
/// browser to the login form.
pub async fn authenticate(
    State(state): State<ConsoleState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if is_public(&path) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or("").trim().to_owned());
    let principal = match bearer {
        // A wrong bearer token is refused even when a session cookie comes with it.
        Some(token) => state.tokens.role_of(&token).map(|role| Principal {
            role,
            via: Via::Bearer,
            csrf: None,
        }),
        None => session_id(headers)
            .and_then(|id| state.sessions.principal(&id))
            .or_else(|| {
                state.tokens.is_empty().then(|| Principal {
                    role: Role::Admin,
                    via: Via::InsecureLocal,
                    csrf: Some(state.local_csrf.clone()),
                })
            }),
    };
    match principal {
        Some(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        None if path.starts_with("/api") || path == "/metrics" => {
            ConsoleError::unauthorized().into_response()
        }
        None => (StatusCode::SEE_OTHER, [(LOCATION, "/login")]).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_give_their_roles_and_nothing_else() {
        let tokens = Tokens::new(Some("zq-adm".into()), Some("zq-rd".into()));
        assert_eq!(tokens.role_of("zq-adm"), Some(Role::Admin));
        assert_eq!(tokens.role_of("zq-rd"), Some(Role::ReadOnly));
        assert_eq!(tokens.role_of("zq-ad"), None);
        assert_eq!(tokens.role_of(""), None);
        assert!(!format!("{tokens:?}").contains("zq-"), "never printed");
    }

    #[test]
    fn actions_need_admin_and_the_session_csrf_token() {
        let session = Principal {
            role: Role::Admin,
            via: Via::Session,
            csrf: Some("c".into()),
        };
        assert!(session.authorize_action(Some("c")).is_ok());
        assert_eq!(session.authorize_action(None), Err(ConsoleError::csrf()));
        assert_eq!(
            session.authorize_action(Some("x")),
            Err(ConsoleError::csrf())
        );
        let reader = Principal {
            role: Role::ReadOnly,
            via: Via::Bearer,
            csrf: None,
        };
        assert_eq!(
            reader.authorize_action(None),
            Err(ConsoleError::read_only())
        );
    }
}
