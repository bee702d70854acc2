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
    let events = app.store.audit_page(0, 100).await.unwrap();
    assert!(events.iter().any(|e| e.action == "token.created" && e.actor_token == "cli"));
    assert!(app.service.audit_check(None).await.unwrap().ok);
    app.stop().await;
}

both!(cli_member_create_signs_in_the_first_admin);

/// Issue 14: from a fresh database to a signed-in console in one command: `member create`
/// prints a one-time invitation link; issuer roles need their issuer.
async fn cli_member_create_signs_in_the_first_admin(app: TestApp) {
    let (ok, out, err) = metrobadge(&app, &["member", "create", "--role", "admin", "--email", "Me@Example.org"]);
    assert!(ok, "{err}");
    let link = out.trim().to_string();
    assert!(link.starts_with(&format!("{}/console/invitation/mbi_", app.base)), "{link}");
    assert!(err.contains("7 days"), "{err}");
    let mut b = crate::console::accept(&app, &link, "the very first admin").await;
    let home = b.get("/console").await;
    assert!(home.body.contains("platform admin") && home.body.contains("Sign out"), "{}", home.body);

    // The same address twice: refused with the reason.
    let (ok, _, err) = metrobadge(&app, &["member", "create", "--role", "admin", "--email", "me@example.org"]);
    assert!(!ok && err.contains("already signs in"), "{err}");
    let (ok, _, err) = metrobadge(&app, &["member", "create", "--role", "trainer", "--email", "t@example.org"]);
    assert!(!ok && err.contains("--issuer"), "{err}");
    let a = app.issuer("A").await;
    let (ok, out, err) =
        metrobadge(&app, &["member", "create", "--role", "trainer", "--email", "t@example.org", "--issuer", &a]);
    assert!(ok, "{err}");
    crate::console::accept(&app, out.trim(), "trainer of issuer A").await;
    let events = app.store.audit_page(0, 100).await.unwrap();
    assert!(events.iter().any(|e| e.action == "console.invitation_created" && e.actor_token == "cli"));
    assert!(events.iter().any(|e| e.action == "console.password_set"));
    app.stop().await;
}

both!(cli_master_key_rotation);

