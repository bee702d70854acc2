//! The web console under `/console`: server-rendered forms over the same use cases as the API.
//!
//! Sessions live in the database (a `mb_session` cookie, `HttpOnly`, `SameSite=Lax`, `Secure`
//! when the base URL is https); every form that changes something carries the session's CSRF
//! token, and the sign-in and invitation forms a pre-session token bound to a cookie. No
//! JavaScript: plain forms and links, readable at 360 px.

// A handler's early answer (the sign-in page, a refusal) is a whole response, as axum's own
// rejections are; boxing it would only add noise to every handler.
#![allow(clippy::result_large_err)]

mod audit;
mod award;
pub(crate) use award::qr_svg;
mod credentials;
mod groups;
mod learners;
mod lines;
mod mail;
mod maps;
mod nanomodules;
mod people;
mod reports;
mod security;
mod settings;
pub mod texts;

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::texts::{Lang, Preferred};
use crate::service::{ConsoleUser, ServiceError};
use texts::ConsoleTexts;

const SESSION_COOKIE: &str = "mb_session";
pub(super) const PRE_COOKIE: &str = "mb_pre";
const LANG_COOKIE: &str = "mb_lang";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(home))
        .route("/console/sign-in", post(sign_in))
        .route("/console/sign-out", post(sign_out))
        .route("/console/invitation/{token}", get(invitation_form).post(accept_invitation))
        .merge(award::router())
        .merge(audit::router())
        .merge(credentials::router())
        .merge(nanomodules::router())
        .merge(lines::router())
        .merge(maps::router())
        .merge(groups::router())
        .merge(settings::router())
        .merge(learners::router())
        .merge(security::router())
        .merge(reports::router())
        .merge(mail::router())
        .merge(people::router())
}

/// Cookies of the request, by name (the first of each name wins).
pub(super) fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for value in headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()) {
        for pair in value.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                out.entry(k.trim().to_string()).or_insert_with(|| v.trim().to_string());
            }
        }
    }
    out
}

/// What every console request knows: the reader's language, the signed-in person (if any)
/// and the cookies that tie forms to this browser.
pub struct Console {
    pub lang: Lang,
    pub user: Option<ConsoleUser>,
    pub(super) session: Option<String>,
    pub(super) pre: Option<String>,
    /// `?lang=` was given: remember it in a cookie.
    chosen: Option<Lang>,
    secure: bool,
    /// Today by the service's clock: the default date of forms (session dates, key expiries).
    pub today: time::Date,
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let jar = cookies(&parts.headers);
        let asked = Preferred::from_request_parts(parts, state).await.unwrap_or_default();
        let chosen = Lang::parse(Fields::query(&parts.uri).get("lang"));
        let remembered = jar.get(LANG_COOKIE).and_then(|v| Lang::parse(v));
        let lang = chosen.or(remembered).or(asked.0).unwrap_or(Lang::En);
        let session = jar.get(SESSION_COOKIE).cloned();
        let user = match &session {
            Some(s) => match state.service.console_user(s).await {
                Ok(u) => u,
                Err(e) => return Err(failure(lang, None, e)),
            },
            None => None,
        };
        Ok(Console {
            lang,
            user,
            session,
            pre: jar.get(PRE_COOKIE).cloned(),
            chosen,
            secure: state.service.base_url.starts_with("https://"),
            today: state.service.now().date(),
        })
    }
}

