//! A real browser (Debian's headless Chromium) opens a badge page: valid, then revoked after a
//! reload. Screenshots (phone width) are kept in target/artifacts/ for people to look at.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

use serde_json::json;

use crate::awards::{module, recipients};
use crate::harness::{ADMIN, TestApp, both};

both!(badge_page_in_a_real_browser);
both!(progress_page_in_a_real_browser);
both!(console_in_a_real_browser);

pub fn chromium() -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _guard = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let path = PathBuf::from("/usr/bin/chromium");
    if !path.exists() {
        // A fresh machine of this project's kind has no browser: install Debian's.
        let ok = Command::new("sh")
            .args(["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok && path.exists(), "Chromium is needed for this test: apt-get install chromium");
    }
    path
}

/// Loads `url` in headless Chromium; returns the DOM after load and saves a screenshot.
fn load(url: &str, screenshot: &str) -> String {
    let artifacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let profile = std::env::temp_dir().join(format!("mb_chromium_{}", uuid::Uuid::new_v4().simple()));
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--window-size=412,1400",
    ];
    let run = |extra: &str| {
        Command::new(chromium())
            .args(flags)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(extra)
            .arg(url)
            .output()
            .expect("chromium runs")
    };
    let dom = run("--dump-dom");
    assert!(dom.status.success(), "chromium failed: {}", String::from_utf8_lossy(&dom.stderr));
    let shot = artifacts.join(screenshot);
    let out = run(&format!("--screenshot={}", shot.display()));
    assert!(out.status.success() && shot.exists(), "screenshot failed: {}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&profile);
    String::from_utf8(dom.stdout).unwrap()
}

fn status_text(dom: &str) -> String {
    let at = dom.find("id=\"status\">").expect("status banner in the page") + "id=\"status\">".len();
    dom[at..].split("</p>").next().unwrap().to_string()
}

async fn badge_page_in_a_real_browser(app: TestApp) {
    let (_, nm) = module(&app, None).await;
    let (_, resp) =
        app.post(&format!("/api/v1/nanomodules/{nm}/awards"), ADMIN, json!({"recipients": recipients(1)})).await;
    let url = resp["credentials"][0]["id"].as_str().unwrap().to_string();
    let backend = if app.db.url.starts_with("sqlite") { "sqlite" } else { "postgres" };
    let page_url = url.clone();
    let dom =
        tokio::task::spawn_blocking(move || load(&page_url, &format!("badge-valid-{backend}.png"))).await.unwrap();
    assert!(status_text(&dom).starts_with("Valid"), "{}", status_text(&dom));
    assert!(dom.contains("<h1 lang=\"nl\">Smeren</h1>"));

    let id = url.rsplit('/').next().unwrap();
    app.post(&format!("/api/v1/credentials/{id}/revoke"), ADMIN, json!({"reason": "Awarded to the wrong person"}))
        .await;
    let page_url = url.clone();
    let dom =
        tokio::task::spawn_blocking(move || load(&page_url, &format!("badge-revoked-{backend}.png"))).await.unwrap();
    let status = status_text(&dom);
    assert!(status.starts_with("Revoked by the issuer (Awarded to the wrong person)"), "{status}");
    app.stop().await;
}

/// The learner's progress page and personal map at phone width: one station of two done.
async fn progress_page_in_a_real_browser(app: TestApp) {
    let l = crate::stacking::line(&app).await;
    let r = app.award_one(&l.a, "leerling@example.nl").await;
    let url = r["credentials"][0]["progress_url"].as_str().unwrap().to_string();
    let backend = if app.db.url.starts_with("sqlite") { "sqlite" } else { "postgres" };
    let page_url = url.clone();
    let dom = tokio::task::spawn_blocking(move || load(&page_url, &format!("progress-{backend}.png"))).await.unwrap();
    assert!(dom.contains("<h1>Your progress</h1>") && dom.contains("Onderhoud basis"), "{dom}");
    assert!(dom.contains("Trillingen meten still to do"), "the explanation in plain words: {dom}");
    let map_url = format!("{url}/map.svg");
    let svg =
        tokio::task::spawn_blocking(move || load(&map_url, &format!("progress-map-{backend}.png"))).await.unwrap();
    assert_eq!(svg.matches("class=\"station done\"").count(), 1, "{svg}");
    assert_eq!(svg.matches("class=\"station next\"").count(), 1, "the next station stands out: {svg}");
    app.stop().await;
}

/// A trainer on a phone, in real Chromium driven by playwright-core: invitation → password →
/// award three from pasted rows (one fixed after Check) → a double submit issues once → the QR
/// sheet decodes to the badge links → revoke → Dutch. axe-core finds no WCAG 2.1 A/AA problem
/// on any page; screenshots at 360 and 1280 px go to target/artifacts/.
async fn console_in_a_real_browser(app: TestApp) {
    let issuer = app.issuer("Techniek Twente").await;
    let module = app.module(&issuer, "Smeren van lagers").await;
    let module2 = app.module(&issuer, "Trillingen meten").await;
    let admin = app
        .service
        .create_admin_account(&metrobadge::domain::audit::Actor::cli(), "root@example.org", "Platform admin")
        .await
        .unwrap();
    let backend = if app.db.url.starts_with("sqlite") { "sqlite" } else { "postgres" };
    let artifacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/artifacts").join(backend);
    std::fs::create_dir_all(&artifacts).unwrap();
    let input = json!({"base": app.base, "admin_invitation": admin.url, "issuer": issuer, "module": module, "module2": module2,
                       "password": "a sentence I remember", "artifacts": artifacts});
    let report = browser_script("console.mjs", input).await;

    for (page, violations) in report["axe"].as_object().unwrap() {
        assert_eq!(violations, &json!([]), "axe-core on the {page} page");
    }
    assert!(report["axe"].as_object().unwrap().len() >= 28, "{report}");
    assert_eq!(report["compromise_page"], "Mark this key compromised?", "{report}");
    let line = report["line_url"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let (_, line) = app.get(&format!("/api/v1/metro-lines/{line}"), Some(ADMIN)).await;
    assert_eq!(line["stations"], json!([module, module2]), "{line}");
    assert_eq!(line["rule"]["at_least"]["n"], 2, "{line}");
    assert_eq!(report["credentials_listed"], 3, "{report}");
    let standings = report["credential_standings"].to_string();
    assert_eq!(standings.matches("revoked").count(), 2, "the trainer's revocation and the admin's: {standings}");
    for (key, overflow) in report.as_object().unwrap().iter().filter(|(k, _)| k.starts_with("overflow_")) {
        assert_eq!(overflow, &json!(false), "{key}: the page runs off a 360 px screen");
    }
    assert!(report["check_problems"].as_str().unwrap().contains("Row 2"), "{report}");
    assert!(report["check_ok"].as_str().unwrap().contains("ready"), "{report}");
    let links: Vec<String> =
        report["links"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect();
    assert_eq!(links.len(), 3, "{report}");
    let count: i64 =
        app.store.query_text("SELECT CAST(COUNT(*) AS TEXT) FROM credential").await.unwrap()[0].parse().unwrap();
    assert_eq!(count, 3, "two posts of the same form and a click issued once: {report}");
    assert_eq!(report["qr"], json!(links), "every QR code leads to its participant's badge");
    assert_eq!(report["standings"], json!(["revoked", "valid", "valid"]), "{report}");
    assert_eq!(report["nl_award_heading"], "Badges uitreiken aan een groep");
    let labels = report["nl_labels"].to_string();
    assert!(labels.contains("Deelnemers") && !labels.contains("Participants"), "{labels}");
    assert!(report["screenshots"].as_array().unwrap().len() >= 16);
    assert_eq!(report["created_issuer"], "Zorg Zwolle");
    assert_eq!(
        report["audit_actions"],
        json!([
            "credential.issued",
            "credential.issued",
            "credential.issued",
            "credential.revoked",
            "credential.revoked"
        ]),
        "{report}"
    );
    assert!(report["chain_result"].as_str().unwrap().contains("The chain is intact"), "{report}");
    assert_eq!(report["export_name"], "audit-trail.csv");
    let csv = report["export_csv"].as_str().unwrap();
    assert!(csv.starts_with("seq,occurred_at") && csv.contains("credential.revoked") && csv.contains("member.added"));
    app.stop().await;
}

both!(metro_map_is_one_network_in_a_real_browser);

/// The sector's map as one network: three lines, two interchanges, 40-character names. In
/// Chromium, at 360 and 1280 px, no label, station or track segment overlaps another (a track
/// touches only the two stations it joins).
async fn metro_map_is_one_network_in_a_real_browser(app: TestApp) {
    let issuer = app.issuer("Techniek Twente").await;
    let m = |name: &'static str| {
        let app = &app;
        let issuer = issuer.clone();
        async move { app.module(&issuer, name).await }
    };
    let smeren = m("Smeren").await;
    let hoog = m("Veilig werken met hoogspanning in de praktijk").await;
    let trillingen = m("Trillingen meten aan roterende machines").await;
    let meten = m("Meten aan installaties en schakelkasten").await;
    let nen = m("NEN 3140").await;
    let data = m("Data lezen").await;
    let plannen = m("Voorspellend onderhoud plannen en uitvoeren").await;
    let (_, map) = app.post(&format!("/api/v1/issuers/{issuer}/metro-maps"), ADMIN, json!({"name": "Techniek"})).await;
    let map = map["id"].as_str().unwrap().to_string();
    for (name, colour, stations) in [
        ("Onderhoud basis", "#0a7d3b", vec![&smeren, &hoog, &trillingen]),
        ("Elektrotechniek", "#b3261e", vec![&meten, &hoog, &nen]),
        ("Smart maintenance", "#16324f", vec![&data, &trillingen, &plannen]),
    ] {
        let (s, body) = app
            .post(
                &format!("/api/v1/issuers/{issuer}/metro-lines"),
                ADMIN,
                json!({"name": name, "metro_map": map, "colour": colour, "stations": stations,
                       "certificate": {"name": format!("Deelcertificaat {name}"), "description": "d"}}),
            )
            .await;
        assert_eq!(s, reqwest::StatusCode::CREATED, "{body}");
    }
    let url = format!("{}/metro-maps/{map}/map.svg", app.base);
    let backend = if app.db.url.starts_with("sqlite") { "sqlite" } else { "postgres" };
    let artifacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/artifacts").join(backend);
    std::fs::create_dir_all(&artifacts).unwrap();
    let report = tokio::task::spawn_blocking(move || {
        let chromium = chromium();
        crate::interop::ensure_npm();
        let out = Command::new("node")
            .arg(crate::interop::interop_dir().join("map.mjs"))
            .arg(&url)
            .env("CHROMIUM", chromium)
            .env("ARTIFACTS", &artifacts)
            .output()
            .expect("node is installed");
        assert!(out.status.success(), "map.mjs failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    })
    .await
    .unwrap();
    for width in ["360", "1280"] {
        assert_eq!(report[format!("{width}_fits")], json!(true), "the map fits {width} px");
        let boxes = report[width].as_array().unwrap();
        assert_eq!(
            boxes.iter().filter(|b| b["id"].as_str().unwrap().starts_with("st-")).count(),
            7,
            "shared stations once"
        );
        assert_eq!(boxes.iter().filter(|b| b["id"].as_str().unwrap().starts_with("lb-")).count(), 7);
        assert_eq!(boxes.iter().filter(|b| b["id"].as_str().unwrap().starts_with("tr-")).count(), 6);
        let joins = |track: &str, station: &str| {
            let parts: Vec<&str> = track.split('-').collect();
            let s = station.trim_start_matches("st-");
            parts[2] == s || parts[3] == s
        };
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                let (ia, ib) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
                let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
                let overlap = f(a, "x") < f(b, "x") + f(b, "w")
                    && f(b, "x") < f(a, "x") + f(a, "w")
                    && f(a, "y") < f(b, "y") + f(b, "h")
                    && f(b, "y") < f(a, "y") + f(a, "h");
                let allowed = (ia.starts_with("tr-") && ib.starts_with("st-") && joins(ia, ib))
                    || (ib.starts_with("tr-") && ia.starts_with("st-") && joins(ib, ia));
                assert!(!overlap || allowed, "at {width} px {ia} overlaps {ib}: {a} {b}");
            }
        }
    }
    app.stop().await;
}

both!(learner_and_manager_pages_in_a_real_browser);

/// The manager's review page and the learner's own page in Chromium at phone width, in Dutch:
/// the manager answers (an incomplete form first), the learner comments and makes a wallet
/// offer, the badge page shows the confirmation. axe-core finds nothing on any of them.
async fn learner_and_manager_pages_in_a_real_browser(app: TestApp) {
    let smtp = crate::mail::SmtpServer::start();
    let sender = app.service.clone().with_mailer(smtp.mailer());
    let (_, nm) = module(&app, None).await;
    let answer = app
        .award(
            &nm,
            json!([{"identity": "ann@example.nl", "name": "Ann de Vries",
                "manager": {"name": "Chef Jansen", "email": "chef@firma.example", "company": "Firma BV"}}]),
        )
        .await;
    let badge = answer["credentials"][0]["id"].as_str().unwrap().to_string();
    app.service.clock().advance(time::Duration::weeks(6) + time::Duration::minutes(1));
    assert_eq!(app.service.review_round().await.unwrap().invited, 1);
    sender.send_mail_round().await.unwrap();
    let invitation = smtp.received().into_iter().find(|m| m.to() == "chef@firma.example").unwrap();
    let text = invitation.text();
    let at = text.find("/impact/").unwrap();
    let review_link = text[text[..at].rfind("http").unwrap()..].split_whitespace().next().unwrap().to_string();
    let cookie = crate::impact::learner_session(&app, &smtp, &sender, "ann@example.nl").await;
    let session = cookie.split_once('=').unwrap().1.to_string();

    let backend = if app.db.url.starts_with("sqlite") { "sqlite" } else { "postgres" };
    let artifacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/artifacts").join(backend);
    std::fs::create_dir_all(&artifacts).unwrap();
    let input = json!({"base": app.base, "review_link": review_link, "session": session, "badge": badge,
                       "locale": "nl-NL", "example": "Ann smeert nu elke week.", "comment": "Dank je!",
                       "artifacts": artifacts});
    let report = browser_script("learner.mjs", input).await;

    for (page, violations) in report["axe"].as_object().unwrap() {
        assert_eq!(violations, &json!([]), "axe-core on the {page} page");
        assert_eq!(report["overflow"][page], false, "the {page} page fits a phone screen");
    }
    assert_eq!(report["axe"].as_object().unwrap().len(), 5, "{report}");
    let t = &report["text"];
    assert!(t["review_errors"].as_str().unwrap().contains("Geef een voorbeeld in je eigen woorden"), "{report}");
    assert!(t["review_done"].as_str().unwrap().contains("Dank je wel"), "{report}");
    assert!(t["me"].as_str().unwrap().contains("Gepubliceerd als ondertekende aanbeveling"), "{report}");
    assert_eq!(t["tx_code"].as_str().unwrap().len(), 6);
    assert!(t["offer"].as_str().unwrap().starts_with("openid-credential-offer://"));
    assert!(t["applied"].as_str().unwrap().contains("bevestigd door Chef Jansen, Firma BV"), "{report}");
}

/// Runs a playwright script of tests/interop with `input` (as a file) and Debian's Chromium,
/// on the blocking pool: the script talks to this test's server, which must keep serving.
/// Returns the script's one JSON report.
pub async fn browser_script(script: &'static str, input: serde_json::Value) -> serde_json::Value {
    tokio::task::spawn_blocking(move || {
        let chromium = chromium();
        crate::interop::ensure_npm();
        let file = std::env::temp_dir().join(format!("mb_browser_{}.json", uuid::Uuid::new_v4().simple()));
        std::fs::write(&file, input.to_string()).unwrap();
        let out = Command::new("node")
            .arg(crate::interop::interop_dir().join(script))
            .arg(&file)
            .env("CHROMIUM", chromium)
            .output()
            .expect("node is installed");
        let _ = std::fs::remove_file(&file);
        assert!(out.status.success(), "{script} failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    })
    .await
    .unwrap()
}
