//! The 1EdTech Open Badges 3.0 REST API, Provider (read): the service description document,
//! OAuth 2.0 dynamic client registration, token and revocation endpoints, the learner's
//! consent page, and `getCredentials` / `getProfile`. Resource errors are the spec's
//! `Imsx_StatusInfo`; OAuth endpoints answer in OAuth's own JSON (RFC 6749 §5.2, RFC 7591
//! §3.2.2), because that is what OAuth client libraries parse.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::AppState;
use super::console::Fields;
use super::texts::{Lang, Preferred};
use crate::domain::oauth::{self, AuthorizationQuery, AuthorizeError, ClientMetadataInput};
use crate::service::{ClientAuth, OAuthError, PAGE_MAX, ResourceError, Service, ServiceError, TokenRequest};

pub const BASE: &str = "/ims/ob/v3p0";
pub const REGISTER: &str = "/ims/ob/v3p0/oauth/register";
pub const AUTHORIZE: &str = "/me/authorize";
/// The one token endpoint for every grant (the wallet's pre-authorised code too).
pub const TOKEN: &str = "/oauth/token";

/// The OB 3.0 API and its OAuth endpoints (documented in the OpenAPI description).
pub fn api_router(guards: std::sync::Arc<super::limits::Guards>) -> OpenApiRouter<AppState> {
    let registration = OpenApiRouter::new()
        .routes(routes!(register))
        .route_layer(axum::middleware::from_fn_with_state(guards, super::limits::limit_registrations));
    OpenApiRouter::new()
        .routes(routes!(discovery))
        .routes(routes!(credentials))
        .routes(routes!(profile))
        .merge(registration)
        .routes(routes!(revoke))
        .routes(routes!(super::wallet::token))
}

/// A 405 under `/ims/ob/v3p0/` in the spec's error shape (a layer of the whole router: the
/// router's own "method not allowed" answer is made after these routes are merged).
pub async fn imsx_not_allowed(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let ours = req.uri().path().starts_with(BASE);
    let r = next.run(req).await;
    if ours && r.status() == StatusCode::METHOD_NOT_ALLOWED { not_allowed().await } else { r }
}

/// The learner's consent page and the privacy page (for people, not in the API description).
pub fn pages_router() -> Router<AppState> {
    Router::new().route(AUTHORIZE, get(authorize).post(decide)).route("/privacy", get(privacy))
}

/// `Imsx_StatusInfo` with one minor code (OB 3.0 §"Imsx_StatusInfo").
fn imsx(status: StatusCode, minor: &str, description: &str) -> Response {
    let body = json!({
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_codeMinor": {"imsx_codeMinorField": [
            {"imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": minor}
        ]},
    });
    (status, Json(body)).into_response()
}

async fn not_allowed() -> Response {
    let mut r = imsx(StatusCode::METHOD_NOT_ALLOWED, "not_allowed", "this endpoint answers GET only");
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET"));
    r
}

fn resource_refused(e: ResourceError) -> Response {
    let (status, minor, challenge) = match &e {
        ResourceError::Unauthorized => {
            (StatusCode::UNAUTHORIZED, "unauthorizedrequest", "Bearer error=\"invalid_token\"".to_string())
        }
        ResourceError::Forbidden(scope) => {
            (StatusCode::FORBIDDEN, "forbidden", format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\""))
        }
        ResourceError::Service(ServiceError::Unavailable(_) | ServiceError::Busy(_)) => {
            return imsx(StatusCode::SERVICE_UNAVAILABLE, "server_busy", "the service is unavailable; try again later");
        }
        ResourceError::Service(_) => {
            return imsx(StatusCode::INTERNAL_SERVER_ERROR, "internal_server_error", "the service failed");
        }
    };
    let mut r = imsx(status, minor, &e.to_string());
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The Service Description Document: a profiled OpenAPI 3.0 document with the OAuth URLs.
#[utoipa::path(get, path = "/ims/ob/v3p0/discovery", tag = "Open Badges 3.0 API", operation_id = "ob_discovery",
    responses((status = 200, description = "The service description document (OpenAPI 3.0)", body = serde_json::Value)))]