impl Console {
    pub fn t(&self) -> &'static ConsoleTexts {
        texts::texts(self.lang)
    }

    /// The page chrome for a page titled `title`.
    pub fn chrome(&self, title: &str) -> Chrome {
        Chrome {
            lang: self.lang.code(),
            other: self.lang.other().code(),
            title: title.to_string(),
            t: self.t(),
            user_name: self.user.as_ref().map(|u| u.name.clone()),
            csrf: self.user.as_ref().map(|u| u.csrf.clone()).unwrap_or_default(),
            nav: self.user.as_ref().map(|u| nav(self.t(), &u.principal)).unwrap_or_default(),
        }
    }

    pub(super) fn cookie(&self, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
        let mut c = format!("{name}={value}; Path=/console; HttpOnly; SameSite=Lax");
        if let Some(age) = max_age {
            c.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            c.push_str("; Secure");
        }
        HeaderValue::from_str(&c).expect("cookie values are ASCII")
    }

    /// A rendered console page: private, never cached, never framed; a language picked with
    /// `?lang=` is remembered for a year.
    pub fn page(&self, status: StatusCode, template: &impl Template) -> Response {
        let mut r = match template.render() {
            Ok(html) => (status, html).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "console template failed");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(super::pages::PAGE_CSP));
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
        if let Some(lang) = self.chosen {
            h.append(header::SET_COOKIE, self.cookie(LANG_COOKIE, lang.code(), Some(365 * 24 * 3600)));
        }
        r
    }

    /// The signed-in person, or the sign-in page.
    pub fn require(&self) -> Result<&ConsoleUser, Response> {
        self.user.as_ref().ok_or_else(|| Redirect::to("/console").into_response())
    }

    /// The signed-in person, if the form's CSRF token is theirs.
    pub fn require_form(&self, csrf: &str) -> Result<&ConsoleUser, Response> {
        let user = self.require()?;
        if user.csrf_matches(csrf) { Ok(user) } else { Err(self.message(StatusCode::FORBIDDEN, self.t().form_expired)) }
    }

    /// A page with one message (errors, confirmations).
    pub fn message(&self, status: StatusCode, text: &str) -> Response {
        self.page(status, &MessagePage { c: self.chrome(text), text: text.to_string(), details: vec![] })
    }

    /// A use case failed: say so in words, with the fields at fault.
    pub fn fail(&self, e: ServiceError) -> Response {
        failure(self.lang, Some(self), e)
    }
}

fn failure(lang: Lang, console: Option<&Console>, e: ServiceError) -> Response {
    let t = texts::texts(lang);
    let (status, text, details) = match e {
        ServiceError::NotFound | ServiceError::Gone(_) => (StatusCode::NOT_FOUND, t.not_found, vec![]),
        ServiceError::Forbidden => (StatusCode::FORBIDDEN, t.forbidden, vec![]),
        ServiceError::Unauthenticated => return Redirect::to("/console").into_response(),
        ServiceError::Invalid(invalid) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            t.problem,
            invalid.0.iter().map(|f| crate::http::problems::problem(lang, f)).collect(),
        ),
        ServiceError::Conflict(why) => {
            (StatusCode::CONFLICT, t.problem, vec![crate::http::problems::message(lang, &why)])
        }
        ServiceError::Unavailable(_) | ServiceError::Busy(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, t.unavailable, vec![])
        }
        other => {
            tracing::error!(error = %other, "console request failed");
            (StatusCode::INTERNAL_SERVER_ERROR, t.failed, vec![])
        }
    };
    let chrome = match console {
        Some(c) => c.chrome(text),
        None => Chrome {
            lang: lang.code(),
            other: lang.other().code(),
            title: text.into(),
            t,
            user_name: None,
            csrf: String::new(),
            nav: vec![],
        },
    };
    let page = MessagePage { c: chrome, text: text.to_string(), details };
    let mut r = match page.render() {
        Ok(html) => (status, html).into_response(),
        Err(_) => status.into_response(),
    };
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        r = super::error::unavailable_if(true, r);
    }
    r
}

/// What the console layout needs on every page.
pub struct Chrome {
    pub lang: &'static str,
    pub other: &'static str,
    pub title: String,
    pub t: &'static ConsoleTexts,
    pub user_name: Option<String>,
    pub csrf: String,
    pub nav: Vec<NavLink>,
}

pub struct NavLink {
    pub href: String,
    pub label: &'static str,
}

