//! The manager's impact-review page (reached by the link in their invitation; no account), and
//! the impact per nanomodule for an issuer's staff.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use uuid::Uuid;

use super::console::Fields;
use super::extract::{ApiPath, Caller};
use super::pages::{review_args, review_page};
use super::texts::Preferred;
use super::{ApiResult, AppState};
use crate::domain::impact::ReviewInput;
use crate::service::ServiceError;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn public_router() -> Router<AppState> {
    Router::new().route("/impact/{token}", get(show).post(answer))
}

pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(impact))
}

/// The form, or what became of the review. Opening it changes nothing.
async fn show(State(s): State<AppState>, lang: Preferred, ApiPath(token): ApiPath<String>) -> ApiResult<Response> {
    let r = s.service.review_page(&token).await?;
    let lang = lang.or(r.lang);
    let done = (r.state != crate::domain::impact::State::Invited).then(|| {
        let t = lang.texts();
        if r.answer.is_some() { t.review_thanks.fill(&review_args(&r)) } else { t.review_closed.to_string() }
    });
    Ok(review_page(lang, &r, done, vec![], "", "", ""))
}

async fn answer(
    State(s): State<AppState>,
    lang: Preferred,
    ApiPath(token): ApiPath<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let f = Fields::parse(&body);
    let input = ReviewInput {
        answer: Some(f.get("answer").to_string()),
        example: Some(f.get("example").to_string()),
        follow_up: Some(f.get("follow_up").to_string()),
    };
    let outcome = s.service.answer_review(&token, &input).await;
    let r = s.service.review_page(&token).await?;
    let lang = lang.or(r.lang);
    let t = lang.texts();
    match outcome {
        Ok(()) => Ok(review_page(lang, &r, Some(t.review_thanks.fill(&review_args(&r))), vec![], "", "", "")),
        Err(ServiceError::Invalid(e)) => {
            // In the reader's language, linked to the field (the domain's words are English).
            let errors =
                e.0.into_iter()
                    .map(|f| {
                        let said = match f.field.as_str() {
                            "answer" => t.review_need_answer,
                            "example" => t.review_need_example,
                            _ => t.review_follow_up_long,
                        };
                        (f.field, said.to_string())
                    })
                    .collect();
            let mut page = review_page(
                lang,
                &r,
                None,
                errors,
                input.answer.as_deref().unwrap_or_default(),
                input.example.as_deref().unwrap_or_default(),
                input.follow_up.as_deref().unwrap_or_default(),
            );
            *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(page)
        }
        Err(ServiceError::Conflict(_)) => {
            let mut page = review_page(lang, &r, Some(t.review_closed.into()), vec![], "", "", "");
            *page.status_mut() = StatusCode::CONFLICT;
            Ok(page)
        }
        Err(e) => Err(e.into()),
    }
}

/// Impact
#[utoipa::path(
    get,
    path = "/issuers/{id}/impact",
    tag = "Impact reviews",
    operation_id = "impact_impact",
    params(("id" = String, Path, description = "The issuer's id")),
    responses(super::openapi::Answers),
)]
async fn impact(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"issuer": id, "nanomodules": s.service.impact(&who, id).await?})))
}