async fn discovery(State(s): State<AppState>) -> Response {
    Json(service_description(&s.service.base_url)).into_response()
}

fn service_description(base: &str) -> Value {
    let schema = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let official = |name: &str| {
        json!({"description": "The official JSON Schema",
               "url": format!("https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_{}_schema.json", name.to_lowercase())})
    };
    let errors = || {
        json!({
            "400": {"description": "Bad request", "content": {"application/json": {"schema": schema("Imsx_StatusInfo")}}},
            "401": {"description": "Missing or invalid access token", "content": {"application/json": {"schema": schema("Imsx_StatusInfo")}}},
            "403": {"description": "The access token lacks the scope", "content": {"application/json": {"schema": schema("Imsx_StatusInfo")}}},
            "405": {"description": "Method not allowed", "content": {"application/json": {"schema": schema("Imsx_StatusInfo")}}},
            "500": {"description": "Server error", "content": {"application/json": {"schema": schema("Imsx_StatusInfo")}}},
        })
    };
    let with_errors = |ok: Value| {
        let mut responses = errors();
        responses["200"] = ok;
        responses
    };
    json!({
        "openapi": "3.0.1",
        "info": {
            "title": "metrobadge — Open Badges 3.0 API",
            "description": "Open Badges 3.0 Service Provider (read): a learner's credentials and profile, with the learner's consent.",
            "version": env!("CARGO_PKG_VERSION"),
            "termsOfService": format!("{base}/privacy"),
            "x-imssf-privacyPolicyUrl": format!("{base}/privacy"),
        },
        "servers": [{"url": format!("{base}{BASE}"), "description": "metrobadge"}],
        "tags": [
            {"name": "OpenBadgeCredentials", "description": "Exchange OpenBadgeCredentials and Profile information."},
            {"name": "Discovery"},
        ],
        "paths": {
            "/credentials": {"get": {
                "tags": ["OpenBadgeCredentials"],
                "operationId": "getCredentials",
                "summary": "The learner's credentials, oldest first",
                "parameters": [
                    {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX}},
                    {"name": "offset", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0}},
                    {"name": "since", "in": "query", "required": false, "schema": {"type": "string", "format": "date-time"}},
                ],
                "security": [{"OAuth2ACG": [oauth::SCOPE_CREDENTIAL_READ]}],
                "responses": with_errors(json!({
                    "description": "A page of credentials; X-Total-Count and Link headers for paging",
                    "headers": {
                        "X-Total-Count": {"schema": {"type": "integer"}},
                        "Link": {"schema": {"type": "string"}},
                    },
                    "content": {"application/json": {"schema": schema("GetOpenBadgeCredentialsResponse")}},
                })),
            }},
            "/profile": {"get": {
                "tags": ["OpenBadgeCredentials"],
                "operationId": "getProfile",
                "summary": "The learner's profile",
                "security": [{"OAuth2ACG": [oauth::SCOPE_PROFILE_READ]}],
                "responses": with_errors(json!({
                    "description": "The profile",
                    "content": {"application/json": {"schema": schema("Profile")}},
                })),
            }},
            "/discovery": {"get": {
                "tags": ["Discovery"],
                "operationId": "getServiceDescription",
                "summary": "This document",
                "responses": {
                    "200": {"description": "The service description document", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "default": {"description": "Error", "content": {"application/json": {"schema": schema("Imsx_StatusInfo")}}},
                },
            }},
        },
        "components": {
            "schemas": {
                "GetOpenBadgeCredentialsResponse": {
                    "type": "object",
                    "externalDocs": official("GetOpenBadgeCredentialsResponse"),
                    "properties": {
                        "credential": {"type": "array", "items": {"type": "object", "description": "An AchievementCredential with a Data Integrity proof"}},
                        "compactJwsString": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "Profile": {
                    "type": "object",
                    "externalDocs": official("Profile"),
                    "required": ["id", "type"],
                    "properties": {
                        "id": {"type": "string", "format": "uri"},
                        "type": {"type": "array", "items": {"type": "string"}},
                        "email": {"type": "string"},
                    },
                },
                "Imsx_StatusInfo": {
                    "type": "object",
                    "externalDocs": official("Imsx_StatusInfo"),
                    "required": ["imsx_codeMajor", "imsx_severity"],
                    "properties": {
                        "imsx_codeMajor": {"type": "string", "enum": ["failure", "processing", "success", "unsupported"]},
                        "imsx_severity": {"type": "string", "enum": ["error", "status", "warning"]},
                        "imsx_description": {"type": "string"},
                        "imsx_codeMinor": {"type": "object", "properties": {"imsx_codeMinorField": {"type": "array", "items": {
                            "type": "object",
                            "required": ["imsx_codeMinorFieldName", "imsx_codeMinorFieldValue"],
                            "properties": {"imsx_codeMinorFieldName": {"type": "string"}, "imsx_codeMinorFieldValue": {"type": "string"}},
                        }}}},
                    },
                },
            },
            "securitySchemes": {
                "OAuth2ACG": {
                    "type": "oauth2",
                    "description": "OAuth 2.0 Authorization Code Grant with PKCE (S256); the learner consents on their own badges page.",
                    "x-imssf-registrationUrl": format!("{base}{REGISTER}"),
                    "flows": {"authorizationCode": {
                        "authorizationUrl": format!("{base}{AUTHORIZE}"),
                        "tokenUrl": format!("{base}{TOKEN}"),
                        "refreshUrl": format!("{base}{TOKEN}"),
                        "scopes": {
                            oauth::SCOPE_CREDENTIAL_READ: "Permission to read AchievementCredentials for the authenticated entity.",
                            oauth::SCOPE_PROFILE_READ: "Permission to read the profile for the authenticated entity.",
                            oauth::OFFLINE_ACCESS: "A refresh token, so access outlasts the one-hour access token.",
                        },
                    }},
                },
            },
        },
    })
}

/// OAuth's error JSON; `invalid_client` is a 401 with a Basic challenge (RFC 6749 §5.2).
pub(super) fn oauth_refused(e: OAuthError) -> Response {
    let status = match e {
        OAuthError::Service(s) => return super::error::ApiError::from(s).into_response(),
        OAuthError::InvalidClient => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut r =
        no_store((status, Json(json!({"error": e.code(), "error_description": e.to_string()}))).into_response());
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"metrobadge\""));
    }
    r
}

