//! The OpenAPI 3.1 description of `/api/v1`, the VC-API verifier and the OB 3.0 API: valid by
//! an independent validator, complete against the routes the router itself registers (read
//! from the router, not from a list kept here), and every operation it names is served.

use std::collections::BTreeSet;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use metrobadge::http::documented;
use metrobadge::http::limits::{Guards, Limits};

use crate::harness::{TestApp, both};

both!(openapi_describes_the_api);

/// (path, method) of every route in a router, read from its `Debug` form: the router's own
/// table of paths and, per route, which methods have a handler.
fn registered(router: &axum::Router<metrobadge::http::AppState>) -> BTreeSet<(String, String)> {
    let text = format!("{router:?}");
    let main = text.split("fallback_router").next().unwrap();
    let paths_at = main.find("paths: {").expect("the router's path table");
    let mut paths = std::collections::HashMap::new();
    for entry in main[paths_at + 8..].split("RouteId(").skip(1) {
        let (id, rest) = entry.split_once("): \"").unwrap();
        paths.insert(id.to_string(), rest.split('"').next().unwrap().to_string());
    }
    let mut out = BTreeSet::new();
    for route in main[..paths_at].split("RouteId(").skip(1) {
        let (id, body) = route.split_once(')').unwrap();
        for method in ["get", "delete", "patch", "post", "put"] {
            let field = format!(" {method}: ");
            if let Some(at) = body.find(&field)
                && !body[at + field.len()..].starts_with("None")
            {
                out.insert((paths[id].clone(), method.to_string()));
            }
        }
    }
    out
}

fn described(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            out.insert((path.clone(), method.clone()));
        }
    }
    out
}

async fn openapi_describes_the_api(app: TestApp) {
    let r = app.client.get(format!("{}/openapi.json", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");

    // Independent validation (@seriousme/openapi-schema-validator, the official 3.1 schema).
    let checked = crate::interop::run_node("openapi_check.mjs", &json!({"documents": {"api": doc}}));
    let checked: Value = serde_json::from_str(checked.trim()).unwrap();
    assert_eq!((&checked["valid"], &checked["version"]), (&json!(true), &json!("3.1")), "{checked}");

    // Complete: what the router registers is what the document describes.
    let (router, generated) = documented(Arc::new(Guards::new(&Limits::default())));
    let routes = registered(&router);
    assert!(routes.len() > 60, "the router's table was read: {routes:?}");
    assert!(routes.contains(&("/api/v1/issuers/{id}".to_string(), "patch".to_string())), "{routes:?}");
    let generated = serde_json::to_value(&generated).unwrap();
    assert_eq!(described(&generated), routes, "routes without a description, or descriptions without a route");
    assert_eq!(described(&doc), routes, "the served document is the generated one");

    // Every described operation is served (with placeholder ids and no token: anything but
    // "no such route" or "method not allowed"). Unique operation ids.
    let mut ids = BTreeSet::new();
    for (path, method) in &routes {
        assert!(ids.insert(doc["paths"][path][method]["operationId"].as_str().unwrap().to_string()), "{path} {method}");
        let url =
            path.split('/').map(|p| if p.starts_with('{') { uuid::Uuid::nil().to_string() } else { p.to_string() });
        let url = format!("{}{}", app.base, url.collect::<Vec<_>>().join("/"));
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = app.client.request(m, &url).send().await.unwrap();
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        assert!(
            status != StatusCode::METHOD_NOT_ALLOWED && !body.contains("no such route"),
            "{method} {path}: {status} {body}"
        );
    }
    // /api/v1 asks for the bearer token; the description says so.
    assert_eq!(doc["paths"]["/api/v1/issuers"]["get"]["security"], json!([{"bearer": []}]));
    assert!(doc["paths"]["/credentials/verify"]["post"].get("security").is_none());

    // Request bodies and problems point at our published JSON Schemas, now components.
    let issuer_body = &doc["paths"]["/api/v1/issuers"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(issuer_body, &json!({"$ref": "#/components/schemas/Issuer"}));
    let award = &doc["paths"]["/api/v1/nanomodules/{id}/awards"]["post"]["requestBody"]["content"];
    assert_eq!(award["application/json"]["schema"], json!({"$ref": "#/components/schemas/Award"}));
    assert!(award.get("text/csv").is_some(), "{award}");
    let problem = &doc["paths"]["/api/v1/issuers"]["get"]["responses"]["4XX"]["content"]["application/problem+json"];
    assert_eq!(problem["schema"], json!({"$ref": "#/components/schemas/Problem"}));
    let line = doc["components"]["schemas"]["MetroLine"].to_string();
    assert!(
        line.contains("#/components/schemas/Nanomodule/properties/micro_credential") && !line.contains("urn:"),
        "{line}"
    );

    // The page people read.
    let page = app.client.get(format!("{}/openapi?lang=nl", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Issuers and members") && page.contains("/api/v1/nanomodules/{id}/awards"), "{page}");
    assert!(page.contains("Elk endpoint"));
}
