//! Settings: each a command-line flag and an environment variable, with defaults that work on
//! a fresh machine.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Shortest admin token accepted: a guessable one would open the whole platform.
pub const MIN_ADMIN_TOKEN: usize = 32;

#[derive(clap::Args, Clone)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "METROBADGE_BIND", default_value = "127.0.0.1:8080", global = true)]
    pub bind: SocketAddr,
    /// Database: `sqlite://FILE` (created and migrated automatically) or `postgres://…`.
    #[arg(long, env = "METROBADGE_DATABASE_URL", default_value = "sqlite://metrobadge.db", global = true)]
    pub database_url: String,
    /// Public origin used inside every credential and document id [default: http://<bind>].
    #[arg(long, env = "METROBADGE_BASE_URL", global = true)]
    pub base_url: Option<String>,
    /// File holding the master key that seals signing keys [default: ./metrobadge.key, created
    /// with mode 0600 if missing].
    #[arg(long, env = "METROBADGE_MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<PathBuf>,
    /// A platform admin token accepted in addition to tokens from `metrobadge token create`.
    #[arg(long, env = "METROBADGE_ADMIN_TOKEN", hide_env_values = true, global = true)]
    pub admin_token: Option<String>,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "METROBADGE_BODY_LIMIT", default_value_t = 1024 * 1024, global = true)]
    pub body_limit: usize,
    /// Seconds between signed checkpoints of the audit chain head (0: only on demand).
    #[arg(long, env = "METROBADGE_CHECKPOINT_INTERVAL", default_value_t = 3600, global = true)]
    pub checkpoint_interval: u64,
    /// Seconds between rounds of the stacking worker (queued learners left by a crash or by
    /// another instance, and certificates whose components expired).
    #[arg(long, env = "METROBADGE_STACK_INTERVAL", default_value_t = 30, global = true)]
    pub stack_interval: u64,
    /// Seconds database work may wait for a connection or a lock before the request fails
    /// with 503 (SQLite busy timeout, PostgreSQL `lock_timeout`, pool acquire).
    #[arg(long, env = "METROBADGE_DB_TIMEOUT", default_value_t = 10, global = true)]
    pub db_timeout: u64,
    /// Seconds one PostgreSQL statement may run (`statement_timeout`).
    #[arg(long, env = "METROBADGE_DB_STATEMENT_TIMEOUT", default_value_t = 60, global = true)]
    pub db_statement_timeout: u64,
    /// `POST /verify` requests per minute from one client.
    #[arg(long, env = "METROBADGE_VERIFY_RATE", default_value_t = 600, global = true)]
    pub verify_rate: u32,
    /// OAuth client registrations (OB 3.0 API) per hour from one client.
    #[arg(long, env = "METROBADGE_REGISTRATION_RATE", default_value_t = 20, global = true)]
    pub registration_rate: u32,
    /// Verifications of submitted credentials running at once [default: 2 per core]; more are
    /// answered 429.
    #[arg(long, env = "METROBADGE_VERIFY_CONCURRENCY", global = true)]
    pub verify_concurrency: Option<usize>,
    /// Failed bearer-token attempts per minute from one client before it is locked out for a
    /// minute.
    #[arg(long, env = "METROBADGE_AUTH_FAILURE_RATE", default_value_t = 20, global = true)]
    pub auth_failure_rate: u32,
    /// Requests in flight at once, all clients together; more are answered 429.
    #[arg(long, env = "METROBADGE_MAX_CONCURRENT_REQUESTS", default_value_t = 1024, global = true)]
    pub max_concurrent_requests: usize,
    /// Comma-separated addresses of reverse proxies whose `X-Forwarded-For` names the client
    /// (from anyone else the header is ignored).
    #[arg(long, env = "METROBADGE_TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Serve `/metrics` on this address only (e.g. `127.0.0.1:9464`), not on the public port.
    #[arg(long, env = "METROBADGE_METRICS_BIND", global = true)]
    pub metrics_bind: Option<SocketAddr>,
    /// Whether verification may fetch other issuers' `did:web`/https key documents and status
    /// lists: `off` (default: "could not check"), `allowlist` (only the hosts in
    /// METROBADGE_VERIFY_FETCH_ALLOW) or `on` (any public HTTPS host).
    #[arg(long, env = "METROBADGE_VERIFY_FETCH", default_value = "off", global = true)]
    pub verify_fetch: String,
    /// Hosts verification may fetch from in `allowlist` mode (`issuer.example`, `*.school.nl`).
    #[arg(long, env = "METROBADGE_VERIFY_FETCH_ALLOW", value_delimiter = ',', global = true)]
    pub verify_fetch_allow: Vec<String>,
    /// Answer only from documents fetched before (kept in the database), never from the network.
    #[arg(long, env = "METROBADGE_VERIFY_OFFLINE", default_value_t = false, global = true)]
    pub verify_offline: bool,
    /// Extra root certificates (PEM) for fetching from issuers behind a private CA.
    #[arg(long, env = "METROBADGE_VERIFY_FETCH_CA", global = true)]
    pub verify_fetch_ca: Option<PathBuf>,
    /// SMTP server for e-mail: `smtp://host:port` (plain, a local relay),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtps://user:pass@host:465`.
    /// Without it messages wait in the outbox (and award answers carry the links to hand out).
    #[arg(long, env = "METROBADGE_SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,
    /// Sender address of every message [default: metrobadge@<host of the base URL>].
    #[arg(long, env = "METROBADGE_MAIL_FROM", global = true)]
    pub mail_from: Option<String>,
    /// DKIM private key (RSA PEM, or base64 of a 32-byte Ed25519 key): messages are signed for
    /// the sender address's domain.
    #[arg(long, env = "METROBADGE_DKIM_KEY_FILE", global = true)]
    pub dkim_key_file: Option<PathBuf>,
    /// DKIM selector (the DNS name `<selector>._domainkey.<domain>` holds the public key).
    #[arg(long, env = "METROBADGE_DKIM_SELECTOR", default_value = "metrobadge", global = true)]
    pub dkim_selector: String,
    /// Seconds between the mail sender's rounds (it also starts at once when this instance
    /// queues a message).
    #[arg(long, env = "METROBADGE_MAIL_INTERVAL", default_value_t = 15, global = true)]
    pub mail_interval: u64,
    /// Log format: `text` or `json`.
    #[arg(long, env = "METROBADGE_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: String,
}