fn no_store(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// Dynamic client registration (RFC 7591): 201 with the credentials and metadata.
#[utoipa::path(post, path = "/ims/ob/v3p0/oauth/register", tag = "Open Badges 3.0 API", operation_id = "oauth_register",
    request_body(content = serde_json::Value, content_type = "application/json", description = "RFC 7591 client metadata as the OB 3.0 security profile requires"),
    responses((status = 201, description = "The client's credentials and metadata", body = serde_json::Value),
              (status = 400, description = "invalid_redirect_uri or invalid_client_metadata", body = serde_json::Value)))]
async fn register(State(s): State<AppState>, body: Bytes) -> Response {
    let input: ClientMetadataInput = match serde_json::from_slice(&body) {
        Ok(i) => i,
        Err(e) => {
            return oauth_refused(OAuthError::Registration(oauth::RegistrationError::InvalidClientMetadata(format!(
                "the body must be a JSON object of client metadata: {e}"
            ))));
        }
    };
    match s.service.register_oauth_client(input).await {
        Ok(c) => {
            let mut body = serde_json::to_value(&c.metadata).unwrap_or_default();
            body["client_id"] = json!(c.client_id);
            body["client_secret"] = json!(c.client_secret);
            body["client_id_issued_at"] = json!(c.issued_at.unix_timestamp());
            body["client_secret_expires_at"] = json!(0);
            no_store((StatusCode::CREATED, Json(body)).into_response())
        }
        Err(e) => oauth_refused(e),
    }
}

