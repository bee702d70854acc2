//! The Open Badges 3.0 REST API (Provider, read) with its OAuth 2.0: an independent client
//! library (oauth4webapi from npm, tests/interop/ob_client.mjs) registers, gets the learner's
//! consent through the real form in Chromium, exchanges codes with PKCE, pages through the
//! learner's credentials and reads the profile; what must fail, fails as the RFCs say.

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::awards::module;
use crate::harness::{TestApp, both};
use crate::impact::{form, learner_session};
use crate::interop::js_verify;
use crate::mail::{SmtpServer, sign_in_link};

both!(ob_api_with_an_independent_oauth_client, ob_api_refuses_what_it_should, ob_api_registration_is_rate_limited);

const CRED: &str = "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly";
const REDIRECT: &str = "https://app.example.test/callback";

fn registration() -> Value {
    json!({
        "client_name": "Rust Backpack", "client_uri": "https://app.example.test/",
        "logo_uri": "https://app.example.test/logo.png", "tos_uri": "https://app.example.test/terms",
        "policy_uri": "https://app.example.test/privacy", "software_id": "rust-backpack", "software_version": "1",
        "redirect_uris": [REDIRECT], "grant_types": ["authorization_code"], "response_types": ["code"],
        "scope": CRED,
    })
}

