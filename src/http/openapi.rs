//! The OpenAPI 3.1 description of our API, generated from the handlers (`#[utoipa::path]`)
//! and the routers that register them (`super::documented`), served as `/openapi.json` and as
//! a page people can read at `/openapi`.

use std::sync::OnceLock;

use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{AuthorizationCode, Flow, Http, HttpAuthScheme, OAuth2, Scopes, SecurityScheme};

use crate::domain::oauth;

use super::AppState;
use super::texts::{Lang, Preferred};

static DESCRIPTION: OnceLock<String> = OnceLock::new();

/// What an `/api/v1` operation answers: JSON on success, problem details otherwise. Named in
/// each handler's `responses(…)`; never built (the handlers answer with their own types).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum Answers {
    /// Success
    #[response(status = 200, content_type = "application/json")]
    Success(Value),
    /// Problem details (RFC 9457)
    #[response(status = "4XX", content_type = "application/problem+json")]
    Refused,
    /// Problem details (RFC 9457): the service is unavailable or failed
    #[response(status = "5XX", content_type = "application/problem+json")]
    Failed,
}

/// [`Answers`] of an operation that creates something (201).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum Created {
    /// Success
    #[response(status = 201, content_type = "application/json")]
    Success(Value),
    /// Problem details (RFC 9457)
    #[response(status = "4XX", content_type = "application/problem+json")]
    Refused,
    /// Problem details (RFC 9457): the service is unavailable or failed
    #[response(status = "5XX", content_type = "application/problem+json")]
    Failed,
}

/// The document's parts no handler knows: title, servers, security schemes, tag order.
pub fn base() -> OpenApi {
    let doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "metrobadge API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Issuing, stacking and verifying Open Badges 3.0 for nanomodules and metro lines. \
                `/api/v1` takes a bearer token (`Authorization: Bearer mbt_…`) whose role and issuer decide what it may read \
                and change; errors are RFC 9457 problem details. `/credentials/verify` is the W3C VC-API verifier (no token). \
                `/ims/ob/v3p0/…` is the 1EdTech Open Badges 3.0 API with OAuth 2.0 (its own discovery document).",
            "license": {"name": "see the repository"},
        },
        "paths": {},
    });
    let mut doc: OpenApi = serde_json::from_value(doc).expect("the base document is an OpenAPI document");
    let components = doc.components.get_or_insert_with(Default::default);
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.description = Some("An API token made by an admin or issuer admin".into());
    components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    let scopes = Scopes::from_iter([
        (oauth::SCOPE_CREDENTIAL_READ, "Read the learner's credentials"),
        (oauth::SCOPE_PROFILE_READ, "Read the learner's profile"),
        (oauth::OFFLINE_ACCESS, "A refresh token"),
    ]);
    use super::ob_api::{AUTHORIZE, TOKEN};
    let flow = AuthorizationCode::with_refresh_url(AUTHORIZE, TOKEN, scopes, TOKEN);
    components.add_security_scheme("OAuth2ACG", SecurityScheme::OAuth2(OAuth2::new([Flow::AuthorizationCode(flow)])));
    doc
}

/// Our published request schemas (`schemas/api/`), as components: (file name, component name).
const SCHEMAS: &[(&str, &str, &str)] = &[
    ("award", "Award", include_str!("../../schemas/api/award.schema.json")),
    ("issuer", "Issuer", include_str!("../../schemas/api/issuer.schema.json")),
    ("learner-migration", "LearnerMigration", include_str!("../../schemas/api/learner-migration.schema.json")),
    ("member", "Member", include_str!("../../schemas/api/member.schema.json")),
    ("metro-line", "MetroLine", include_str!("../../schemas/api/metro-line.schema.json")),
    ("nanomodule", "Nanomodule", include_str!("../../schemas/api/nanomodule.schema.json")),
    ("problem", "Problem", include_str!("../../schemas/api/problem.schema.json")),
    ("skill", "Skill", include_str!("../../schemas/api/skill.schema.json")),
    ("skills-profile", "SkillsProfile", include_str!("../../schemas/api/skills-profile.schema.json")),
];