/// Issue 12 §1: `master-key rotate` re-seals everything under a new key in one step; a server
/// with the new key signs, verifies and keeps every progress link, one with the old key is not
/// ready and says why.
async fn cli_master_key_rotation(app: TestApp) {
    let issuer = app.issuer("Sleutels").await;
    let module = app.module(&issuer, "Module").await;
    let (_, first) = app
        .post(
            &format!("/api/v1/nanomodules/{module}/awards"),
            ADMIN,
            serde_json::json!({"recipients": [{"identity": "jan@example.nl"}]}),
        )
        .await;
    let badge = first["credentials"][0]["id"].as_str().unwrap().to_string();
    let progress_path =
        first["credentials"][0]["progress_url"].as_str().unwrap().trim_start_matches(&app.base).to_string();
    app.post("/api/v1/audit/checkpoints", ADMIN, serde_json::json!({})).await;

    let new_file = std::env::temp_dir().join(format!("mb_newkey_{}", uuid::Uuid::new_v4().simple()));
    let (ok, out, err) = metrobadge(&app, &["master-key", "rotate", "--new", new_file.to_str().unwrap()]);
    assert!(ok, "{err}");
    let done: serde_json::Value = serde_json::from_str(&out).unwrap();
    // Secrets: the two progress-link keys and the outbox's two data keys.
    assert_eq!(
        (done["signing_keys"].as_i64(), done["platform_keys"].as_i64(), done["secrets"].as_i64()),
        (Some(1), Some(1), Some(4)),
        "{done}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&new_file).unwrap().permissions().mode() & 0o777, 0o600);
    let (ok, _, err) = metrobadge(&app, &["master-key", "rotate", "--new", app.master_key_file.to_str().unwrap()]);
    assert!(!ok, "the old key no longer opens anything: {err}");

    let new_text = std::fs::read_to_string(&new_file).unwrap();
    let rotated = TestApp::start(app.db.clone(), &new_text).await;
    assert_eq!(rotated.get("/health/ready", None).await.0, StatusCode::OK);
    let (s, _) = rotated.get(&progress_path, None).await;
    assert_eq!(s, StatusCode::OK, "a progress link handed out before the rotation still works");
    let (s, again) = rotated
        .post(
            &format!("/api/v1/nanomodules/{module}/awards"),
            ADMIN,
            serde_json::json!({"recipients": [{"identity": "jan@example.nl", "retake": true}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "signing works with the new key: {again}");
    assert!(again["credentials"][0]["progress_url"].as_str().unwrap().ends_with(progress_path.as_str()));
    // Public keys are untouched: what was signed before and after verifies (each server knows
    // only its own base URL, so each verifies what it served).
    for (server, url) in
        [(&rotated, again["credentials"][0]["id"].as_str().unwrap().to_string()), (&app, badge.clone())]
    {
        let vc = server.client.get(&url).send().await.unwrap().text().await.unwrap();
        let (_, report) = server.post("/verify", ADMIN, serde_json::from_str(&vc).unwrap()).await;
        assert_eq!(report["outcome"], "valid", "{report}");
    }
    let (_, check) = rotated.get("/api/v1/audit/verify", Some(ADMIN)).await;
    assert_eq!(check["ok"], true, "{check}");
    assert!(rotated.store.audit_page(0, 1000).await.unwrap().iter().any(|e| e.action == "master_key.rotated"));
    rotated.stop().await;

    // The instance still holding the old key in memory cannot open the re-sealed keys.
    let (s, body) = app.get("/health/ready", None).await;
    assert_eq!(
        (s, body["checks"]["keys"].clone()),
        (StatusCode::SERVICE_UNAVAILABLE, serde_json::json!("wrong master key"))
    );
    let _ = std::fs::remove_file(&new_file);
    app.stop().await;
}

/// Issue 12 §1: a backup taken while awards are running restores to a database whose every
/// credential verifies and whose audit chain and newest checkpoint check out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_backup_under_load_and_restore() {
    crate::harness::run(crate::harness::Backend::Sqlite, |app: TestApp| async move {
        let issuer = app.issuer("Backup").await;
        let module = app.module(&issuer, "Module").await;
        app.post("/api/v1/audit/checkpoints", ADMIN, serde_json::json!({})).await;
        // Awards keep running while the backup is taken.
        let load = {
            let (client, base, module) = (app.client.clone(), app.base.clone(), module.clone());
            tokio::spawn(async move {
                for round in 0..20 {
                    let recipients: Vec<serde_json::Value> =
                        (0..25).map(|i| serde_json::json!({"identity": format!("l{round}-{i}@example.nl")})).collect();
                    let r = client
                        .post(format!("{base}/api/v1/nanomodules/{module}/awards"))
                        .bearer_auth(ADMIN)
                        .json(&serde_json::json!({"recipients": recipients}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), StatusCode::CREATED);
                }
            })
        };
        // The backup starts once the load has stored something.
        while app.store.query_text("SELECT CAST(COUNT(*) AS TEXT) FROM award").await.unwrap() == ["0"] {
            tokio::task::yield_now().await;
        }
        let backup = std::env::temp_dir().join(format!("mb_backup_{}.db", uuid::Uuid::new_v4().simple()));
        let args = ["backup".to_string(), backup.display().to_string()];
        let (ok, _, err) =
            tokio::task::block_in_place(|| metrobadge(&app, &args.iter().map(String::as_str).collect::<Vec<_>>()));
        assert!(ok, "{err}");
        load.await.unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777, 0o600);

        // Restore into a fresh location.
        let restored = std::env::temp_dir().join(format!("mb_restored_{}.db", uuid::Uuid::new_v4().simple()));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_metrobadge"))
            .args(["restore", &backup.display().to_string()])
            .env("METROBADGE_DATABASE_URL", format!("sqlite://{}", restored.display()))
            .env("METROBADGE_MASTER_KEY_FILE", &app.master_key_file)
            .env_remove("METROBADGE_ADMIN_TOKEN")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(report["ok"], true, "{report}");
        assert!(report["chains"].as_array().unwrap().iter().all(|c| c["ok"] == true), "{report}");
        assert_eq!(
            (report["checkpoint"]["signature_valid"].clone(), report["checkpoint"]["heads_on_chain"].clone()),
            (serde_json::json!(true), serde_json::json!(true))
        );

        // Every credential in the restored database verifies (same public origin as issued).
        let store = metrobadge::store::Store::connect(&format!("sqlite://{}", restored.display())).await.unwrap();
        let key = metrobadge::master_key::MasterKey::parse(crate::harness::TEST_MASTER_KEY, "test").unwrap();
        let service = metrobadge::service::Service::new(store.clone(), key, &app.base, None);
        let docs = store.query_text("SELECT signed FROM credential").await.unwrap();
        assert!(!docs.is_empty());
        for doc in &docs {
            let report = service
                .verify(metrobadge::credential::verify::Input::Json(serde_json::from_str(doc).unwrap()), None)
                .await;
            assert!(report.verified, "{:?}", report.checks);
        }
        // A restore refuses what is not a metrobadge database.
        let junk = std::env::temp_dir().join(format!("mb_junk_{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&junk, b"not a database").unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_metrobadge"))
            .args(["restore", &junk.display().to_string()])
            .env("METROBADGE_DATABASE_URL", format!("sqlite://{}", restored.display()))
            .env("METROBADGE_MASTER_KEY_FILE", &app.master_key_file)
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert_eq!(
            store.query_text("SELECT CAST(COUNT(*) AS TEXT) FROM credential").await.unwrap(),
            [docs.len().to_string()],
            "the database was left alone"
        );
        store.close().await;
        for f in [&backup, &restored, &junk] {
            let _ = std::fs::remove_file(f);
            let _ = std::fs::remove_file(format!("{}-wal", f.display()));
            let _ = std::fs::remove_file(format!("{}-shm", f.display()));
        }
        app.stop().await;
    })
    .await;
}
