//! Issuers and their members: the platform admin lists and creates issuers; an issuer's admin
//! (and the platform admin) invites members with a role, gives a member a new sign-in link
//! (a password reset) and removes members. Invitation links are shown once, like tokens.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::{Chrome, Console, Fields, form};
use crate::domain::issuer::IssuerSpec;
use crate::http::AppState;
use crate::service::{Invitation, IssuerView, MemberView, NewMember, ServiceError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/issuers", get(issuers).post(create_issuer))
        .route("/console/issuers/{id}", get(members))
        .route("/console/issuers/{id}/members", post(invite))
        .route("/console/issuers/{id}/profile", post(profile))
        .route("/console/platform-tokens", post(create_platform_token))
        .route("/console/platform-tokens/{id}/revoke", post(revoke_platform_token))
        .route("/console/issuers/{id}/members/{member}/reset", post(reset))
        .route("/console/issuers/{id}/members/{member}/remove", post(remove))
}

#[derive(Template)]
#[template(path = "console/issuers.html")]
struct IssuersPage {
    c: Chrome,
    issuers: Vec<IssuerView>,
    /// The platform's admin tokens (without secrets).
    tokens: Vec<crate::service::TokenView>,
    /// A token just made: its secret, shown this once.
    secret: Option<String>,
}

async fn issuers(State(s): State<AppState>, console: Console) -> Response {
    console.issuers_page(&s, StatusCode::OK, None).await
}

impl Console {
    /// The platform admin's page: issuers, and the platform's API tokens.
    async fn issuers_page(&self, s: &AppState, status: StatusCode, secret: Option<String>) -> Response {
        let user = match self.require() {
            Ok(u) => u,
            Err(r) => return r,
        };
        if let Err(e) = user.principal.check_admin() {
            return self.fail(ServiceError::from(e));
        }
        let loaded = async {
            Ok::<_, ServiceError>((
                s.service.issuers(&user.principal, 500, 0).await?,
                s.service.api_tokens(&user.principal, None).await?,
            ))
        };
        match loaded.await {
            Ok((issuers, tokens)) => {
                self.page(status, &IssuersPage { c: self.chrome(self.t().issuers_title), issuers, tokens, secret })
            }
            Err(e) => self.fail(e),
        }
    }
}

/// A platform admin token (for scripts), shown once.
async fn create_platform_token(State(s): State<AppState>, console: Console, body: Bytes) -> Response {
    let fields = Fields::parse(&body);
    let field = |k: &str| fields.get(k).trim().to_string();
    let user = match console.require_form(&field("csrf")) {
        Ok(u) => u.clone(),
        Err(r) => return r,
    };
    let req = crate::service::NewToken {
        role: crate::domain::access::Role::Admin,
        issuer: None,
        label: field("label"),
        expires_at: None,
    };
    match s.service.create_api_token(&user.principal, req).await {
        Ok(view) => console.issuers_page(&s, StatusCode::CREATED, view.token).await,
        Err(e) => console.fail(e),
    }
}