/// The problems `value` has against one of 1EdTech's OB 3.0 API schemas (schemas/ob/).
fn against(schema: &str, value: &Value) -> Vec<String> {
    let path = format!("{}/schemas/ob/ob_v3p0_{schema}_schema.json", env!("CARGO_MANIFEST_DIR"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::options().with_draft(jsonschema::Draft::Draft201909).build(&schema).unwrap();
    validator.iter_errors(value).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

/// Three badges from three issuers for Ann, one for Bob; Ann signed in.
async fn ann_with_badges(app: &TestApp, smtp: &SmtpServer) -> (Vec<String>, String, String) {
    let sender = app.service.clone().with_mailer(smtp.mailer());
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (_, nm) = module(app, None).await;
        let answer = app.award(&nm, json!([{"identity": "ann@example.nl", "name": "Ann"}])).await;
        ids.push(answer["credentials"][0]["id"].as_str().unwrap().to_string());
    }
    let (_, nm) = module(app, None).await;
    let bob = app.award(&nm, json!([{"identity": "bob@example.nl", "name": "Bob"}])).await;
    let bob = bob["credentials"][0]["id"].as_str().unwrap().to_string();
    let cookie = learner_session(app, smtp, &sender, "ann@example.nl").await;
    (ids, bob, cookie)
}

async fn ob_api_with_an_independent_oauth_client(app: TestApp) {
    let smtp = SmtpServer::start();
    let (ids, bob, cookie) = ann_with_badges(&app, &smtp).await;
    let session = cookie.split_once('=').unwrap().1.to_string();
    let backend = if app.db.url.starts_with("sqlite") { "sqlite" } else { "postgres" };
    let artifacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/artifacts").join(backend);
    std::fs::create_dir_all(&artifacts).unwrap();
    let input = json!({"base": app.base, "session": session, "redirect_uri": REDIRECT, "artifacts": artifacts});
    let r = crate::browser::browser_script("ob_client.mjs", input).await;

    assert_eq!(r["discovery"]["privacy"], json!(format!("{}/privacy", app.base)), "{r}");
    assert_eq!(r["discovery"]["same_token_endpoint"], json!(true), "{r}");
    assert_eq!(r["discovery"]["same_registration"], json!(true), "{r}");
    assert_eq!(r["registered"]["has_secret"], json!(true));
    let all = format!("{CRED} https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.readonly offline_access");
    assert_eq!(r["registered"]["scope"], json!(all));
    assert!(r["consent_text"].as_str().unwrap().contains("Test Backpack asks to:"), "{r}");
    assert!(r["consent_text"].as_str().unwrap().contains("read all your badges"), "{r}");
    assert_eq!(r["wrong_verifier"], "invalid_grant", "{r}");
    assert_eq!(r["token"]["scope"], json!(all));
    assert_eq!(r["token"]["expires_in"], json!(3600));
    assert_eq!(r["token"]["refresh"], json!(true));

    // Paging: two, then the third through the `next` link; all Ann's, none of Bob's.
    let first = &r["pages"]["first"];
    assert_eq!(first["status"], json!(200), "{r}");
    assert_eq!(first["total"], json!("3"));
    assert!(first["link"].as_str().unwrap().contains("rel=\"next\""), "{first}");
    let second = &r["pages"]["second"];
    assert_eq!(second["status"], json!(200));
    assert!(second["link"].as_str().unwrap().contains("rel=\"prev\""), "{second}");
    let got: Vec<String> = [first, second]
        .iter()
        .flat_map(|p| p["body"]["credential"].as_array().unwrap().clone())
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, ids, "oldest first, each once");
    assert!(!got.contains(&bob));
    // What the app receives is each credential as signed: the reference stack verifies it.
    let received: Vec<Value> =
        [first, second].iter().flat_map(|p| p["body"]["credential"].as_array().unwrap().clone()).collect();
    let mut documents = serde_json::Map::new();
    let mut cases = Vec::new();
    for (i, vc) in received.iter().enumerate() {
        let issuer = vc["issuer"]["id"].as_str().unwrap();
        let (_, profile) = app.get(issuer.strip_prefix(&app.base).unwrap(), None).await;
        documents.insert(issuer.to_string(), profile);
        cases.push(json!({"name": format!("ob-api-{i}"), "credential": vc}));
    }
    let results = js_verify(&json!({"documents": documents, "cases": cases}));
    assert!(results.len() == 3 && results.iter().all(|r| r.1), "reference stack: {results:?}");

    for page in [first, second] {
        assert_eq!(against("getopenbadgecredentialsresponse", &page["body"]), Vec::<String>::new());
    }
    let profile = &r["profile"];
    assert_eq!(profile["status"], json!(200));
    assert_eq!(against("profile", &profile["body"]), Vec::<String>::new());
    assert_eq!(profile["body"]["id"], "mailto:ann@example.nl");
    assert_eq!(profile["body"]["type"], json!(["Profile"]));

    // The narrowed token reads the profile only; 403 in the spec's shape otherwise.
    assert_eq!(r["narrow"]["scope"], "https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.readonly");
    assert_eq!(r["narrow"]["profile"], json!(200));
    let forbidden = &r["narrow"]["credentials"];
    assert_eq!(forbidden["status"], json!(403), "{r}");
    assert_eq!(forbidden["body"]["imsx_codeMajor"], "failure");
    assert_eq!(against("imsx_statusinfo", &forbidden["body"]), Vec::<String>::new());
    assert_eq!(forbidden["body"]["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"], "forbidden");
    // A rotated refresh token presented again ends the grant.
    assert_eq!(r["old_refresh"], "invalid_grant", "{r}");
    assert_eq!(r["after_reuse"], json!(401));
    assert_eq!(r["code_replay"], "invalid_grant", "{r}");
    assert_eq!(r["after_replay"], json!(401));
    assert_eq!(r["revocation"], json!({"before": 200, "after": 401}));
    assert_eq!(r["denied"], "access_denied", "{r}");

    assert_eq!(r["axe"], json!([]), "consent page: {}", r["axe"]);
    assert_eq!(r["overflow"], json!(false));
    assert!(r["dutch"].as_str().unwrap().contains("Test Backpack vraagt om:"), "{r}");

    // Ann's page lists the app (the last grant's refresh token lives); she withdraws it.
    let page = crate::impact::my_page(&app, &cookie).await;
    assert!(page.contains("Apps that can read your badges") && page.contains("Test Backpack"), "{page}");
    let client = page.split("action=\"/me/apps/").nth(1).unwrap().split('/').next().unwrap().to_string();
    let withdraw = format!("{}/me/apps/{client}/withdraw?lang=en", app.base);
    let r =
        crate::impact::learner_post(&app, &cookie, &withdraw, &format!("csrf={}", crate::impact::csrf_of(&page))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("can no longer read your badges") && !page.contains("Test Backpack"), "{page}");
    let live =
        app.store.query_text("SELECT CAST(COUNT(*) AS TEXT) FROM oauth_token WHERE revoked_at IS NULL").await.unwrap();
    assert_eq!(live, vec!["0".to_string()]);

    // The consent is in the audit trail, without the learner's address.
    let (_, events) = app.get("/api/v1/audit/events?limit=1000", Some(crate::harness::ADMIN)).await;
    let text = events.to_string();
    assert!(text.contains("learner.app_authorised") && text.contains("learner.app_withdrawn"), "{text}");
    assert!(!text.contains("ann@example.nl"), "{text}");
}

/// The authorization URL of a registered client for `scope`, with a fixed challenge.
fn authorize_url(base: &str, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut q = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", CRED),
        ("state", "st"),
        ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        q.retain(|(name, _)| name != k);
        q.push((k, v));
    }
    format!("{base}/me/authorize?{}", serde_urlencoded::to_string(q).unwrap())
}

