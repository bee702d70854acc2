//! The web console over real HTTP: invitation → password → session cookie → award a cohort
//! (Check, then an idempotent Award) → result, CSV, QR sheet → revoke; and its defences (CSRF,
//! issuer isolation, lockout, idle timeout with the service clock moved, sign-out).

use std::collections::HashMap;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::json;

use crate::harness::{ADMIN, TestApp, both};

both!(trainer_awards_a_cohort_in_the_console);
both!(console_refuses_forged_forms_and_other_issuers);
both!(console_sign_in_lockout_timeouts_and_sign_out);

/// A browser without JavaScript: keeps cookies, follows nothing by itself.
pub struct Browser {
    base: String,
    client: reqwest::Client,
    pub cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// The value of the hidden input `name` (the first one).
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let at = self.body.find(&marker).unwrap_or_else(|| panic!("no {name} field in {}", self.body)) + marker.len();
        self.body[at..].split('"').next().unwrap().to_string()
    }

    pub fn location(&self) -> String {
        self.headers.get(LOCATION).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            base: app.base.clone(),
            client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            cookies: HashMap::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") { path.to_string() } else { format!("{}{path}", self.base) }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn finish(&mut self, resp: reqwest::Response) -> Page {
        for v in resp.headers().get_all(SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = pair.split_once('=').unwrap();
            if val.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), val.to_string());
            }
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        Page { status, headers, body: resp.text().await.unwrap() }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let resp = self
            .client
            .get(self.url(path))
            .header("cookie", self.cookie_header())
            .header("accept-language", "en")
            .send()
            .await
            .unwrap();
        self.finish(resp).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let resp =
            self.client.post(self.url(path)).header("cookie", self.cookie_header()).form(form).send().await.unwrap();
        self.finish(resp).await
    }

    pub async fn post_multipart(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        let resp = self
            .client
            .post(self.url(path))
            .header("cookie", self.cookie_header())
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.finish(resp).await
    }
}

