//! Test servers: the real router on an ephemeral port, over a fresh database per test —
//! a temporary SQLite file, or a PostgreSQL database created for the test and dropped after.

use std::future::Future;
use std::path::PathBuf;

use metrobadge::App;
use metrobadge::master_key::MasterKey;
use metrobadge::service::Service;
use metrobadge::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::oneshot;

pub const ADMIN: &str = "test-admin-token";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Server of the PostgreSQL cluster used for test databases: `METROBADGE_TEST_POSTGRES`, else
/// the server on 127.0.0.1:5432 if one answers, else (or with `METROBADGE_TEST_POSTGRES=own`) a
/// throwaway cluster the suite starts itself from the installed server binaries and stops when
/// it exits.
fn pg_server() -> String {
    static SERVER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SERVER
        .get_or_init(|| {
            match std::env::var("METROBADGE_TEST_POSTGRES") {
                Ok(url) if url != "own" => return url,
                Ok(_) => {}
                Err(_) => {
                    let local = std::net::SocketAddr::from(([127, 0, 0, 1], 5432));
                    if std::net::TcpStream::connect_timeout(&local, std::time::Duration::from_secs(1)).is_ok() {
                        return "postgres://postgres@127.0.0.1:5432".into();
                    }
                }
            }
            let cluster = crate::cluster::Cluster::start();
            let url = format!("postgres://postgres@127.0.0.1:{}", cluster.port);
            eprintln!("no PostgreSQL on 127.0.0.1:5432: started a throwaway cluster for this run at {url}");
            cluster.keep_until_exit_of(std::process::id());
            url
        })
        .clone()
}

/// A database that exists for one test.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    name: String,
    files: Vec<PathBuf>,
}

impl TestDb {
    /// A database the test manages itself (e.g. on its own cluster); dropping does nothing.
    pub fn external(url: &str) -> TestDb {
        TestDb { backend: Backend::Postgres, url: url.into(), name: String::new(), files: vec![] }
    }

    pub async fn create(backend: Backend) -> TestDb {
        let name = format!("mb_test_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                let files =
                    ["", "-wal", "-shm"].iter().map(|s| PathBuf::from(format!("{}{s}", path.display()))).collect();
                TestDb { backend, url: format!("sqlite://{}", path.display()), name, files }
            }
            Backend::Postgres => {
                let admin = Store::open(&format!("{}/postgres", pg_server()))
                    .await
                    .expect("PostgreSQL for tests (set METROBADGE_TEST_POSTGRES)");
                admin.execute_raw(&format!("CREATE DATABASE {name}")).await.expect("create test database");
                admin.close().await;
                TestDb { backend, url: format!("{}/{name}", pg_server()), name, files: vec![] }
            }
        }
    }

    pub async fn drop_db(&self) {
        match self.backend {
            Backend::Sqlite => {
                for f in &self.files {
                    let _ = std::fs::remove_file(f);
                }
            }
            Backend::Postgres if self.name.is_empty() => {}
            Backend::Postgres => {
                let admin = Store::open(&format!("{}/postgres", pg_server()))
                    .await
                    .expect("PostgreSQL for tests (set METROBADGE_TEST_POSTGRES)");
                let _ = admin.execute_raw(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).await;
                admin.close().await;
            }
        }
    }

    pub fn sqlite_files(&self) -> &[PathBuf] {
        &self.files
    }
}

/// A running server plus a client.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub service: Service,
    /// The same database as the service's, for tests that look underneath (or tamper).
    pub store: Store,
    pub db: std::sync::Arc<TestDb>,
    pub master_key_file: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
}

impl TestApp {
    /// Starts another server instance on the same database (several instances, one database).
    pub async fn start(db: std::sync::Arc<TestDb>, master_key_text: &str) -> TestApp {
        let store = Store::connect(&db.url).await.expect("connect test database");
        TestApp::start_on(store, db, master_key_text).await
    }

    /// A server on an already opened store (tests choose its limits, or leave it unmigrated).
    pub async fn start_on(store: Store, db: std::sync::Arc<TestDb>, master_key_text: &str) -> TestApp {
        TestApp::start_limited(store, db, master_key_text, &metrobadge::http::limits::Limits::default()).await
    }

    /// [`TestApp::start_on`] with explicit abuse limits.
    pub async fn start_limited(
        store: Store,
        db: std::sync::Arc<TestDb>,
        master_key_text: &str,
        limits: &metrobadge::http::limits::Limits,
    ) -> TestApp {
        TestApp::start_configured(store, db, master_key_text, limits, |s| s).await
    }

    /// Another instance on the same database whose service `configure` adjusts (a fetch policy,
    /// say), with the default limits.
    pub async fn start_with(&self, configure: impl FnOnce(Service) -> Service) -> TestApp {
        let store = Store::connect(&self.db.url).await.expect("connect test database");
        let key = std::fs::read_to_string(&self.master_key_file).unwrap();
        TestApp::start_configured(store, self.db.clone(), &key, &metrobadge::http::limits::Limits::default(), configure)
            .await
    }