/// The sections a role has.
fn nav(t: &ConsoleTexts, who: &crate::domain::access::Principal) -> Vec<NavLink> {
    use crate::domain::access::Role;
    let link = |href: String, label| NavLink { href, label };
    let mut out = vec![];
    if matches!(who.role, Role::Trainer | Role::IssuerAdmin) {
        out.push(link("/console/groups".into(), t.nav_groups));
    }
    match (who.role, who.issuer_id) {
        (Role::Admin, _) => out.push(link("/console/issuers".into(), t.nav_issuers)),
        (Role::IssuerAdmin, Some(own)) => {
            out.push(link("/console/metro-lines".into(), t.nav_lines));
            out.push(link("/console/metro-maps".into(), t.maps_title));
            out.push(link("/console/skills".into(), t.skills_title));
            out.push(link(format!("/console/issuers/{own}"), t.nav_people));
            out.push(link("/console/settings".into(), t.nav_settings));
        }
        _ => {}
    }
    if who.role != Role::Trainer && who.issuer_id.is_some() {
        out.push(link("/console/credentials".into(), t.nav_credentials));
        out.push(link("/console/learners".into(), t.nav_learners));
    }
    if who.role != Role::Trainer {
        out.push(link("/console/audit".into(), t.nav_audit));
    }
    if who.role != Role::Trainer && who.issuer_id.is_some() {
        out.push(link("/console/reports".into(), t.nav_reports));
    }
    if matches!(who.role, Role::Admin | Role::IssuerAdmin) {
        out.push(link("/console/messages".into(), t.nav_mail));
    }
    out.push(link("/console/account".into(), t.nav_account));
    out
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage {
    c: Chrome,
    text: String,
    details: Vec<String>,
}

/// A form's fields (a urlencoded body or query string) in order; a name may repeat
/// (checkboxes). Every console form and query reads through this.
#[derive(Debug, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// A malformed body reads as no fields: the checks then fail on what is missing.
    pub fn parse(bytes: &[u8]) -> Fields {
        Fields::strict(bytes).unwrap_or_default()
    }

    /// `None` for a body that is not `application/x-www-form-urlencoded`.
    pub fn strict(bytes: &[u8]) -> Option<Fields> {
        serde_urlencoded::from_bytes(bytes).ok().map(Fields)
    }

    /// The query string's fields.
    pub fn query(uri: &axum::http::Uri) -> Fields {
        Fields::parse(uri.query().unwrap_or_default().as_bytes())
    }

    /// The first value of `name`, as sent (empty when absent).
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default()
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// The values of the fields whose names start with `prefix`, with the rest of the name.
    pub fn prefixed<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.0.iter().filter_map(move |(k, v)| k.strip_prefix(prefix).map(|rest| (rest, v.as_str())))
    }
}

/// A JSON document built from a form, read as the API reads its body: a wrong type is a field
/// error naming the field.
pub fn spec<T: serde::de::DeserializeOwned>(doc: serde_json::Value) -> Result<T, ServiceError> {
    serde_path_to_error::deserialize(doc).map_err(|e| {
        crate::domain::validate::Invalid::one(e.path().to_string(), crate::domain::validate::unreadable(e.inner()))
            .into()
    })
}

/// A form body (`application/x-www-form-urlencoded`); a malformed one is a 400 page.
pub fn form<T: serde::de::DeserializeOwned>(console: &Console, body: &Bytes) -> Result<T, Response> {
    serde_urlencoded::from_bytes(body).map_err(|e| {
        let mut r = console.message(StatusCode::BAD_REQUEST, console.t().problem);
        tracing::debug!(error = %e, "malformed console form");
        *r.status_mut() = StatusCode::BAD_REQUEST;
        r
    })
}

/// A use case's field errors as lines for the page (the form is shown again with them);
/// any other failure is handed back for [`Console::fail`].
pub fn field_problems(lang: Lang, e: ServiceError) -> Result<Vec<String>, ServiceError> {
    match e {
        ServiceError::Invalid(invalid) => {
            Ok(invalid.0.iter().map(|f| crate::http::problems::problem(lang, f)).collect())
        }
        other => Err(other),
    }
}

