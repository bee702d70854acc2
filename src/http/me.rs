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

use super::console::Fields;
use super::extract::ApiPath;
use super::pages::{MeContent, MeItem, MeReview, me_link_page, me_page, me_sign_in_page};
use super::texts::{Lang, Preferred, long_date};
use super::{ApiResult, AppState};
use crate::service::{Service, ServiceError};

pub(super) const COOKIE: &str = "mb_learner";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/me/sign-in", post(ask_link))
        .route("/me/link/{token}", get(link).post(sign_in))
        .route("/me/sign-out", post(sign_out))
        .route("/me/credentials/{id}/{choice}", post(hide_or_show))
        .route("/me/reviews/{id}/seen", post(review_seen))
        .route("/me/addresses", post(add_address))
        .route("/me/apps/{client}/withdraw", post(withdraw_app))
        .route("/me/wallet/{id}", get(wallet_start))
        .route("/me/export.zip", get(export))
        .route("/me/lines/{id}/clr.json", get(line_record))
}

fn session_of(headers: &HeaderMap) -> Option<String> {
    super::console::cookies(headers).remove(COOKIE)
}

/// The session and address of a signed-in learner; `None` without a session that still lasts.
pub(super) async fn signed_in(s: &AppState, headers: &HeaderMap) -> ApiResult<Option<(String, String)>> {
    let Some(session) = session_of(headers) else { return Ok(None) };
    match s.service.learner_of_session(&session).await {
        Ok(email) => Ok(Some((session, email))),
        Err(ServiceError::Unauthenticated) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(super) fn cookie(s: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if s.service.base_url.starts_with("https://") { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE}={value}; Path=/me; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"))
        .expect("cookie values are ASCII")
}

fn form_field(body: &Bytes, name: &str) -> String {
    Fields::parse(body).get(name).to_string()
}

async fn me(State(s): State<AppState>, lang: Preferred, headers: HeaderMap) -> ApiResult<Response> {
    let lang = lang.or(Lang::Nl);
    match signed_in(&s, &headers).await? {
        Some((session, email)) => my_page(&s, lang, &session, &email, None).await,
        None => Ok(me_sign_in_page(lang, None, None, "", "")),
    }
}

/// The learner's page saying why something was refused, with `status`.
async fn refused(
    s: &AppState,
    lang: Lang,
    session: &str,
    email: &str,
    notice: Option<String>,
    status: StatusCode,
) -> ApiResult<Response> {
    let mut r = my_page(s, lang, session, email, notice).await?;
    *r.status_mut() = status;
    Ok(r)
}

/// The first problem of invalid input, as the page shows it.
fn first_problem(e: &crate::domain::validate::Invalid) -> Option<String> {
    e.0.first().map(|f| f.message.clone())
}

/// The learner's page with `notice` on top.
async fn my_page(s: &AppState, lang: Lang, session: &str, email: &str, notice: Option<String>) -> ApiResult<Response> {
    let t = lang.texts();
    let items = s
        .service
        .my_credentials(email)
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
    let reviews = s
        .service
        .my_reviews(email)
        .await?
        .into_iter()
        .map(|r| {
            use crate::domain::impact::{Answer, State};
            let manager =
                [r.manager.as_deref(), r.company.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(", ");
            MeReview {
                id: r.id.to_string(),
                module: r.module,
                credential: r.credential,
                manager,
                state: match r.state {
                    State::Scheduled => Some(t.me_review_planned.fill(&[("date", &long_date(lang, r.due, false))])),
                    State::Invited => Some(t.me_review_invited.into()),
                    State::Expired => Some(t.me_review_expired.into()),
                    State::Cancelled => Some(t.me_review_cancelled.into()),
                    State::Answered => None,
                },
                answer: r.answer.map(|a| match a {
                    Answer::Yes => t.answer_yes,
                    Answer::Partly => t.answer_partly,
                    Answer::NotYet => t.answer_not_yet,
                }),
                example: r.example,
                follow_up: r.follow_up,
                comment: r.learner_comment,
                seen: r.seen.is_some(),
                endorsement: r.endorsement,
            }
        })
        .collect();
    let addresses = s.service.learner_addresses(email).await?;
    let lines = s.service.my_lines(email).await?;
    let apps = s.service.my_apps(email).await?;
    let content = MeContent { items, reviews, addresses, lines, apps };
    Ok(me_page(lang, notice, email, &Service::learner_form_token(session), content))
}

async fn ask_link(State(s): State<AppState>, lang: Preferred, body: Bytes) -> ApiResult<Response> {
    let lang = lang.or(Lang::Nl);
    let f = Fields::parse(&body);
    let email = f.get("email").to_string();
    let next = safe_next(f.get("next"));
    match s.service.request_learner_link(&email, lang, next).await {
        Ok(()) => Ok(me_sign_in_page(lang, Some(lang.texts().me_sent), None, "", "")),
        Err(ServiceError::Invalid(e)) => {
            let message = e.0.first().map(|f| f.message.clone()).unwrap_or_default();
            let mut r = me_sign_in_page(lang, None, Some(message), &email, next.unwrap_or_default());
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

/// Where a sign-in link may return to: an app's authorization request on this site, nothing
/// else (no open redirect).
pub(super) fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with("/me/authorize?")
        && next.len() <= 4_000
        && !next.chars().any(|c| c.is_control() || c == '\\' || c.is_whitespace());
    ok.then_some(next)
}

/// The link's own query `next`, kept through the button's form.
fn next_of(uri: &axum::http::Uri) -> Option<String> {
    safe_next(Fields::query(uri).get("next")).map(str::to_string)
}

async fn link(lang: Preferred, uri: axum::http::Uri, ApiPath(token): ApiPath<String>) -> Response {
    let action = match next_of(&uri) {
        Some(next) => {
            format!("/me/link/{token}?{}", serde_urlencoded::to_string([("next", next)]).expect("strings encode"))
        }
        None => format!("/me/link/{token}"),
    };
    me_link_page(lang.or(Lang::Nl), &action)
}

async fn sign_in(
    State(s): State<AppState>,
    lang: Preferred,
    uri: axum::http::Uri,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<Response> {
    let lang = lang.or(Lang::Nl);
    match s.service.learner_sign_in(&token).await {
        Ok(session) => {
            let mut r = Redirect::to(next_of(&uri).as_deref().unwrap_or("/me")).into_response();
            r.headers_mut().append(header::SET_COOKIE, cookie(&s, &session, 2 * 3600));
            Ok(r)
        }
        Err(ServiceError::NotFound) => {
            let mut r = me_sign_in_page(lang, Some(lang.texts().me_link_invalid), None, "", "");
            *r.status_mut() = StatusCode::GONE;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

/// The session of a form post whose CSRF token matches it.
pub(super) async fn checked(s: &AppState, headers: &HeaderMap, body: &Bytes) -> Result<(String, String), Response> {
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
    lang: Preferred,
    headers: HeaderMap,
    ApiPath((id, choice)): ApiPath<(Uuid, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let (session, email) = match checked(&s, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    let hidden = match choice.as_str() {
        "hide" => true,
        "show" => false,
        "correction" => return correction(&s, lang.or(Lang::Nl), &session, &email, id, &body).await,
        "manager" => return ask_manager(&s, lang.or(Lang::Nl), &session, &email, id, &body).await,
        "wallet" => {
            let offer = s.service.wallet_offer(&email, id).await?;
            return Ok(super::pages::wallet_page(lang.or(Lang::Nl), &offer));
        }
        _ => return Err(ServiceError::NotFound.into()),
    };
    s.service.set_my_page_hidden(&email, id, hidden).await?;
    Ok(Redirect::to("/me").into_response())
}

/// The learner asks the issuer to correct a credential: sent, or the page with why not.
async fn correction(
    s: &AppState,
    lang: Lang,
    session: &str,
    email: &str,
    id: Uuid,
    body: &Bytes,
) -> ApiResult<Response> {
    match s.service.ask_correction(email, id, &form_field(body, "message")).await {
        Ok(issuer) => {
            let notice = lang.texts().me_correct_sent.fill(&[("issuer", &issuer)]);
            my_page(s, lang, session, email, Some(notice)).await
        }
        Err(ServiceError::Invalid(e)) => {
            refused(s, lang, session, email, first_problem(&e), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The e-mail's "Add to a wallet app": the button that makes the offer, once signed in.
async fn wallet_start(
    State(s): State<AppState>,
    lang: Preferred,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let lang = lang.or(Lang::Nl);
    Ok(match signed_in(&s, &headers).await? {
        Some((session, _)) => super::pages::wallet_start_page(lang, id, &Service::learner_form_token(&session)),
        None => me_sign_in_page(lang, Some(lang.texts().wallet_sign_in_first), None, "", ""),
    })
}

/// The learner adds a further address: a confirmation link goes there.
async fn add_address(
    State(s): State<AppState>,
    lang: Preferred,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let (session, email) = match checked(&s, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    let lang = lang.or(Lang::Nl);
    match s.service.add_learner_address(&email, &form_field(&body, "address"), lang).await {
        Ok(()) => my_page(&s, lang, &session, &email, Some(lang.texts().me_address_sent.into())).await,
        Err(ServiceError::Invalid(e)) => {
            refused(&s, lang, &session, &email, first_problem(&e), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The learner withdraws an app's access to their badges (OB 3.0 API).
async fn withdraw_app(
    State(s): State<AppState>,
    lang: Preferred,
    headers: HeaderMap,
    ApiPath(client): ApiPath<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let (session, email) = match checked(&s, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    let lang = lang.or(Lang::Nl);
    s.service.withdraw_app(&email, &client).await?;
    my_page(&s, lang, &session, &email, Some(lang.texts().me_app_withdrawn.into())).await
}

/// The learner names their manager for a badge's impact review.
async fn ask_manager(
    s: &AppState,
    lang: Lang,
    session: &str,
    email: &str,
    id: Uuid,
    body: &Bytes,
) -> ApiResult<Response> {
    let f = Fields::parse(body);
    let manager = crate::domain::impact::ManagerInput {
        name: Some(f.get("name").to_string()),
        email: Some(f.get("email").to_string()),
        company: Some(f.get("company").to_string()),
    };
    match s.service.request_review(email, id, &manager).await {
        Ok(()) => my_page(s, lang, session, email, Some(lang.texts().me_review_requested.into())).await,
        Err(ServiceError::Invalid(e)) => {
            let message =
                e.0.iter().map(|f| crate::http::problems::problem_at(lang, "", f)).collect::<Vec<_>>().join("; ");
            refused(s, lang, session, email, Some(message), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(ServiceError::Conflict(m)) => {
            let m = crate::http::problems::message(lang, &m);
            refused(s, lang, session, email, Some(m), StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The learner has read their manager's answer (with an optional comment of their own).
async fn review_seen(
    State(s): State<AppState>,
    lang: Preferred,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    body: Bytes,
) -> ApiResult<Response> {
    let (session, email) = match checked(&s, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    let comment = form_field(&body, "comment");
    match s.service.review_seen(&email, id, Some(&comment)).await {
        Ok(_) => Ok(Redirect::to(&format!("/me#review-{id}")).into_response()),
        Err(ServiceError::Invalid(e)) => {
            refused(&s, lang.or(Lang::Nl), &session, &email, first_problem(&e), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Everything as one download: each credential's signed JSON and VC-JWT in a ZIP.
async fn export(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let Some((_, email)) = signed_in(&s, &headers).await? else { return Ok(Redirect::to("/me").into_response()) };
    let files = s.service.my_signed_credentials(&email).await?;
    let zipped = tokio::task::spawn_blocking(move || zip_of(&files))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let mut r = zipped.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"my-badges.zip\""));
    Ok(super::pages::private(r))
}

/// The learner's record of one line (CLR 2.0), as a download.
/// `?partners=no` leaves other issuers' badges out.
async fn line_record(
    State(s): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let Some((_, email)) = signed_in(&s, &headers).await? else { return Ok(Redirect::to("/me").into_response()) };
    let partners = Fields::query(&uri).get("partners") != "no";
    let clr = s.service.my_line_clr(&email, id, partners).await?;
    let mut r = axum::Json(clr).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"record.json\""));
    Ok(super::pages::private(r))
}

fn zip_of(files: &[(Uuid, String, String)]) -> zip::result::ZipResult<Vec<u8>> {
    use std::io::Write;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (id, signed, jwt) in files {
        out.start_file(format!("{id}.json"), options)?;
        out.write_all(signed.as_bytes())?;
        if !jwt.is_empty() {
            out.start_file(format!("{id}.jwt"), options)?;
            out.write_all(jwt.as_bytes())?;
        }
    }
    Ok(out.finish()?.into_inner())
}