    async fn start_configured(
        store: Store,
        db: std::sync::Arc<TestDb>,
        master_key_text: &str,
        limits: &metrobadge::http::limits::Limits,
        configure: impl FnOnce(Service) -> Service,
    ) -> TestApp {
        let key_file = std::env::temp_dir().join(format!("mb_key_{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&key_file, master_key_text).unwrap();
        let master_key = MasterKey::parse(master_key_text, "test").unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app =
            App::with_limits(configure(Service::new(store.clone(), master_key, &base, Some(ADMIN))), 64 * 1024, limits);
        let service = app.service.clone();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            app.serve(listener, async move {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestApp {
            base,
            client: reqwest::Client::new(),
            service,
            store,
            db,
            master_key_file: key_file,
            shutdown: Some(tx),
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.store.close().await;
        let _ = std::fs::remove_file(&self.master_key_file);
    }
}

/// A test that ends without `stop` (or panics) still stops its server and removes its key file.
impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = std::fs::remove_file(&self.master_key_file);
    }
}

impl TestApp {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(token), Some(body)).await
    }

    /// Creates an issuer as admin and returns its id.
    pub async fn issuer(&self, name: &str) -> String {
        let (status, body) = self.post("/api/v1/issuers", ADMIN, serde_json::json!({"name": name})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_string()
    }

    /// Uploads badge artwork for a nanomodule (as admin): a new version with this image.
    pub async fn put_image(&self, nanomodule: &str, content_type: &str, bytes: Vec<u8>) -> reqwest::Response {
        self.client
            .put(format!("{}/api/v1/nanomodules/{nanomodule}/image", self.base))
            .bearer_auth(ADMIN)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    /// Creates a two-hour nanomodule of `issuer` (as admin) and returns its id.
    pub async fn module(&self, issuer: &str, name: &str) -> String {
        self.module_of_minutes(issuer, name, 120).await
    }

    /// Creates a nanomodule of `issuer` lasting `minutes` (as admin) and returns its id.
    pub async fn module_of_minutes(&self, issuer: &str, name: &str, minutes: i64) -> String {
        let body = serde_json::json!({"name": name, "description": "d", "criteria": {"narrative": "n"}, "duration_minutes": minutes});
        let (status, nm) = self.post(&format!("/api/v1/issuers/{issuer}/nanomodules"), ADMIN, body).await;
        assert_eq!(status, StatusCode::CREATED, "{nm}");
        nm["id"].as_str().unwrap().to_string()
    }

    /// Awards `nanomodule` to `recipients` (the request's list) as `token`; asserts 201 and
    /// returns the answer.
    pub async fn award_as(&self, token: &str, nanomodule: &str, recipients: Value) -> Value {
        let body = serde_json::json!({ "recipients": recipients });
        let (status, answer) = self.post(&format!("/api/v1/nanomodules/{nanomodule}/awards"), token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        answer
    }

    /// [`TestApp::award_as`] as the platform admin.
    pub async fn award(&self, nanomodule: &str, recipients: Value) -> Value {
        self.award_as(ADMIN, nanomodule, recipients).await
    }

    /// Awards `nanomodule` to one learner as `token`; the learner may already hold it (some
    /// tests earn a module twice on purpose).
    pub async fn award_one_as(&self, token: &str, nanomodule: &str, who: &str) -> Value {
        self.award_as(token, nanomodule, serde_json::json!([{"identity": who, "retake": true}])).await
    }

    /// [`TestApp::award_one_as`] as the platform admin.
    pub async fn award_one(&self, nanomodule: &str, who: &str) -> Value {
        self.award_one_as(ADMIN, nanomodule, who).await
    }

    /// `issuer` asks `partner` for consent to use its modules as stations, and the partner
    /// accepts (both as admin).
    pub async fn partnership(&self, issuer: &str, partner: &str) {
        let (status, body) = self
            .post(&format!("/api/v1/issuers/{issuer}/partnerships"), ADMIN, serde_json::json!({"partner": partner}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_str().unwrap();
        let (status, body) =
            self.post(&format!("/api/v1/partnerships/{id}/accept"), ADMIN, serde_json::json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// Adds a member with `role` and returns its token.
    pub async fn member(&self, issuer: &str, role: &str) -> String {
        let (status, body) = self
            .post(
                &format!("/api/v1/issuers/{issuer}/members"),
                ADMIN,
                serde_json::json!({"name": format!("{role} person"), "email": format!("{role}@example.nl"), "role": role}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_string()
    }
}

pub const TEST_MASTER_KEY: &str = "metrobadge-master-key-v1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";

/// Runs `test` against a fresh server on `backend`, then drops the database even if the test
/// panicked (the panic is re-raised afterwards).
pub async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let db = std::sync::Arc::new(TestDb::create(backend).await);
    let app = TestApp::start(db.clone(), TEST_MASTER_KEY).await;
    let outcome = tokio::spawn(test(app)).await;
    db.drop_db().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Declares one test per backend: `both!(name)` runs `async fn name(app: TestApp)` on SQLite and
/// on PostgreSQL.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        $(mod $name {
            use crate::harness::{Backend, run};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(Backend::Sqlite, super::$name).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(Backend::Postgres, super::$name).await
            }
        })*
    };
}
pub(crate) use both;