impl Config {
    pub fn base_url(&self) -> String {
        match &self.base_url {
            Some(b) => b.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.bind),
        }
    }

    pub fn limits(&self) -> crate::http::limits::Limits {
        crate::http::limits::Limits {
            verify_per_minute: self.verify_rate,
            registrations_per_hour: self.registration_rate,
            auth_failures_per_minute: self.auth_failure_rate,
            max_concurrent_requests: self.max_concurrent_requests,
            trusted_proxies: self.trusted_proxies.clone(),
        }
    }

    /// Refuses settings that would make the service unsafe to run.
    pub fn check(&self) -> Result<(), String> {
        if let Some(t) = &self.admin_token
            && t.len() < MIN_ADMIN_TOKEN
        {
            return Err(format!(
                "METROBADGE_ADMIN_TOKEN is {} characters long; it must have at least {MIN_ADMIN_TOKEN} \
                 (e.g. `openssl rand -hex 24`), or leave it unset and use `metrobadge token create --role admin`",
                t.chars().count()
            ));
        }
        Ok(())
    }

    /// The sender address: as configured, or `metrobadge@` the base URL's host.
    pub fn mail_from(&self) -> String {
        self.mail_from.clone().unwrap_or_else(|| format!("metrobadge@{}", crate::mailer::host_of(&self.base_url())))
    }

    /// The SMTP mailer, when an SMTP URL is configured.
    pub fn mailer(&self) -> anyhow::Result<Option<crate::mailer::Mailer>> {
        let Some(url) = &self.smtp_url else { return Ok(None) };
        let dkim = match &self.dkim_key_file {
            Some(path) => Some(crate::mailer::Dkim {
                key: std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read the DKIM key {}: {e}", path.display()))?,
                selector: self.dkim_selector.clone(),
            }),
            None => None,
        };
        Ok(Some(crate::mailer::Mailer::new(url, &self.mail_from(), dkim)?))
    }

    /// The verification fetcher the settings describe.
    pub fn fetcher(&self) -> anyhow::Result<crate::fetch::Fetcher> {
        let mode =
            crate::fetch::FetchMode::parse(&self.verify_fetch, &self.verify_fetch_allow).map_err(anyhow::Error::msg)?;
        let extra_roots_pem = match &self.verify_fetch_ca {
            Some(path) => Some(
                std::fs::read(path)
                    .map_err(|e| anyhow::anyhow!("cannot read METROBADGE_VERIFY_FETCH_CA {}: {e}", path.display()))?,
            ),
            None => None,
        };
        let policy = crate::fetch::FetchPolicy {
            mode,
            offline: self.verify_offline,
            extra_roots_pem,
            allow_private_addresses: false,
        };
        crate::fetch::Fetcher::new(policy).map_err(anyhow::Error::msg)
    }

    pub fn db_limits(&self) -> crate::store::DbLimits {
        crate::store::DbLimits {
            wait: std::time::Duration::from_secs(self.db_timeout.max(1)),
            statement: std::time::Duration::from_secs(self.db_statement_timeout.max(1)),
        }
    }

    pub fn master_key_path(&self) -> (PathBuf, bool) {
        match &self.master_key_file {
            Some(p) => (p.clone(), false),
            None => (PathBuf::from("metrobadge.key"), true),
        }
    }
}

/// Secrets stay out of logs: the admin token and any password in the database URL are hidden.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("database_url", &redact_url(&self.database_url))
            .field("base_url", &self.base_url())
            .field("master_key_file", &self.master_key_path().0)
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<redacted>"))
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((creds, host)) = rest.split_once('@')
        && let Some((user, _)) = creds.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(super::redact_url("postgres://u:p@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
