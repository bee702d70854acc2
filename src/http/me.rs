//! "My badges": the learner's own page across issuers, signed in with a one-time link mailed to
//! their address. Plain forms; the session is a cookie on `/me` only.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::extract::ApiPath;
use super::pages::{MeItem, me_link_page, me_page, me_sign_in_page};
use super::texts::{Lang, Preferred, long_date};
use super::{ApiResult, AppState};
use crate::service::{Service, ServiceError};

const COOKIE: &str = "mb_learner";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/me/sign-in", post(ask_link))
        .route("/me/link/{token}", get(link).post(sign_in))
        .route("/me/sign-out", post(sign_out))
        .route("/me/credentials/{id}/{choice}", post(hide_or_show))
}

fn session_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

fn cookie(s: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if s.service.base_url.starts_with("https://") { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE}={value}; Path=/me; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"))
        .expect("cookie values are ASCII")
}

fn form_field(body: &Bytes, name: &str) -> String {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

async fn me(State(s): State<AppState>, lang: Preferred, headers: HeaderMap) -> ApiResult<Response> {
    let lang = lang.or(Lang::Nl);
    let Some(session) = session_of(&headers) else { return Ok(me_sign_in_page(lang, None, None, "")) };
    let email = match s.service.learner_of_session(&session).await {
        Ok(email) => email,
        Err(ServiceError::Unauthenticated) => return Ok(me_sign_in_page(lang, None, None, "")),
        Err(e) => return Err(e.into()),
    };
    let t = lang.texts();
    let items = s
        .service
        .my_credentials(&email)
        .await?
        .into_iter()
        .map(|c| MeItem {
            id: c.id.to_string(),
            url: c.url,
            name: c.name,
            issuer: c.issuer,
            certificate: c.certificate,
            issued: long_date(lang, c.issued, false),
            standing: match c.standing {
                "revoked" => t.me_revoked,
                "suspended" => t.me_suspended,
                _ => t.me_valid,
            },
            standing_class: c.standing,
            hidden: c.hidden,
            linkedin: c.linkedin,
        })
        .collect();
    Ok(me_page(lang, &email, &Service::learner_form_token(&session), items))
}

async fn ask_link(State(s): State<AppState>, lang: Preferred, body: Bytes) -> ApiResult<Response> {
    let lang = lang.or(Lang::Nl);
    let email = form_field(&body, "email");
    match s.service.request_learner_link(&email, lang).await {
        Ok(()) => Ok(me_sign_in_page(lang, Some(lang.texts().me_sent), None, "")),
        Err(ServiceError::Invalid(e)) => {
            let message = e.0.first().map(|f| f.message.clone()).unwrap_or_default();
            let mut r = me_sign_in_page(lang, None, Some(message), &email);
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

async fn link(lang: Preferred, ApiPath(token): ApiPath<String>) -> Response {
    me_link_page(lang.or(Lang::Nl), &format!("/me/link/{token}"))
}

async fn sign_in(State(s): State<AppState>, lang: Preferred, ApiPath(token): ApiPath<String>) -> ApiResult<Response> {
    let lang = lang.or(Lang::Nl);
    match s.service.learner_sign_in(&token).await {
        Ok(session) => {
            let mut r = Redirect::to("/me").into_response();
            r.headers_mut().append(header::SET_COOKIE, cookie(&s, &session, 2 * 3600));
            Ok(r)
        }
        Err(ServiceError::NotFound) => {
            let mut r = me_sign_in_page(lang, Some(lang.texts().me_link_invalid), None, "");
            *r.status_mut() = StatusCode::GONE;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

/// The session of a form post whose CSRF token matches it.
async fn checked(s: &AppState, headers: &HeaderMap, body: &Bytes) -> Result<(String, String), Response> {
    let Some(session) = session_of(headers) else { return Err(Redirect::to("/me").into_response()) };
    let expected = Service::learner_form_token(&session);
    if !bool::from(form_field(body, "csrf").as_bytes().ct_eq(expected.as_bytes())) {
        return Err((StatusCode::FORBIDDEN, "this form has expired; open the page again").into_response());
    }
    match s.service.learner_of_session(&session).await {
        Ok(email) => Ok((session, email)),
        Err(_) => Err(Redirect::to("/me").into_response()),
    }
}

async fn sign_out(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let (session, _) = match checked(&s, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    s.service.learner_sign_out(&session).await?;
    let mut r = Redirect::to("/me").into_response();
    r.headers_mut().append(header::SET_COOKIE, cookie(&s, "", 0));
    Ok(r)
}

async fn hide_or_show(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiPath((id, choice)): ApiPath<(Uuid, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let (_, email) = match checked(&s, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    let hidden = match choice.as_str() {
        "hide" => true,
        "show" => false,
        _ => return Err(ServiceError::NotFound.into()),
    };
    s.service.set_my_page_hidden(&email, id, hidden).await?;
    Ok(Redirect::to("/me").into_response())
}