async fn revoke_platform_token(
    State(s): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let f: CsrfForm = match form(&console, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let user = match console.require_form(&f.csrf) {
        Ok(u) => u.clone(),
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<Uuid>() else { return console.fail(ServiceError::NotFound) };
    match s.service.revoke_api_token(&user.principal, id).await {
        Ok(_) => Redirect::to("/console/issuers").into_response(),
        Err(e) => console.fail(e),
    }
}

#[derive(Deserialize)]
struct NewIssuerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    url: String,
}

async fn create_issuer(State(s): State<AppState>, console: Console, body: Bytes) -> Response {
    let f: NewIssuerForm = match form(&console, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let user = match console.require_form(&f.csrf) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let spec = IssuerSpec {
        name: Some(f.name.trim().to_string()),
        url: Some(f.url.trim().to_string()).filter(|u| !u.is_empty()),
        ..IssuerSpec::default()
    };
    match s.service.create_issuer(&user.principal, spec).await {
        Ok(issuer) => Redirect::to(&format!("/console/issuers/{}", issuer.id)).into_response(),
        Err(e) => console.fail(e),
    }
}

#[derive(Template)]
#[template(path = "console/members.html")]
struct MembersPage {
    c: Chrome,
    issuer: IssuerView,
    /// Each member with their role in the reader's language.
    members: Vec<(MemberView, &'static str)>,
    /// A link just made (invitation or reset), shown this once.
    made: Option<Made>,
}

struct Made {
    to: String,
    invitation: Option<Invitation>,
    /// The profile was just saved (no link made).
    saved: bool,
}

impl Console {
    async fn members_page(&self, s: &AppState, issuer: Uuid, made: Option<Made>, status: StatusCode) -> Response {
        let Some(user) = &self.user else { return Redirect::to("/console").into_response() };
        // Only who may manage the issuer sees its members here.
        if let Err(e) = user.principal.check(issuer, crate::domain::access::Action::Manage) {
            return self.fail(ServiceError::from(e));
        }
        let page = async {
            let issuer = s.service.issuer(&user.principal, issuer).await?;
            let members = s.service.members(&user.principal, issuer.id).await?;
            Ok::<_, ServiceError>((issuer, members))
        };
        match page.await {
            Ok((issuer, members)) => {
                let t = self.t();
                let members = members
                    .into_iter()
                    .map(|m| {
                        let role = t.role(&m.role);
                        (m, role)
                    })
                    .collect();
                let title = issuer.spec.name.clone().unwrap_or_default();
                self.page(status, &MembersPage { c: self.chrome(&title), issuer, members, made })
            }
            Err(e) => self.fail(e),
        }
    }
}

async fn members(
    State(s): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> Response {
    if let Err(r) = console.require() {
        return r;
    }
    let saved = uri.query().is_some_and(|q| q.contains("saved=1"));
    match id.parse::<Uuid>() {
        Ok(id) => {
            let made = saved.then(|| Made { to: String::new(), invitation: None, saved: true });
            console.members_page(&s, id, made, StatusCode::OK).await
        }
        Err(_) => console.fail(ServiceError::NotFound),
    }
}

#[derive(Deserialize)]
struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

async fn invite(State(s): State<AppState>, console: Console, Path(id): Path<String>, body: Bytes) -> Response {
    let f: InviteForm = match form(&console, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let user = match console.require_form(&f.csrf) {
        Ok(u) => u.clone(),
        Err(r) => return r,
    };
    let Ok(issuer) = id.parse::<Uuid>() else { return console.fail(ServiceError::NotFound) };
    let input = NewMember { name: Some(f.name), email: Some(f.email.clone()), role: Some(f.role) };
    match s.service.add_member(&user.principal, issuer, input).await {
        Ok(m) => {
            let invitation = m
                .invitation_url
                .map(|url| Invitation { url, expires_at: m.invitation_expires_at.unwrap_or_else(|| s.service.now()) });
            let made = Made { to: m.email, invitation, saved: false };
            console.members_page(&s, issuer, Some(made), StatusCode::CREATED).await
        }
        Err(e) => console.fail(e),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// A posted member action (reset, remove): whose session, which issuer, which member.
fn member_form(
    console: &Console,
    body: &Bytes,
    issuer: &str,
    member: &str,
) -> Result<(crate::service::ConsoleUser, Uuid, Uuid), Response> {
    let f: CsrfForm = form(console, body)?;
    let user = console.require_form(&f.csrf)?.clone();
    match (issuer.parse::<Uuid>(), member.parse::<Uuid>()) {
        (Ok(issuer), Ok(member)) => Ok((user, issuer, member)),
        _ => Err(console.fail(ServiceError::NotFound)),
    }
}

async fn reset(
    State(s): State<AppState>,
    console: Console,
    Path((id, member)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (user, issuer, member) = match member_form(&console, &body, &id, &member) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let to = match s.service.members(&user.principal, issuer).await {
        Ok(ms) => ms.into_iter().find(|m| m.id == member).map(|m| m.email).unwrap_or_default(),
        Err(e) => return console.fail(e),
    };
    match s.service.reset_member_password(&user.principal, issuer, member).await {
        Ok(invitation) => {
            console
                .members_page(
                    &s,
                    issuer,
                    Some(Made { to, invitation: Some(invitation), saved: false }),
                    StatusCode::CREATED,
                )
                .await
        }
        Err(e) => console.fail(e),
    }
}

async fn remove(
    State(s): State<AppState>,
    console: Console,
    Path((id, member)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (user, issuer, member) = match member_form(&console, &body, &id, &member) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match s.service.remove_member(&user.principal, issuer, member).await {
        Ok(()) => Redirect::to(&format!("/console/issuers/{issuer}")).into_response(),
        Err(e) => console.fail(e),
    }
}

/// The issuer's public profile (name, website, contact address, description): a merge patch
/// through the API's use case, so validation and the audit event are the API's.
async fn profile(State(s): State<AppState>, console: Console, Path(id): Path<String>, body: Bytes) -> Response {
    let fields = Fields::parse(&body);
    let field = |k: &str| fields.get(k).trim().to_string();
    let user = match console.require_form(&field("csrf")) {
        Ok(u) => u.clone(),
        Err(r) => return r,
    };
    let Ok(issuer) = id.parse::<Uuid>() else { return console.fail(ServiceError::NotFound) };
    let text = |k: &str| {
        let v = field(k);
        if v.is_empty() { serde_json::Value::Null } else { serde_json::Value::String(v) }
    };
    let patch = serde_json::json!({"name": text("name"), "url": text("url"), "email": text("email"), "description": text("description")});
    match s.service.update_issuer(&user.principal, issuer, &patch).await {
        Ok(_) => Redirect::to(&format!("/console/issuers/{issuer}?saved=1")).into_response(),
        Err(e) => console.fail(e),
    }
}
