//! The manager's impact review, end to end against a real SMTP server: scheduled at award time,
//! invited when due (time is moved, not waited for), reminded once, answered on the manager's
//! page, read by the learner on their own page, and a "yes" signed as an endorsement that our
//! verifier and the reference JavaScript stack accept.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::awards::module;
use crate::harness::{ADMIN, TestApp, both};
use crate::mail::{Received, SmtpServer, sign_in_link};

both!(impact_review_from_award_to_endorsement, impact_review_expires_cancels_and_stays_private);

const WEEK: time::Duration = time::Duration::weeks(1);

/// The manager's link in an invitation.
fn review_link(m: &Received) -> String {
    let text = m.text();
    let at = text.find("/impact/mbr_").expect("a review link");
    let start = text[..at].rfind("http").unwrap();
    text[start..].split_whitespace().next().unwrap().to_string()
}

/// A signed-in learner's form post.
pub async fn learner_post(app: &TestApp, session: &str, url: &str, body: &str) -> reqwest::Response {
    form(&app.client, url, body).header("cookie", session).send().await.unwrap()
}

pub fn form(client: &reqwest::Client, url: &str, body: &str) -> reqwest::RequestBuilder {
    client.post(url).header("content-type", "application/x-www-form-urlencoded").body(body.to_string())
}

/// Signs the learner in through a mailed link; returns a client without redirects and the
/// session cookie.
pub async fn learner_session(
    app: &TestApp,
    smtp: &SmtpServer,
    sender: &metrobadge::service::Service,
    email: &str,
) -> String {
    let ask = form(&app.client, &format!("{}/me/sign-in?lang=en", app.base), &format!("email={email}"));
    assert_eq!(ask.send().await.unwrap().status(), StatusCode::OK);
    sender.send_mail_round().await.unwrap();
    let mail = smtp.received().into_iter().rev().find(|m| m.to() == email && m.text().contains("/me/link/")).unwrap();
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let signed_in = browser.post(sign_in_link(&mail)).send().await.unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    signed_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string()
}