/// A `schemas/api/` file as a component: its own `$id` and `$schema` dropped (the document's
/// dialect applies), references to itself and to the others rewritten to component paths.
fn component(name: &str, text: &str) -> Value {
    fn rewrite(v: &mut Value, own: &str) {
        match v {
            Value::Object(map) => {
                map.remove("$id");
                map.remove("$schema");
                if let Some(Value::String(r)) = map.get_mut("$ref") {
                    *r = if let Some(local) = r.strip_prefix('#') {
                        format!("#/components/schemas/{own}{local}")
                    } else if let Some(other) = r.strip_prefix("urn:metrobadge:schema:api:") {
                        let (file, pointer) = other.split_once('#').unwrap_or((other, ""));
                        let target = SCHEMAS.iter().find(|(f, _, _)| *f == file).map(|(_, n, _)| *n).unwrap_or(own);
                        format!("#/components/schemas/{target}{pointer}")
                    } else {
                        r.clone()
                    };
                }
                map.values_mut().for_each(|v| rewrite(v, own));
            }
            Value::Array(a) => a.iter_mut().for_each(|v| rewrite(v, own)),
            _ => {}
        }
    }
    let mut schema: Value = serde_json::from_str(text).expect("bundled schemas are JSON");
    rewrite(&mut schema, name);
    schema
}

/// Request bodies and problem answers point at the components.
fn link_schemas(doc: &mut Value) {
    for (file, name, text) in SCHEMAS {
        doc["components"]["schemas"][*name] = component(name, text);
        let mention = format!("schemas/api/{file}.schema.json");
        for item in doc["paths"].as_object_mut().into_iter().flat_map(|p| p.values_mut()) {
            for op in item.as_object_mut().into_iter().flat_map(|o| o.values_mut()) {
                // `get_mut`, not indexing: indexing a missing key would add it as null.
                let Some(body) = op.get_mut("requestBody") else { continue };
                if body["description"].as_str().is_some_and(|d| d.contains(&mention)) {
                    body["content"]["application/json"]["schema"] =
                        json!({"$ref": format!("#/components/schemas/{name}")});
                }
            }
        }
    }
    for item in doc["paths"].as_object_mut().into_iter().flat_map(|p| p.values_mut()) {
        for op in item.as_object_mut().into_iter().flat_map(|o| o.values_mut()) {
            let answers = op.get_mut("responses").and_then(Value::as_object_mut);
            for answer in answers.into_iter().flat_map(|r| r.values_mut()) {
                if let Some(problem) = answer.get_mut("content").and_then(|c| c.get_mut("application/problem+json")) {
                    problem["schema"] = json!({"$ref": "#/components/schemas/Problem"});
                }
            }
        }
    }
}

/// Finishes the generated document (bearer security on `/api/v1`, our JSON Schemas as
/// components) and keeps it for serving.
pub fn publish(mut doc: OpenApi) {
    let bearer = utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new());
    for (path, item) in doc.paths.paths.iter_mut() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        for op in
            [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
        {
            op.security = Some(vec![bearer.clone()]);
        }
    }
    let mut doc = serde_json::to_value(&doc).expect("the document serialises");
    link_schemas(&mut doc);
    let _ = DESCRIPTION.set(doc.to_string());
}

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(json_document)).route("/openapi", get(page))
}

fn document() -> Value {
    DESCRIPTION.get().and_then(|d| serde_json::from_str(d).ok()).unwrap_or(Value::Null)
}

async fn json_document() -> Response {
    let mut r = DESCRIPTION.get().cloned().unwrap_or_default().into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// One operation as the page lists it.
struct Operation {
    method: String,
    path: String,
    summary: String,
    description: String,
}

#[derive(Template)]
#[template(path = "openapi.html")]
struct Page {
    l: super::pages::Layout,
    tags: Vec<(String, Vec<Operation>)>,
}

/// The operations grouped by tag, in the order the document lists them.
async fn page(lang: Preferred) -> Response {
    let lang = lang.or(Lang::En);
    let doc = document();
    let mut tags: Vec<(String, Vec<Operation>)> = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let tag = op["tags"][0].as_str().unwrap_or("Other").to_string();
            let operation = Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                summary: op["summary"].as_str().unwrap_or_default().to_string(),
                description: op["description"].as_str().unwrap_or_default().to_string(),
            };
            match tags.iter_mut().find(|(t, _)| *t == tag) {
                Some((_, ops)) => ops.push(operation),
                None => tags.push((tag, vec![operation])),
            }
        }
    }
    super::pages::render(&Page { l: super::pages::Layout::new(lang, "metrobadge API"), tags })
}
