//! OpenID for Verifiable Credential Issuance 1.0 (pre-authorised code flow): the metadata a
//! wallet reads, the token, nonce and credential endpoints it calls. Errors are the protocol's
//! JSON (`{"error", "error_description"}`), not problem+json, because wallets parse those.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::console::Fields;
use crate::service::WalletError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-credential-issuer", get(issuer_metadata))
        .route("/.well-known/oauth-authorization-server", get(server_metadata))
        .route("/oid4vci/token", post(token))
        .route("/oid4vci/nonce", post(nonce))
        .route("/oid4vci/credential", post(credential))
}

/// Token and credential answers are never cached (RFC 6749 §5.1).
fn no_store(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn refused(e: WalletError) -> Response {
    let status = match e {
        // Storage or signing failed: the service's usual problem answer (503 for an outage).
        WalletError::Service(s) => return super::error::ApiError::from(s).into_response(),
        WalletError::InvalidToken => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut r = (status, Json(json!({"error": e.code(), "error_description": e.to_string()}))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
    }
    no_store(r)
}

async fn issuer_metadata(State(s): State<AppState>) -> Response {
    Json(s.service.credential_issuer_metadata()).into_response()
}

async fn server_metadata(State(s): State<AppState>) -> Response {
    Json(s.service.authorization_server_metadata()).into_response()
}

/// The token endpoint of every grant: the wallet's pre-authorised code here, the OB 3.0 API's
/// authorization code and refresh token in `ob_api`. Served at `/oauth/token` (in the API
/// description) and, for wallets that read older metadata, `/oid4vci/token`.
#[utoipa::path(post, path = "/oauth/token", tag = "Open Badges 3.0 API", operation_id = "oauth_token",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "grant_type authorization_code (code, redirect_uri, code_verifier), refresh_token (refresh_token, scope) \
            with HTTP Basic client authentication, or urn:ietf:params:oauth:grant-type:pre-authorized_code (pre-authorized_code, tx_code)"),
    responses((status = 200, description = "access_token, token_type, expires_in, scope, refresh_token", body = serde_json::Value),
              (status = 400, description = "OAuth error (RFC 6749 §5.2)", body = serde_json::Value),
              (status = 401, description = "invalid_client", body = serde_json::Value)))]
pub(super) async fn token(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let f = Fields::parse(&body);
    if f.get("grant_type") != crate::service::PRE_AUTHORIZED_GRANT {
        return super::ob_api::token(&s, &headers, &f).await;
    }
    let code = f.get("pre-authorized_code");
    let tx_code = f.get("tx_code");
    match s
        .service
        .wallet_token(
            f.get("grant_type"),
            Some(code).filter(|c| !c.is_empty()),
            Some(tx_code).filter(|c| !c.is_empty()),
        )
        .await
    {
        Ok(t) => no_store(Json(t).into_response()),
        Err(e) => refused(e),
    }
}

async fn nonce(State(s): State<AppState>) -> Response {
    match s.service.wallet_nonce().await {
        Ok(n) => no_store(Json(json!({"c_nonce": n})).into_response()),
        Err(e) => refused(e.into()),
    }
}

async fn credential(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
    else {
        return refused(WalletError::InvalidToken);
    };
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return refused(WalletError::InvalidRequest("the body must be a JSON credential request".into()));
    };
    // OpenID4VCI 1.0 sends `proofs: {"jwt": […]}`; drafts sent one `proof`.
    let mut proofs: Vec<String> = request["proofs"]["jwt"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if let Some(jwt) = request["proof"]["jwt"].as_str() {
        proofs.push(jwt.to_string());
    }
    let configuration = request["credential_configuration_id"].as_str();
    if configuration.is_none() && request.get("credential_identifier").is_none() && request.get("format").is_none() {
        return refused(WalletError::InvalidRequest("credential_configuration_id is required".into()));
    }
    match s.service.wallet_credential(token, configuration, &proofs).await {
        Ok(vc) => no_store(Json(json!({"credentials": [{"credential": vc}]})).into_response()),
        Err(e) => refused(e),
    }
}
