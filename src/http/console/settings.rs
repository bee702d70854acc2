//! An issuer admin's profile (name, contact, country, e-mail language, how VC-JWTs are signed),
//! keys and access: signing keys (rotate; mark compromised, with the
//! consequences counted and spelled out before confirming), API tokens (create with an expiry,
//! shown once; list without secrets; revoke) and partnerships (ask, accept, decline, end).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use uuid::Uuid;

use super::{Chrome, Console, Fields, field_problems, texts};
use crate::domain::access::{Action, Role};
use crate::http::AppState;
use crate::service::{ConsoleUser, KeyView, NewToken, PartnershipStep, PartnershipView, ServiceError, TokenView};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/settings", get(settings))
        .route("/console/settings/profile", post(save_profile))
        .route("/console/settings/keys/rotate", post(rotate))
        .route("/console/settings/keys/{key}/compromised", get(compromise_form).post(compromise))
        .route("/console/settings/tokens", post(create_token))
        .route("/console/settings/tokens/{id}/revoke", post(revoke_token))
        .route("/console/settings/partners", post(ask_partner))
        .route("/console/settings/partners/{id}/{step}", post(partner_step))
}

fn admin_of(console: &Console) -> Result<(ConsoleUser, Uuid), Response> {
    let user = console.require()?.clone();
    match user.principal.issuer_id {
        Some(issuer) if user.principal.check(issuer, Action::Manage).is_ok() => Ok((user, issuer)),
        _ => Err(console.fail(ServiceError::Forbidden)),
    }
}

fn form_of(console: &Console, body: &Bytes) -> Result<(Fields, ConsoleUser, Uuid), Response> {
    let pairs = Fields::parse(body);
    console.require_form(pairs.get("csrf"))?;
    let (user, issuer) = admin_of(console)?;
    Ok((pairs, user, issuer))
}

fn field<'a>(fields: &'a Fields, key: &str) -> &'a str {
    fields.get(key).trim()
}

struct KeyItem {
    key: KeyView,
    status: &'static str,
    created: String,
}

struct PartnerItem {
    p: PartnershipView,
    /// This issuer is the partner asked (it may accept or decline).
    asked: bool,
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    c: Chrome,
    profile: crate::domain::issuer::IssuerSpec,
    keys: Vec<KeyItem>,
    tokens: Vec<TokenView>,
    partners: Vec<PartnerItem>,
    /// A token just made: its secret, shown this once.
    secret: Option<String>,
    problems: Vec<String>,
    today: String,
}

impl Console {
    async fn settings_page(
        &self,
        s: &AppState,
        status: StatusCode,
        secret: Option<String>,
        problems: Vec<String>,
    ) -> Result<Response, Response> {
        let (user, issuer) = admin_of(self)?;
        let t = self.t();
        let who = &user.principal;
        let loaded = async {
            Ok::<_, ServiceError>((
                s.service.issuer(who, issuer).await?.spec,
                s.service.keys(who, issuer).await?,
                s.service.api_tokens(who, Some(issuer)).await?,
                s.service.partnerships(who, issuer).await?,
            ))
        };
        let (profile, keys, tokens, partners) = loaded.await.map_err(|e| self.fail(e))?;
        let keys = keys
            .into_iter()
            .map(|key| KeyItem {
                status: match key.status {
                    "active" => t.key_active,
                    "compromised" => t.key_compromised,
                    _ => t.key_retired,
                },
                created: texts::date(self.lang, key.created_at, true),
                key,
            })
            .collect();
        let partners = partners.into_iter().map(|p| PartnerItem { asked: p.partner == issuer, p }).collect();
        let page = SettingsPage {
            c: self.chrome(t.settings_title),
            profile,
            keys,
            tokens,
            partners,
            secret,
            problems,
            today: self.today.to_string(),
        };
        Ok(self.page(status, &page))
    }

    /// After a change: the page again with the use case's field errors, or the failure page.
    async fn settings_after(&self, s: &AppState, e: ServiceError) -> Result<Response, Response> {
        let problems = field_problems(self.lang, e).map_err(|e| self.fail(e))?;
        self.settings_page(s, StatusCode::UNPROCESSABLE_ENTITY, None, problems).await
    }
}

async fn settings(State(s): State<AppState>, console: Console) -> Result<Response, Response> {
    console.settings_page(&s, StatusCode::OK, None, vec![]).await
}

fn back() -> Response {
    Redirect::to("/console/settings").into_response()
}

/// The profile form as a merge patch of the issuer profile: every field present, `null` when
/// left empty (the API's validation names what is wrong).
async fn save_profile(State(s): State<AppState>, console: Console, body: Bytes) -> Result<Response, Response> {
    let (fields, user, issuer) = form_of(&console, &body)?;
    let text = |k: &str| match field(&fields, k) {
        "" => serde_json::Value::Null,
        v => serde_json::json!(v),
    };
    let patch = serde_json::json!({
        "name": text("name"),
        "url": text("url"),
        "email": text("email"),
        "address": {"addressCountry": text("country"), "addressCountryCode": text("country_code")},
        "language": text("language"),
        "jwtAlgorithm": text("jwt_algorithm"),
    });
    match s.service.update_issuer(&user.principal, issuer, &patch).await {
        Ok(_) => Ok(back()),
        Err(e) => console.settings_after(&s, e).await,
    }
}

