//! The login form: a token in, a session cookie out; and signing out.

use askama::Template;
use axum::Form;
use axum::extract::{Extension, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::render;
use crate::console::ConsoleState;
use crate::console::audit;
use crate::console::auth::{Principal, SESSION_COOKIE, SESSION_LIFETIME, session_id};
use crate::console::error::ConsoleResult;

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    error: Option<String>,
}

/// `GET /login`.
pub async fn form() -> ConsoleResult<Response> {
    Ok(render(&LoginPage { error: None })?.into_response())
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// The admin or read-only token.
    #[serde(default)]
    pub token: String,
}

/// `POST /login`: starts a session for a known token.
pub async fn sign_in(
    State(state): State<ConsoleState>,
    Form(login): Form<LoginForm>,
) -> ConsoleResult<Response> {
    let Some(role) = state.tokens.role_of(&login.token) else {
        let page = render(&LoginPage {
            error: Some("This token is not one of the console's.".to_owned()),
        })?;
        return Ok((StatusCode::UNAUTHORIZED, page).into_response());
    };
    let id = state.sessions.start(role);
    // The cookie is out of reach of scripts and never sent by another site's requests.
    let cookie = format!(
        "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_LIFETIME.as_secs()
    );
    audit::record(
        state.queue.storage(),
        &format!("{} (signed-in session)", role.as_str()),
        "console.sign_in",
        "console",
        "session started",
    )
    .await?;
    Ok((
        StatusCode::SEE_OTHER,
        [(SET_COOKIE, cookie), (LOCATION, "/".to_owned())],
    )
        .into_response())
}

/// The sign-out form's fields.
#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf: Option<String>,
}

/// `POST /logout`: ends the session (with its CSRF token, so no other site can sign the
/// operator out).
pub async fn sign_out(
    State(state): State<ConsoleState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> ConsoleResult<Response> {
    if let Some(expected) = &principal.csrf
        && form.csrf.as_deref() != Some(expected.as_str())
    {
        return Err(crate::console::error::ConsoleError::csrf());
    }
    if let Some(id) = session_id(&headers) {
        state.sessions.end(&id);
    }
    let cookie = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    Ok((
        StatusCode::SEE_OTHER,
        [(SET_COOKIE, cookie), (LOCATION, "/login".to_owned())],
    )
        .into_response())
}