/// `Authorization: Basic` client credentials, each form-urlencoded (RFC 6749 §2.3.1).
fn client_auth(headers: &HeaderMap) -> Option<ClientAuth> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape =
        |v: &str| serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={v}")).ok()?.pop().map(|(_, v)| v);
    Some(ClientAuth { client_id: unescape(id)?, client_secret: unescape(secret)? })
}

/// The token endpoint's authorization code and refresh token grants (the wallet's handler
/// passes every other grant type here).
pub(super) async fn token(s: &AppState, headers: &HeaderMap, f: &Fields) -> Response {
    let opt = |name: &str| Some(f.get(name).to_string()).filter(|v| !v.is_empty());
    let request = TokenRequest {
        grant_type: f.get("grant_type").to_string(),
        code: opt("code"),
        redirect_uri: opt("redirect_uri"),
        code_verifier: opt("code_verifier"),
        refresh_token: opt("refresh_token"),
        scope: opt("scope"),
    };
    match s.service.oauth_token(client_auth(headers), request).await {
        Ok(t) => no_store(Json(t).into_response()),
        Err(e) => oauth_refused(e),
    }
}

/// Token revocation (RFC 7009): 200 whether or not the token was known.
#[utoipa::path(post, path = "/ims/ob/v3p0/oauth/revoke", tag = "Open Badges 3.0 API", operation_id = "oauth_revoke",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "token=…; client authentication: HTTP Basic"),
    responses((status = 200, description = "Revoked (or unknown)"), (status = 401, description = "invalid_client", body = serde_json::Value)))]
async fn revoke(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let f = Fields::parse(&body);
    match s.service.oauth_revoke(client_auth(&headers), f.get("token")).await {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => oauth_refused(e),
    }
}

fn query_of(fields: &Fields) -> AuthorizationQuery {
    let opt = |name: &str| Some(fields.get(name).to_string()).filter(|v| !v.is_empty());
    AuthorizationQuery {
        response_type: opt("response_type"),
        client_id: opt("client_id"),
        redirect_uri: opt("redirect_uri"),
        scope: opt("scope"),
        state: opt("state"),
        code_challenge: opt("code_challenge"),
        code_challenge_method: opt("code_challenge_method"),
    }
}

/// Where a refused authorization goes: back to the app with the error (and `iss`, RFC 9207),
/// or (unknown app or return address) a page for the person.
fn authorize_refused(s: &AppState, lang: Lang, e: Result<AuthorizeError, ServiceError>) -> Response {
    match e {
        Ok(AuthorizeError::NotRedirectable(reason)) => super::pages::oauth_broken_page(lang, &reason),
        Ok(AuthorizeError::Redirect { redirect_uri, state, error, description }) => {
            let mut params = vec![
                ("error", error),
                ("error_description", description.as_str()),
                ("iss", s.service.base_url.as_str()),
            ];
            if let Some(state) = state.as_deref() {
                params.push(("state", state));
            }
            Redirect::to(&crate::service::with_query(&redirect_uri, &params)).into_response()
        }
        Err(e) => super::error::ApiError::from(e).into_response(),
    }
}

/// The authorization endpoint: the consent page for a signed-in learner, else the sign-in
/// form whose mailed link comes back here.
async fn authorize(State(s): State<AppState>, lang: Preferred, headers: HeaderMap, uri: Uri) -> Response {
    let lang = lang.or(Lang::Nl);
    let fields = Fields::query(&uri);
    let q = query_of(&fields);
    let pending = match s.service.authorization_request(&q).await {
        Ok(p) => p,
        Err(e) => return authorize_refused(&s, lang, e),
    };
    let query = uri.query().unwrap_or_default();
    // The query without any `lang=`, so the language switch and the sign-in link keep it once.
    let query: String = query.split('&').filter(|p| !p.starts_with("lang=")).collect::<Vec<_>>().join("&");
    match super::me::signed_in(&s, &headers).await {
        Ok(Some((session, _))) => {
            super::pages::consent_page(lang, &pending, &query, &Service::learner_form_token(&session))
        }
        Ok(None) => {
            let next = format!("{AUTHORIZE}?{query}");
            let next = super::me::safe_next(&next).unwrap_or_default();
            super::pages::me_sign_in_page(lang, Some(lang.texts().oauth_sign_in_first), None, "", next)
        }
        Err(e) => e.into_response(),
    }
}