async fn rotate(State(s): State<AppState>, console: Console, body: Bytes) -> Result<Response, Response> {
    let (_, user, issuer) = form_of(&console, &body)?;
    match s.service.rotate_key(&user.principal, issuer).await {
        Ok(_) => Ok(back()),
        Err(e) => console.settings_after(&s, e).await,
    }
}

fn since_of(raw: &str) -> Option<time::OffsetDateTime> {
    time::Date::parse(raw, time::macros::format_description!("[year]-[month]-[day]"))
        .ok()
        .map(|d| d.midnight().assume_utc())
}

#[derive(Template)]
#[template(path = "console/compromise.html")]
struct CompromisePage {
    c: Chrome,
    key: Uuid,
    since: String,
    since_text: String,
    count: i64,
}

/// The consequences, counted, before anyone confirms.
async fn compromise_form(
    State(s): State<AppState>,
    console: Console,
    Path(raw): Path<String>,
    uri: axum::http::Uri,
) -> Result<Response, Response> {
    let (user, issuer) = admin_of(&console)?;
    let key = raw.parse::<Uuid>().map_err(|_| console.fail(ServiceError::NotFound))?;
    let q = Fields::query(&uri);
    let since_raw = field(&q, "since").to_string();
    let Some(since) = since_of(&since_raw) else {
        let problem = format!("{}: YYYY-MM-DD", console.t().compromised_since);
        return console.settings_page(&s, StatusCode::UNPROCESSABLE_ENTITY, None, vec![problem]).await;
    };
    let count = s.service.compromise_impact(&user.principal, issuer, key, since).await.map_err(|e| console.fail(e))?;
    let page = CompromisePage {
        c: console.chrome(console.t().compromise_title),
        key,
        since_text: texts::date(console.lang, since, false),
        since: since_raw,
        count,
    };
    Ok(console.page(StatusCode::OK, &page))
}

async fn compromise(
    State(s): State<AppState>,
    console: Console,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Response, Response> {
    let (pairs, user, issuer) = form_of(&console, &body)?;
    let key = raw.parse::<Uuid>().map_err(|_| console.fail(ServiceError::NotFound))?;
    let Some(since) = since_of(field(&pairs, "since")) else {
        return console
            .settings_page(&s, StatusCode::UNPROCESSABLE_ENTITY, None, vec![console.t().problem.into()])
            .await;
    };
    match s.service.mark_compromised(&user.principal, issuer, key, since).await {
        Ok(_) => Ok(back()),
        Err(e) => console.settings_after(&s, e).await,
    }
}

async fn create_token(State(s): State<AppState>, console: Console, body: Bytes) -> Result<Response, Response> {
    let (pairs, user, issuer) = form_of(&console, &body)?;
    let role = match field(&pairs, "role") {
        "issuer_admin" => Role::IssuerAdmin,
        "auditor" => Role::Auditor,
        _ => Role::Trainer,
    };
    let expires_at = match field(&pairs, "expires") {
        "" => None,
        raw => match since_of(raw) {
            Some(day) => Some(day + time::Duration::days(1)),
            None => {
                let problem = format!("{}: YYYY-MM-DD", console.t().token_expires);
                return console.settings_page(&s, StatusCode::UNPROCESSABLE_ENTITY, None, vec![problem]).await;
            }
        },
    };
    let req = NewToken { role, issuer: Some(issuer), label: field(&pairs, "label").to_string(), expires_at };
    match s.service.create_api_token(&user.principal, req).await {
        Ok(view) => console.settings_page(&s, StatusCode::CREATED, view.token, vec![]).await,
        Err(e) => console.settings_after(&s, e).await,
    }
}

async fn revoke_token(
    State(s): State<AppState>,
    console: Console,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Response, Response> {
    let (_, user, _) = form_of(&console, &body)?;
    let id = raw.parse::<Uuid>().map_err(|_| console.fail(ServiceError::NotFound))?;
    match s.service.revoke_api_token(&user.principal, id).await {
        Ok(_) => Ok(back()),
        Err(e) => console.settings_after(&s, e).await,
    }
}

async fn ask_partner(State(s): State<AppState>, console: Console, body: Bytes) -> Result<Response, Response> {
    let (pairs, user, issuer) = form_of(&console, &body)?;
    let Ok(partner) = field(&pairs, "partner").parse::<Uuid>() else {
        let problem = format!("{}: {}", console.t().partner_id, console.t().not_found);
        return console.settings_page(&s, StatusCode::UNPROCESSABLE_ENTITY, None, vec![problem]).await;
    };
    match s.service.request_partnership(&user.principal, issuer, partner).await {
        Ok(_) => Ok(back()),
        Err(e) => console.settings_after(&s, e).await,
    }
}

async fn partner_step(
    State(s): State<AppState>,
    console: Console,
    Path((raw, step)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Response> {
    let (_, user, _) = form_of(&console, &body)?;
    let id = raw.parse::<Uuid>().map_err(|_| console.fail(ServiceError::NotFound))?;
    let step = match step.as_str() {
        "accept" => PartnershipStep::Accept,
        "decline" => PartnershipStep::Decline,
        "end" => PartnershipStep::End,
        _ => return Err(console.fail(ServiceError::NotFound)),
    };
    match s.service.partnership_step(&user.principal, id, step).await {
        Ok(_) => Ok(back()),
        Err(e) => console.settings_after(&s, e).await,
    }
}
