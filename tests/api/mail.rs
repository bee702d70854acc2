//! E-mail through the outbox, against a real SMTP server (Python's aiosmtpd, started by the
//! test): what learners and members receive, SMTP down and back, a refused address, two
//! instances sending from one database, DKIM. The tests count what the server received.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::awards::module;
use crate::harness::{ADMIN, TEST_MASTER_KEY, TestApp, both};

both!(
    mail_award_reaches_the_learner,
    mail_smtp_down_then_delivered_once,
    mail_refused_address_is_a_dead_letter,
    mail_two_instances_send_each_message_once,
    mail_console_invitations_are_mailed,
    mail_dkim_signature_verifies,
    mail_certificate_earned_and_cascade,
    me_learner_sees_all_badges_and_hides_a_page,
    me_further_addresses_meet_on_one_page,
    me_shows_progress_along_lines,
);

fn smtp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smtp")
}

fn python() -> PathBuf {
    smtp_dir().join(".venv/bin/python")
}

/// Installs the pinned SMTP server (aiosmtpd) and dkimpy in a virtualenv the first time a test
/// needs them.
fn ensure_smtp() {
    static DONE: Mutex<bool> = Mutex::new(false);
    let mut done = DONE.lock().unwrap_or_else(|p| p.into_inner());
    if *done {
        return;
    }
    let ready = Command::new(python()).args(["-c", "import aiosmtpd, dkim"]).status().is_ok_and(|s| s.success());
    if !ready {
        let venv = Command::new("python3").args(["-m", "venv", ".venv"]).current_dir(smtp_dir()).status();
        assert!(venv.is_ok_and(|s| s.success()), "python3 -m venv in tests/smtp failed");
        let pip = Command::new(smtp_dir().join(".venv/bin/pip"))
            .args(["install", "-q", "-r", "requirements.txt"])
            .current_dir(smtp_dir())
            .status();
        assert!(pip.is_ok_and(|s| s.success()), "pip install in tests/smtp failed");
    }
    *done = true;
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    crate::cluster::port_for_restarts()
}

/// One received message, as the server parsed it.
#[derive(Debug, Clone)]
pub struct Received(pub Value);

impl Received {
    pub fn to(&self) -> &str {
        self.0["to"][0].as_str().unwrap_or_default()
    }
    pub fn subject(&self) -> &str {
        self.0["subject"].as_str().unwrap_or_default()
    }
    pub fn text(&self) -> &str {
        self.0["text"].as_str().unwrap_or_default()
    }
    pub fn html(&self) -> &str {
        self.0["html"].as_str().unwrap_or_default()
    }
}