pub async fn my_page(app: &TestApp, session: &str) -> String {
    app.client
        .get(format!("{}/me?lang=en", app.base))
        .header("cookie", session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no form in {page}"))
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

fn review_id_of(page: &str) -> String {
    page.split("/me/reviews/").nth(1).unwrap().split('/').next().unwrap().to_string()
}

async fn badge_html(app: &TestApp, url: &str) -> String {
    let r = app.client.get(url).header("accept", "text/html").header("accept-language", "en").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

async fn impact_of(app: &TestApp, issuer: &str) -> Value {
    let (s, body) = app.get(&format!("/api/v1/issuers/{issuer}/impact"), Some(ADMIN)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["nanomodules"][0].clone()
}

async fn impact_review_from_award_to_endorsement(app: TestApp) {
    let smtp = SmtpServer::start();
    let sender = app.service.clone().with_mailer(smtp.mailer());
    let (issuer, nm) = module(&app, None).await;

    // A module says when (4–13 weeks); anything else is refused by field.
    let (s, body) = app.patch(&format!("/api/v1/nanomodules/{nm}"), ADMIN, json!({"impact_review_weeks": 3})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("impact_review_weeks"), "{body}");
    // A manager without an address is refused by row and field.
    let (s, body) = app
        .post(
            &format!("/api/v1/nanomodules/{nm}/awards"),
            ADMIN,
            json!({"recipients": [{"identity": "ann@example.nl", "manager": {"name": "Chef"}}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("recipients[0].manager.email"), "{body}");

    let answer = app
        .award(
            &nm,
            json!([
                {"identity": "ann@example.nl", "name": "Ann de Vries",
                 "manager": {"name": "Chef Jansen", "email": "Chef@Firma.example", "company": "Firma BV"}},
                {"identity": "bob@example.nl", "name": "Bob"},
            ]),
        )
        .await;
    assert_eq!(answer["impact_reviews_scheduled"], 1, "{answer}");
    let badge = answer["credentials"][0]["id"].as_str().unwrap().to_string();
    sender.send_mail_round().await.unwrap();
    let awarded = smtp.received().len();

    // Not due before six weeks (the default); due after.
    assert_eq!(app.service.review_round().await.unwrap().invited, 0);
    app.service.clock().advance(6 * WEEK - time::Duration::hours(1));
    assert_eq!(app.service.review_round().await.unwrap().invited, 0);
    app.service.clock().advance(time::Duration::hours(2));
    let round = app.service.review_round().await.unwrap();
    assert_eq!((round.invited, round.reminded), (1, 0));
    assert_eq!(app.service.review_round().await.unwrap().invited, 0, "invited once");
    sender.send_mail_round().await.unwrap();
    let got = smtp.received();
    assert_eq!(got.len(), awarded + 1);
    let invitation = &got[awarded];
    assert_eq!(invitation.to(), "chef@firma.example");
    assert_eq!(invitation.subject(), "Past Ann de Vries ‘Smeren’ toe in het werk?");
    assert!(invitation.0["list_unsubscribe"].is_null(), "the manager is not the learner who may opt out");
    let link = review_link(invitation);
    assert!(link.starts_with(&format!("{}/impact/mbr_", app.base)), "{link}");

    // A forged link leads nowhere; the real one shows the form (opening it changes nothing).
    let forged = format!("{}x", &link[..link.len() - 1]);
    assert_eq!(app.client.get(&forged).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let page = app.client.get(format!("{link}?lang=en")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Ann de Vries completed “Smeren” with Techniek Twente"), "{page}");
    assert!(page.contains("<label for=\"example\">"), "labelled fields");

    // One reminder a week later, with the same link.
    app.service.clock().advance(WEEK);
    assert_eq!(app.service.review_round().await.unwrap().reminded, 1);
    assert_eq!(app.service.review_round().await.unwrap().reminded, 0, "one reminder only");
    sender.send_mail_round().await.unwrap();
    let reminder = smtp.received().pop().unwrap();
    assert_eq!(reminder.subject(), "Herinnering: past Ann de Vries ‘Smeren’ toe in het werk?");
    assert_eq!(review_link(&reminder), link);

    // The manager answers: an incomplete form says what is missing; then yes, once.
    let bad = form(&app.client, &format!("{link}?lang=en"), "answer=yes&example=").send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad = bad.text().await.unwrap();
    assert!(bad.contains("href=\"#example\"") && bad.contains("Give an example in your own words"), "{bad}");
    let words = "Ann smeert nu elke week volgens het plan; geen lagerschade meer.";
    let ok = form(&app.client, &link, &format!("answer=yes&example={}&follow_up=Vervolgmodule", urlencode(words)))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.text().await.unwrap().contains("Dank je wel. Ann de Vries kan je antwoord nu lezen."));
    let again = form(&app.client, &link, "answer=not_yet&example=changed").send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT, "the manager's words cannot be changed");
    sender.send_mail_round().await.unwrap();
    let told = smtp.received().pop().unwrap();
    assert_eq!((told.to(), told.subject()), ("ann@example.nl", "Je leidinggevende keek terug op ‘Smeren’"));

    // Not public before Ann has read it.
    assert!(!badge_html(&app, &badge).await.contains("Applied at work"));
    let impact = impact_of(&app, &issuer).await;
    assert_eq!(
        (impact["answered"].as_i64(), impact["yes"].as_i64(), impact["endorsed"].as_i64()),
        (Some(1), Some(1), Some(0))
    );

    // Ann reads it on her page and adds a comment; the "yes" becomes an endorsement.
    let session = learner_session(&app, &smtp, &sender, "ann@example.nl").await;
    let page = my_page(&app, &session).await;
    assert!(page.contains("Your manager&#39;s look back") || page.contains("Your manager's look back"), "{page}");
    assert!(page.contains("Chef Jansen, Firma BV") && page.contains("geen lagerschade meer"), "{page}");
    assert!(page.contains("I have read this"));
    let review = review_id_of(&page);
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let seen = form(
        &browser,
        &format!("{}/me/reviews/{review}/seen", app.base),
        &format!("csrf={}&comment=Dank+je%21", csrf_of(&page)),
    )
    .header("cookie", &session)
    .send()
    .await
    .unwrap();
    assert_eq!(seen.status(), StatusCode::SEE_OTHER);
    let page = my_page(&app, &session).await;
    assert!(page.contains("Published as a signed endorsement") && page.contains("Dank je!"), "{page}");
    assert!(!page.contains("I have read this"), "read once");

    // The badge page says so and links the endorsement.
    let html = badge_html(&app, &badge).await;
    assert!(html.contains("Applied at work") && html.contains("confirmed by Chef Jansen, Firma BV"), "{html}");
    let endorsement_url = html
        .split("id=\"applied\"")
        .nth(1)
        .unwrap()
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let endorsement: Value = app
        .client
        .get(&endorsement_url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(endorsement["type"], json!(["VerifiableCredential", "EndorsementCredential"]));
    assert_eq!(endorsement["credentialSubject"]["id"], json!(badge));
    assert_eq!(endorsement["credentialSubject"]["type"], json!(["EndorsementSubject"]));
    let comment = endorsement["credentialSubject"]["endorsementComment"].as_str().unwrap();
    assert!(comment.contains("Chef Jansen (Firma BV)") && comment.contains(words), "{comment}");
    let text = endorsement.to_string();
    assert!(!text.contains("ann@example.nl") && !text.contains("chef@firma"), "no addresses in the endorsement");
    // Its HTML view is the badge's page.
    let browser_html = browser.get(&endorsement_url).header("accept", "text/html").send().await.unwrap();
    assert_eq!(browser_html.status(), StatusCode::SEE_OTHER);

    // Our verifier and the reference JavaScript stack accept it; a changed word breaks it.
    let (s, report) =
        app.call(reqwest::Method::POST, "/verify", None, Some(json!({"credential": endorsement_url}))).await;
    assert_eq!((s, &report["verified"]), (StatusCode::OK, &json!(true)), "{report}");
    assert!(report.to_string().contains("EndorsementCredential JSON Schema"), "{report}");
    let mut tampered = endorsement.clone();
    tampered["credentialSubject"]["endorsementComment"] = json!(comment.replace("elke week", "elke dag"));
    let (_, profile) = app.get(&format!("/issuers/{issuer}"), None).await;
    let (_, jwks) = app.get(&format!("/issuers/{issuer}/jwks.json"), None).await;
    let jwt = app.client.get(format!("{endorsement_url}.jwt")).send().await.unwrap().text().await.unwrap();
    // Judged at the service's moment (its clock was moved weeks ahead).
    let now = metrobadge::domain::time::rfc3339(app.service.clock().now());
    let results = crate::interop::js_verify(&json!({
    "documents": {profile["id"].as_str().unwrap(): profile},
    "cases": [
        {"name": "endorsement", "credential": endorsement, "now": now},
        {"name": "tampered", "credential": tampered, "now": now},
        {"name": "jwt", "jwt": jwt, "jwks": jwks, "expect_jti": endorsement_url, "expect_iss": profile["id"], "now": now},
    ]}));
    assert_eq!(
        results.iter().map(|r| (r.0.as_str(), r.1)).collect::<Vec<_>>(),
        [("endorsement", true), ("tampered", false), ("jwt", true)],
        "reference stack: {results:?}"
    );

    let impact = impact_of(&app, &issuer).await;
    assert_eq!((impact["name"].as_str(), impact["endorsed"].as_i64()), (Some("Smeren"), Some(1)));
    // The issuance report counts reviews due, answered and applied; the console shows them
    // per nanomodule to the issuer's auditors.
    let (s, report) = app.get(&format!("/api/v1/reports/issuance?issuer={issuer}"), Some(ADMIN)).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["impact_reviews"], json!({"due": 1, "answered": 1, "applied": 1}));
    let link = crate::console::invite(&app, &issuer, "auditor", "au@tt.example").await;
    let mut auditor = crate::console::accept(&app, &link, "auditor pass phrase").await;
    let page = auditor.get("/console/reports").await;
    assert!(page.body.contains("id=\"impact-applied\">1<"), "{}", page.body);
    assert!(page.body.contains("<th scope=\"row\">Smeren</th><td>0</td><td>0</td><td>1</td>"), "{}", page.body);

    // Everything about the review joins Ann's export.
    let (s, export) = app.post("/api/v1/learners/export", ADMIN, json!({"identity": "ann@example.nl"})).await;
    assert_eq!(s, StatusCode::OK);
    let r = &export["impact_reviews"][0];
    assert_eq!((r["answer"].as_str(), r["learner_comment"].as_str()), (Some("yes"), Some("Dank je!")), "{export}");
    assert_eq!(r["manager"]["email"], "chef@firma.example");
    assert!(export["credentials"].as_array().unwrap().iter().any(|c| c["kind"] == "endorsement"));

    // Revocable like any credential: the confirmation leaves the page and the count.
    let id = endorsement_url.rsplit('/').next().unwrap();
    let (s, body) = app.post(&format!("/api/v1/credentials/{id}/revoke"), ADMIN, json!({"reason": "in error"})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(!badge_html(&app, &badge).await.contains("Applied at work"));
    assert_eq!(impact_of(&app, &issuer).await["endorsed"], 0);
    let (_, report) =
        app.call(reqwest::Method::POST, "/verify", None, Some(json!({"credential": endorsement_url}))).await;
    assert_eq!(report["verified"], false, "{report}");

    // Erasure forgets the review.
    let (s, _) = app.post("/api/v1/learners/erase", ADMIN, json!({"identity": "ann@example.nl"})).await;
    assert_eq!(s, StatusCode::OK);
    let left = app.store.query_text("SELECT manager_email FROM impact_review").await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn impact_review_expires_cancels_and_stays_private(app: TestApp) {
    let smtp = SmtpServer::start();
    let sender = app.service.clone().with_mailer(smtp.mailer());
    let (issuer, nm) = module(&app, None).await;
    let (s, body) = app.patch(&format!("/api/v1/nanomodules/{nm}"), ADMIN, json!({"impact_review_weeks": 4})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let manager = |m: &str| json!({"email": format!("{m}@firma.example"), "company": "Firma"});
    let answer = app
        .award(
            &nm,
            json!([
                {"identity": "a@example.nl", "manager": manager("ma")},
                {"identity": "b@example.nl", "manager": manager("mb")},
                {"identity": "c@example.nl", "manager": manager("mc")},
            ]),
        )
        .await;
    assert_eq!(answer["impact_reviews_scheduled"], 3);
    // A module without reviews schedules none, managers or not.
    let quiet = app.module(&issuer, "Zonder terugblik").await;
    let (s, _) = app.patch(&format!("/api/v1/nanomodules/{quiet}"), ADMIN, json!({"impact_review": false})).await;
    assert_eq!(s, StatusCode::OK);
    let none = app.award(&quiet, json!([{"identity": "a@example.nl", "manager": manager("ma")}])).await;
    assert_eq!(none["impact_reviews_scheduled"], 0);

    // B's badge is revoked: no review for it.
    let b = answer["credentials"][1]["id"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let (s, _) = app.post(&format!("/api/v1/credentials/{b}/revoke"), ADMIN, json!({"reason": "wrong person"})).await;
    assert_eq!(s, StatusCode::OK);
    sender.send_mail_round().await.unwrap();
    let before = smtp.received().len();
    app.service.clock().advance(4 * WEEK + time::Duration::minutes(1));
    let round = app.service.review_round().await.unwrap();
    assert_eq!((round.invited, round.cancelled), (2, 1), "{round:?}");
    sender.send_mail_round().await.unwrap();
    let invitations: Vec<Received> = smtp.received().into_iter().skip(before).collect();
    let mut to: Vec<&str> = invitations.iter().map(|m| m.to()).collect();
    to.sort();
    assert_eq!(to, ["ma@firma.example", "mc@firma.example"]);

    // A's manager answers "partly": private feedback, never an endorsement.
    let link_a = review_link(invitations.iter().find(|m| m.to() == "ma@firma.example").unwrap());
    let ok = form(&app.client, &link_a, "answer=partly&example=Soms+nog+vergeten").send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let session = learner_session(&app, &smtp, &sender, "a@example.nl").await;
    let page = my_page(&app, &session).await;
    assert!(page.contains("Partly") && page.contains("Soms nog vergeten"), "{page}");
    let review = review_id_of(&page);
    let seen = learner_post(
        &app,
        &session,
        &format!("{}/me/reviews/{review}/seen", app.base),
        &format!("csrf={}", csrf_of(&page)),
    )
    .await;
    assert!(seen.status().is_success() || seen.status().is_redirection());
    let a_badge = answer["credentials"][0]["id"].as_str().unwrap();
    assert!(!badge_html(&app, a_badge).await.contains("Applied at work"));
    // Another learner cannot read or mark A's review.
    let other = learner_session(&app, &smtp, &sender, "c@example.nl").await;
    assert!(!my_page(&app, &other).await.contains("Soms nog vergeten"));
    let foreign = learner_post(
        &app,
        &other,
        &format!("{}/me/reviews/{review}/seen", app.base),
        &format!("csrf={}", csrf_of(&my_page(&app, &other).await)),
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);

    // C's manager never answers: reminded after a week, expired after four.
    app.service.clock().advance(WEEK);
    assert_eq!(app.service.review_round().await.unwrap().reminded, 1);
    app.service.clock().advance(3 * WEEK);
    let round = app.service.review_round().await.unwrap();
    assert_eq!((round.expired, round.reminded), (1, 0));
    let link_c = review_link(invitations.iter().find(|m| m.to() == "mc@firma.example").unwrap());
    let closed = app.client.get(format!("{link_c}?lang=en")).send().await.unwrap().text().await.unwrap();
    assert!(closed.contains("This review is closed"), "{closed}");
    let late = form(&app.client, &link_c, "answer=yes&example=late").send().await.unwrap();
    assert_eq!(late.status(), StatusCode::CONFLICT);

    let impact = impact_of(&app, &issuer).await;
    for (k, n) in [("answered", 1), ("partly", 1), ("yes", 0), ("expired", 1), ("cancelled", 1), ("endorsed", 0)] {
        assert_eq!(impact[k], n, "{k}: {impact}");
    }
    let (_, report) = app.get(&format!("/api/v1/reports/issuance?issuer={issuer}"), Some(ADMIN)).await;
    assert_eq!(
        report["impact_reviews"],
        json!({"due": 2, "answered": 1, "applied": 0}),
        "withdrawn ones never came due"
    );

    // C names a manager again from their page: a new review, due now (the weeks have passed).
    // (Weeks passed: C's session has ended; C signs in again.)
    let other = learner_session(&app, &smtp, &sender, "c@example.nl").await;
    let page = my_page(&app, &other).await;
    let c_id = answer["credentials"][2]["id"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let asked = learner_post(
        &app,
        &other,
        &format!("{}/me/credentials/{c_id}/manager?lang=en", app.base),
        &format!("csrf={}&name=Nieuwe+Chef&email=nieuw%40firma.example&company=Firma", csrf_of(&page)),
    )
    .await;
    assert_eq!(asked.status(), StatusCode::OK);
    assert!(asked.text().await.unwrap().contains("Your manager will be asked"));
    assert_eq!(app.service.review_round().await.unwrap().invited, 1);
    sender.send_mail_round().await.unwrap();
    let invitation = smtp.received().into_iter().rev().find(|m| m.to() == "nieuw@firma.example").unwrap();
    assert!(invitation.text().contains("Beste Nieuwe Chef,"), "{}", invitation.text());

    let again = learner_post(
        &app,
        &other,
        &format!("{}/me/credentials/{c_id}/manager?lang=en", app.base),
        &format!("csrf={}&email=nog%40firma.example", csrf_of(&page)),
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT, "one open review per badge");

    // That manager says yes; once C has read it, C's badge is endorsed — and revoking the
    // badge revokes the endorsement with it.
    let ok =
        form(&app.client, &review_link(&invitation), "answer=yes&example=Past+het+dagelijks+toe").send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let page = my_page(&app, &other).await;
    let review = page.split("/me/reviews/").filter_map(|p| p.split('/').next()).last().unwrap().to_string();
    let seen = learner_post(
        &app,
        &other,
        &format!("{}/me/reviews/{review}/seen", app.base),
        &format!("csrf={}", csrf_of(&page)),
    )
    .await;
    assert!(seen.status().is_success() || seen.status().is_redirection());
    let c_url = answer["credentials"][2]["id"].as_str().unwrap();
    assert!(badge_html(&app, c_url).await.contains("confirmed by Nieuwe Chef, Firma"));
    let (s, _) = app.post(&format!("/api/v1/credentials/{c_id}/revoke"), ADMIN, json!({"reason": "fraud"})).await;
    assert_eq!(s, StatusCode::OK);
    let endorsement =
        app.store.query_text("SELECT revocation_reason FROM credential WHERE endorsed_id IS NOT NULL").await.unwrap();
    assert_eq!(endorsement, ["the endorsed badge was revoked"]);
    let twice = learner_post(
        &app,
        &other,
        &format!("{}/me/credentials/{c_id}/manager?lang=en", app.base),
        &format!("csrf={}&email=nog%40firma.example", csrf_of(&page)),
    )
    .await;
    assert_eq!(twice.status(), StatusCode::UNPROCESSABLE_ENTITY, "a revoked badge has no review");
}

/// Migration 0019 rebuilds SQLite's credential table (a CHECK cannot change in place) while
/// certificates and their components reference it: a database with badges and a certificate
/// keeps every row and every reference, on both backends.
async fn migration_keeps_credentials(backend: crate::harness::Backend) {
    let db = std::sync::Arc::new(crate::harness::TestDb::create(backend).await);
    let store = metrobadge::store::Store::open(&db.url).await.unwrap();
    store.migrate_to(18).await.unwrap();
    let app = TestApp::start_on(store, db.clone(), crate::harness::TEST_MASTER_KEY).await;
    let l = crate::stacking::line(&app).await;
    app.award_one(&l.a, "jan@example.nl").await;
    let done = app.award_one(&l.b, "jan@example.nl").await;
    let certificate = done["certificates"][0]["certificate"].as_str().expect("a certificate").to_string();
    let count = |sql: &'static str| {
        let store = app.store.clone();
        async move { store.query_text(sql).await.unwrap() }
    };
    let rows = "SELECT sha256 || status_index || signed FROM credential ORDER BY created_at, sha256";
    let before = (count(rows).await, count("SELECT CAST(COUNT(*) AS TEXT) FROM certificate_component").await);
    assert_eq!(before.0.len(), 3);

    app.store.migrate().await.unwrap();
    let after = (count(rows).await, count("SELECT CAST(COUNT(*) AS TEXT) FROM certificate_component").await);
    assert_eq!(before, after);
    if backend == crate::harness::Backend::Sqlite {
        assert!(count("SELECT 'broken' FROM pragma_foreign_key_check").await.is_empty(), "references intact");
        assert_eq!(count("SELECT CAST(foreign_keys AS TEXT) FROM pragma_foreign_keys").await, ["1"]);
    }
    let (s, report) = app.call(reqwest::Method::POST, "/verify", None, Some(json!({"credential": certificate}))).await;
    assert_eq!((s, &report["verified"]), (StatusCode::OK, &json!(true)), "{report}");
    // A row with no origin, or two, is refused by the new check.
    let orphan = app
        .store
        .execute_raw("UPDATE credential SET award_id = NULL WHERE metro_line_id IS NULL AND endorsed_id IS NULL")
        .await;
    assert!(orphan.is_err(), "every credential has exactly one origin");
    app.stop().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impact_migration_keeps_credentials_sqlite() {
    migration_keeps_credentials(crate::harness::Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impact_migration_keeps_credentials_postgres() {
    migration_keeps_credentials(crate::harness::Backend::Postgres).await
}
