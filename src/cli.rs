//! Command line: `serve` (default), `migrate`, `token create`, `keys rotate`, `audit verify`,
//! `master-key rotate`.

use clap::{Parser, Subcommand};
use uuid::Uuid;

use crate::config::Config;
use crate::domain::access::{Principal, Role};
use crate::domain::audit::Actor;

#[derive(Parser)]
#[command(
    name = "metrobadge",
    version,
    about = "Issue, stack and verify Open Badges 3.0 credentials for work-based learning"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// People who sign in to the web console.
    Member {
        #[command(subcommand)]
        command: MemberCommand,
    },
    /// Issuers' signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The audit chain.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// A consistent copy of the SQLite database while the service runs (PostgreSQL: pg_dump,
    /// see README "Operating metrobadge").
    Backup {
        /// The backup file to create (mode 0600; must not exist).
        file: std::path::PathBuf,
    },
    /// Replace the SQLite database with a backup (stop the service first), migrate it, and
    /// check the audit chain and the newest signed checkpoint.
    Restore {
        /// A file made by `metrobadge backup`.
        file: std::path::PathBuf,
    },
    /// The master key that seals every signing key and secret.
    MasterKey {
        #[command(subcommand)]
        command: MasterKeyCommand,
    },
}

#[derive(Subcommand)]
pub enum MasterKeyCommand {
    /// Re-seal every signing key, the platform key and the stored secrets under a new master
    /// key, in one transaction. Then point METROBADGE_MASTER_KEY_FILE at the new file, restart
    /// every instance, and destroy the old file.
    Rotate {
        /// The new key file; created (mode 0600) if it does not exist.
        #[arg(long)]
        new: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check an NDJSON export offline: every hash, every link in each chain, the signed
    /// checkpoint and inclusion paths it ends with, and any checkpoints given separately (files
    /// holding one checkpoint or a list, e.g. the public /audit/checkpoints).
    Verify {
        /// The export (GET /api/v1/audit/events with Accept: application/x-ndjson).
        file: std::path::PathBuf,
        #[arg(long)]
        checkpoint: Vec<std::path::PathBuf>,
        /// The platform's checkpoint key (`publicKeyMultibase` of /audit/key, obtained
        /// independently); every signature must be by it.
        #[arg(long)]
        key: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Mint a token and print it once (only its hash is stored).
    Create {
        /// admin, issuer_admin, trainer or auditor.
        #[arg(long)]
        role: Role,
        /// The issuer an issuer role belongs to (not for admin).
        #[arg(long)]
        issuer: Option<Uuid>,
        /// A note to recognise the token by.
        #[arg(long, default_value = "created with the CLI")]
        label: String,
    },
}

#[derive(Subcommand)]
pub enum MemberCommand {
    /// Create a console account and print its one-time invitation link (valid 7 days), e.g.
    /// the first admin: `metrobadge member create --role admin --email you@example.org`.
    Create {
        /// admin, issuer_admin, trainer or auditor.
        #[arg(long)]
        role: Role,
        #[arg(long)]
        email: String,
        /// How the console greets them (defaults to the part of the address before the @).
        #[arg(long)]
        name: Option<String>,
        /// The issuer an issuer role belongs to (not for admin).
        #[arg(long)]
        issuer: Option<Uuid>,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Retire the issuer's active signing key and make a new one.
    Rotate {
        #[arg(long)]
        issuer: Uuid,
    },
}

impl clap::ValueEnum for Role {
    fn value_variants<'a>() -> &'a [Self] {
        &[Role::Admin, Role::IssuerAdmin, Role::Trainer, Role::Auditor]
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

fn cli_principal() -> Principal {
    Principal { token_id: Actor::cli().token, role: Role::Admin, issuer_id: None, member_id: None }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    crate::telemetry::init(&config.log_format);
    config.check().map_err(|e| anyhow::anyhow!(e))?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let mut app = crate::App::build(&config).await?;
            if let (Some(bind), Some(metrics)) = (config.metrics_bind, app.take_metrics()) {
                let listener = tokio::net::TcpListener::bind(bind).await?;
                tracing::info!(bind = %bind, "metrics listening");
                tokio::spawn(async move {
                    if let Err(e) = axum::serve(listener, metrics).await {
                        tracing::error!(error = %e, "metrics listener failed");
                    }
                });
            }
            if config.checkpoint_interval > 0 {
                let service = app.service.clone();
                let every = std::time::Duration::from_secs(config.checkpoint_interval);
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(every);
                    loop {
                        tick.tick().await;
                        if let Err(e) = service.create_checkpoint(None).await {
                            tracing::warn!(error = %e, "audit checkpoint failed");
                        }
                    }
                });
            }
            if config.stack_interval > 0 {
                let service = app.service.clone();
                let every = std::time::Duration::from_secs(config.stack_interval);
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(every);
                    // The first round looks back a day for expiries missed while stopped.
                    let mut since = service.now() - time::Duration::days(1);
                    // Unused status index reservations: everything old enough at first, then
                    // consecutive windows.
                    let mut reclaimed_to = 0;
                    loop {
                        tick.tick().await;
                        let now = service.now();
                        match service.stack_tick(since).await {
                            Ok(n) if n > 0 => tracing::info!(learners = n, "stacking worker round"),
                            Ok(_) => {}
                            Err(e) => tracing::warn!(error = %e, "stacking worker round failed"),
                        }
                        since = now;
                        let before = (now - crate::service::RESERVATION_GRACE).unix_timestamp();
                        match service.reclaim_status_indices(reclaimed_to, before).await {
                            Ok(_) => reclaimed_to = before,
                            Err(e) => tracing::warn!(error = %e, "returning unused status indices failed"),
                        }
                    }
                });
            }
            // Impact reviews come due in weeks: a round every ten minutes is on time.
            tokio::spawn(app.service.clone().run_review_worker(std::time::Duration::from_secs(600)));
            tokio::spawn(
                app.service.clone().run_mail_worker(std::time::Duration::from_secs(config.mail_interval.max(1))),
            );
            let listener = tokio::net::TcpListener::bind(config.bind).await?;
            tracing::info!(bind = %config.bind, base_url = %config.base_url(), database = app.service.backend(), "metrobadge listening");
            app.serve(listener, shutdown_signal()).await
        }
        Command::Migrate => {
            let service = crate::app::service(&config).await?;
            eprintln!("database {} is up to date", crate::config::redact_url(&config.database_url));
            service.close().await;
            Ok(())
        }
        Command::Token { command: TokenCommand::Create { role, issuer, label } } => {
            let service = crate::app::service(&config).await?;
            let token =
                service.create_token(&Actor::cli(), role, issuer, &label).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{token}");
            Ok(())
        }
        Command::Member { command: MemberCommand::Create { role, email, name, issuer } } => {
            let service = crate::app::service(&config).await?;
            let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_string());
            let fail = |e: crate::service::ServiceError| anyhow::anyhow!("{e}");
            let url = match (role, issuer) {
                (Role::Admin, None) => {
                    service.create_admin_account(&Actor::cli(), &email, &name).await.map_err(fail)?.url
                }
                (Role::Admin, Some(_)) => anyhow::bail!("an admin belongs to no issuer: leave out --issuer"),
                (_, None) => anyhow::bail!("a {role} belongs to an issuer: add --issuer <id>"),
                (_, Some(issuer)) => {
                    let cli = crate::domain::access::Principal {
                        token_id: "cli".into(),
                        role: Role::Admin,
                        issuer_id: None,
                        member_id: None,
                    };
                    let input = crate::service::NewMember {
                        name: Some(name),
                        email: Some(email),
                        role: Some(role.as_str().into()),
                    };
                    let view = service.add_member(&cli, issuer, input).await.map_err(fail)?;
                    view.invitation_url.unwrap_or_default()
                }
            };
            service.close().await;
            eprintln!("Open this link within 7 days to set a password (it works once):");
            println!("{url}");
            Ok(())
        }
        Command::Audit { command: AuditCommand::Verify { file, checkpoint, key } } => {
            let export = std::fs::read_to_string(&file)?;
            let mut anchors = crate::domain::audit::Anchors { key, ..Default::default() };
            for path in checkpoint {
                let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
                let list = match v {
                    serde_json::Value::Array(a) => a,
                    serde_json::Value::Object(o)
                        if o.contains_key("checkpoints") || o.contains_key("legacy_checkpoints") =>
                    {
                        ["checkpoints", "legacy_checkpoints"]
                            .iter()
                            .filter_map(|k| o.get(*k).and_then(|l| l.as_array()).cloned())
                            .flatten()
                            .collect()
                    }
                    other => vec![other],
                };
                for c in list {
                    if c.get("number").is_some() {
                        anchors.tree_heads.push(serde_json::from_value(c)?);
                    } else {
                        anchors.legacy.push(serde_json::from_value(c)?);
                    }
                }
            }
            match crate::domain::audit::verify_export(&export, &anchors) {
                Ok(v) => {
                    println!("{v}");
                    Ok(())
                }
                Err(e) => anyhow::bail!("audit export does not verify: {e}"),
            }
        }
        Command::Backup { file } => {
            let service = crate::app::service(&config).await?;
            service.backup_sqlite(&file).await.map_err(|e| match e {
                crate::service::ServiceError::Store(crate::store::StoreError::UnsupportedUrl) => {
                    anyhow::anyhow!("backup copies SQLite databases; for PostgreSQL use pg_dump (README)")
                }
                e => anyhow::anyhow!("backup failed: {e}"),
            })?;
            eprintln!("backed up to {} (keep the master key file with it, separately)", file.display());
            Ok(())
        }
        Command::Restore { file } => {
            let target = crate::store::sqlite_path(&config.database_url).ok_or_else(|| {
                anyhow::anyhow!("restore replaces a SQLite database; for PostgreSQL use pg_restore (README)")
            })?;
            // A copy of the backup is checked before it replaces anything (the backup itself is
            // never opened for writing).
            let staging = target.with_extension("restoring");
            std::fs::copy(&file, &staging)?;
            let probe = crate::store::Store::open(&format!("sqlite://{}", staging.display()))
                .await
                .map_err(|e| anyhow::anyhow!("{} is not readable as a database: {e}", file.display()))?;
            let applied = probe.migration_versions().await.map(|(_, applied)| applied);
            probe.close().await;
            for f in crate::store::sqlite_companions(&staging) {
                let _ = std::fs::remove_file(f);
            }
            if !matches!(applied, Ok(Some(_))) {
                let _ = std::fs::remove_file(&staging);
                anyhow::bail!("{} is not a metrobadge database", file.display());
            }
            for f in crate::store::sqlite_companions(&target) {
                let _ = std::fs::remove_file(f);
            }
            std::fs::rename(&staging, &target)?;
            let service = crate::app::service(&config).await?;
            let report = service.integrity().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            service.close().await;
            anyhow::ensure!(report.ok, "restored, but the audit trail does not verify: see the report above");
            eprintln!(
                "restored {} from {}; audit chain and newest checkpoint verify",
                target.display(),
                file.display()
            );
            Ok(())
        }
        Command::MasterKey { command: MasterKeyCommand::Rotate { new } } => {
            let (current, _) = config.master_key_path();
            if !current.exists() {
                anyhow::bail!("no current master key at {} (set METROBADGE_MASTER_KEY_FILE)", current.display());
            }
            let service = crate::app::service(&config).await?;
            let new_key = if new.exists() {
                crate::master_key::MasterKey::load_or_create(&new, false)?.0
            } else {
                crate::master_key::MasterKey::create_file(&new)?
            };
            let done = service.rotate_master_key(&Actor::cli(), &new_key).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string_pretty(&done)?);
            eprintln!(
                "re-sealed under {}: set METROBADGE_MASTER_KEY_FILE to it, restart every instance, then destroy {}",
                new.display(),
                current.display()
            );
            Ok(())
        }
        Command::Keys { command: KeysCommand::Rotate { issuer } } => {
            let service = crate::app::service(&config).await?;
            let key = service.rotate_key(&cli_principal(), issuer).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string_pretty(&key)?);
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