/// The SMTP server process; stopped when dropped.
pub struct SmtpServer {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        let dir = std::env::temp_dir().join(format!("mb_smtp_{}", uuid::Uuid::new_v4().simple()));
        SmtpServer::start_on(free_port(), dir)
    }

    /// A server on `port`, keeping messages in `dir` (a restarted server keeps the old ones).
    pub fn start_on(port: u16, dir: PathBuf) -> SmtpServer {
        ensure_smtp();
        let mut child = Command::new(python())
            .arg(smtp_dir().join("server.py"))
            .arg(port.to_string())
            .arg(&dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python is installed");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        SmtpServer { port, dir, child: Some(child) }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn mailer(&self) -> metrobadge::mailer::Mailer {
        metrobadge::mailer::Mailer::new(&self.url(), "metrobadge@example.org", None).unwrap()
    }

    /// Everything received so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|f| f.extension().is_some_and(|e| e == "json"));
        files.sort();
        files.iter().map(|f| Received(serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap())).collect()
    }

    /// Waits (polling, at most 30 s) until `n` messages arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..300 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected {n} messages, the SMTP server received {}", self.received().len());
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn mail_award_reaches_the_learner(app: TestApp) {
    let smtp = SmtpServer::start();
    let sender = app.service.clone().with_mailer(smtp.mailer());
    let worker = tokio::spawn(sender.clone().run_mail_worker(Duration::from_secs(3600)));
    let (issuer, nm) = module(&app, None).await;
    let (s, _) =
        app.patch(&format!("/api/v1/issuers/{issuer}"), ADMIN, json!({"email": "opleidingen@tt.example"})).await;
    assert_eq!(s, StatusCode::OK);
    let answer = app
        .award(
            &nm,
            json!([
                {"identity": "ann@example.nl", "name": "Ann de Vries"},
                {"identity": "bob@example.nl", "name": "Bob Smith", "language": "en"},
                {"identity": "emp-7", "identity_type": "identifier", "name": "No Mail"},
            ]),
        )
        .await;
    assert_eq!(answer["messages_queued"], 2, "{answer}");
    // The worker was woken by the award; nothing else made it send.
    let got = smtp.wait_for(2).await;
    assert_eq!(got.len(), 2);
    let ann = got.iter().find(|m| m.to() == "ann@example.nl").expect("ann's message");
    let bob = got.iter().find(|m| m.to() == "bob@example.nl").expect("bob's message");
    assert_eq!(ann.subject(), "Je hebt de badge ‘Smeren’ behaald");
    assert_eq!(bob.subject(), "You earned the badge “Smeren”");
    for (m, c) in [(ann, &answer["credentials"][0]), (bob, &answer["credentials"][1])] {
        let badge = c["id"].as_str().unwrap();
        let progress = c["progress_url"].as_str().unwrap();
        for part in [m.text(), m.html()] {
            assert!(part.contains(badge), "badge link in {part}");
            assert!(part.contains(progress), "progress link in {part}");
            assert!(part.contains("https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME"), "{part}");
        }
        assert!(m.text().contains("Techniek Twente"));
        assert!(!m.html().contains("<img"), "no remote images (no tracking); no uploaded artwork here");
        assert!(m.0["from"].as_str().unwrap().contains("Techniek Twente"), "{}", m.0["from"]);
        assert_eq!(m.0["reply_to"], "opleidingen@tt.example");
        let id = m.0["message_id"].as_str().unwrap();
        assert!(id.starts_with('<') && id.ends_with("@127.0.0.1>"), "{id}");
        assert_eq!(m.0["list_unsubscribe_post"], "List-Unsubscribe=One-Click");
    }
    assert!(ann.text().starts_with("Je hebt de badge") && ann.text().contains("Beste Ann de Vries,"));

    // One click (as a mail client does it) stops Ann's mail from this issuer…
    let unsubscribe = ann.0["list_unsubscribe"].as_str().unwrap().trim_matches(['<', '>']).to_string();
    assert!(unsubscribe.starts_with(&format!("{}/mail/unsubscribe/mbu_", app.base)), "{unsubscribe}");
    let page = app.client.get(&unsubscribe).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Geen e-mail meer"), "opening the link only asks");
    let click = app
        .client
        .post(&unsubscribe)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(click.status(), StatusCode::OK);
    assert!(click.text().await.unwrap().contains("Je ontvangt geen e-mail meer van Techniek Twente"));

    // …so a second badge reaches only Bob…
    let nm2 = app.module(&issuer, "Lagers wisselen").await;
    // This module has uploaded PNG artwork: it travels inside the message.
    let png = metrobadge::credential::bake::solid_png(16, [10, 80, 160]);
    let r = app.put_image(&nm2, "image/png", png.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let second = app
        .award(&nm2, json!([{"identity": "ann@example.nl"}, {"identity": "bob@example.nl", "language": "en"}]))
        .await;
    assert_eq!(second["messages_queued"], 1);
    let got = smtp.wait_for(3).await;
    assert_eq!(got[2].to(), "bob@example.nl");
    assert!(got[2].html().contains("<img src=\"cid:artwork@metrobadge\""), "{}", got[2].html());
    assert_eq!(
        got[2].0["inline"],
        json!([{"content_type": "image/png", "content_id": "<artwork@metrobadge>", "disposition": "inline", "size": png.len()}])
    );

    // …but the revocation of her own badge still reaches Ann, with the reason.
    let id = answer["credentials"][0]["id"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let (s, body) =
        app.post(&format!("/api/v1/credentials/{id}/revoke"), ADMIN, json!({"reason": "verkeerde persoon"})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let got = smtp.wait_for(4).await;
    assert_eq!(got[3].to(), "ann@example.nl");
    assert_eq!(got[3].subject(), "Je bewijs ‘Smeren’ is ingetrokken");
    assert!(got[3].text().contains("Opgegeven reden: verkeerde persoon"));
    assert!(got[3].0["list_unsubscribe"].is_null(), "status news has no opt-out");

    // What was sent joins Ann's export; nothing was sent twice.
    let (s, export) = app.post("/api/v1/learners/export", ADMIN, json!({"identity": "ann@example.nl"})).await;
    assert_eq!(s, StatusCode::OK, "{export}");
    let kinds: Vec<&str> = export["messages"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["badge_awarded", "status_changed"]);
    assert!(export["mail_subscriptions"][0]["opted_out"].is_string(), "{export}");
    assert_eq!(smtp.received().len(), 4);
    worker.abort();

    // Erasure forgets the messages too.
    let (s, _) = app.post("/api/v1/learners/erase", ADMIN, json!({"identity": "ann@example.nl"})).await;
    assert_eq!(s, StatusCode::OK);
    let left = app.store.query_text("SELECT address FROM mail_outbox").await.unwrap();
    assert!(!left.iter().any(|a| a == "ann@example.nl"), "{left:?}");
}

async fn mail_smtp_down_then_delivered_once(app: TestApp) {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("mb_smtp_{}", uuid::Uuid::new_v4().simple()));
    let down = metrobadge::mailer::Mailer::new(&format!("smtp://127.0.0.1:{port}"), "mb@example.org", None).unwrap();
    let sender = app.service.clone().with_mailer(down);
    let (_, nm) = module(&app, None).await;
    app.award(&nm, json!([{"identity": "ann@example.nl"}])).await;

    // Nobody listens: the award stands, the message waits.
    let round = sender.send_mail_round().await.unwrap();
    assert_eq!((round.sent, round.retried, round.dead), (0, 1, 0));
    let (_, outbox) = app.get("/api/v1/messages?state=queued", Some(ADMIN)).await;
    assert_eq!(outbox["messages"][0]["attempts"], 1, "{outbox}");
    assert!(outbox["messages"][0]["last_error"].is_string(), "{outbox}");

    // The server comes back; the retry is due after the backoff (the clock moves, no sleep).
    let smtp = SmtpServer::start_on(port, dir);
    assert_eq!(sender.send_mail_round().await.unwrap().sent, 0, "not due yet");
    app.service.clock().advance(time::Duration::seconds(31));
    assert_eq!(sender.send_mail_round().await.unwrap().sent, 1);
    app.service.clock().advance(time::Duration::hours(2));
    assert_eq!(sender.send_mail_round().await.unwrap(), Default::default());
    assert_eq!(smtp.received().len(), 1, "delivered exactly once");
    let (_, sent) = app.get("/api/v1/messages?state=sent", Some(ADMIN)).await;
    assert_eq!(sent["counts"]["sent"], 1, "{sent}");
    assert_eq!(sent["messages"][0]["attempts"], 2);
}

async fn mail_refused_address_is_a_dead_letter(app: TestApp) {
    let smtp = SmtpServer::start();
    let sender = app.service.clone().with_mailer(smtp.mailer());
    let (issuer, nm) = module(&app, None).await;
    app.award(&nm, json!([{"identity": "bounce@example.nl"}, {"identity": "ann@example.nl"}])).await;
    let round = sender.send_mail_round().await.unwrap();
    assert_eq!((round.sent, round.dead), (1, 1));
    assert_eq!(smtp.received().len(), 1);

    // Issuer admins see their dead letters (with the server's answer) and resend them.
    let admin = app.member(&issuer, "issuer_admin").await;
    let (s, dead) = app.get(&format!("/api/v1/issuers/{issuer}/messages?state=dead"), Some(&admin)).await;
    assert_eq!(s, StatusCode::OK, "{dead}");
    assert_eq!(dead["counts"]["dead"], 1);
    let letter = &dead["messages"][0];
    assert_eq!(letter["address"], "bounce@example.nl");
    assert!(letter["last_error"].as_str().unwrap().contains("550"), "{letter}");
    // Trainers do not; other issuers do not even see the issuer.
    let trainer = app.member(&issuer, "trainer").await;
    let (s, _) = app.get(&format!("/api/v1/issuers/{issuer}/messages"), Some(&trainer)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let other = app.issuer("Ander").await;
    let other_admin = app.member(&other, "issuer_admin").await;
    let (s, _) = app.get(&format!("/api/v1/issuers/{issuer}/messages"), Some(&other_admin)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) =
        app.post(&format!("/api/v1/messages/{}/resend", letter["id"].as_str().unwrap()), &other_admin, json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.get("/api/v1/messages?state=bogus", Some(ADMIN)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // The console shows the same dead letter to the issuer admin, in both languages, and sends
    // it again from there (CSRF-protected).
    let link = crate::console::invite(&app, &issuer, "issuer_admin", "beheer@tt.example").await;
    let mut b = crate::console::accept(&app, &link, "a long enough password 1").await;
    let page = b.get("/console/messages").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("bounce@example.nl") && page.body.contains("550"), "{}", page.body);
    assert!(page.body.contains("Not delivered (1)") && page.body.contains("Sent (1)"), "{}", page.body);
    let dutch = b.get("/console/messages?lang=nl").await;
    assert!(dutch.body.contains("Niet bezorgd (1)") && dutch.body.contains("Badge uitgereikt"), "{}", dutch.body);
    let id = letter["id"].as_str().unwrap();
    let refused = b.post(&format!("/console/messages/{id}/resend"), &[("csrf", "wrong")]).await;
    assert_ne!(refused.status, StatusCode::OK);
    let csrf = page.hidden("csrf");
    let resent = b.post(&format!("/console/messages/{id}/resend"), &[("csrf", &csrf)]).await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.body);
    assert!(resent.body.contains("Het bericht staat weer in de wachtrij") || resent.body.contains("back in the queue"));
    assert_eq!(sender.send_mail_round().await.unwrap().dead, 1, "still refused");
    let trainer_link = crate::console::invite(&app, &issuer, "trainer", "trainer2@tt.example").await;
    let mut t = crate::console::accept(&app, &trainer_link, "a long enough password 2").await;
    assert_eq!(t.get("/console/messages").await.status, StatusCode::FORBIDDEN);

    let (s, again) = app.post(&format!("/api/v1/messages/{id}/resend"), &admin, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["state"], "queued");
    let (s, _) = app.post(&format!("/api/v1/messages/{id}/resend"), &admin, json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "only dead letters are resent");
    assert_eq!(sender.send_mail_round().await.unwrap().dead, 1, "still refused");
    let (_, trail) = app.get(&format!("/api/v1/audit/events?issuer={issuer}&limit=1000"), Some(ADMIN)).await;
    assert!(trail.to_string().contains("mail.resent"), "{trail}");
}

async fn mail_two_instances_send_each_message_once(app: TestApp) {
    let smtp = SmtpServer::start();
    let second = TestApp::start(app.db.clone(), TEST_MASTER_KEY).await;
    let (_, nm) = module(&app, None).await;
    let learners: Vec<Value> = (0..40).map(|i| json!({"identity": format!("l{i}@example.nl")})).collect();
    app.award(&nm, json!(learners)).await;
    let one = app.service.clone().with_mailer(smtp.mailer());
    let two = second.service.clone().with_mailer(smtp.mailer());
    let (a, b) = tokio::join!(one.send_mail_round(), two.send_mail_round());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.sent + b.sent, 40, "{a:?} {b:?}");
    let got = smtp.received();
    assert_eq!(got.len(), 40);
    let ids: std::collections::BTreeSet<&str> = got.iter().map(|m| m.0["message_id"].as_str().unwrap()).collect();
    let to: std::collections::BTreeSet<&str> = got.iter().map(|m| m.to()).collect();
    assert_eq!((ids.len(), to.len()), (40, 40), "every message once");
    second.stop().await;
}

async fn mail_console_invitations_are_mailed(app: TestApp) {
    let smtp = SmtpServer::start();
    let sender = app.service.clone().with_mailer(smtp.mailer());
    let issuer = app.issuer("Techniek Twente").await;
    let (s, _) = app.patch(&format!("/api/v1/issuers/{issuer}"), ADMIN, json!({"language": "en"})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, bad) = app.patch(&format!("/api/v1/issuers/{issuer}"), ADMIN, json!({"language": "fr"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (s, member) = app
        .post(
            &format!("/api/v1/issuers/{issuer}/members"),
            ADMIN,
            json!({"name": "Tina Trainer", "email": "tina@tt.example", "role": "trainer"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{member}");
    sender.send_mail_round().await.unwrap();
    let got = smtp.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to(), "tina@tt.example");
    assert_eq!(got[0].subject(), "You are invited to the metrobadge console of Techniek Twente");
    assert!(got[0].text().contains(member["invitation_url"].as_str().unwrap()));
    assert!(got[0].text().contains("as trainer"));
    assert!(got[0].0["list_unsubscribe"].is_null());

    let id = member["id"].as_str().unwrap();
    let (s, reset) = app.post(&format!("/api/v1/issuers/{issuer}/members/{id}/invitation"), ADMIN, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{reset}");
    sender.send_mail_round().await.unwrap();
    let got = smtp.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].subject(), "Set a new password for the metrobadge console");
    let link = reset["invitation_url"].as_str().unwrap();
    assert!(got[1].text().contains(link), "{reset}");
}

async fn mail_dkim_signature_verifies(app: TestApp) {
    let smtp = SmtpServer::start();
    let dir = std::env::temp_dir().join(format!("mb_dkim_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("dkim.pem");
    let ok = Command::new("openssl")
        .args(["genrsa", "-traditional", "-out"])
        .arg(&key)
        .arg("2048")
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success());
    let public = Command::new("openssl").args(["rsa", "-pubout", "-outform", "DER", "-in"]).arg(&key).output().unwrap();
    use base64::Engine;
    let record = format!("v=DKIM1; k=rsa; p={}", base64::engine::general_purpose::STANDARD.encode(&public.stdout));
    let mailer = metrobadge::mailer::Mailer::new(
        &smtp.url(),
        "metrobadge@example.org",
        Some(metrobadge::mailer::Dkim { key: std::fs::read_to_string(&key).unwrap(), selector: "mb".into() }),
    )
    .unwrap();
    let sender = app.service.clone().with_mailer(mailer);
    let (_, nm) = module(&app, None).await;
    app.award(&nm, json!([{"identity": "ann@example.nl"}])).await;
    assert_eq!(sender.send_mail_round().await.unwrap().sent, 1);
    let got = smtp.received();
    assert!(got[0].0["dkim"].as_bool().unwrap());
    let out = Command::new(python())
        .arg(smtp_dir().join("dkim_verify.py"))
        .arg(got[0].0["file"].as_str().unwrap())
        .arg(&record)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "pass", "{}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

async fn mail_certificate_earned_and_cascade(app: TestApp) {
    let smtp = SmtpServer::start();
    let sender = app.service.clone().with_mailer(smtp.mailer());
    let l = crate::stacking::line(&app).await;
    app.award_one(&l.a, "jan@example.nl").await;
    let last = app.award_one(&l.b, "jan@example.nl").await;
    let certificate = last["certificates"][0]["certificate"].as_str().unwrap().to_string();
    assert_eq!(sender.send_mail_round().await.unwrap().sent, 3);
    let got = smtp.received();
    let cert = got.iter().find(|m| m.subject().contains("certificaat")).expect("a certificate message");
    assert_eq!(cert.subject(), "Je hebt het certificaat ‘Deelcertificaat Onderhoud’ behaald");
    assert!(cert.text().contains(&certificate) && cert.text().contains("/progress/mbp_"), "{}", cert.text());

    // Revoking a component revokes the certificate by cascade: Jan hears of both.
    let badge = last["credentials"][0]["id"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let (s, _) = app.post(&format!("/api/v1/credentials/{badge}/revoke"), ADMIN, json!({"reason": "fout"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(sender.send_mail_round().await.unwrap().sent, 2);
    let got = smtp.received();
    let subjects: Vec<&str> = got[3..].iter().map(|m| m.subject()).collect();
    assert!(subjects.contains(&"Je bewijs ‘Deelcertificaat Onderhoud’ is ingetrokken"), "{subjects:?}");
    assert!(subjects.contains(&"Je bewijs ‘Trillingen meten’ is ingetrokken"), "{subjects:?}");
}

/// The issuer of a credential (by its public URL).
async fn first_issuer(app: &TestApp, credential: &str) -> String {
    let doc: Value =
        app.client.get(credential).header("accept", "application/json").send().await.unwrap().json().await.unwrap();
    doc["issuer"]["id"].as_str().unwrap().rsplit('/').next().unwrap().to_string()
}

/// The sign-in link in a message (the first URL under /me/link/).
pub fn sign_in_link(m: &Received) -> String {
    let text = m.text();
    let at = text.find("/me/link/").expect("a sign-in link");
    let start = text[..at].rfind("http").unwrap();
    text[start..].split_whitespace().next().unwrap().to_string()
}

async fn me_learner_sees_all_badges_and_hides_a_page(app: TestApp) {
    let smtp = SmtpServer::start();
    let sender = app.service.clone().with_mailer(smtp.mailer());
    let (_, nm) = module(&app, None).await;
    let other = app.issuer("Zorgacademie").await;
    let nm2 = app.module(&other, "Tillen zonder klachten").await;
    let first = app.award(&nm, json!([{"identity": "ann@example.nl"}, {"identity": "bob@example.nl"}])).await;
    app.award(&nm2, json!([{"identity": "Ann@Example.nl"}])).await;
    sender.send_mail_round().await.unwrap();
    let before = smtp.received().len();

    // Asking for a link says the same for an unknown address, and mails only a known one.
    let ask = |email: &'static str| {
        app.client
            .post(format!("{}/me/sign-in?lang=en", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("email={email}"))
            .send()
    };
    let unknown = ask("nobody@example.nl").await.unwrap();
    assert_eq!(unknown.status(), StatusCode::OK);
    let unknown = unknown.text().await.unwrap();
    let known = ask("ann@example.nl").await.unwrap().text().await.unwrap();
    assert_eq!(unknown, known, "no difference tells whether the address holds badges");
    let bad = ask("not-an-address").await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(sender.send_mail_round().await.unwrap().sent, 1);
    let got = smtp.received();
    assert_eq!(got.len(), before + 1);
    let mail = &got[before];
    assert_eq!((mail.to(), mail.subject()), ("ann@example.nl", "Your link to all your badges"));
    let link = sign_in_link(mail);

    // Opening the link uses nothing up (mail scanners open links); the button signs in.
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let signed_in = browser.post(&link).send().await.unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/me"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_string();
    let again = browser.post(&link).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::GONE, "a link works once");

    // Both issuers' badges, none of Bob's.
    let me = browser.get(format!("{}/me?lang=en", app.base)).header("cookie", &session).send().await.unwrap();
    let body = me.text().await.unwrap();
    assert!(body.contains("Smeren") && body.contains("Tillen zonder klachten"), "{body}");
    assert!(body.contains("Techniek Twente") && body.contains("Zorgacademie"));
    let ann_badge = first["credentials"][0]["id"].as_str().unwrap().to_string();
    let bob_badge = first["credentials"][1]["id"].as_str().unwrap().to_string();
    assert!(body.contains(&ann_badge) && !body.contains(&bob_badge));
    assert!(body.contains("linkedin.com/profile/add"));
    assert!(
        body.contains(&format!("{ann_badge}/badge.png")) && body.contains(&format!("{ann_badge}/badge.svg")),
        "baked downloads"
    );
    let csrf = body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();

    // Hiding the public page: the HTML page says so, the JSON and verification stay.
    let ann_id = ann_badge.rsplit('/').next().unwrap();
    let post = |path: String, csrf: String| {
        browser
            .post(format!("{}{path}", app.base))
            .header("cookie", &session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={csrf}"))
            .send()
    };
    assert_eq!(
        post(format!("/me/credentials/{ann_id}/hide"), "wrong".into()).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let bob_id = bob_badge.rsplit('/').next().unwrap();
    assert_eq!(
        post(format!("/me/credentials/{bob_id}/hide"), csrf.clone()).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(format!("/me/credentials/{ann_id}/hide"), csrf.clone()).await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let html =
        app.client.get(&ann_badge).header("accept", "text/html").header("accept-language", "en").send().await.unwrap();
    assert_eq!(html.status(), StatusCode::NOT_FOUND);
    assert!(html.text().await.unwrap().contains("This page is not shown"));
    let json = app.client.get(&ann_badge).header("accept", "application/json").send().await.unwrap();
    assert_eq!(json.status(), StatusCode::OK);
    let (s, report) = app.call(reqwest::Method::POST, "/verify", None, Some(json!({"credential": ann_badge}))).await;
    assert_eq!((s, &report["verified"]), (StatusCode::OK, &json!(true)), "{report}");
    let bob_page = app.client.get(&bob_badge).header("accept", "text/html").send().await.unwrap();
    assert_eq!(bob_page.status(), StatusCode::OK, "others' pages stay");
    assert_eq!(
        post(format!("/me/credentials/{ann_id}/show"), csrf.clone()).await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let html = app.client.get(&ann_badge).header("accept", "text/html").send().await.unwrap();
    assert_eq!(html.status(), StatusCode::OK);

    // A correction request goes to the issuer's address, replies to Ann.
    let (s, _) = app
        .patch(
            &format!("/api/v1/issuers/{}", first_issuer(&app, &ann_badge).await),
            ADMIN,
            json!({"email": "info@tt.example"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let asked = browser
        .post(format!("{}/me/credentials/{ann_id}/correction?lang=en", app.base))
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&message=Mijn+naam+is+Anna%2C+niet+Ann"))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), StatusCode::OK);
    assert!(asked.text().await.unwrap().contains("Your request is on its way to Techniek Twente"));
    assert_eq!(sender.send_mail_round().await.unwrap().sent, 1);
    let request = smtp.received().pop().unwrap();
    assert_eq!(request.to(), "info@tt.example");
    assert_eq!(request.0["reply_to"], "ann@example.nl");
    assert!(request.text().contains("Mijn naam is Anna, niet Ann") && request.text().contains(&ann_badge));
    // Zorgacademie has no contact address: the page says so.
    let zorg_badge = body
        .split("/credentials/")
        .filter_map(|p| p.split('"').next())
        .find(|id| *id != ann_id && id.len() == 36)
        .unwrap()
        .to_string();
    let refused = browser
        .post(format!("{}/me/credentials/{zorg_badge}/correction?lang=en", app.base))
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&message=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("no contact address"));

    // Everything as one ZIP: each credential's signed JSON and VC-JWT.
    let zip = browser.get(format!("{}/me/export.zip", app.base)).header("cookie", &session).send().await.unwrap();
    assert_eq!(zip.headers()["content-type"], "application/zip");
    let bytes = zip.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(archive.len(), 4, "two credentials, JSON and JWT each");
    let mut signed = String::new();
    std::io::Read::read_to_string(&mut archive.by_name(&format!("{ann_id}.json")).unwrap(), &mut signed).unwrap();
    let (_, served) = app.get(&format!("/credentials/{ann_id}"), None).await;
    assert_eq!(serde_json::from_str::<Value>(&signed).unwrap(), served, "the signed document as issued");

    // Signing out ends the session.
    assert_eq!(post("/me/sign-out".into(), csrf).await.unwrap().status(), StatusCode::SEE_OTHER);
    let me = browser.get(format!("{}/me?lang=en", app.base)).header("cookie", &session).send().await.unwrap();
    assert!(me.text().await.unwrap().contains("Send me a link"));

    // At most three links per address per quarter hour.
    for _ in 0..4 {
        ask("ann@example.nl").await.unwrap();
    }
    assert_eq!(sender.send_mail_round().await.unwrap().sent, 2, "two more make three in the window");
}

/// A learner joins a private address to the work address they signed in with: after the
/// confirmation link (mailed to the new address) both addresses' badges are on one page, and
/// signing in with either shows the same page.
async fn me_further_addresses_meet_on_one_page(app: TestApp) {
    let smtp = SmtpServer::start();
    let sender = app.service.clone().with_mailer(smtp.mailer());
    let (_, nm) = module(&app, None).await;
    let other = app.issuer("Zorgacademie").await;
    let nm2 = app.module(&other, "Tillen zonder klachten").await;
    app.award(&nm, json!([{"identity": "ann@werk.example"}])).await;
    app.award(&nm2, json!([{"identity": "ann@prive.example"}, {"identity": "eve@example.nl"}])).await;
    let session = crate::impact::learner_session(&app, &smtp, &sender, "ann@werk.example").await;
    let page = crate::impact::my_page(&app, &session).await;
    assert!(page.contains("Smeren") && !page.contains("Tillen zonder klachten"));

    // Adding the private address mails a link there; nothing changes until it is opened.
    let csrf = crate::impact::csrf_of(&page);
    let add = |address: &str| {
        crate::impact::form(
            &app.client,
            &format!("{}/me/addresses?lang=en", app.base),
            &format!("csrf={csrf}&address={address}"),
        )
        .header("cookie", &session)
        .send()
    };
    let r = add("not-an-address").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = add("Ann%40Prive.example").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("A confirmation link is on its way"));
    assert!(!crate::impact::my_page(&app, &session).await.contains("Tillen zonder klachten"));
    sender.send_mail_round().await.unwrap();
    let mail = smtp.received().into_iter().rev().find(|m| m.to() == "ann@prive.example").unwrap();
    assert_eq!(mail.subject(), "Confirm this address for your badges", "in the language of the page");
    assert!(mail.text().contains("ann@werk.example"), "{}", mail.text());
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let confirmed = browser.post(sign_in_link(&mail)).send().await.unwrap();
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    let second = confirmed.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();

    // Both addresses' badges on one page, from either session; nobody else's.
    for s in [&session, &second] {
        let page = crate::impact::my_page(&app, s).await;
        assert!(page.contains("Smeren") && page.contains("Tillen zonder klachten"), "{page}");
        assert!(page.contains("ann@prive.example") && page.contains("ann@werk.example"));
    }
    // Signing in with the private address later shows the same page.
    let third = crate::impact::learner_session(&app, &smtp, &sender, "ann@prive.example").await;
    let page = crate::impact::my_page(&app, &third).await;
    assert!(page.contains("Smeren") && page.contains("Tillen zonder klachten"));
    assert!(!page.contains("eve@example.nl"));
    // The download holds both.
    let zip = browser.get(format!("{}/me/export.zip", app.base)).header("cookie", &third).send().await.unwrap();
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip.bytes().await.unwrap().to_vec())).unwrap();
    assert_eq!(archive.len(), 4);
    // The issuer's export of the learner names the joined addresses.
    let (_, export) = app.post("/api/v1/learners/export", ADMIN, json!({"identity": "ann@werk.example"})).await;
    assert_eq!(export["learner_addresses"], json!(["ann@werk.example", "ann@prive.example"]), "{export}");
}

/// The learner's page shows where they stand on every line they started, and the certificate
/// once the line is complete.
async fn me_shows_progress_along_lines(app: TestApp) {
    let smtp = SmtpServer::start();
    let sender = app.service.clone().with_mailer(smtp.mailer());
    let l = crate::stacking::line(&app).await;
    app.award_one(&l.a, "jan@example.nl").await;
    let session = crate::impact::learner_session(&app, &smtp, &sender, "jan@example.nl").await;
    let page = crate::impact::my_page(&app, &session).await;
    assert!(page.contains("Your progress along metro lines") && page.contains("<h3>Onderhoud basis</h3>"), "{page}");
    assert!(page.contains("<li>Smeren — <strong>done</strong></li>"), "{page}");
    assert!(page.contains("<li>Trillingen meten — still to do</li>"), "{page}");
    assert!(!page.contains("Complete: certificate earned"));
    let done = app.award_one(&l.b, "jan@example.nl").await;
    let certificate = done["certificates"][0]["certificate"].as_str().unwrap();
    let page = crate::impact::my_page(&app, &session).await;
    assert!(page.contains("Complete: certificate earned") && page.contains(certificate), "{page}");
}