async fn ob_api_refuses_what_it_should(app: TestApp) {
    let smtp = SmtpServer::start();
    let sender = app.service.clone().with_mailer(smtp.mailer());
    let (_ids, _bob, cookie) = ann_with_badges(&app, &smtp).await;
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let register = |body: Value| {
        let client = app.client.clone();
        let url = format!("{}/ims/ob/v3p0/oauth/register", app.base);
        async move {
            let r = client.post(url).json(&body).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };

    // Registration: the profile's rules, each refused with RFC 7591's codes.
    let mut http = registration();
    http["redirect_uris"] = json!(["http://app.example.test/callback"]);
    let (s, e) = register(http).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_redirect_uri")), "{e}");
    let mut elsewhere = registration();
    elsewhere["tos_uri"] = json!("https://other.example/terms");
    let (s, e) = register(elsewhere).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_client_metadata")), "{e}");
    let mut nameless = registration();
    nameless.as_object_mut().unwrap().remove("client_name");
    let (_, e) = register(nameless).await;
    assert!(e["error_description"].as_str().unwrap().contains("client_name"), "{e}");
    let (s, e) = register(json!(["not an object"])).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_client_metadata")));
    let (s, client) = register(registration()).await;
    assert_eq!(s, StatusCode::CREATED, "{client}");
    assert_eq!(client["client_secret_expires_at"], json!(0));
    assert_eq!(client["token_endpoint_auth_method"], "client_secret_basic");
    let id = client["client_id"].as_str().unwrap().to_string();
    let secret = client["client_secret"].as_str().unwrap().to_string();

    // An unknown app or return address is told to the person, never redirected.
    let r = no_redirects.get(authorize_url(&app.base, "mbk_unknown", &[])).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("unknown client_id"));
    let other = [("redirect_uri", "https://app.example.test/elsewhere")];
    let r = no_redirects.get(authorize_url(&app.base, &id, &other)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Anything else goes back to the app with the error and the state.
    for (extra, error) in [
        (("code_challenge_method", "plain"), "invalid_request"),
        (("scope", "https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.readonly"), "invalid_scope"),
        (("response_type", "token"), "unsupported_response_type"),
    ] {
        let r =
            no_redirects.get(authorize_url(&app.base, &id, &[extra])).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{extra:?}");
        let to = r.headers()["location"].to_str().unwrap();
        assert!(to.starts_with(REDIRECT) && to.contains(&format!("error={error}")) && to.contains("state=st"), "{to}");
    }

    // Not signed in: the sign-in form's mailed link comes back to the same request.
    let url = authorize_url(&app.base, &id, &[]);
    let page = no_redirects.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"next\""), "{page}");
    let next = url.strip_prefix(&app.base).unwrap();
    let body = serde_urlencoded::to_string([("email", "ann@example.nl"), ("next", next)]).unwrap();
    let asked = form(&app.client, &format!("{}/me/sign-in?lang=en", app.base), &body).send().await.unwrap();
    assert_eq!(asked.status(), StatusCode::OK);
    sender.send_mail_round().await.unwrap();
    let mail = smtp.received().into_iter().rev().find(|m| m.text().contains("next=")).expect("a link that returns");
    let signed_in = no_redirects.post(sign_in_link(&mail)).send().await.unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()["location"].to_str().unwrap(), next);
    // A link cannot be made to return anywhere else.
    let evil = serde_urlencoded::to_string([("email", "ann@example.nl"), ("next", "https://evil.example/")]).unwrap();
    form(&app.client, &format!("{}/me/sign-in?lang=en", app.base), &evil).send().await.unwrap();
    sender.send_mail_round().await.unwrap();
    let last = smtp.received().into_iter().rev().find(|m| m.text().contains("/me/link/")).unwrap();
    assert!(!last.text().contains("evil.example"));

    // The consent form needs its CSRF token.
    let consent = no_redirects.get(&url).header("cookie", &cookie).send().await.unwrap();
    let csp = consent.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("form-action 'self' https://app.example.test;"), "{csp}");
    let page = consent.text().await.unwrap();
    let fields = |csrf: &str| {
        let mut f: Vec<(String, String)> = url::Url::parse(&url).unwrap().query_pairs().into_owned().collect();
        f.push(("csrf".into(), csrf.into()));
        f.push(("decision".into(), "allow".into()));
        serde_urlencoded::to_string(f).unwrap()
    };
    let post = |body: String| {
        no_redirects
            .post(format!("{}/me/authorize", app.base))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    assert_eq!(post(fields("forged")).await.unwrap().status(), StatusCode::FORBIDDEN);
    let allowed = post(fields(&crate::impact::csrf_of(&page))).await.unwrap();
    assert_eq!(allowed.status(), StatusCode::SEE_OTHER);
    let to = url::Url::parse(allowed.headers()["location"].to_str().unwrap()).unwrap();
    let code = to.query_pairs().find(|(k, _)| k == "code").unwrap().1.to_string();
    assert_eq!(to.query_pairs().find(|(k, _)| k == "iss").unwrap().1, app.base.as_str());

    // The token endpoint: client authentication first, then the grant.
    let token = |auth: Option<(&str, &str)>, body: Vec<(&str, &str)>| {
        let mut r = app
            .client
            .post(format!("{}/oauth/token", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(body).unwrap());
        if let Some((u, p)) = auth {
            r = r.basic_auth(u, Some(p));
        }
        async move {
            let r = r.send().await.unwrap();
            let no_store = r.headers().get("cache-control").map(|v| v.to_str().unwrap().to_string());
            (r.status(), no_store, r.json::<Value>().await.unwrap())
        }
    };
    let grant = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
    ];
    let (s, _, e) = token(Some((&id, "wrong")), grant.clone()).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    let (s, _, e) = token(None, grant.clone()).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    let mut elsewhere = grant.clone();
    elsewhere[2] = ("redirect_uri", "https://app.example.test/other");
    let (_, _, e) = token(Some((&id, &secret)), elsewhere).await;
    assert_eq!(e["error"], "invalid_grant");
    let (_, _, e) = token(Some((&id, &secret)), vec![("grant_type", "client_credentials")]).await;
    assert_eq!(e["error"], "unsupported_grant_type");
    let (s, no_store, t) = token(Some((&id, &secret)), grant.clone()).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(no_store.as_deref(), Some("no-store"));
    assert!(t.get("refresh_token").is_none(), "this client did not register for refresh tokens");
    let (_, _, e) = token(Some((&id, &secret)), vec![("grant_type", "refresh_token"), ("refresh_token", "x")]).await;
    assert_eq!(e["error"], "unauthorized_client");
    let access = t["access_token"].as_str().unwrap().to_string();

    // Resource errors are Imsx_StatusInfo, with the bearer challenge.
    let read = |path: &str, bearer: Option<&str>| {
        let mut r = app.client.get(format!("{}{path}", app.base));
        if let Some(b) = bearer {
            r = r.bearer_auth(b);
        }
        async move {
            let r = r.send().await.unwrap();
            let challenge = r.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string());
            (r.status(), challenge, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (s, challenge, e) = read("/ims/ob/v3p0/credentials", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(challenge.unwrap().starts_with("Bearer"));
    assert_eq!(e["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"], "unauthorizedrequest");
    let (s, _, e) = read("/ims/ob/v3p0/credentials?limit=0", Some(&access)).await;
    assert_eq!((s, e["imsx_severity"].as_str()), (StatusCode::BAD_REQUEST, Some("error")), "{e}");
    let (s, _, e) = read("/ims/ob/v3p0/credentials?since=yesterday", Some(&access)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"], "invalid_query_parameter");
    assert_eq!(against("imsx_statusinfo", &e), Vec::<String>::new());
    let (s, _, page) = read("/ims/ob/v3p0/credentials?since=2000-01-01T00:00:00Z&limit=500", Some(&access)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page["credential"].as_array().unwrap().len(), 3);
    let (s, _, e) = read("/ims/ob/v3p0/profile", Some(&access)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let put = app.client.put(format!("{}/ims/ob/v3p0/profile", app.base)).bearer_auth(&access).send().await.unwrap();
    assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(!against("imsx_statusinfo", &json!({"imsx_codeMajor": "failure", "imsx_severity": "fatal"})).is_empty());
    let e = put.json::<Value>().await.unwrap();
    assert_eq!(e["imsx_codeMajor"], "failure");
    assert_eq!(against("imsx_statusinfo", &e), Vec::<String>::new());
    let (s, _, sdd) = read("/ims/ob/v3p0/discovery", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(sdd["openapi"], "3.0.1");
    // A valid OpenAPI 3.0 document by an independent validator's reading.
    let checked = crate::interop::run_node("openapi_check.mjs", &json!({"documents": {"discovery": sdd}}));
    let checked: Value = serde_json::from_str(checked.trim()).unwrap();
    assert_eq!((&checked["valid"], &checked["version"]), (&json!(true), &json!("3.0")), "{checked}");
    let privacy = app.client.get(format!("{}/privacy?lang=nl", app.base)).send().await.unwrap();
    assert_eq!(privacy.status(), StatusCode::OK);
    assert!(privacy.text().await.unwrap().contains("gezouten hash"));

    // Erasure everywhere ends the app's access with the learner's data.
    let (s, _) = app.post("/api/v1/learners/erase", crate::harness::ADMIN, json!({"identity": "ann@example.nl"})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = read("/ims/ob/v3p0/credentials", Some(&access)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let left = app.store.query_text("SELECT CAST(COUNT(*) AS TEXT) FROM oauth_token").await.unwrap();
    assert_eq!(left, vec!["0".to_string()]);
}

/// Registration needs no account: one client may register only so many apps an hour.
async fn ob_api_registration_is_rate_limited(app: TestApp) {
    let limits = metrobadge::http::limits::Limits { registrations_per_hour: 2, ..Default::default() };
    let store = metrobadge::store::Store::connect(&app.db.url).await.unwrap();
    let limited = TestApp::start_limited(store, app.db.clone(), crate::harness::TEST_MASTER_KEY, &limits).await;
    let url = format!("{}/ims/ob/v3p0/oauth/register", limited.base);
    let (a, b) = (crate::trust::client_from("127.0.0.1"), crate::trust::client_from("127.0.0.2"));
    for _ in 0..2 {
        assert_eq!(a.post(&url).json(&registration()).send().await.unwrap().status(), StatusCode::CREATED);
    }
    let r = a.post(&url).json(&registration()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(b.post(&url).json(&registration()).send().await.unwrap().status(), StatusCode::CREATED);
    // Other OAuth endpoints are not held up.
    let revoke = a.post(format!("{}/ims/ob/v3p0/oauth/revoke", limited.base)).body("token=x").send().await.unwrap();
    assert_eq!(revoke.status(), StatusCode::UNAUTHORIZED);
    limited.stop().await;
}
