//! E-mail: the unsubscribe link of every learner's message (RFC 8058 one-click, and a page for
//! people), and the outbox for issuer admins (dead letters, resend).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{ApiPath, ApiQuery, Caller};
use super::pages::unsubscribe_page;
use super::texts::Preferred;
use super::{ApiResult, AppState};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn public_router() -> Router<AppState> {
    Router::new()
        .route("/mail/unsubscribe/{token}", get(subscription).post(unsubscribe))
        .route("/mail/unsubscribe/{token}/undo", post(resubscribe))
}

pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(platform_messages)).routes(routes!(resend)).routes(routes!(issuer_messages))
}

fn action(token: &str) -> String {
    format!("/mail/unsubscribe/{token}")
}

/// Opening the link changes nothing (mail scanners open links): the page asks first.
async fn subscription(
    State(s): State<AppState>,
    lang: Preferred,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<Response> {
    let sub = s.service.subscription(&token).await?;
    Ok(unsubscribe_page(lang, &sub, &action(&token), false))
}

/// The one-click POST a mail client sends (`List-Unsubscribe=One-Click`), or the page's button.
async fn unsubscribe(
    State(s): State<AppState>,
    lang: Preferred,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<Response> {
    let sub = s.service.set_subscription(&token, true).await?;
    Ok(unsubscribe_page(lang, &sub, &action(&token), true))
}

async fn resubscribe(
    State(s): State<AppState>,
    lang: Preferred,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<Response> {
    let sub = s.service.set_subscription(&token, false).await?;
    Ok(unsubscribe_page(lang, &sub, &action(&token), true))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct StateQuery {
    #[serde(default = "dead")]
    state: String,
}

fn dead() -> String {
    "dead".into()
}

/// Platform messages
#[utoipa::path(
    get,
    path = "/messages",
    tag = "Messages",
    operation_id = "mail_platform_messages",
    params(StateQuery),
    responses(super::openapi::Answers)
)]
async fn platform_messages(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.mail_overview(&who, None, &q.state).await?))
}

/// Issuer messages
#[utoipa::path(
    get,
    path = "/issuers/{id}/messages",
    tag = "Messages",
    operation_id = "mail_issuer_messages",
    params(("id" = String, Path, description = "The issuer's id"), StateQuery),
    responses(super::openapi::Answers),
)]
async fn issuer_messages(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.mail_overview(&who, Some(id), &q.state).await?))
}

/// Resend
#[utoipa::path(
    post,
    path = "/messages/{id}/resend",
    tag = "Messages",
    operation_id = "mail_resend",
    params(("id" = String, Path, description = "The message's id")),
    responses(super::openapi::Answers),
)]
async fn resend(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.resend_mail(&who, id).await?))
}
