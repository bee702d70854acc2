//! The seam between configuration and a running server: `main` and the tests both build the
//! app here and serve it on a listener they bound themselves.

use std::future::Future;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::http::limits::Limits;
use crate::master_key::MasterKey;
use crate::service::Service;
use crate::store::Store;

pub struct App {
    pub service: Service,
    router: Router,
    /// `/metrics` alone, when it is served on a listener of its own.
    metrics: Option<Router>,
}

impl App {
    pub fn new(
        store: Store,
        master_key: MasterKey,
        base_url: &str,
        admin_token: Option<&str>,
        body_limit: usize,
    ) -> App {
        App::with_limits(Service::new(store, master_key, base_url, admin_token), body_limit, &Limits::default())
    }

    /// An app around `service` with explicit abuse limits.
    pub fn with_limits(service: Service, body_limit: usize, limits: &Limits) -> App {
        App::with_options(service, body_limit, limits, false)
    }

    /// With `metrics_apart`, `/metrics` is not on the public router: serve
    /// [`App::take_metrics`] on a listener of its own.
    pub fn with_options(service: Service, body_limit: usize, limits: &Limits, metrics_apart: bool) -> App {
        let (router, metrics) = crate::http::routers(service.clone(), body_limit, limits, metrics_apart);
        App { service, router, metrics: metrics_apart.then_some(metrics) }
    }

    /// The `/metrics` router to serve apart (once), if the app was built that way.
    pub fn take_metrics(&mut self) -> Option<Router> {
        self.metrics.take()
    }

    /// Opens the database (migrating it) and the master key as configured.
    pub async fn build(config: &Config) -> anyhow::Result<App> {
        // A broken resource file stops the start here, not a page later.
        crate::locale::check().context("the bundled texts do not load")?;
        let mut service = service(config).await?;
        if let Some(n) = config.verify_concurrency {
            service = service.with_verify_slots(n);
        }
        Ok(App::with_options(service, config.body_limit, &config.limits(), config.metrics_bind.is_some()))
    }

    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        // With the peer address of every connection: rate limits are per client.
        let make = self.router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, make).with_graceful_shutdown(shutdown).await.context("server failed")
    }
}

/// The service alone (for CLI commands that need no HTTP).
pub async fn service(config: &Config) -> anyhow::Result<Service> {
    let (path, create) = config.master_key_path();
    let (master_key, created) = MasterKey::load_or_create(&path, create)?;
    if created {
        tracing::warn!(path = %path.display(), "no METROBADGE_MASTER_KEY_FILE configured: generated a new master key; back it up, without it no signing key can be used");
    }
    let store = Store::connect_with(&config.database_url, &config.db_limits())
        .await
        .with_context(|| format!("cannot open database {}", crate::config::redact_url(&config.database_url)))?;
    let service = Service::new(store, master_key, &config.base_url(), config.admin_token.as_deref())
        .with_fetcher(config.fetcher()?);
    Ok(match config.mailer()? {
        Some(mailer) => service.with_mailer(mailer),
        None => service,
    })
}
