//! The second factor: the code page after a right password (for accounts that have one), and
//! "My account", where anyone signed in turns a TOTP authenticator on or off.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::{Chrome, Console, Fields, PRE_COOKIE, field_problems};
use crate::http::AppState;
use crate::service::{ServiceError, TotpSetup};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/two-step", get(code_form).post(give_code))
        .route("/console/account", get(account))
        .route("/console/account/second-factor", post(begin))
        .route("/console/account/second-factor/confirm", post(confirm))
        .route("/console/account/second-factor/off", post(turn_off))
}

#[derive(Template)]
#[template(path = "console/two_step.html")]
struct CodePage {
    c: Chrome,
    pre: String,
    error: Option<&'static str>,
}

impl Console {
    fn code_page(&self, status: StatusCode, error: Option<&'static str>) -> Response {
        let pre = self.pre.clone().filter(|p| p.len() == 32).unwrap_or_else(super::fresh_token);
        let mut r = self.page(status, &CodePage { c: self.chrome(self.t().two_step), pre: pre.clone(), error });
        r.headers_mut().append(header::SET_COOKIE, self.cookie(PRE_COOKIE, &pre, None));
        r
    }
}

async fn code_form(State(s): State<AppState>, console: Console) -> Response {
    let waiting = match &console.session {
        Some(session) => s.service.awaiting_second_factor(session).await.unwrap_or(None),
        None => None,
    };
    if waiting.is_none() {
        return Redirect::to("/console").into_response();
    }
    console.code_page(StatusCode::OK, None)
}

async fn give_code(State(s): State<AppState>, console: Console, body: Bytes) -> Response {
    let fields = Fields::parse(&body);
    let field = |k: &str| fields.get(k);
    if !console.pre_matches(field("pre")) {
        return console.code_page(StatusCode::FORBIDDEN, Some(console.t().form_expired));
    }
    let Some(session) = console.session.clone() else { return Redirect::to("/console").into_response() };
    match s.service.give_second_factor(&session, field("code")).await {
        Ok(()) => {
            let mut r = Redirect::to("/console").into_response();
            r.headers_mut().append(header::SET_COOKIE, console.cookie(PRE_COOKIE, "", Some(0)));
            r
        }
        Err(ServiceError::Unauthenticated) => console.code_page(StatusCode::UNAUTHORIZED, Some(console.t().code_wrong)),
        Err(e) => console.fail(e),
    }
}

#[derive(Template)]
#[template(path = "console/account.html")]
struct AccountPage {
    c: Chrome,
    on: bool,
    setup: Option<(TotpSetup, String)>,
    problems: Vec<String>,
    notice: Option<&'static str>,
}

impl Console {
    async fn account_page(
        &self,
        s: &AppState,
        status: StatusCode,
        setup: Option<TotpSetup>,
        problems: Vec<String>,
        notice: Option<&'static str>,
    ) -> Result<Response, Response> {
        let user = self.require()?;
        let on = s.service.has_second_factor(user).await.map_err(|e| self.fail(e))?;
        let setup = setup.map(|t| {
            let qr = super::award::qr_svg(&t.uri);
            (t, qr)
        });
        Ok(self.page(status, &AccountPage { c: self.chrome(self.t().nav_account), on, setup, problems, notice }))
    }
}

async fn account(State(s): State<AppState>, console: Console) -> Result<Response, Response> {
    console.account_page(&s, StatusCode::OK, None, vec![], None).await
}

fn code_form_fields(console: &Console, body: &Bytes) -> Result<(crate::service::ConsoleUser, String), Response> {
    let fields = Fields::parse(body);
    let field = |k: &str| fields.get(k).to_string();
    let user = console.require_form(&field("csrf"))?.clone();
    Ok((user, field("code")))
}

async fn begin(State(s): State<AppState>, console: Console, body: Bytes) -> Result<Response, Response> {
    let (user, _) = code_form_fields(&console, &body)?;
    let setup = s.service.begin_second_factor(&user).await.map_err(|e| console.fail(e))?;
    console.account_page(&s, StatusCode::OK, Some(setup), vec![], None).await
}

async fn confirm(State(s): State<AppState>, console: Console, body: Bytes) -> Result<Response, Response> {
    let (user, code) = code_form_fields(&console, &body)?;
    match s.service.confirm_second_factor(&user, &code).await {
        Ok(()) => console.account_page(&s, StatusCode::OK, None, vec![], Some(console.t().two_step_on)).await,
        Err(e) => {
            let problems = field_problems(console.lang, e).map_err(|e| console.fail(e))?;
            console.account_page(&s, StatusCode::UNPROCESSABLE_ENTITY, None, problems, None).await
        }
    }
}

async fn turn_off(State(s): State<AppState>, console: Console, body: Bytes) -> Result<Response, Response> {
    let (user, code) = code_form_fields(&console, &body)?;
    match s.service.remove_second_factor(&user, &code).await {
        Ok(()) => console.account_page(&s, StatusCode::OK, None, vec![], Some(console.t().two_step_off)).await,
        Err(e) => {
            let problems = field_problems(console.lang, e).map_err(|e| console.fail(e))?;
            console.account_page(&s, StatusCode::UNPROCESSABLE_ENTITY, None, problems, None).await
        }
    }
}
