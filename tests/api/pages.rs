//! Baked badges, OB 2.0 hosted documents and the public HTML pages.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use metrobadge::credential::bake;

use crate::awards::module;
use crate::harness::{ADMIN, TestApp, both};

both!(baked_badges_round_trip, ob2_hosted_assertions, badge_and_verify_pages);

async fn one_credential(app: &TestApp, name: &str) -> (String, String, String) {
    let (issuer, nm) = module(app, None).await;
    let (_, resp) = app
        .post(
            &format!("/api/v1/nanomodules/{nm}/awards"),
            ADMIN,
            json!({"recipients": [{"identity": "jan@example.nl", "name": name,
            "evidence": [{"id": "https://portfolio.example/jan/1", "name": "Smeerplan"}]}]}),
        )
        .await;
    let url = resp["credentials"][0]["id"].as_str().unwrap().to_string();
    let id = url.rsplit('/').next().unwrap().to_string();
    (issuer, url, id)
}

async fn verify_raw(app: &TestApp, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let r = app
        .client
        .post(format!("{}/verify", app.base))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

async fn baked_badges_round_trip(app: TestApp) {
    let (_, url, _) = one_credential(&app, "Jan").await;
    let signed = app.client.get(&url).send().await.unwrap().text().await.unwrap();
    let png = app.client.get(format!("{url}/badge.png")).send().await.unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    let png = png.bytes().await.unwrap().to_vec();
    assert_eq!(
        bake::extract_png(&png).unwrap(),
        bake::Baked::Ob3(signed.clone()),
        "the stored credential, byte for byte"
    );
    let (s, report) = verify_raw(&app, "image/png", png.clone()).await;
    assert_eq!((s, report["verified"].clone()), (StatusCode::OK, json!(true)), "{report}");

    let svg = app.client.get(format!("{url}/badge.svg")).send().await.unwrap().text().await.unwrap();
    assert!(svg.contains("xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\""));
    assert_eq!(bake::extract_svg(&svg).unwrap(), bake::Baked::Ob3(signed.clone()));
    let (_, report) = verify_raw(&app, "image/svg+xml", svg.clone().into_bytes()).await;
    assert_eq!(report["verified"], true, "{report}");

    // As a browser uploads it.
    let form = Form::new()
        .part("file", Part::bytes(png.clone()).file_name("badge.png").mime_str("image/png").unwrap())
        .text("recipient", "jan@example.nl");
    let r = app.client.post(format!("{}/verify", app.base)).multipart(form).send().await.unwrap();
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(report["checks"].as_array().unwrap().last().unwrap()["check"], "recipient");

    // A picture that is not a badge is a clear 422.
    let plain = bake::solid_png(2, [1, 2, 3]);
    let (s, body) = verify_raw(&app, "image/png", plain).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "file");
    let (s, _) = verify_raw(&app, "image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = verify_raw(&app, "image/png", b"\x89PNG\r\n\x1a\ngarbage".to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    app.stop().await;
}

async fn ob2_hosted_assertions(app: TestApp) {
    let (_, _, id) = one_credential(&app, "Jan").await;
    let (s, a) = app.get(&format!("/ob2/assertions/{id}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(a["@context"], "https://w3id.org/openbadges/v2");
    assert_eq!(a["type"], "Assertion");
    assert_eq!(a["verification"]["type"], "hosted");
    assert_eq!(a["recipient"]["type"], "email");
    assert_eq!(a["recipient"]["hashed"], true);
    let salt = a["recipient"]["salt"].as_str().unwrap();
    assert_eq!(a["recipient"]["identity"], metrobadge::credential::badge::identity_hash("jan@example.nl", salt));
    let badge = a["badge"].as_str().unwrap();
    let (s, class) = app.get(badge.strip_prefix(&app.base).unwrap(), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(class["type"], "BadgeClass");
    let (s, issuer) = app.get(class["issuer"].as_str().unwrap().strip_prefix(&app.base).unwrap(), None).await;
    assert_eq!((s, issuer["type"].as_str()), (StatusCode::OK, Some("Issuer")));
    let url = a["id"].as_str().unwrap().to_string();
    let (_, report) = verify_raw(&app, "text/plain", url.clone().into_bytes()).await;
    assert_eq!(report["verified"], true, "{report}");
    let (_, report) = verify_raw(
        &app,
        "application/json",
        serde_json::to_vec(&json!({"credential": a, "recipient": "jan@example.nl"})).unwrap(),
    )
    .await;
    assert_eq!(report["verified"], true, "{report}");

    app.post(&format!("/api/v1/credentials/{id}/revoke"), ADMIN, json!({"reason": "Duplicate"})).await;
    let (s, gone) = app.get(&format!("/ob2/assertions/{id}"), None).await;
    assert_eq!(s, StatusCode::GONE);
    assert_eq!(gone["revoked"], true);
    let (_, report) = verify_raw(&app, "text/plain", url.into_bytes()).await;
    assert_eq!(report["verified"], false);
    let (_, report) = verify_raw(&app, "text/plain", b"https://elsewhere.example/assertions/1".to_vec()).await;
    assert_eq!(report["verified"], false, "only this service's hosted assertions, nothing fetched");
    app.stop().await;
}

pub async fn html(app: &TestApp, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let r = app
        .client
        .get(format!("{}{}", app.base, path))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    (r.status(), r.headers().clone(), r.text().await.unwrap())
}

async fn badge_and_verify_pages(app: TestApp) {
    let (issuer, url, id) = one_credential(&app, "Jan <script>alert(1)</script> Jansen").await;
    let (s, headers, page) = html(&app, &format!("/credentials/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && !csp.contains("script-src"));
    // Without a preference the page speaks the badge's language (Dutch here)…
    assert!(page.contains("<html lang=\"nl\">"));
    assert!(page.contains("Geldig — deze badge is echt en van kracht."), "{page}");
    assert!(page.contains("Toevoegen aan LinkedIn-profiel") && page.contains("<dt>Uitgegeven door</dt>"));
    assert!(page.contains("href=\"?lang=en\""), "a link to the other language");
    // …and the reader's language when they have one: their browser's, or the one they chose.
    let english = app
        .client
        .get(format!("{}/credentials/{id}", app.base))
        .header("accept", "text/html")
        .header("accept-language", "en-GB,en;q=0.9,nl;q=0.5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("<html lang=\"en\">") && english.contains("Valid — this badge is genuine"), "{english}");
    assert!(english.contains("<h1 lang=\"nl\">Smeren</h1>"), "the badge's own words keep their language");
    let (_, _, chosen) = html(&app, &format!("/credentials/{id}?lang=en")).await;
    assert!(chosen.contains("Add to LinkedIn profile"));
    assert!(page.contains("Jan &#60;script&#62;alert(1)&#60;/script&#62; Jansen"), "escaped recipient name");
    assert!(!page.contains("<script>"));
    assert!(page.contains("<meta property=\"og:title\""));
    assert!(page.contains("https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&#38;name=Smeren&#38;organizationName=Techniek+Twente"));
    let month = time::OffsetDateTime::now_utc().month() as u8;
    assert!(page.contains(&format!("issueMonth={month}&#38;")), "1-based month without padding");
    // Dates as people write them, in the reader's language; the study load with their decimal sign.
    let today = time::OffsetDateTime::now_utc();
    let nl_months = [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ];
    let nl_day = format!("{} {} {}</time>", today.day(), nl_months[today.month() as usize - 1], today.year());
    assert!(page.contains(&nl_day), "{nl_day} in {page}");
    assert!(english.contains(&format!("{} {} {}</time>", today.day(), today.month(), today.year())), "{english}");
    assert!(page.contains("<dd>3</dd>"), "study load: {page}");
    assert!(page.contains("https://portfolio.example/jan/1"), "evidence link");
    assert!(page.contains(&format!("{url}/badge.png")));
    // Machines still get JSON at the same URL.
    let vc: Value = app.client.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(vc["id"], url);
    let (_, _, json_text) = html(&app, &format!("/credentials/{id}?format=json")).await;
    assert!(json_text.starts_with('{'));

    app.post(&format!("/api/v1/credentials/{id}/revoke"), ADMIN, json!({"reason": "Issued <by mistake>"})).await;
    let (_, _, page) = html(&app, &format!("/credentials/{id}")).await;
    assert!(page.contains("Ingetrokken door de uitgever (Issued &#60;by mistake&#62;)"), "{page}");

    let (s, _, form) = html(&app, "/verify").await;
    assert_eq!(s, StatusCode::OK);
    assert!(form.contains("enctype=\"multipart/form-data\"") && form.contains("name=\"file\""));
    assert!(form.contains("<label for=\"file\">Badge file</label>"));
    let (_, _, form_nl) = html(&app, "/verify?lang=nl").await;
    assert!(form_nl.contains("<label for=\"file\">Badgebestand</label>") && form_nl.contains("Controleren</button>"));
    let f = Form::new().text("credential", serde_json::to_string(&vc).unwrap());
    let r = app
        .client
        .post(format!("{}/verify", app.base))
        .header("accept", "text/html")
        .multipart(f)
        .send()
        .await
        .unwrap();
    let result = r.text().await.unwrap();
    assert!(result.contains("Revoked by the issuer"), "{result}");
    assert!(result.contains("<strong>proof</strong> — passed"));
    let r = app
        .client
        .post(format!("{}/verify?lang=nl", app.base))
        .header("accept", "text/html")
        .multipart(Form::new().text("credential", serde_json::to_string(&vc).unwrap()))
        .send()
        .await
        .unwrap();
    let result = r.text().await.unwrap();
    assert!(
        result.contains("Ingetrokken door de uitgever") && result.contains("<strong>proof</strong> — geslaagd"),
        "{result}"
    );
    // Nothing chosen, or not a badge: the form again with what to fix, in the reader's language;
    // a machine still gets the problem document.
    for (lang, words) in [("en", "upload a badge file or paste a credential"), ("nl", "upload een badgebestand")] {
        let r = app
            .client
            .post(format!("{}/verify?lang={lang}", app.base))
            .header("accept", "text/html")
            .multipart(Form::new().text("credential", " "))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = r.text().await.unwrap();
        assert!(page.contains("role=\"alert\"") && page.contains(words) && page.contains("name=\"file\""), "{page}");
    }
    let r = app
        .client
        .post(format!("{}/verify?lang=nl", app.base))
        .header("accept", "text/html")
        .multipart(Form::new().part("file", reqwest::multipart::Part::bytes(vec![0xff, 0xfe, 0x00]).file_name("x.bin")))
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    assert!(page.contains("bestand: is geen PNG, geen SVG en geen credential als tekst"), "{page}");
    let r = app.client.post(format!("{}/verify", app.base)).multipart(Form::new().text("credential", " ")).send().await;
    let problem: serde_json::Value = r.unwrap().json().await.unwrap();
    assert_eq!(problem["errors"][0]["code"], "nothing-to-verify", "{problem}");

    let (s, _, issuer_page) = html(&app, &format!("/issuers/{issuer}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(issuer_page.contains("<h1>Techniek Twente</h1>"));
    let (_, _, css) = html(&app, "/assets/site.css").await;
    assert!(css.contains("body{"));
    app.stop().await;
}