/// The learner's answer: a code for the app, or `access_denied`.
async fn decide(State(s): State<AppState>, lang: Preferred, headers: HeaderMap, body: Bytes) -> Response {
    let lang = lang.or(Lang::Nl);
    let f = Fields::parse(&body);
    let Some(session) = super::console::cookies(&headers).remove(super::me::COOKIE) else {
        return super::pages::oauth_broken_page(lang, lang.texts().oauth_sign_in_first);
    };
    let expected = Service::learner_form_token(&session);
    if !bool::from(f.get("csrf").as_bytes().ct_eq(expected.as_bytes())) {
        return (StatusCode::FORBIDDEN, "this form has expired; open the page again").into_response();
    }
    let account = match s.service.learner_of_session(&session).await {
        Ok(a) => a,
        Err(ServiceError::Unauthenticated) => {
            return super::pages::oauth_broken_page(lang, lang.texts().oauth_sign_in_first);
        }
        Err(e) => return super::error::ApiError::from(e).into_response(),
    };
    let allow = f.get("decision") == "allow";
    match s.service.decide_authorization(&account, &query_of(&f), allow).await {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(e) => authorize_refused(&s, lang, e),
    }
}

/// `getCredentials` with `limit`, `offset` and `since`; `X-Total-Count` and `Link` paging.
#[utoipa::path(get, path = "/ims/ob/v3p0/credentials", tag = "Open Badges 3.0 API", operation_id = "ob_get_credentials",
    params(("limit" = Option<u32>, Query, description = "1 to 100"), ("offset" = Option<u32>, Query, description = "0-based"),
           ("since" = Option<String>, Query, description = "RFC 3339: only credentials issued after it")),
    security(("OAuth2ACG" = ["https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly"])),
    responses((status = 200, description = "GetOpenBadgeCredentialsResponse", body = serde_json::Value), (status = 400, description = "Imsx_StatusInfo", body = serde_json::Value), (status = 401, description = "Imsx_StatusInfo: no valid access token", body = serde_json::Value), (status = 403, description = "Imsx_StatusInfo: the token lacks the scope", body = serde_json::Value), (status = 405, description = "Imsx_StatusInfo", body = serde_json::Value)))]
async fn credentials(State(s): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let account = match s.service.oauth_resource_owner(bearer(&headers), oauth::SCOPE_CREDENTIAL_READ).await {
        Ok(a) => a,
        Err(e) => return resource_refused(e),
    };
    let f = Fields::query(&uri);
    let (limit, offset, since) = match paging(&f) {
        Ok(p) => p,
        Err(why) => return imsx(StatusCode::BAD_REQUEST, "invalid_query_parameter", &why),
    };
    let page = match s.service.ob_credentials(&account, since, offset as usize, limit as usize).await {
        Ok(p) => p,
        Err(e) => return resource_refused(ResourceError::Service(e)),
    };
    let mut r = no_store(Json(json!({"credential": page.credentials})).into_response());
    let h = r.headers_mut();
    h.insert("x-total-count", HeaderValue::from(page.total));
    if let Some(link) = paging_links(&s.service.base_url, page.total, offset as usize, limit as usize, f.get("since"))
        && let Ok(v) = HeaderValue::from_str(&link)
    {
        h.insert(header::LINK, v);
    }
    r
}

