//! Metro maps and lines: definitions, versions, validation, a learner's progress.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{ADMIN, TestApp, both};

both!(lines_versions_and_progress);

/// The id of the first credential an award answer lists.
fn first_credential(answer: &Value) -> String {
    answer["credentials"][0]["id"].as_str().unwrap().rsplit('/').next().unwrap().to_string()
}

fn fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|a| a.iter().map(|e| e["field"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

async fn lines_versions_and_progress(app: TestApp) {
    let issuer = app.issuer("Techniek Twente").await;
    let other = app.issuer("Other").await;
    let trainer = app.member(&issuer, "trainer").await;
    let auditor = app.member(&issuer, "auditor").await;
    let (a, b, c) = (
        app.module_of_minutes(&issuer, "Smeren", 240).await,
        app.module_of_minutes(&issuer, "Trillingen", 240).await,
        app.module_of_minutes(&issuer, "Uitlijnen", 120).await,
    );
    let foreign = app.module_of_minutes(&other, "Elders", 60).await;
    let (s, map) = app
        .post(
            &format!("/api/v1/issuers/{issuer}/metro-maps"),
            ADMIN,
            json!({"name": "Maakindustrie — Smart Maintenance"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{map}");
    let map = map["id"].as_str().unwrap().to_string();
    let line = json!({
        "name": "Smart Maintenance basis", "description": "Drie modules", "metro_map": map, "audience": "employees", "colour": "#0077aa",
        "stations": [a, b, c],
        "rule": {"all": [{"nanomodule": a}, {"at_least": {"n": 1, "of": [{"nanomodule": b}, {"nanomodule": c}]}},
                          {"min_study_hours": {"hours": 8, "of": [{"nanomodule": a}, {"nanomodule": b}, {"nanomodule": c}]}}]},
        "certificate": {"name": "Deelcertificaat Smart Maintenance", "description": "MBO deelcertificaat",
                        "alignment": [{"targetUrl": "https://example.nl/kwalificaties/25123", "targetCode": "25123", "targetFramework": "MBO crebo"}], "credits": 8}
    });
    assert_eq!(
        app.post(&format!("/api/v1/issuers/{issuer}/metro-lines"), &trainer, line.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let mut bad = line.clone();
    bad["stations"] = json!([a, foreign, uuid::Uuid::new_v4()]);
    let (s, body) = app.post(&format!("/api/v1/issuers/{issuer}/metro-lines"), ADMIN, bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        fields(&body),
        [
            "rule.all[0].all[1].at_least.of[0].nanomodule",
            "rule.all[0].all[1].at_least.of[1].nanomodule",
            "rule.all[0].all[2].min_study_hours.of[1].nanomodule",
            "rule.all[0].all[2].min_study_hours.of[2].nanomodule"
        ]
        .iter()
        .map(|f| f.replace("all[0].", ""))
        .collect::<Vec<_>>()
    );
    let mut bad = line.clone();
    bad["rule"] = json!({"at_least": {"n": 4, "of": [{"nanomodule": a}]}});
    bad["stations"] = json!([a, foreign]);
    let (_, body) = app.post(&format!("/api/v1/issuers/{issuer}/metro-lines"), ADMIN, bad.clone()).await;
    assert_eq!(fields(&body), ["rule.at_least.n"]);
    bad["rule"] = json!({"nanomodule": a});
    let (_, body) = app.post(&format!("/api/v1/issuers/{issuer}/metro-lines"), ADMIN, bad.clone()).await;
    assert_eq!(fields(&body), ["stations[1]"], "another issuer's module needs accepts_issuers");
    bad["accepts_issuers"] = json!([other]);
    let (_, body) = app.post(&format!("/api/v1/issuers/{issuer}/metro-lines"), ADMIN, bad.clone()).await;
    assert_eq!(fields(&body), ["accepts_issuers[0]"], "only a partner that consented (issue 11 §2)");
    app.partnership(&issuer, &other).await;
    bad["stations"] = json!([a, foreign, uuid::Uuid::new_v4()]);
    let (_, body) = app.post(&format!("/api/v1/issuers/{issuer}/metro-lines"), ADMIN, bad).await;
    assert_eq!(fields(&body), ["stations[2]"], "accepted, but the last is no module at all");
    let (s, body) = app.post(&format!("/api/v1/issuers/{issuer}/metro-lines"), ADMIN, json!({"name": "x", "metro_map": map, "stations": [a], "certificate": {"name": "c", "description": "d"}, "rule": {"some": []}})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "unknown rule kinds: {body}");

    let (s, created) = app.post(&format!("/api/v1/issuers/{issuer}/metro-lines"), ADMIN, line.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["version"], 1);

    // Progress, module by module.
    let progress = |who: &'static str| {
        let (app, id) = (&app, id.clone());
        async move { app.get(&format!("/api/v1/metro-lines/{id}/progress?identity={who}"), Some(ADMIN)).await.1 }
    };
    // Staff see only learners their issuer awarded (issue 11 §2).
    let (s, _) = app.get(&format!("/api/v1/metro-lines/{id}/progress?identity=jan@example.nl"), Some(ADMIN)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let first = first_credential(&app.award_one(&a, "Jan@Example.nl").await);
    let p = progress("jan@example.nl").await;
    assert_eq!(p["explanation"]["children"][1]["detail"], "1 more of: Trillingen, Uitlijnen");
    assert_eq!(p["explanation"]["children"][2]["detail"], "study hours 4 of 8");
    let second = first_credential(&app.award_one(&c, "jan@example.nl").await);
    let p = progress("jan@example.nl").await;
    assert_eq!(p["explanation"]["children"][2]["detail"], "study hours 6 of 8");
    assert_eq!(p["satisfied"], false);
    first_credential(&app.award_one(&b, "jan@example.nl").await);
    let p = progress("jan@example.nl").await;
    assert_eq!(p["satisfied"], true, "{p}");
    assert_eq!(p["counted"].as_array().unwrap().len(), 3);
    assert!(p["counted"][0].as_str().unwrap().starts_with(&format!("{}/credentials/", app.base)));

    // Only valid badges count, and the explanation says why.
    app.post(&format!("/api/v1/credentials/{first}/revoke"), ADMIN, json!({"reason": "fraud"})).await;
    let p = progress("jan@example.nl").await;
    assert_eq!(p["satisfied"], false);
    assert_eq!(p["explanation"]["children"][0]["detail"], "Smeren: revoked");
    app.post(&format!("/api/v1/credentials/{second}/suspend"), ADMIN, json!({"reason": "check"})).await;
    let p = progress("jan@example.nl").await;
    assert!(p["explanation"]["children"][1]["children"][1]["detail"].as_str().unwrap().contains("suspended"), "{p}");

    // Versions: a change makes version 2; version 1 stays readable.
    let (s, v2) = app.patch(&format!("/api/v1/metro-lines/{id}"), ADMIN, json!({"rule": null})).await;
    assert_eq!(s, StatusCode::OK, "{v2}");
    assert_eq!(v2["version"], 2);
    assert!(v2.get("rule").is_none(), "no rule means all stations");
    let (_, v1) = app.get(&format!("/api/v1/metro-lines/{id}/versions/1"), Some(ADMIN)).await;
    assert!(v1["rule"].is_object());
    // Jan started on version 1 and stays on it until the issuer migrates him.
    assert_eq!(progress("jan@example.nl").await["version"], 1);
    let (s, m) = app.post(&format!("/api/v1/metro-lines/{id}/learners/migrate"), ADMIN, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(m["learners_migrated"], 1);
    assert_eq!((m["version"].as_i64(), m["stacking"].as_str()), (Some(2), Some("done")), "{m}");
    assert!(m["issued"].is_array(), "stacked before the answer, so what it issued is listed: {m}");
    let p = progress("jan@example.nl").await;
    assert_eq!(p["version"], 2);
    assert_eq!(p["explanation"]["rule"], "all");

    // Staff read; others see nothing.
    assert_eq!(
        app.get(&format!("/api/v1/metro-lines/{id}/progress?identity=jan@example.nl"), Some(&auditor)).await.0,
        StatusCode::OK
    );
    let stranger = app.member(&other, "issuer_admin").await;
    assert_eq!(app.get(&format!("/api/v1/metro-lines/{id}"), Some(&stranger)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("/api/v1/metro-lines/{id}/progress"), Some(ADMIN)).await.0,
        StatusCode::BAD_REQUEST,
        "identity is required"
    );
    let (_, lines) = app.get(&format!("/api/v1/issuers/{issuer}/metro-lines"), Some(&trainer)).await;
    assert_eq!(lines["metro_lines"].as_array().unwrap().len(), 1);
    // The public map: one coloured track per line (named in the legend), a dot and a name per station.
    let resp = app.client.get(format!("{}/metro-maps/{map}/map.svg", app.base)).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "image/svg+xml");
    let svg = resp.text().await.unwrap();
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>") && svg.contains("viewBox="));
    assert_eq!(svg.matches("<text class=\"legend\"").count(), 1);
    assert_eq!(svg.matches("<circle").count(), 3);
    assert!(svg.contains("stroke=\"#0077aa\"") && svg.contains(">Trillingen</tspan>"));
    assert!(svg.contains("Maakindustrie — Smart Maintenance"));
    assert_eq!(svg.matches('<').count(), svg.matches('>').count(), "well-formed tags");
    assert_eq!(app.get(&format!("/metro-maps/{}/map.svg", uuid::Uuid::new_v4()), None).await.0, StatusCode::NOT_FOUND);
    let events = app.store.audit_page(0, 1000).await.unwrap();
    assert!(events.iter().any(|e| e.action == "metro_line.updated"));
    assert!(events.iter().any(|e| e.action == "metro_map.created"));
    app.stop().await;
}