fn fresh_token() -> String {
    Uuid::new_v4().simple().to_string()
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    c: Chrome,
    pre: String,
    email: String,
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

impl Console {
    /// The sign-in page, with a fresh pre-session token bound to this browser by a cookie.
    fn sign_in_page(
        &self,
        status: StatusCode,
        email: &str,
        error: Option<&'static str>,
        notice: Option<&'static str>,
    ) -> Response {
        let pre = self.pre.clone().filter(|p| p.len() == 32).unwrap_or_else(fresh_token);
        let page =
            SignInPage { c: self.chrome(self.t().sign_in), pre: pre.clone(), email: email.into(), error, notice };
        let mut r = self.page(status, &page);
        r.headers_mut().append(header::SET_COOKIE, self.cookie(PRE_COOKIE, &pre, None));
        r
    }

    /// Whether a pre-session form came from a page this browser loaded.
    pub(super) fn pre_matches(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.pre
            .as_deref()
            .is_some_and(|p| p.len() == presented.len() && bool::from(p.as_bytes().ct_eq(presented.as_bytes())))
    }

    /// Signed in: the session cookie, then the start page (or first the code page, when the
    /// account has a second factor).
    fn signed_in(&self, signed: &crate::service::SignedIn) -> Response {
        let next = if signed.second_factor { "/console/two-step" } else { "/console" };
        let mut r = Redirect::to(next).into_response();
        r.headers_mut().append(header::SET_COOKIE, self.cookie(SESSION_COOKIE, &signed.session, None));
        if !signed.second_factor {
            r.headers_mut().append(header::SET_COOKIE, self.cookie(PRE_COOKIE, "", Some(0)));
        }
        r
    }
}

#[derive(Deserialize)]
struct HomeQuery {
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage {
    c: Chrome,
    heading: String,
    admin: bool,
    may_manage: bool,
    q: String,
    home: crate::service::Home,
    awards: Vec<AwardItem>,
}

struct AwardItem {
    id: Uuid,
    module: String,
    when: String,
    recipients: i64,
}

async fn home(State(s): State<AppState>, console: Console, uri: axum::http::Uri) -> Response {
    let Some(user) = &console.user else {
        return console.sign_in_page(StatusCode::OK, "", None, None);
    };
    let q = uri.query().and_then(|q| serde_urlencoded::from_str::<HomeQuery>(q).ok()).map(|h| h.q).unwrap_or_default();
    let home = match s.service.console_home(&user.principal, &q).await {
        Ok(h) => h,
        Err(e) => return console.fail(e),
    };
    let awards = home
        .awards
        .iter()
        .map(|a| AwardItem {
            id: a.award_id,
            module: a.module.clone(),
            when: texts::date(console.lang, a.created_at, true),
            recipients: a.recipients,
        })
        .collect();
    let heading = home.issuer_name.clone().unwrap_or_else(|| console.t().console.to_string());
    let page = HomePage {
        c: console.chrome(&heading),
        heading,
        admin: user.principal.is_admin(),
        may_manage: user
            .principal
            .issuer_id
            .is_some_and(|i| user.principal.check(i, crate::domain::access::Action::Manage).is_ok()),
        q,
        home,
        awards,
    };
    console.page(StatusCode::OK, &page)
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    pre: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn sign_in(
    State(s): State<AppState>,
    console: Console,
    parts: axum::http::request::Parts,
    body: Bytes,
) -> Response {
    let f: SignInForm = match form(&console, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if !console.pre_matches(&f.pre) {
        return console.sign_in_page(StatusCode::FORBIDDEN, &f.email, Some(console.t().form_expired), None);
    }
    let client = s.guards.client(super::limits::peer(&parts.extensions), &parts.headers);
    if let Some(c) = client
        && s.guards.check_not_locked(c).is_err()
    {
        return console.sign_in_page(
            StatusCode::TOO_MANY_REQUESTS,
            &f.email,
            Some(console.t().too_many_attempts),
            None,
        );
    }
    match s.service.sign_in(&f.email, &f.password).await {
        Ok(signed) => console.signed_in(&signed),
        Err(ServiceError::Unauthenticated) => {
            let locked = client.is_some_and(|c| s.guards.failed_attempt(c).is_err());
            let (status, text) = if locked {
                (StatusCode::TOO_MANY_REQUESTS, console.t().too_many_attempts)
            } else {
                (StatusCode::UNAUTHORIZED, console.t().sign_in_failed)
            };
            console.sign_in_page(status, &f.email, Some(text), None)
        }
        Err(e) => console.fail(e),
    }
}

#[derive(Deserialize)]
struct SignOutForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    everywhere: Option<String>,
}

async fn sign_out(State(s): State<AppState>, console: Console, body: Bytes) -> Response {
    let f: SignOutForm = match form(&console, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Err(r) = console.require_form(&f.csrf) {
        return r;
    }
    if let Some(session) = &console.session
        && let Err(e) = s.service.sign_out(session, f.everywhere.is_some()).await
    {
        return console.fail(e);
    }
    let signed_out = Console { user: None, ..console };
    let mut r = signed_out.sign_in_page(StatusCode::OK, "", None, Some(signed_out.t().signed_out));
    r.headers_mut().append(header::SET_COOKIE, signed_out.cookie(SESSION_COOKIE, "", Some(0)));
    r
}

#[derive(Template)]
#[template(path = "console/invitation.html")]
struct InvitationPage {
    c: Chrome,
    pre: String,
    token: String,
    name: String,
    email: String,
    errors: Vec<String>,
}

impl Console {
    fn invitation_page(
        &self,
        status: StatusCode,
        token: &str,
        who: crate::service::InvitationFor,
        errors: Vec<String>,
    ) -> Response {
        let pre = self.pre.clone().filter(|p| p.len() == 32).unwrap_or_else(fresh_token);
        let page = InvitationPage {
            c: self.chrome(self.t().set_password),
            pre: pre.clone(),
            token: token.into(),
            name: who.name,
            email: who.email,
            errors,
        };
        let mut r = self.page(status, &page);
        r.headers_mut().append(header::SET_COOKIE, self.cookie(PRE_COOKIE, &pre, None));
        r
    }
}

async fn invitation_form(
    State(s): State<AppState>,
    console: Console,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Response {
    match s.service.invitation(&token).await {
        Ok(who) => console.invitation_page(StatusCode::OK, &token, who, vec![]),
        Err(ServiceError::NotFound) => console.message(StatusCode::NOT_FOUND, console.t().invitation_gone),
        Err(e) => console.fail(e),
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    pre: String,
    #[serde(default)]
    password: String,
}

async fn accept_invitation(
    State(s): State<AppState>,
    console: Console,
    axum::extract::Path(token): axum::extract::Path<String>,
    body: Bytes,
) -> Response {
    let f: PasswordForm = match form(&console, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let who = match s.service.invitation(&token).await {
        Ok(who) => who,
        Err(ServiceError::NotFound) => return console.message(StatusCode::NOT_FOUND, console.t().invitation_gone),
        Err(e) => return console.fail(e),
    };
    if !console.pre_matches(&f.pre) {
        return console.invitation_page(StatusCode::FORBIDDEN, &token, who, vec![console.t().form_expired.into()]);
    }
    match s.service.accept_invitation(&token, &f.password).await {
        Ok(signed) => console.signed_in(&signed),
        Err(ServiceError::Invalid(invalid)) => {
            let errors = invalid
                .0
                .into_iter()
                .map(|e| {
                    format!("{}: {}", console.t().new_password, crate::http::problems::problem_at(console.lang, "", &e))
                })
                .collect();
            console.invitation_page(StatusCode::UNPROCESSABLE_ENTITY, &token, who, errors)
        }
        Err(ServiceError::NotFound) => console.message(StatusCode::NOT_FOUND, console.t().invitation_gone),
        Err(e) => console.fail(e),
    }
}