/// `limit` (1 to [`PAGE_MAX`], larger asks get a full page), `offset` and `since` of a
/// `getCredentials` query, or what is wrong with them.
fn paging(f: &Fields) -> Result<(u32, u32, Option<time::OffsetDateTime>), String> {
    let number = |name: &str, default: u32, min: u32| match f.get(name) {
        "" => Ok(default),
        v => v
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= min)
            .ok_or_else(|| format!("{name} must be a whole number of at least {min}")),
    };
    let limit = number("limit", PAGE_MAX, 1)?.min(PAGE_MAX);
    let offset = number("offset", 0, 0)?;
    let since = match f.get("since") {
        "" => None,
        v => Some(
            time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
                .map_err(|_| "since must be an RFC 3339 date-time".to_string())?,
        ),
    };
    Ok((limit, offset, since))
}

/// The `Link` header of an incomplete page (RFC 8288): `next`, `last`, `first`, `prev`.
fn paging_links(base: &str, total: usize, offset: usize, limit: usize, since: &str) -> Option<String> {
    if offset == 0 && total <= limit {
        return None;
    }
    let url = |off: usize| {
        let mut q = vec![("limit", limit.to_string()), ("offset", off.to_string())];
        if !since.is_empty() {
            q.push(("since", since.to_string()));
        }
        format!("{base}{BASE}/credentials?{}", serde_urlencoded::to_string(q).expect("strings encode"))
    };
    let last = total.saturating_sub(1) / limit * limit;
    let mut links = Vec::new();
    if offset + limit < total {
        links.push(format!("<{}>; rel=\"next\"", url(offset + limit)));
    }
    links.push(format!("<{}>; rel=\"last\"", url(last)));
    links.push(format!("<{}>; rel=\"first\"", url(0)));
    if offset > 0 {
        links.push(format!("<{}>; rel=\"prev\"", url(offset.saturating_sub(limit))));
    }
    Some(links.join(", "))
}

/// `getProfile`.
#[utoipa::path(get, path = "/ims/ob/v3p0/profile", tag = "Open Badges 3.0 API", operation_id = "ob_get_profile",
    security(("OAuth2ACG" = ["https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.readonly"])),
    responses((status = 200, description = "Profile", body = serde_json::Value), (status = 400, description = "Imsx_StatusInfo", body = serde_json::Value), (status = 401, description = "Imsx_StatusInfo: no valid access token", body = serde_json::Value), (status = 403, description = "Imsx_StatusInfo: the token lacks the scope", body = serde_json::Value), (status = 405, description = "Imsx_StatusInfo", body = serde_json::Value)))]
async fn profile(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let account = match s.service.oauth_resource_owner(bearer(&headers), oauth::SCOPE_PROFILE_READ).await {
        Ok(a) => a,
        Err(e) => return resource_refused(e),
    };
    match s.service.ob_profile(&account).await {
        Ok(p) => no_store(Json(p).into_response()),
        Err(e) => resource_refused(ResourceError::Service(e)),
    }
}

async fn privacy(lang: Preferred) -> Response {
    super::pages::privacy_page(lang.or(Lang::En))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_name_the_neighbouring_pages() {
        assert_eq!(paging_links("https://b", 3, 0, 5, ""), None);
        let l = paging_links("https://b", 5, 2, 2, "").unwrap();
        assert!(l.contains("offset=4>; rel=\"next\""), "{l}");
        assert!(l.contains("offset=4>; rel=\"last\""), "{l}");
        assert!(l.contains("offset=0>; rel=\"first\""), "{l}");
        assert!(l.contains("offset=0>; rel=\"prev\""), "{l}");
        let l = paging_links("https://b", 5, 4, 2, "2026-01-01T00:00:00Z").unwrap();
        assert!(!l.contains("next") && l.contains("since=2026-01-01T00%3A00%3A00Z"), "{l}");
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut h = HeaderMap::new();
        let encoded = STANDARD.encode("id%3Ax:s+c%25");
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Basic {encoded}")).unwrap());
        let a = client_auth(&h).unwrap();
        assert_eq!((a.client_id.as_str(), a.client_secret.as_str()), ("id:x", "s c%"));
    }
}
