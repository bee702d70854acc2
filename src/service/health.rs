//! Readiness: whether this instance can serve requests that touch data and keys.

use serde::Serialize;

use super::Service;

/// What `/health/ready` reports; `ready` only when every part is.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub database: &'static str,
    /// `ok`, `unreachable`.
    pub connection: &'static str,
    /// `ok`, `behind` (the database lacks migrations this build needs), `ahead` (it was
    /// migrated by a newer build), `unknown`.
    pub schema: &'static str,
    /// `ok` (a sealed key opens under the master key, or none exists yet), `wrong master key`,
    /// `unknown`.
    pub keys: &'static str,
}

impl Service {
    #[tracing::instrument(skip_all)]
    pub async fn readiness(&self) -> Readiness {
        let mut r = Readiness {
            ready: false,
            database: self.store.backend(),
            connection: "unreachable",
            schema: "unknown",
            keys: "unknown",
        };
        if let Err(e) = self.store.ping().await {
            tracing::warn!(error = %e, "readiness: database unreachable");
            return r;
        }
        r.connection = "ok";
        match self.store.migration_versions().await {
            Ok((known, Some(applied))) if applied == known => r.schema = "ok",
            Ok((known, Some(applied))) if applied > known => r.schema = "ahead",
            Ok(_) => r.schema = "behind",
            Err(e) => tracing::warn!(error = %e, "readiness: migrations unreadable"),
        }
        if r.schema == "ok" {
            match self.store.any_sealed_key().await {
                Ok(None) => r.keys = "ok",
                Ok(Some(k)) => {
                    r.keys = if self.master_key.open(&k.sealed_secret, k.key_id.as_bytes()).is_ok() {
                        "ok"
                    } else {
                        "wrong master key"
                    };
                }
                Err(e) => tracing::warn!(error = %e, "readiness: keys unreadable"),
            }
        }
        r.ready = r.schema == "ok" && r.keys == "ok";
        r
    }
}
