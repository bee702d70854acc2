//! The command line against a real database: migrate, token create, keys rotate.

use std::process::Command;

use reqwest::StatusCode;

use crate::harness::{ADMIN, TestApp, both};

both!(cli_tokens_and_keys);

fn metrobadge(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_metrobadge"))
        .args(args)
        .env("METROBADGE_DATABASE_URL", &app.db.url)
        .env("METROBADGE_MASTER_KEY_FILE", &app.master_key_file)
        .env("METROBADGE_BASE_URL", &app.base)
        .env_remove("METROBADGE_ADMIN_TOKEN")
        .output()
        .expect("run the binary");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn cli_tokens_and_keys(app: TestApp) {
    // Issue 11 §3: a guessable admin token is refused at start, with the reason.
    let out = Command::new(env!("CARGO_BIN_EXE_metrobadge"))
        .args(["migrate"])
        .env("METROBADGE_DATABASE_URL", &app.db.url)
        .env("METROBADGE_MASTER_KEY_FILE", &app.master_key_file)
        .env("METROBADGE_ADMIN_TOKEN", "change-me")
        .output()
        .expect("run the binary");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("at least 32"), "{err}");

    let (ok, _, err) = metrobadge(&app, &["migrate"]);
    assert!(ok, "{err}");
    let a = app.issuer("A").await;

    let (ok, out, err) = metrobadge(&app, &["token", "create", "--role", "admin"]);
    assert!(ok, "{err}");
    let admin = out.trim().to_string();
    assert!(admin.starts_with("mbt_"));
    assert_eq!(app.get("/api/v1/issuers", Some(&admin)).await.0, StatusCode::OK);

    let (ok, out, err) = metrobadge(&app, &["token", "create", "--role", "auditor", "--issuer", &a]);
    assert!(ok, "{err}");
    let auditor = out.trim().to_string();
    assert_eq!(app.get(&format!("/api/v1/issuers/{a}"), Some(&auditor)).await.0, StatusCode::OK);
    assert_eq!(
        app.patch(&format!("/api/v1/issuers/{a}"), &auditor, serde_json::json!({"description": "x"})).await.0,
        StatusCode::FORBIDDEN
    );

    let (ok, _, err) = metrobadge(&app, &["token", "create", "--role", "trainer"]);
    assert!(!ok && err.contains("--issuer"), "{err}");
    let (ok, _, _) = metrobadge(&app, &["token", "create", "--role", "root"]);
    assert!(!ok);

    let (ok, out, err) = metrobadge(&app, &["keys", "rotate", "--issuer", &a]);
    assert!(ok, "{err}");
    let key: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(key["status"], "active");
    let (_, keys) = app.get(&format!("/api/v1/issuers/{a}/keys"), Some(ADMIN)).await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
    // The CLI's actions are in the audit chain too.
    let events = app.service.store.audit_page(0, 100).await.unwrap();
    assert!(events.iter().any(|e| e.action == "token.created" && e.actor_token == "cli"));
    assert!(app.service.store.audit_verify().await.unwrap().ok);
    app.stop().await;
}