/// Adds a member through the API and returns its one-time invitation link.
pub async fn invite(app: &TestApp, issuer: &str, role: &str, email: &str) -> String {
    let (status, body) = app
        .post(
            &format!("/api/v1/issuers/{issuer}/members"),
            ADMIN,
            json!({"name": format!("{role} {email}"), "email": email, "role": role}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["console"], "invited", "{body}");
    body["invitation_url"].as_str().unwrap().to_string()
}

/// Follows an invitation link, sets a password and returns the signed-in browser.
pub async fn accept(app: &TestApp, link: &str, password: &str) -> Browser {
    let mut b = Browser::new(app);
    let page = b.get(link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let pre = page.hidden("pre");
    let done = b.post(link, &[("pre", &pre), ("password", password)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(b.cookies.contains_key("mb_session"));
    b
}

async fn submit(b: &mut Browser, fields: Vec<(&'static str, String)>) -> Page {
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post_multipart("/console/award", &borrowed).await
}

async fn credential_count(app: &TestApp) -> i64 {
    app.store.query_text("SELECT CAST(COUNT(*) AS TEXT) FROM credential").await.unwrap()[0].parse().unwrap()
}

async fn trainer_awards_a_cohort_in_the_console(app: TestApp) {
    let issuer = app.issuer("Techniek Twente").await;
    let module = app.module(&issuer, "Smeren van lagers").await;
    app.module(&issuer, "Veilig werken").await;
    let link = invite(&app, &issuer, "trainer", "trainer@twente.example").await;

    // A short password is refused next to the field; the link still works afterwards.
    let mut b = Browser::new(&app);
    let page = b.get(&link).await;
    assert!(page.body.contains("trainer@twente.example"));
    let short = b.post(&link, &[("pre", &page.hidden("pre")), ("password", "short")]).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.body.contains("at least 12 characters"), "{}", short.body);
    let mut b = accept(&app, &link, "a sentence I remember").await;
    // Used once: the link is gone.
    assert_eq!(Browser::new(&app).get(&link).await.status, StatusCode::NOT_FOUND);
    let set = b.get("/console").await;
    assert_eq!(set.status, StatusCode::OK);
    assert!(set.body.contains("Smeren van lagers") && set.body.contains("Veilig werken"), "{}", set.body);
    assert_eq!(set.headers["cache-control"], "no-store");
    assert!(set.headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    // Search narrows the list.
    let found = b.get("/console?q=smeren").await;
    assert!(found.body.contains("Smeren van lagers") && !found.body.contains("Veilig werken"));

    let form = b.get(&format!("/console/award?module={module}")).await;
    let (csrf, key) = (form.hidden("csrf"), form.hidden("key"));
    let rows_bad = "Ann de Vries\tann@example.nl\nBob Bakker\tbob(at)example.nl\nCarla\tcarla@example.nl";
    let fields = |rows: &str, action: &str| -> Vec<(&'static str, String)> {
        vec![
            ("csrf", csrf.clone()),
            ("key", key.clone()),
            ("module", module.clone()),
            ("session_date", "2026-11-27".to_string()),
            ("session_location", "Hengelo".to_string()),
            ("rows", rows.to_string()),
            ("action", action.to_string()),
        ]
    };
    let check = submit(&mut b, fields(rows_bad, "check")).await;
    assert_eq!(check.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", check.body);
    assert!(check.body.contains("Row 2"), "{}", check.body);
    assert!(check.body.contains("bob(at)example.nl"), "the rows come back to be fixed");
    assert_eq!(credential_count(&app).await, 0);

    let rows_ok = "Ann de Vries\tann@example.nl\nBob Bakker\tbob@example.nl\nCarla\tcarla@example.nl";
    let check = submit(&mut b, fields(rows_ok, "check")).await;
    assert_eq!(check.status, StatusCode::OK, "{}", check.body);
    assert!(check.body.contains("Every row is ready"), "{}", check.body);
    assert_eq!(credential_count(&app).await, 0, "Check issues nothing");

    // Award twice with the same form (a double click): one award, same answer.
    let first = submit(&mut b, fields(rows_ok, "award")).await;
    let second = submit(&mut b, fields(rows_ok, "award")).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    assert_eq!(first.location(), second.location());
    assert_eq!(credential_count(&app).await, 3);

    let result = b.get(&first.location()).await;
    assert_eq!(result.status, StatusCode::OK);
    let links: Vec<&str> = result
        .body
        .match_indices("class=\"wrap badge-link\" href=\"")
        .map(|(i, m)| {
            let rest = &result.body[i + m.len()..];
            rest.split('"').next().unwrap()
        })
        .collect();
    assert_eq!(links.len(), 3, "{}", result.body);
    for l in &links {
        assert!(l.starts_with(&format!("{}/credentials/", app.base)));
    }
    let csv = b.get(&format!("{}/links.csv", first.location())).await;
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(csv.body.lines().count(), 4);
    assert!(csv.body.contains("bob@example.nl") && csv.body.contains(links[1]));
    let sheet = b.get(&format!("{}/sheet", first.location())).await;
    assert_eq!(sheet.body.matches("<svg").count(), 3, "one QR code per participant");

    // Revoke one within the trainer's 24 hours, with a reason.
    let id = links[0].rsplit('/').next().unwrap();
    let award_id = first.location().rsplit('/').next().unwrap().to_string();
    let revoked = b
        .post(
            &format!("/console/credentials/{id}/revoke"),
            &[("csrf", &result.hidden("csrf")), ("reason", "wrong participant"), ("award", &award_id)],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    let after = b.get(&first.location()).await;
    assert_eq!(after.body.matches(">revoked<").count(), 1, "{}", after.body);
    let (_, status) = app.get(&format!("/api/v1/credentials/{id}/status"), Some(ADMIN)).await;
    assert_eq!(status["status"], "revoked", "{status}");

    // Dutch, and the choice is remembered.
    let nl = b.get("/console?lang=nl").await;
    assert!(nl.body.contains("Recente uitreikingen") && nl.body.contains("lang=\"nl\""), "{}", nl.body);
    assert_eq!(b.cookies.get("mb_lang").map(String::as_str), Some("nl"));
    let again = b.get(&first.location()).await;
    assert!(again.body.contains("ingetrokken") && again.body.contains("Afdrukvel met QR-codes"), "{}", again.body);
}

async fn console_refuses_forged_forms_and_other_issuers(app: TestApp) {
    let a = app.issuer("Techniek Twente").await;
    let b_issuer = app.issuer("Zorg Zwolle").await;
    let module = app.module(&a, "Smeren").await;
    let mut trainer = accept(&app, &invite(&app, &a, "trainer", "t@twente.example").await, "twente trainer pass").await;
    let mut other =
        accept(&app, &invite(&app, &b_issuer, "issuer_admin", "a@zwolle.example").await, "zwolle admin pass").await;

    let form = trainer.get(&format!("/console/award?module={module}")).await;
    let key = form.hidden("key");
    let fields =
        |csrf: &'static str| vec![("csrf", csrf), ("module", ""), ("rows", "ann@example.nl"), ("action", "award")];
    // Without and with a wrong CSRF token: refused, nothing issued.
    for csrf in ["", "0123456789abcdef"] {
        let mut f = fields(csrf);
        f[1].1 = &module;
        f.push(("key", &key));
        let page = trainer.post_multipart("/console/award", &f).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    }
    assert_eq!(credential_count(&app).await, 0);
    let signed_out = trainer.post("/console/sign-out", &[("csrf", "forged")]).await;
    assert_eq!(signed_out.status, StatusCode::FORBIDDEN);
    assert_eq!(trainer.get("/console").await.status, StatusCode::OK);

    // Another issuer's admin sees nothing of this issuer: not its modules, not its awards.
    let csrf = form.hidden("csrf");
    let ok = trainer
        .post_multipart(
            "/console/award",
            &[("csrf", &csrf), ("key", &key), ("module", &module), ("rows", "ann@example.nl"), ("action", "award")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let award = ok.location();
    let home = other.get("/console").await;
    assert!(!home.body.contains("Smeren"), "{}", home.body);
    for path in [award.clone(), format!("{award}/links.csv"), format!("{award}/sheet")] {
        let page = other.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}: {}", page.body);
        assert!(!page.body.contains("ann@example.nl"));
    }
    let theirs = other.get(&format!("/console/award?module={module}")).await;
    assert!(!theirs.body.contains("Smeren"));
    let other_csrf = home.hidden("csrf");
    let forged = other
        .post_multipart(
            "/console/award",
            &[
                ("csrf", &other_csrf),
                ("key", "k2"),
                ("module", &module),
                ("rows", "eve@example.nl"),
                ("action", "award"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND, "{}", forged.body);
    assert_eq!(credential_count(&app).await, 1);
}

async fn console_sign_in_lockout_timeouts_and_sign_out(app: TestApp) {
    let issuer = app.issuer("Techniek Twente").await;
    accept(&app, &invite(&app, &issuer, "auditor", "audit@example.org").await, "auditor passphrase").await;
    async fn try_sign_in(b: &mut Browser, password: &str) -> Page {
        let page = b.get("/console").await;
        let pre = page.hidden("pre");
        b.post("/console/sign-in", &[("pre", &pre), ("email", "Audit@Example.org"), ("password", password)]).await
    }

    // A form without the pre-session cookie (posted from elsewhere) is refused.
    let mut stranger = Browser::new(&app);
    let forged = stranger
        .post("/console/sign-in", &[("pre", "x"), ("email", "audit@example.org"), ("password", "auditor passphrase")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let mut b = Browser::new(&app);
    let ok = try_sign_in(&mut b, "auditor passphrase").await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let cookie =
        ok.headers.get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap()).find(|c| c.starts_with("mb_session="));
    let cookie = cookie.unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http test server: no Secure flag");
    let first_session = b.cookies["mb_session"].clone();

    // Rotation: a second sign-in gets a new session; the first still lives until sign-out.
    let mut phone = Browser::new(&app);
    assert_eq!(try_sign_in(&mut phone, "auditor passphrase").await.status, StatusCode::SEE_OTHER);
    assert_ne!(phone.cookies["mb_session"], first_session);
    assert!(b.get("/console").await.body.contains("Sign out"));

    // Idle timeout: 31 minutes later (the service clock moves, nobody sleeps) the session is over.
    app.service.clock().advance(time::Duration::minutes(31));
    let page = b.get("/console").await;
    assert!(page.body.contains("name=\"password\""), "back at the sign-in page: {}", page.body);
    assert!(!page.body.contains("Sign out"));

    // Sign out everywhere from one device ends the other's session too.
    let mut laptop = Browser::new(&app);
    try_sign_in(&mut laptop, "auditor passphrase").await;
    let mut tablet = Browser::new(&app);
    try_sign_in(&mut tablet, "auditor passphrase").await;
    let home = laptop.get("/console").await;
    let out = laptop.post("/console/sign-out", &[("csrf", &home.hidden("csrf")), ("everywhere", "1")]).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(!laptop.cookies.contains_key("mb_session"));
    assert!(tablet.get("/console").await.body.contains("name=\"password\""));

    // Five wrong passwords lock the account: then even the right one fails, for 15 minutes.
    let mut attacker = Browser::new(&app);
    for _ in 0..5 {
        let page = try_sign_in(&mut attacker, "guess guess guess").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
    }
    let locked = try_sign_in(&mut Browser::new(&app), "auditor passphrase").await;
    assert_eq!(locked.status, StatusCode::UNAUTHORIZED, "locked: {}", locked.body);
    app.service.clock().advance(time::Duration::minutes(16));
    let again = try_sign_in(&mut Browser::new(&app), "auditor passphrase").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);

    // An unknown address fails exactly like a wrong password.
    let mut b = Browser::new(&app);
    let page = b.get("/console").await;
    let unknown = b
        .post(
            "/console/sign-in",
            &[("pre", &page.hidden("pre")), ("email", "nobody@example.org"), ("password", "whatever it is")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(unknown.body.contains("or the account is locked"));

    // A removed member's sessions end at once.
    let (_, members) = app.get(&format!("/api/v1/issuers/{issuer}/members"), Some(ADMIN)).await;
    let member = members["members"][0]["id"].as_str().unwrap().to_string();
    let mut kept = Browser::new(&app);
    try_sign_in(&mut kept, "auditor passphrase").await;
    let (s, _) = app
        .call(reqwest::Method::DELETE, &format!("/api/v1/issuers/{issuer}/members/{member}"), Some(ADMIN), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(kept.get("/console").await.body.contains("name=\"password\""));
}

both!(issuer_admin_resets_a_password_with_a_new_link);

/// A reset: a new one-time link, the old password and sessions stop at once; an address that
/// already signs in elsewhere becomes an API-only member, and the answer says so.
async fn issuer_admin_resets_a_password_with_a_new_link(app: TestApp) {
    let a = app.issuer("Techniek Twente").await;
    let b_issuer = app.issuer("Zorg Zwolle").await;
    let old_link = invite(&app, &a, "trainer", "kim@example.org").await;
    let mut b = accept(&app, &old_link, "first password of kim").await;
    let (_, members) = app.get(&format!("/api/v1/issuers/{a}/members"), Some(ADMIN)).await;
    let kim = members["members"][0]["id"].as_str().unwrap().to_string();

    // Another issuer's admin cannot reset Kim.
    let other_admin = app.member(&b_issuer, "issuer_admin").await;
    let (s, _) = app.post(&format!("/api/v1/issuers/{a}/members/{kim}/invitation"), &other_admin, json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, reset) = app.post(&format!("/api/v1/issuers/{a}/members/{kim}/invitation"), ADMIN, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{reset}");
    let link = reset["invitation_url"].as_str().unwrap();
    assert_ne!(link, old_link);
    assert!(b.get("/console").await.body.contains("name=\"password\""), "the session ended with the reset");
    let mut fresh = Browser::new(&app);
    let page = fresh.get("/console").await;
    let refused = fresh
        .post(
            "/console/sign-in",
            &[("pre", &page.hidden("pre")), ("email", "kim@example.org"), ("password", "first password of kim")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "the old password stopped working");
    accept(&app, link, "second password of kim").await;

    let (s, body) = app
        .post(
            &format!("/api/v1/issuers/{b_issuer}/members"),
            ADMIN,
            json!({"name": "Kim", "email": "KIM@example.org", "role": "trainer"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["console"], "address_signs_in_elsewhere");
    assert!(body.get("invitation_url").is_none() && body["token"].is_string());
    app.stop().await;
}

both!(admin_invites_and_auditor_audits_in_the_console);

/// The platform admin creates an issuer and invites its people; the issuer admin manages its
/// own members only; the auditor filters the trail, verifies the chain and downloads exports;
/// a trainer sees none of that.
async fn admin_invites_and_auditor_audits_in_the_console(app: TestApp) {
    let link = app
        .service
        .create_admin_account(&metrobadge::domain::audit::Actor::cli(), "root@example.org", "Root")
        .await
        .unwrap();
    let mut admin = accept(&app, &link.url, "platform admin passphrase").await;
    let home = admin.get("/console").await;
    let csrf = home.hidden("csrf");
    let created = admin.post("/console/issuers", &[("csrf", &csrf), ("name", "Techniek Twente"), ("url", "")]).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let issuer_page = created.location();
    let issuer = issuer_page.rsplit('/').next().unwrap().to_string();
    assert!(admin.get("/console/issuers").await.body.contains("Techniek Twente"));
    // A platform token for scripts: shown once, works, revoked.
    let made = admin.post("/console/platform-tokens", &[("csrf", &csrf), ("label", "nightly export")]).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let marker = "id=\"token-secret\" readonly value=\"";
    let at = made.body.find(marker).unwrap() + marker.len();
    let secret = made.body[at..].split('"').next().unwrap().to_string();
    assert_eq!(app.get("/api/v1/issuers", Some(&secret)).await.0, StatusCode::OK);
    let (_, tokens) = app.get("/api/v1/tokens", Some(ADMIN)).await;
    let tid = tokens["tokens"].as_array().unwrap().iter().find(|t| t["label"] == "nightly export").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let revoked = admin.post(&format!("/console/platform-tokens/{tid}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get("/api/v1/issuers", Some(&secret)).await.0, StatusCode::UNAUTHORIZED);

    let mut links = HashMap::new();
    for (role, email) in
        [("trainer", "t@twente.example"), ("issuer_admin", "ia@twente.example"), ("auditor", "au@twente.example")]
    {
        let page = admin
            .post(
                &format!("{issuer_page}/members"),
                &[("csrf", &csrf), ("name", role), ("email", email), ("role", role)],
            )
            .await;
        assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
        let marker = "id=\"invitation-link\" readonly value=\"";
        let at = page.body.find(marker).unwrap() + marker.len();
        links.insert(role, page.body[at..].split('"').next().unwrap().to_string());
    }
    let mut trainer = accept(&app, &links["trainer"], "trainer passphrase").await;
    let mut issuer_admin = accept(&app, &links["issuer_admin"], "issuer admin passphrase").await;
    let mut auditor = accept(&app, &links["auditor"], "auditor passphrase").await;

    // The issuer admin sees and manages its own members; not another issuer's.
    let other = app.issuer("Zorg Zwolle").await;
    let own = issuer_admin.get(&issuer_page).await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(own.body.contains("au@twente.example") && own.body.contains("auditor"));
    assert_eq!(issuer_admin.get(&format!("/console/issuers/{other}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(issuer_admin.get("/console/issuers").await.status, StatusCode::FORBIDDEN);
    // The public profile, edited by the issuer's admin (the API's validation and audit event).
    let profile = issuer_admin
        .post(
            &format!("{issuer_page}/profile"),
            &[
                ("csrf", &own.hidden("csrf")),
                ("name", "Techniek Twente"),
                ("url", "https://techniektwente.example"),
                ("email", "info@techniektwente.example"),
                ("description", "Opleidingen voor de maakindustrie"),
            ],
        )
        .await;
    assert_eq!(profile.status, StatusCode::SEE_OTHER, "{}", profile.body);
    assert!(issuer_admin.get(&profile.location()).await.body.contains("The profile is saved"));
    let (_, view) = app.get(&format!("/api/v1/issuers/{issuer}"), Some(ADMIN)).await;
    assert_eq!(view["description"], "Opleidingen voor de maakindustrie", "{view}");
    let bad = issuer_admin
        .post(
            &format!("{issuer_page}/profile"),
            &[("csrf", &own.hidden("csrf")), ("name", "X"), ("url", "javascript:alert(1)")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(trainer.get(&issuer_page).await.status, StatusCode::FORBIDDEN);
    assert_eq!(trainer.get("/console/audit").await.status, StatusCode::FORBIDDEN);

    // Some activity: the trainer awards two, the issuer admin revokes one.
    let module = app.module(&issuer, "Smeren").await;
    let form = trainer.get(&format!("/console/award?module={module}")).await;
    let awarded = trainer
        .post_multipart(
            "/console/award",
            &[
                ("csrf", &form.hidden("csrf")),
                ("key", &form.hidden("key")),
                ("module", &module),
                ("rows", "ann@example.nl\nbob@example.nl"),
                ("action", "award"),
            ],
        )
        .await;
    assert_eq!(awarded.status, StatusCode::SEE_OTHER, "{}", awarded.body);
    let result = issuer_admin.get(&awarded.location()).await;
    let first = result.body.split("/console/credentials/").nth(1).unwrap().split('/').next().unwrap().to_string();
    let award_id = awarded.location().rsplit('/').next().unwrap().to_string();
    let revoked = issuer_admin
        .post(
            &format!("/console/credentials/{first}/revoke"),
            &[("csrf", &result.hidden("csrf")), ("reason", "duplicate"), ("award", &award_id)],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);

    // The auditor: filters, details, verification, downloads.
    let all = auditor.get("/console/audit").await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(all.body.contains("member.added") && all.body.contains("credential.revoked"), "{}", all.body);
    let status_changes = auditor.get("/console/audit?action=credential.revoked").await;
    assert_eq!(status_changes.body.matches("class=\"event-action\"").count(), 1, "{}", status_changes.body);
    let subject = auditor.get(&format!("/console/audit?subject={first}")).await;
    assert_eq!(subject.body.matches("class=\"event-action\"").count(), 2, "issued and revoked: {}", subject.body);
    let today = time::OffsetDateTime::now_utc().date();
    let later = auditor.get(&format!("/console/audit?from={}", today + time::Duration::days(2))).await;
    assert!(later.body.contains("No events match"));
    let bad = auditor.get("/console/audit?from=yesterday").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let paged = auditor.get("/console/audit?action=credential.").await;
    assert_eq!(paged.body.matches("class=\"event-action\"").count(), 3);
    assert!(!all.body.contains("Zorg Zwolle"), "nothing of another issuer");

    let verified = auditor.get("/console/audit/verify").await;
    assert_eq!(verified.status, StatusCode::OK);
    assert!(verified.body.contains("The chain is intact"), "{}", verified.body);
    let csv = auditor.get("/console/audit/export.csv").await;
    assert!(csv.headers["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert!(csv.body.starts_with("seq,occurred_at") && csv.body.contains("credential.revoked"));
    assert!(!csv.body.contains(&other), "the export holds this issuer's chain only");
    app.service.create_checkpoint(None).await.unwrap();
    let ndjson = auditor.get("/console/audit/export.ndjson").await;
    assert!(ndjson.body.lines().last().unwrap().starts_with("{\"proof\""), "{}", ndjson.body);

    // Removing a member in the console ends their access.
    let members = issuer_admin.get(&issuer_page).await;
    let (_, list) = app.get(&format!("/api/v1/issuers/{issuer}/members"), Some(ADMIN)).await;
    let trainer_id = list["members"].as_array().unwrap().iter().find(|m| m["role"] == "trainer").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let gone = issuer_admin
        .post(&format!("{issuer_page}/members/{trainer_id}/remove"), &[("csrf", &members.hidden("csrf"))])
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert!(trainer.get("/console").await.body.contains("name=\"password\""));
    assert_eq!(
        admin.get(&format!("/console/issuers/{other}")).await.status,
        StatusCode::OK,
        "the admin sees every issuer"
    );
}

both!(issuer_admin_finds_and_changes_credentials);

/// Credentials: search by learner, module and status; suspend two at once with a reason, then
/// reinstate one from its history page; auditors read only; trainers and other issuers see
/// nothing.
async fn issuer_admin_finds_and_changes_credentials(app: TestApp) {
    let a = app.issuer("Techniek Twente").await;
    let b_issuer = app.issuer("Zorg Zwolle").await;
    let smeren = app.module(&a, "Smeren").await;
    let veilig = app.module(&a, "Veilig werken").await;
    for (module, who) in [(&smeren, "ann@example.nl"), (&smeren, "bob@example.nl"), (&veilig, "ann@example.nl")] {
        let (s, body) = app
            .post(&format!("/api/v1/nanomodules/{module}/awards"), ADMIN, json!({"recipients": [{"identity": who}]}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    let mut admin =
        accept(&app, &invite(&app, &a, "issuer_admin", "ia@twente.example").await, "issuer admin pass").await;
    let mut auditor =
        accept(&app, &invite(&app, &a, "auditor", "au@twente.example").await, "auditor pass phrase").await;
    let mut trainer =
        accept(&app, &invite(&app, &a, "trainer", "tr@twente.example").await, "trainer pass phrase").await;
    let mut other =
        accept(&app, &invite(&app, &b_issuer, "issuer_admin", "ia@zwolle.example").await, "other admin pass").await;

    let all = admin.get("/console/credentials").await;
    assert!(all.body.contains("id=\"found-count\">3 found"), "{}", all.body);
    let ann = admin.get("/console/credentials?identity=ANN@example.nl").await;
    assert!(ann.body.contains(">2 found"), "{}", ann.body);
    let smeren_only = admin.get(&format!("/console/credentials?module={smeren}")).await;
    assert!(smeren_only.body.contains(">2 found"));
    let ids: Vec<String> = all
        .body
        .match_indices("name=\"ids\" value=\"")
        .map(|(i, m)| all.body[i + m.len()..].split('"').next().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3);

    // Without a reason: refused, nothing changed.
    let csrf = all.hidden("csrf");
    let no_reason = admin
        .post(
            "/console/credentials/status",
            &[("csrf", &csrf), ("ids", &ids[0]), ("ids", &ids[1]), ("change", "suspend")],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let suspended = admin
        .post(
            "/console/credentials/status",
            &[
                ("csrf", &csrf),
                ("ids", &ids[0]),
                ("ids", &ids[1]),
                ("change", "suspend"),
                ("reason", "under review"),
                ("back", "/console/credentials?status=suspended"),
            ],
        )
        .await;
    assert_eq!(suspended.status, StatusCode::SEE_OTHER, "{}", suspended.body);
    assert_eq!(suspended.location(), "/console/credentials?status=suspended");
    let list = admin.get(&suspended.location()).await;
    assert!(list.body.contains(">2 found"), "{}", list.body);

    let history = admin.get(&format!("/console/credentials/{}", ids[0])).await;
    assert!(history.body.contains("credential.issued") && history.body.contains("credential.suspended"));
    assert!(history.body.contains("under review"));
    let reinstated = admin
        .post(
            "/console/credentials/status",
            &[
                ("csrf", &csrf),
                ("ids", &ids[0]),
                ("change", "reinstate"),
                ("back", &format!("/console/credentials/{}", ids[0])),
            ],
        )
        .await;
    assert_eq!(reinstated.status, StatusCode::SEE_OTHER);
    let history = admin.get(&reinstated.location()).await;
    assert!(history.body.contains("credential.reinstated") && history.body.contains(">valid<"), "{}", history.body);

    // Auditors read, without the controls; their form posts are refused by the service.
    let seen = auditor.get("/console/credentials").await;
    assert!(seen.body.contains(">3 found") && !seen.body.contains("name=\"ids\""));
    let forged = auditor
        .post(
            "/console/credentials/status",
            &[("csrf", &seen.hidden("csrf")), ("ids", &ids[2]), ("change", "revoke"), ("reason", "x")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(trainer.get("/console/credentials").await.status, StatusCode::FORBIDDEN);
    assert_eq!(other.get(&format!("/console/credentials/{}", ids[2])).await.status, StatusCode::NOT_FOUND);
    let theirs = other.get("/console/credentials?identity=ann@example.nl").await;
    assert!(theirs.body.contains(">0 found"), "{}", theirs.body);
    let csrf_other = theirs.hidden("csrf");
    let cross = other
        .post(
            "/console/credentials/status",
            &[("csrf", &csrf_other), ("ids", &ids[2]), ("change", "revoke"), ("reason", "x")],
        )
        .await;
    assert_eq!(cross.status, StatusCode::NOT_FOUND);
    let (_, st) = app.get(&format!("/api/v1/credentials/{}/status", ids[2]), Some(ADMIN)).await;
    assert_eq!(st["status"], "active", "{st}");
}

both!(issuer_admin_keeps_the_catalogue_in_the_console);

/// Nanomodules in the console: create (the API's validation, every bad field named), edit as a
/// new version with the old ones still listed, a new image with its preview; trainers and other
/// issuers cannot.
async fn issuer_admin_keeps_the_catalogue_in_the_console(app: TestApp) {
    let a = app.issuer("Techniek Twente").await;
    let b_issuer = app.issuer("Zorg Zwolle").await;
    let (_, skill) = app.post(&format!("/api/v1/issuers/{a}/skills"), ADMIN, json!({"name": "Smeertechniek"})).await;
    let skill = skill["id"].as_str().unwrap().to_string();
    let mut admin =
        accept(&app, &invite(&app, &a, "issuer_admin", "ia@twente.example").await, "issuer admin pass").await;
    let mut trainer =
        accept(&app, &invite(&app, &a, "trainer", "tr@twente.example").await, "trainer pass phrase").await;

    let new = admin.get("/console/nanomodules/new").await;
    assert!(new.body.contains("Smeertechniek"), "skills to pick: {}", new.body);
    let csrf = new.hidden("csrf");
    let bad = admin
        .post("/console/nanomodules/new", &[("csrf", &csrf), ("name", "Smeren"), ("duration", "300"), ("criteria", "")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["description", "criteria", "duration_minutes"] {
        assert!(bad.body.contains(field), "{field}: {}", bad.body);
    }
    assert!(bad.body.contains("value=\"Smeren\""), "what was typed comes back");
    let made = admin
        .post(
            "/console/nanomodules/new",
            &[
                ("csrf", &csrf),
                ("name", "Smeren"),
                ("description", "Smeren van lagers"),
                ("criteria", "Smeerplan gemaakt"),
                ("duration", "180"),
                ("framework", "NLQF"),
                ("level", "2"),
                ("language", "nl"),
                ("tags", "onderhoud, lagers"),
                ("skills", &skill),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let page = made.location();
    let id = page.rsplit('/').next().unwrap().to_string();
    let (_, module) = app.get(&format!("/api/v1/nanomodules/{id}"), Some(ADMIN)).await;
    assert_eq!(module["level"], json!({"framework": "NLQF", "level": 2}));
    assert_eq!(module["tags"], json!(["onderhoud", "lagers"]));
    assert_eq!(module["skills"], json!([skill]));

    // Edit: a new version; the old one is still there.
    let edit = admin.get(&page).await;
    assert!(edit.body.contains("value=\"180\"") && edit.body.contains("checked"), "{}", edit.body);
    let too_long = admin
        .post(
            &page,
            &[("csrf", &csrf), ("name", "Smeren"), ("description", "d"), ("criteria", "c"), ("duration", "300")],
        )
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_long.body.contains("at most 4 hours"), "{}", too_long.body);
    let saved = admin
        .post(
            &page,
            &[
                ("csrf", &csrf),
                ("name", "Smeren van lagers"),
                ("description", "Smeren van lagers"),
                ("criteria", "Smeerplan gemaakt"),
                ("duration", "120"),
                ("framework", "NLQF"),
                ("level", "2"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let after = admin.get(&saved.location()).await;
    assert!(
        after.body.contains("Saved as a new version")
            && after.body.contains("version 2")
            && after.body.contains("version 1")
    );
    let (_, v1) = app.get(&format!("/nanomodules/{id}/versions/1"), None).await;
    assert_eq!(v1["name"], "Smeren");
    let (_, current) = app.get(&format!("/api/v1/nanomodules/{id}"), Some(ADMIN)).await;
    assert_eq!(
        (current["name"].as_str(), current["duration_minutes"].as_i64(), current["version"].as_i64()),
        (Some("Smeren van lagers"), Some(120), Some(2))
    );
    assert_eq!(current["tags"], json!(null), "an emptied field is removed");

    // A new image: version 3, shown as the preview.
    let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><circle cx=\"5\" cy=\"5\" r=\"4\" fill=\"#16324f\"/></svg>";
    let form = reqwest::multipart::Form::new().text("csrf", csrf.clone()).part(
        "image",
        reqwest::multipart::Part::bytes(svg.as_bytes().to_vec()).file_name("b.svg").mime_str("image/svg+xml").unwrap(),
    );
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}{page}/image", app.base))
        .header("cookie", format!("mb_session={}", admin.cookies["mb_session"]))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, current) = app.get(&format!("/api/v1/nanomodules/{id}"), Some(ADMIN)).await;
    assert_eq!(current["version"], 3);
    let image_url = current["image_url"].as_str().unwrap().to_string();
    assert!(admin.get(&page).await.body.contains(&format!("src=\"{image_url}\"")));

    // Skills: listed, created (aligned to a framework), bad links refused.
    let made = admin
        .post(
            "/console/skills",
            &[("csrf", &csrf), ("name", "Trillingsanalyse"), ("url", "http://data.europa.eu/esco/skill/abc")],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let list = admin.get("/console/skills").await;
    assert!(
        list.body.contains("Smeertechniek")
            && list.body.contains("Trillingsanalyse")
            && list.body.contains("esco/skill/abc")
    );
    let bad = admin.post("/console/skills", &[("csrf", &csrf), ("name", "X"), ("url", "ftp://x")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(trainer.get("/console/skills").await.status, StatusCode::FORBIDDEN);
    // A skills profile from those skills.
    let profile = admin
        .post("/console/skills/profiles", &[("csrf", &csrf), ("name", "Monteur onderhoud"), ("skills", &skill)])
        .await;
    assert_eq!(profile.status, StatusCode::SEE_OTHER, "{}", profile.body);
    let (_, profiles) = app.get(&format!("/api/v1/issuers/{a}/skills-profiles"), Some(ADMIN)).await;
    assert_eq!(profiles["skills_profiles"][0]["skills"], json!([skill]), "{profiles}");
    assert!(admin.get("/console/skills").await.body.contains("Monteur onderhoud"));
    let bad = admin.post("/console/skills/profiles", &[("csrf", &csrf), ("name", "X"), ("skills", "not-an-id")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Trainers award, they do not edit; another issuer's admin sees nothing.
    assert_eq!(trainer.get("/console/nanomodules/new").await.status, StatusCode::FORBIDDEN);
    assert_eq!(trainer.get(&page).await.status, StatusCode::FORBIDDEN);
    let mut other =
        accept(&app, &invite(&app, &b_issuer, "issuer_admin", "ia@zwolle.example").await, "other admin pass").await;
    assert_eq!(other.get(&page).await.status, StatusCode::NOT_FOUND);
    let other_csrf = other.get("/console").await.hidden("csrf");
    let forged = other
        .post(
            &page,
            &[("csrf", &other_csrf), ("name", "X"), ("description", "d"), ("criteria", "c"), ("duration", "60")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
}

both!(issuer_admin_keeps_metro_maps_in_the_console);

/// Metro maps have a page of their own: each map as its picture with its lines, a new map,
/// a rename; field errors from the API's validation; another issuer's map is not there.
async fn issuer_admin_keeps_metro_maps_in_the_console(app: TestApp) {
    let a = app.issuer("Techniek Twente").await;
    let b = app.issuer("Zorg Zwolle").await;
    let smeren = app.module(&a, "Smeren").await;
    let mut admin =
        accept(&app, &invite(&app, &a, "issuer_admin", "ia@twente.example").await, "issuer admin pass").await;
    let home = admin.get("/console").await;
    assert!(home.body.contains("href=\"/console/metro-maps\""), "in the navigation: {}", home.body);
    let empty = admin.get("/console/metro-maps").await;
    assert!(empty.body.contains("No metro maps yet"), "{}", empty.body);
    let csrf = empty.hidden("csrf");

    let refused = admin.post("/console/metro-maps", &[("csrf", "wrong"), ("name", "Techniek")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "a form without its CSRF token changes nothing");
    let bad = admin.post("/console/metro-maps", &[("csrf", &csrf), ("name", "  "), ("description", "Kept")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("name: must not be empty") && bad.body.contains(">Kept</textarea>"), "{}", bad.body);

    let made = admin
        .post("/console/metro-maps", &[("csrf", &csrf), ("name", "Techniek"), ("description", "Onderhoud en bouw")])
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let page = made.location();
    let map = page.rsplit('/').next().unwrap().to_string();
    let (_, stored) = app.get(&format!("/api/v1/metro-maps/{map}"), Some(ADMIN)).await;
    assert_eq!(
        (stored["name"].as_str(), stored["description"].as_str()),
        (Some("Techniek"), Some("Onderhoud en bouw"))
    );
    let shown = admin.get(&page).await;
    assert!(shown.body.contains(&format!("src=\"/metro-maps/{map}/map.svg\"")), "its picture: {}", shown.body);
    assert!(shown.body.contains("No lines on this map yet"), "{}", shown.body);

    let line = json!({
        "name": "Onderhoud basis", "metro_map": map, "stations": [smeren],
        "rule": {"all": [{"nanomodule": smeren}]},
        "certificate": {"name": "Deelcertificaat onderhoud", "description": "Basis"}
    });
    let (status, created) = app.post(&format!("/api/v1/issuers/{a}/metro-lines"), ADMIN, line).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let shown = admin.get(&page).await;
    assert!(
        shown.body.contains(&format!(
            "<a href=\"/console/metro-lines/{}\">Onderhoud basis</a>",
            created["id"].as_str().unwrap()
        )),
        "{}",
        shown.body
    );
    let list = admin.get("/console/metro-maps").await;
    assert!(
        list.body.contains("Lines on this map: 1") && list.body.contains(&format!("/console/metro-maps/{map}")),
        "{}",
        list.body
    );

    let renamed = admin.post(&page, &[("csrf", &csrf), ("name", "Techniek en bouw"), ("description", "")]).await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER, "{}", renamed.body);
    assert!(admin.get(&renamed.location()).await.body.contains("Saved."));
    let (_, stored) = app.get(&format!("/api/v1/metro-maps/{map}"), Some(ADMIN)).await;
    assert_eq!(stored["name"], "Techniek en bouw");
    assert!(stored.get("description").is_none(), "an emptied description is removed: {stored}");
    let svg = admin.get(&format!("/metro-maps/{map}/map.svg")).await.body;
    assert!(svg.contains("Techniek en bouw"), "the picture shows the new name: {svg}");

    // Another issuer's admin: neither the page nor a change.
    let mut other =
        accept(&app, &invite(&app, &b, "issuer_admin", "ia@zwolle.example").await, "issuer admin pass").await;
    assert_eq!(other.get(&page).await.status, StatusCode::NOT_FOUND);
    let their_csrf = other.get("/console/metro-maps").await.hidden("csrf");
    let theirs = other.post(&page, &[("csrf", &their_csrf), ("name", "Overgenomen")]).await;
    assert!(matches!(theirs.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN), "{}", theirs.status);
    let (_, stored) = app.get(&format!("/api/v1/metro-maps/{map}"), Some(ADMIN)).await;
    assert_eq!(stored["name"], "Techniek en bouw");
}

both!(issuer_admin_builds_a_metro_line_in_the_console);

/// The rule builder: a two-station line (stations in the order given, a new map made on the
/// way) with "at least 1 of"; then a new version "in order"; field errors from the API's
/// validation and nothing half-made; a partner's module as a station.
async fn issuer_admin_builds_a_metro_line_in_the_console(app: TestApp) {
    let a = app.issuer("Techniek Twente").await;
    let partner = app.issuer("Zorg Zwolle").await;
    app.partnership(&a, &partner).await;
    let smeren = app.module(&a, "Smeren").await;
    let trillingen = app.module(&a, "Trillingen meten").await;
    let hygiene = app.module(&partner, "Hygiëne").await;
    let mut admin =
        accept(&app, &invite(&app, &a, "issuer_admin", "ia@twente.example").await, "issuer admin pass").await;
    let maps = |app: &TestApp| {
        let store = app.store.clone();
        async move { store.query_text("SELECT CAST(COUNT(*) AS TEXT) FROM metro_map").await.unwrap()[0].clone() }
    };

    let form = admin.get("/console/metro-lines/new").await;
    assert!(form.body.contains("Hygiëne (partner: Zorg Zwolle)"), "{}", form.body);
    let csrf = form.hidden("csrf");
    let station = |id: &str| format!("station-{id}");
    let (s1, s2) = (station(&smeren), station(&trillingen));
    let bad = admin
        .post(
            "/console/metro-lines/new",
            &[
                ("csrf", &csrf),
                ("name", "Onderhoud basis"),
                ("new_map", "Techniek"),
                ("colour", "#0a7d3b"),
                ("cert_name", "Deelcertificaat onderhoud"),
                ("cert_description", "Basis onderhoud"),
                ("cert_credits", "8"),
                (&s1, "2"),
                (&s2, "1"),
                ("kind", "at_least"),
                ("n", "5"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("rule"), "{}", bad.body);
    let bad_json = admin
        .post("/console/metro-lines/new", &[("csrf", &csrf), ("name", "X"), ("kind", "json"), ("rule_json", "{nope")])
        .await;
    assert!(bad_json.body.contains("is not valid JSON"));
    assert_eq!(maps(&app).await, "0", "a refused form made no map");

    let made = admin
        .post(
            "/console/metro-lines/new",
            &[
                ("csrf", &csrf),
                ("name", "Onderhoud basis"),
                ("new_map", "Techniek"),
                ("colour", "#0a7d3b"),
                ("cert_name", "Deelcertificaat onderhoud"),
                ("cert_description", "Basis onderhoud"),
                ("cert_credits", "8"),
                (&s1, "2"),
                (&s2, "1"),
                ("kind", "at_least"),
                ("n", "1"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let page = made.location();
    let id = page.rsplit('/').next().unwrap().to_string();
    let (_, line) = app.get(&format!("/api/v1/metro-lines/{id}"), Some(ADMIN)).await;
    assert_eq!(line["stations"], json!([trillingen, smeren]), "ordered by position");
    assert_eq!(line["rule"], json!({"at_least": {"n": 1, "of": [{"nanomodule": trillingen}, {"nanomodule": smeren}]}}));
    assert_eq!(maps(&app).await, "1");

    // The edit form reads the rule back into the builder; a new version in order.
    let edit = admin.get(&page).await;
    assert!(
        edit.body.contains("value=\"at_least\" checked") && edit.body.contains("name=\"n\" min=\"1\" value=\"1\""),
        "{}",
        edit.body
    );
    let map = line["metro_map"].as_str().unwrap().to_string();
    let h = station(&hygiene);
    let saved = admin
        .post(
            &page,
            &[
                ("csrf", &csrf),
                ("name", "Onderhoud basis"),
                ("map", &map),
                ("colour", "#0a7d3b"),
                ("cert_name", "Deelcertificaat onderhoud"),
                ("cert_description", "Basis onderhoud"),
                (&s1, "1"),
                (&s2, "2"),
                (&h, "3"),
                ("kind", "in_order"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, line) = app.get(&format!("/api/v1/metro-lines/{id}"), Some(ADMIN)).await;
    assert_eq!(line["version"], 2);
    assert_eq!(line["stations"], json!([smeren, trillingen, hygiene]));
    assert_eq!(line["accepts_issuers"], json!([partner]));
    assert_eq!(line["rule"]["in_order"].as_array().unwrap().len(), 3);
    let list = admin.get("/console/metro-lines").await;
    assert!(list.body.contains("Onderhoud basis") && list.body.contains("version 2 · 3 stations"), "{}", list.body);
    // The issuer's metro maps, each as its picture (the network drawn from its lines).
    assert!(
        list.body.contains(&format!("<img src=\"/metro-maps/{map}/map.svg\" alt=\"Metro map: Techniek\">")),
        "{}",
        list.body
    );
    let picture = app.client.get(format!("{}/metro-maps/{map}/map.svg", app.base)).send().await.unwrap();
    assert_eq!(picture.headers()["content-type"], "image/svg+xml");
    assert!(picture.text().await.unwrap().contains("Onderhoud basis"));
    let versions = admin.get(&page).await;
    assert!(
        versions.body.contains(&format!("/metro-lines/{id}/versions/1"))
            && versions.body.contains(&format!("/metro-lines/{id}/versions/2"))
    );

    // The rule tried on a learner: the evaluator's explanation, in words, before anyone relies on it.
    let (s, _) = app
        .post(
            &format!("/api/v1/nanomodules/{smeren}/awards"),
            ADMIN,
            json!({"recipients": [{"identity": "ann@example.nl"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let tried = admin.get(&format!("{page}?sample=Ann@example.nl")).await;
    assert!(tried.body.contains("id=\"sample-result\"") && tried.body.contains("not yet completed"), "{}", tried.body);
    assert!(tried.body.contains("✓") && tried.body.contains("Trillingen meten"), "{}", tried.body);
    let nobody = admin.get(&format!("{page}?sample=nobody@example.nl")).await;
    assert!(nobody.body.contains("has awarded nothing to this learner"));

    // A nested rule only the JSON editor can say comes back in the editor.
    let nested = json!({"all": [{"nanomodule": smeren}, {"at_least": {"n": 1, "of": [{"nanomodule": trillingen}, {"nanomodule": hygiene}]}}]});
    let saved = admin
        .post(
            &page,
            &[
                ("csrf", &csrf),
                ("name", "Onderhoud basis"),
                ("map", &map),
                ("cert_name", "Deelcertificaat onderhoud"),
                ("cert_description", "Basis onderhoud"),
                (&s1, "1"),
                (&s2, "2"),
                (&h, "3"),
                ("kind", "json"),
                ("rule_json", &nested.to_string()),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let edit = admin.get(&saved.location()).await;
    assert!(edit.body.contains("value=\"json\" checked") && edit.body.contains("at_least"), "{}", edit.body);
}

both!(peer_groups_in_the_api_and_the_console);

/// Peer groups: made in the API (every bad field named) and in the console (participants pasted
/// once); sessions planned; after a session the trainer ticks who completed a station and awards
/// them in one step; the group shows everyone's progress.
async fn peer_groups_in_the_api_and_the_console(app: TestApp) {
    let a = app.issuer("Techniek Twente").await;
    let b_issuer = app.issuer("Zorg Zwolle").await;
    let l = crate::stacking::line_of(&app, &a).await;
    let trainer_token = app.member(&a, "trainer").await;
    let auditor_token = app.member(&a, "auditor").await;
    let other_token = app.member(&b_issuer, "issuer_admin").await;

    // The API: validation, creation, reading, isolation.
    let (s, bad) = app
        .post(
            &format!("/api/v1/issuers/{a}/peer-groups"),
            &trainer_token,
            json!({"name": "Groep 1", "metro_line": l.id, "participants": [{"email": "x"}],
                   "sessions": [{"nanomodule": uuid::Uuid::nil(), "date": "2026-12-01"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let fields: Vec<&str> = bad["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"participants[0].email"), "{bad}");
    let (s, group) = app
        .post(
            &format!("/api/v1/issuers/{a}/peer-groups"),
            &trainer_token,
            json!({"name": "Groep API", "metro_line": l.id,
                   "participants": [{"name": "Ann", "email": "Ann@Firma.nl", "firm": "Firma BV", "manager_email": "chef@firma.nl"}],
                   "sessions": [{"nanomodule": l.a, "date": "2026-12-01", "location": "Hengelo"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{group}");
    assert_eq!(group["participants"][0]["email"], "ann@firma.nl");
    let gid = group["id"].as_str().unwrap();
    let (s, _) = app.post(&format!("/api/v1/issuers/{a}/peer-groups"), &auditor_token, json!({"name": "x"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&format!("/api/v1/peer-groups/{gid}"), Some(&other_token)).await.0, StatusCode::NOT_FOUND);
    let (s, list) = app.get(&format!("/api/v1/issuers/{a}/peer-groups"), Some(&auditor_token)).await;
    assert_eq!((s, list["peer_groups"].as_array().unwrap().len()), (StatusCode::OK, 1));

    // The console: paste participants, plan, award a station to two of three.
    let mut trainer =
        accept(&app, &invite(&app, &a, "trainer", "tessa@twente.example").await, "trainer pass phrase").await;
    let new = trainer.get("/console/groups/new").await;
    let csrf = new.hidden("csrf");
    let made = trainer
        .post(
            "/console/groups/new",
            &[("csrf", &csrf), ("name", "Groep Hengelo najaar"), ("line", &l.id),
              ("participants", "Ann de Vries\tann@firma.nl\tFirma BV\tchef@firma.nl\nBob Bakker\tbob@bouw.nl\tBouw BV\nCarla Smit\tcarla@zorg.nl\tZorg BV")],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let page = made.location();
    let group = trainer.get(&page).await;
    assert!(group.body.contains("Firma BV") && group.body.matches("not yet").count() == 6, "{}", group.body);
    let planned =
        trainer.post(&format!("{page}/sessions"), &[("csrf", &csrf), (&format!("date-{}", l.a), "2026-12-01")]).await;
    assert_eq!(planned.status, StatusCode::SEE_OTHER);
    let group = trainer.get(&page).await;
    assert!(group.body.contains("planned 1 December 2026"), "{}", group.body);

    let key = group.hidden("key");
    let fields = [
        ("csrf", csrf.as_str()),
        ("key", key.as_str()),
        ("station", l.a.as_str()),
        ("who", "ann@firma.nl"),
        ("who", "bob@bouw.nl"),
    ];
    let first = trainer.post(&format!("{page}/award"), &fields).await;
    let again = trainer.post(&format!("{page}/award"), &fields).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    assert_eq!(first.location(), again.location(), "a double submit awards once");
    let awarded = trainer.get(&first.location()).await;
    assert_eq!(awarded.body.matches("badge-link").count(), 2);
    let group = trainer.get(&page).await;
    assert_eq!(group.body.matches(": done").count(), 2, "{}", group.body);
    // The next award form ticks only who still lacks the station.
    assert_eq!(group.body.matches("name=\"who\" value=\"carla@zorg.nl\" checked").count(), 1, "{}", group.body);
    assert!(!group.body.contains("value=\"ann@firma.nl\" checked"));
    let (_, progress) = app
        .get(&format!("/api/v1/peer-groups/{}/progress", page.rsplit('/').next().unwrap()), Some(&trainer_token))
        .await;
    assert!(
        progress["progress"][0]["badges"][0].is_string() && progress["progress"][2]["badges"][0].is_null(),
        "{progress}"
    );
}

both!(issuer_admin_runs_keys_tokens_and_partners_in_the_console);

/// Keys (rotate; compromised only after the consequences are counted and confirmed), API
/// tokens (secret shown once, works, revoked stops working), partnerships (ask, accept, end).
async fn issuer_admin_runs_keys_tokens_and_partners_in_the_console(app: TestApp) {
    let a = app.issuer("Techniek Twente").await;
    let b_issuer = app.issuer("Zorg Zwolle").await;
    let module = app.module(&a, "Smeren").await;
    let (s, _) = app
        .post(
            &format!("/api/v1/nanomodules/{module}/awards"),
            ADMIN,
            json!({"recipients": [{"identity": "ann@example.nl"}, {"identity": "bob@example.nl"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut admin =
        accept(&app, &invite(&app, &a, "issuer_admin", "ia@twente.example").await, "issuer admin pass").await;
    let mut other =
        accept(&app, &invite(&app, &b_issuer, "issuer_admin", "ia@zwolle.example").await, "other admin pass").await;
    let mut trainer =
        accept(&app, &invite(&app, &a, "trainer", "tr@twente.example").await, "trainer pass phrase").await;
    assert_eq!(trainer.get("/console/settings").await.status, StatusCode::FORBIDDEN);

    let page = admin.get("/console/settings").await;
    let csrf = page.hidden("csrf");
    assert_eq!(page.body.matches("class=\"key-status\">active<").count(), 1);
    let rotated = admin.post("/console/settings/keys/rotate", &[("csrf", &csrf)]).await;
    assert_eq!(rotated.status, StatusCode::SEE_OTHER);
    let page = admin.get("/console/settings").await;
    assert!(page.body.contains(">retired<") && page.body.contains(">active<"), "{}", page.body);

    // The retired key signed the two badges: confirming is one more step, with the count.
    let (_, keys) = app.get(&format!("/api/v1/issuers/{a}/keys"), Some(ADMIN)).await;
    let old = keys["keys"].as_array().unwrap().iter().find(|k| k["status"] == "retired").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let confirm = admin.get(&format!("/console/settings/keys/{old}/compromised?since=2020-01-01")).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(
        confirm.body.contains("id=\"impact\"><strong>2</strong>") && confirm.body.contains("cannot be undone"),
        "{}",
        confirm.body
    );
    let (_, still) = app.get(&format!("/api/v1/issuers/{a}/keys"), Some(ADMIN)).await;
    assert!(still["keys"].as_array().unwrap().iter().all(|k| k["status"] != "compromised"), "looking changes nothing");
    assert_eq!(
        other.get(&format!("/console/settings/keys/{old}/compromised?since=2020-01-01")).await.status,
        StatusCode::NOT_FOUND
    );
    let done = admin
        .post(&format!("/console/settings/keys/{old}/compromised"), &[("csrf", &csrf), ("since", "2020-01-01")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(admin.get("/console/settings").await.body.contains(">compromised<"));

    // A token: shown once, works, revoked.
    let made = admin
        .post(
            "/console/settings/tokens",
            &[("csrf", &csrf), ("label", "LMS koppeling"), ("role", "trainer"), ("expires", "2099-12-31")],
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let marker = "id=\"token-secret\" readonly value=\"";
    let at = made.body.find(marker).unwrap() + marker.len();
    let secret = made.body[at..].split('"').next().unwrap().to_string();
    assert_eq!(app.get(&format!("/api/v1/issuers/{a}/nanomodules"), Some(&secret)).await.0, StatusCode::OK);
    let page = admin.get("/console/settings").await;
    assert!(page.body.contains("LMS koppeling") && !page.body.contains(&secret), "listed without the secret");
    let (_, tokens) = app.get(&format!("/api/v1/tokens?issuer={a}"), Some(ADMIN)).await;
    let id = tokens["tokens"].as_array().unwrap().iter().find(|t| t["label"] == "LMS koppeling").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let revoked = admin.post(&format!("/console/settings/tokens/{id}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get(&format!("/api/v1/issuers/{a}/nanomodules"), Some(&secret)).await.0, StatusCode::UNAUTHORIZED);

    // Partnerships: ask, the partner accepts in its console, either ends it.
    let asked = admin.post("/console/settings/partners", &[("csrf", &csrf), ("partner", &b_issuer)]).await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
    let theirs = other.get("/console/settings").await;
    assert!(theirs.body.contains("asks to use your modules") && theirs.body.contains(">requested<"), "{}", theirs.body);
    let accept_at = theirs.body.find("/accept\"").unwrap();
    let pid = theirs.body[..accept_at].rsplit("/console/settings/partners/").next().unwrap().to_string();
    let accepted =
        other.post(&format!("/console/settings/partners/{pid}/accept"), &[("csrf", &theirs.hidden("csrf"))]).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER);
    assert!(admin.get("/console/settings").await.body.contains(">accepted<"));
    let ended = admin.post(&format!("/console/settings/partners/{pid}/end"), &[("csrf", &csrf)]).await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    assert!(other.get("/console/settings").await.body.contains(">ended<"));
}

both!(staff_look_up_a_learner_in_the_console);

/// A learner's progress along the issuer's lines in plain words, their badges, and the
/// revocation of their progress link (issuer admins only; the old link stops working).
async fn staff_look_up_a_learner_in_the_console(app: TestApp) {
    let issuer = app.issuer("ROC Techniek").await;
    let l = crate::stacking::line_of(&app, &issuer).await;
    let r = app.award_one(&l.a, "leerling@example.nl").await;
    let progress_url = r["credentials"][0]["progress_url"].as_str().unwrap().to_string();
    let mut admin =
        accept(&app, &invite(&app, &issuer, "issuer_admin", "ia@roc.example").await, "issuer admin pass").await;
    let mut auditor =
        accept(&app, &invite(&app, &issuer, "auditor", "au@roc.example").await, "auditor pass phrase").await;

    let page = admin.get("/console/learners?identity=Leerling@Example.nl").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Onderhoud basis: <span class=\"line-state\">not yet completed"), "{}", page.body);
    assert!(page.body.contains("Trillingen meten"), "what is still to do, in words: {}", page.body);
    assert!(page.body.contains("Smeren"));
    let unknown = admin.get("/console/learners?identity=nobody@example.nl").await;
    assert!(unknown.body.contains("has awarded nothing to this learner"));
    let read_only = auditor.get("/console/learners?identity=leerling@example.nl").await;
    assert!(read_only.body.contains("not yet completed") && !read_only.body.contains("Replace the progress link"));

    assert_eq!(app.client.get(&progress_url).send().await.unwrap().status(), StatusCode::OK);
    let revoked = admin
        .post("/console/learners/link", &[("csrf", &page.hidden("csrf")), ("identity", "leerling@example.nl")])
        .await;
    assert!(revoked.body.contains("The old progress link no longer works"), "{}", revoked.body);
    assert_eq!(app.client.get(&progress_url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

both!(a_second_factor_guards_sign_in);

/// RFC 6238 (SHA-1, 30 s, 6 digits), written here from the RFC rather than taken from the
/// service's crate, so the test checks the service against the standard.
fn totp_code(secret_base32: &str, unix: i64) -> String {
    use hmac::Mac;
    let key = data_encoding::BASE32_NOPAD.decode(secret_base32.as_bytes()).unwrap();
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
    mac.update(&((unix / 30) as u64).to_be_bytes());
    let h = mac.finalize().into_bytes();
    let o = (h[19] & 0xf) as usize;
    let n = (u32::from(h[o]) & 0x7f) << 24 | u32::from(h[o + 1]) << 16 | u32::from(h[o + 2]) << 8 | u32::from(h[o + 3]);
    format!("{:06}", n % 1_000_000)
}

/// TOTP: turned on with a code from the new authenticator; then sign-in asks for a code (the
/// password alone opens nothing), a code works once, wrong codes count towards the lockout; a
/// code turns it off again.
async fn a_second_factor_guards_sign_in(app: TestApp) {
    let issuer = app.issuer("Techniek Twente").await;
    let mut b =
        accept(&app, &invite(&app, &issuer, "trainer", "tessa@twente.example").await, "trainer pass phrase").await;
    let page = b.get("/console/account").await;
    assert!(page.body.contains("Two-step verification is off"));
    let csrf = page.hidden("csrf");
    let setup = b.post("/console/account/second-factor", &[("csrf", &csrf)]).await;
    let marker = "id=\"setup-key\" readonly value=\"";
    let at = setup.body.find(marker).unwrap() + marker.len();
    let secret = setup.body[at..].split('"').next().unwrap().to_string();
    assert!(setup.body.contains("<svg"), "a QR code of the otpauth URI");
    let now = || app.service.now().unix_timestamp();
    let wrong = b.post("/console/account/second-factor/confirm", &[("csrf", &csrf), ("code", "000000")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Codes are taken at fixed points from here on (t0, t0 + 30 s, …), so a step boundary passing
    // during the test changes nothing: the service accepts one step either side of its clock.
    let t0 = now();
    let on =
        b.post("/console/account/second-factor/confirm", &[("csrf", &csrf), ("code", &totp_code(&secret, t0))]).await;
    assert!(on.body.contains("Two-step verification is on"), "{}", on.body);

    // Sign-in now takes two steps.
    let mut phone = Browser::new(&app);
    let form = phone.get("/console").await;
    let first = phone
        .post(
            "/console/sign-in",
            &[("pre", &form.hidden("pre")), ("email", "tessa@twente.example"), ("password", "trainer pass phrase")],
        )
        .await;
    assert_eq!(first.location(), "/console/two-step");
    assert!(phone.get("/console").await.body.contains("name=\"password\""), "the password alone opens nothing");
    let code_page = phone.get("/console/two-step").await;
    let pre = code_page.hidden("pre");
    let used = phone.post("/console/two-step", &[("pre", &pre), ("code", &totp_code(&secret, t0))]).await;
    assert_eq!(used.status, StatusCode::UNAUTHORIZED, "the code that turned it on was used already");
    app.service.clock().advance(time::Duration::seconds(30));
    let ok = phone.post("/console/two-step", &[("pre", &pre), ("code", &totp_code(&secret, t0 + 30))]).await;
    assert_eq!(ok.location(), "/console", "{}", ok.body);
    assert!(phone.get("/console").await.body.contains("Sign out"));

    // Turning it off takes a fresh code; then the password is enough again.
    app.service.clock().advance(time::Duration::seconds(30));
    let csrf = phone.get("/console/account").await.hidden("csrf");
    let off = phone
        .post("/console/account/second-factor/off", &[("csrf", &csrf), ("code", &totp_code(&secret, t0 + 60))])
        .await;
    assert!(off.body.contains("Two-step verification is off"), "{}", off.body);
    let mut laptop = Browser::new(&app);
    let form = laptop.get("/console").await;
    let direct = laptop
        .post(
            "/console/sign-in",
            &[("pre", &form.hidden("pre")), ("email", "tessa@twente.example"), ("password", "trainer pass phrase")],
        )
        .await;
    assert_eq!(direct.location(), "/console");
    let events = app.store.audit_page(0, 100).await.unwrap();
    assert!(events.iter().any(|e| e.action == "console.second_factor_on"));
    assert!(events.iter().any(|e| e.action == "console.second_factor_off"));
}

both!(auditor_reads_issuance_reports_in_the_console);

/// Issuance reports: by month, by module (certificates under their line) and by trainer, as a
/// table and a server-drawn chart whose bars follow the numbers.
async fn auditor_reads_issuance_reports_in_the_console(app: TestApp) {
    let issuer = app.issuer("ROC Techniek").await;
    let l = crate::stacking::line_of(&app, &issuer).await;
    for who in ["a@example.nl", "b@example.nl", "c@example.nl"] {
        app.award_one(&l.a, who).await;
    }
    app.award_one(&l.b, "a@example.nl").await;
    let mut auditor =
        accept(&app, &invite(&app, &issuer, "auditor", "au@roc.example").await, "auditor pass phrase").await;
    let mut trainer =
        accept(&app, &invite(&app, &issuer, "trainer", "tr@roc.example").await, "trainer pass phrase").await;
    assert_eq!(trainer.get("/console/reports").await.status, StatusCode::FORBIDDEN);

    let by_month = auditor.get("/console/reports").await;
    assert_eq!(by_month.status, StatusCode::OK);
    assert!(by_month.body.contains("id=\"total-badges\">4<"), "{}", by_month.body);
    let by_module = auditor.get("/console/reports?group=nanomodule").await;
    assert!(by_module.body.contains("<th scope=\"row\">Smeren</th><td>3</td><td>3</td>"), "{}", by_module.body);
    assert!(by_module.body.contains("Onderhoud basis (metro line)"), "the certificate under its line");
    // The bars: Smeren's 3 badges are three times Trillingen's 1.
    let widths: Vec<usize> = by_module
        .body
        .match_indices("class=\"bar-badges\" x=\"210\" y=\"")
        .map(|(i, _)| {
            let rest = &by_module.body[i..];
            let at = rest.find("width=\"").unwrap() + 7;
            rest[at..].split('"').next().unwrap().parse().unwrap()
        })
        .collect();
    assert!(widths.contains(&330) && widths.contains(&110), "{widths:?}");
    let future = auditor.get("/console/reports?from=2099-01-01").await;
    assert!(future.body.contains("id=\"total-badges\">0<"));
    let bad = auditor.get("/console/reports?from=soon").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

both!(a_session_works_on_every_instance);

/// Sessions live in the database: signed in through one instance, the same cookie works on
/// another (several stateless instances on PostgreSQL; on SQLite, two servers on one file), and
/// signing out on one ends it on both.
async fn a_session_works_on_every_instance(app: TestApp) {
    let issuer = app.issuer("Techniek Twente").await;
    let mut b = accept(&app, &invite(&app, &issuer, "auditor", "au@twente.example").await, "auditor pass phrase").await;
    let other = TestApp::start(app.db.clone(), crate::harness::TEST_MASTER_KEY).await;
    let mut there = Browser::new(&other);
    there.cookies = b.cookies.clone();
    let home = there.get("/console").await;
    assert!(home.body.contains("Sign out") && home.body.contains("Techniek Twente"), "{}", home.body);
    let out = there.post("/console/sign-out", &[("csrf", &home.hidden("csrf"))]).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(b.get("/console").await.body.contains("name=\"password\""), "signed out on the first instance too");
    other.stop().await;
}

both!(console_problems_speak_dutch);

/// On a Dutch page the problems are Dutch too: field names and the common messages.
async fn console_problems_speak_dutch(app: TestApp) {
    let a = app.issuer("Techniek Twente").await;
    let module = app.module(&a, "Smeren").await;
    let mut admin =
        accept(&app, &invite(&app, &a, "issuer_admin", "ia@twente.example").await, "issuer admin pass").await;
    admin.cookies.insert("mb_lang".into(), "nl".into());
    let csrf = admin.get("/console").await.hidden("csrf");
    let bad = admin
        .post(
            "/console/nanomodules/new",
            &[("csrf", &csrf), ("name", "Smeren 2"), ("duration", "300"), ("criteria", "c")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("beschrijving: is verplicht"), "{}", bad.body);
    assert!(bad.body.contains("een nanomodule duurt hoogstens 4 uur"), "{}", bad.body);
    let form = admin.get(&format!("/console/award?module={module}")).await;
    let check = admin
        .post_multipart(
            "/console/award",
            &[
                ("csrf", &form.hidden("csrf")),
                ("key", &form.hidden("key")),
                ("module", &module),
                ("rows", "ann@example.nl\nBob zonder adres"),
                ("action", "check"),
            ],
        )
        .await;
    assert!(check.body.contains("Regel 2: geen e-mailadres in"), "{}", check.body);
    assert!(!check.body.contains("no e-mail address"), "no English left: {}", check.body);

    // Rarer problems too: every message has a code with Dutch words (locales/nl/problems.ftl).
    let second = app.module(&a, "Trillingen").await;
    let csrf = admin.get("/console/metro-lines/new").await.hidden("csrf");
    let (s1, s2) = (format!("station-{module}"), format!("station-{second}"));
    let line = admin
        .post(
            "/console/metro-lines/new",
            &[
                ("csrf", &csrf),
                ("name", "Onderhoud"),
                ("new_map", "Techniek"),
                ("colour", "groen"),
                ("cert_name", "Deelcertificaat"),
                ("cert_description", "Basis"),
                ("cert_credits", "8"),
                (&s1, "1"),
                (&s2, "2"),
                ("kind", "at_least"),
                ("n", "5"),
            ],
        )
        .await;
    assert_eq!(line.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", line.body);
    assert!(line.body.contains("kleur: moet een kleur als #rrggbb zijn"), "{}", line.body);
    assert!(line.body.contains("moet 1 tot en met 2 zijn (het aantal regels in de groep)"), "{}", line.body);
    for english in ["must be", "the number of rules", "colour:"] {
        assert!(!line.body.contains(english), "no English left ({english}): {}", line.body);
    }
    // The API words the same problems in English, each with its stable code.
    let (status, problem) = app
        .post(
            &format!("/api/v1/issuers/{a}/metro-lines"),
            ADMIN,
            json!({"name": "X", "colour": "groen", "stations": [module], "rule": {"all": []}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let colour = problem["errors"].as_array().unwrap().iter().find(|e| e["field"] == "colour").unwrap();
    assert_eq!(colour["code"], "not-a-colour");
    assert_eq!(colour["message"], "must be a #rrggbb colour");
}

both!(forms_default_to_today_by_the_service_clock);

/// The award form's session date is today by the service's clock, not the machine's: moved a
/// year and a month on, a trainer who signs in then sees that day.
async fn forms_default_to_today_by_the_service_clock(app: TestApp) {
    let issuer = app.issuer("Klok").await;
    app.service.clock().advance(time::Duration::days(400));
    let link = invite(&app, &issuer, "trainer", "klok@example.nl").await;
    let mut b = accept(&app, &link, "a sentence I remember").await;
    let form = b.get("/console/award").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let shown = form.hidden("session_date");
    assert_eq!(shown, app.service.now().date().to_string());
    assert_ne!(shown, time::OffsetDateTime::now_utc().date().to_string());
    app.stop().await;
}
