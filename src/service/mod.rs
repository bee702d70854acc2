//! Application logic: authorises, validates, and runs each change with its audit events in one
//! transaction. Knows neither HTTP nor SQL (it calls the store's typed functions).

mod audit;
mod award;
mod baked;
mod catalog;
mod clr;
mod console;
mod custody;
mod health;
mod impact;
mod issuance;
mod issuer;
pub(crate) mod key;
mod learner_data;
mod mail;
mod map;
mod me;
mod member;
mod metro;
mod nanomodule;
mod oauth;
mod ob2;
mod partnership;
mod peer_group;
mod progress;
mod stacking;
mod status;
mod token;
mod verify;
mod wallet;

/// The e-mail catalogue loads in both languages (see `locale::check`).
pub(crate) fn check_texts() -> Result<(), crate::locale::LocaleError> {
    mail::compose::MailTexts::check()
}

use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

pub use crate::clock::Clock;
pub use audit::{AuditFilter, AuditReport};
pub use audit::{ImpactTotals, IssuanceReport, ReportCounts, ReportGroup, ReportRow, TrainerAwards};
pub use award::{AwardOutcome, AwardRequest, Awarded, CertificateChange, DryRun, IssuedBadge, Stacking, request_hash};
pub use catalog::CatalogView;
pub use console::{
    AwardDetails, AwardedLine, ConsoleUser, CredentialHistory, CredentialSearch, FoundLine, Home, Invitation,
    InvitationFor, SignedIn, Standing, StationChoice, TotpSetup,
};
pub use custody::Rotation;
pub use health::Readiness;
pub use impact::{Confirmation, ModuleImpact, ReviewPage, ReviewRound, ReviewView};
pub use issuer::IssuerView;
pub use key::KeyView;
pub use learner_data::Erasure;
pub use mail::compose::{Composed, Notice, compose};
pub use mail::{MAIL_STATES, MAX_ATTEMPTS, MailOverview, MailRound, MailView, Subscription};
pub use me::{MyCredential, MyLine, SIGN_IN_VALID};
pub use member::{MemberView, NewMember};
pub use metro::{LearnerLineProgress, MetroLineView};
pub use nanomodule::{NanomoduleView, NewImage};
pub use oauth::{
    ClientAuth, CredentialPage, MyApp, OAuthError, OAuthTokens, PAGE_MAX, PendingAuthorization, RegisteredClient,
    ResourceError, TokenRequest, with_query,
};
pub use ob2::{Ob2, ob2_context};
pub use partnership::{PartnershipStep, PartnershipView};
pub use peer_group::{GroupProgress, GroupStation, ParticipantProgress, PeerGroupView};
pub use progress::LinkOwner;
pub use stacking::{LineEvaluation, LineMigration, LineProgress, Settled, Speculation, StackOutcome};
pub use status::CredentialStatus;
pub use status::RESERVATION_GRACE;
pub use token::{NewToken, TokenView};
pub use wallet::{CONFIGURATION, PRE_AUTHORIZED_GRANT, WalletError, WalletOffer, WalletToken};

use crate::api_token;
use crate::domain::access::{Denied, Principal, Role};
use crate::domain::audit::{Actor, NewEvent};
use crate::domain::validate::Invalid;
use crate::master_key::{MasterKey, MasterKeyError};
use crate::store::{Store, StoreError, TokenRow};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("missing or invalid bearer token")]
    Unauthenticated,
    #[error("not found")]
    NotFound,
    #[error("this role may not do that")]
    Forbidden,
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Worded like a validation problem (a code and English words) so pages can say it in
    /// the reader's language.
    #[error("conflict: {}", .0.english)]
    Conflict(crate::domain::validate::Message),
    #[error("storage failed")]
    Store(#[source] StoreError),
    /// The database is unreachable or timed out: the caller should retry later.
    #[error("storage unavailable")]
    Unavailable(#[source] StoreError),
    #[error("key material unavailable")]
    MasterKey(#[from] MasterKeyError),
    /// It existed, and was removed for good (e.g. a credential erased at its learner's request).
    #[error("{0}")]
    Gone(String),
    /// Every slot for this kind of work is taken (e.g. verifications): retry shortly.
    #[error("{0}")]
    Busy(String),
    #[error("internal failure: {0}")]
    Internal(String),
}

impl From<Denied> for ServiceError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Hidden => ServiceError::NotFound,
            Denied::Forbidden => ServiceError::Forbidden,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound,
            StoreError::Conflict(what) => {
                ServiceError::Conflict(crate::problem!("stored-conflict", "{what}", what = what))
            }
            e @ StoreError::Unavailable(_) => ServiceError::Unavailable(e),
            other => ServiceError::Store(other),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// Everything the handlers and the CLI need; cheap to clone.
#[derive(Clone)]
pub struct Service {
    /// Only the service reads and writes the database: handlers go through its use cases.
    pub(crate) store: Store,
    pub(crate) master_key: Arc<MasterKey>,
    /// Public origin used in every document id, without a trailing slash.
    pub base_url: String,
    admin_token_hash: Option<[u8; 32]>,
    /// Verifications of submitted credentials running at once; more wait for nobody and are
    /// refused (429), so one client's flood cannot starve the rest of the service.
    verify_slots: Arc<tokio::sync::Semaphore>,
    /// The progress-link secrets, unsealed on first use.
    link_keys: Arc<tokio::sync::OnceCell<Arc<progress::LinkKeys>>>,
    /// The SMTP server messages go out through; without one they wait in the outbox.
    mailer: Option<Arc<crate::mailer::Mailer>>,
    /// The outbox's data keys, unsealed on first use.
    mail_keys: Arc<tokio::sync::OnceCell<Arc<mail::MailKeys>>>,
    /// Rings when a use case queued mail, so this instance's sender starts at once.
    mail_wake: Arc<tokio::sync::Notify>,
    /// Fetches other issuers' documents for verification; `None` while fetching is off.
    fetcher: Option<crate::fetch::Fetcher>,
    /// One fetch per URL at a time on this instance: the proof's key and the status list's key
    /// are often the same document, looked up at once.
    fetch_locks: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    /// URLs whose fetch failed lately, with why: not asked again for a minute, so credentials
    /// that point at a slow or dead site cannot keep verification slots waiting on it.
    fetch_failures: Arc<std::sync::Mutex<std::collections::HashMap<String, (time::OffsetDateTime, String)>>>,
}

impl Service {
    pub fn new(store: Store, master_key: MasterKey, base_url: &str, admin_token: Option<&str>) -> Service {
        Service {
            store,
            master_key: Arc::new(master_key),
            base_url: base_url.trim_end_matches('/').to_string(),
            admin_token_hash: admin_token.filter(|t| !t.is_empty()).map(|t| Sha256::digest(t.as_bytes()).into()),
            verify_slots: Arc::new(tokio::sync::Semaphore::new(default_verify_slots())),
            link_keys: Arc::new(tokio::sync::OnceCell::new()),
            mailer: None,
            mail_keys: Arc::new(tokio::sync::OnceCell::new()),
            mail_wake: Arc::new(tokio::sync::Notify::new()),
            fetcher: None,
            fetch_locks: Arc::default(),
            fetch_failures: Arc::default(),
        }
    }

    /// Lets verification fetch other issuers' documents as `fetcher`'s policy allows (a policy
    /// that fetches nothing and is not offline leaves fetching off).
    pub fn with_fetcher(mut self, fetcher: crate::fetch::Fetcher) -> Service {
        let p = fetcher.policy();
        self.fetcher = (p.mode != crate::fetch::FetchMode::Off || p.offline).then_some(fetcher);
        self
    }

    /// Sends mail through `mailer` (see [`Service::run_mail_worker`]).
    pub fn with_mailer(mut self, mailer: crate::mailer::Mailer) -> Service {
        self.mailer = Some(Arc::new(mailer));
        self
    }

    /// The present moment, by the service's clock.
    pub fn now(&self) -> time::OffsetDateTime {
        self.store.clock().now()
    }

    /// The service's clock (tests move it forward instead of sleeping).
    #[doc(hidden)]
    pub fn clock(&self) -> &Clock {
        self.store.clock()
    }

    /// `sqlite` or `postgres`, for the start-up log.
    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// Closes the database connections (at shutdown).
    #[tracing::instrument(skip_all)]
    pub async fn close(&self) {
        self.store.close().await
    }

    /// A consistent copy of the SQLite database while serving (`metrobadge backup`).
    #[tracing::instrument(skip_all)]
    pub async fn backup_sqlite(&self, target: &std::path::Path) -> ServiceResult<()> {
        Ok(self.store.backup_sqlite(target).await?)
    }

    /// Learners' re-evaluations waiting in the stacking queue (a metrics gauge).
    #[tracing::instrument(skip_all)]
    pub async fn queued_jobs(&self) -> ServiceResult<i64> {
        Ok(self.store.queued_jobs().await?)
    }

    /// Sets how many submitted credentials may be verified at once.
    pub fn with_verify_slots(mut self, n: usize) -> Service {
        self.verify_slots = Arc::new(tokio::sync::Semaphore::new(n.max(1)));
        self
    }

    /// The verification slots themselves (tests take them all to see the service refuse).
    #[doc(hidden)]
    pub fn verify_slots(&self) -> Arc<tokio::sync::Semaphore> {
        self.verify_slots.clone()
    }

    /// Runs the verification `job` of an untrusted submission in a free slot, on the blocking
    /// pool (JSON-LD and schema work is CPU-bound and must not hold an async worker). Busy when
    /// no slot frees up within [`VERIFY_SLOT_WAIT`].
    #[tracing::instrument(skip_all)]
    pub async fn verify_in_slot<F, Fut>(&self, job: F) -> ServiceResult<crate::credential::verify::Report>
    where
        F: FnOnce(Service) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = crate::credential::verify::Report>,
    {
        // A short wait smooths bursts; a flood finds every slot taken and is refused.
        let busy = || ServiceError::Busy("every verification slot is taken".into());
        let permit = tokio::time::timeout(VERIFY_SLOT_WAIT, self.verify_slots.clone().acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        let handle = tokio::runtime::Handle::current();
        let service = self.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            handle.block_on(job(service))
        })
        .await;
        match outcome {
            Ok(report) => Ok(report),
            // A bug met by some input: say we could not check it, never "invalid", never a 500.
            Err(e) => {
                tracing::error!(error = %e, "verification failed unexpectedly");
                let check =
                    crate::credential::verify::Check::unchecked("format", "this credential could not be processed");
                Ok(crate::credential::verify::Report::new(vec![check], None, false))
            }
        }
    }

    /// Resolves a bearer token to a principal. Every failure looks the same to the caller.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate(&self, bearer: &str) -> ServiceResult<Principal> {
        if let Some(admin) = &self.admin_token_hash {
            let presented: [u8; 32] = Sha256::digest(bearer.as_bytes()).into();
            if bool::from(presented.ct_eq(admin)) {
                return Ok(Principal {
                    token_id: "env:admin".into(),
                    role: Role::Admin,
                    issuer_id: None,
                    member_id: None,
                });
            }
        }
        let lookup = api_token::lookup_of(bearer).ok_or(ServiceError::Unauthenticated)?;
        let row = self.store.token_by_lookup(lookup, self.now()).await?.ok_or(ServiceError::Unauthenticated)?;
        if !api_token::matches(bearer, &row.secret_hash) {
            return Err(ServiceError::Unauthenticated);
        }
        let role = row.role.parse::<Role>().map_err(|e| ServiceError::Store(StoreError::Corrupt(e)))?;
        Ok(Principal { token_id: row.token_id.to_string(), role, issuer_id: row.issuer_id, member_id: row.member_id })
    }

    /// Mints a token outside any member (the CLI's `token create`). Returns the secret, once.
    #[tracing::instrument(skip_all)]
    pub async fn create_token(
        &self,
        actor: &Actor,
        role: Role,
        issuer: Option<Uuid>,
        label: &str,
    ) -> ServiceResult<String> {
        match (role, issuer) {
            (Role::Admin, Some(_)) => return Err(Invalid::one("issuer", admin_token_has_no_issuer()).into()),
            (Role::Admin, None) => {}
            (_, None) => {
                return Err(Invalid::one(
                    "issuer",
                    crate::problem!("token-needs-issuer", "a {role} token needs --issuer", role = role),
                )
                .into());
            }
            (_, Some(i)) => {
                self.store.issuer(i).await?.ok_or(ServiceError::NotFound)?;
            }
        }
        let mut tx = self.store.begin().await?;
        let (_, secret) = self.insert_token(&mut tx, actor, role, issuer, None, label, None).await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// Mints a token in `tx` with its audit event; returns its id and secret (shown once).
    #[allow(clippy::too_many_arguments)]
    async fn insert_token(
        &self,
        tx: &mut crate::store::Tx,
        actor: &Actor,
        role: Role,
        issuer: Option<Uuid>,
        member: Option<Uuid>,
        label: &str,
        expires_at: Option<time::OffsetDateTime>,
    ) -> ServiceResult<(Uuid, String)> {
        let minted = api_token::mint();
        let row = TokenRow {
            token_id: Uuid::now_v7(),
            secret_hash: minted.hash,
            role: role.as_str().into(),
            issuer_id: issuer,
            member_id: member,
        };
        tx.insert_token(&row, &minted.lookup, label, self.now(), expires_at).await?;
        let change = serde_json::json!({"role": role.as_str(), "member_id": member, "label": label,
                                        "expires_at": expires_at.map(crate::domain::time::rfc3339)});
        tx.audit(vec![NewEvent::new(actor, issuer, "token.created", row.token_id, &change)]).await?;
        Ok((row.token_id, minted.secret))
    }
}

/// How long a submitted verification waits for a free slot before it is refused.
const VERIFY_SLOT_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Two verifications per core: enough to keep the cores busy while some wait on the database.
fn default_verify_slots() -> usize {
    2 * std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Parses a stored spec; a failure means the database holds something we never wrote.
/// Hex SHA-256 of a secret or an address, as stored or audited in its place (link tokens,
/// wallet codes, an address in the audit trail).
fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn decode_spec<T: serde::de::DeserializeOwned>(text: &str) -> ServiceResult<T> {
    serde_json::from_str(text).map_err(|e| ServiceError::Store(StoreError::Corrupt(e.to_string())))
}

fn encode_spec<T: serde::Serialize>(spec: &T) -> String {
    serde_json::to_string(spec).expect("specs always serialise")
}

/// Applies a JSON merge patch to a stored spec and re-reads it as the input type, so PATCH
/// goes through exactly the same validation as POST.
fn admin_token_has_no_issuer() -> crate::domain::validate::Message {
    crate::problem!("admin-token-issuer", "an admin token belongs to no issuer")
}

fn patched<T: serde::Serialize + serde::de::DeserializeOwned>(
    current: &T,
    patch: &serde_json::Value,
) -> ServiceResult<T> {
    let mut doc = serde_json::to_value(current).expect("specs always serialise");
    crate::domain::validate::merge_patch(&mut doc, patch);
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let field = e.path().to_string();
        Invalid::one(if field == "." { String::new() } else { field }, crate::domain::validate::unreadable(e.inner()))
            .into()
    })
}

#[cfg(test)]
mod instrument_tests {
    /// Every use case and every store call opens a span (`#[tracing::instrument]`): a log line
    /// from deep inside names the request's use case, its ids and its actor. Read from the
    /// source, as a lint would: a new `pub async fn` without a span fails here.
    #[test]
    fn every_use_case_and_store_call_is_instrumented() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("readable").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&root.join("service"), &mut files);
        walk(&root.join("store"), &mut files);
        let mut missing = Vec::new();
        let mut seen = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).expect("text");
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let l = line.trim_start();
                if !(l.starts_with("pub async fn")
                    || l.starts_with("pub(crate) async fn")
                    || l.starts_with("pub(super) async fn"))
                {
                    continue;
                }
                seen += 1;
                let above = lines[..i]
                    .iter()
                    .rev()
                    .map(|l| l.trim_start())
                    .take_while(|l| l.starts_with("#[") || l.starts_with("//"));
                if !above.clone().any(|l| l.contains("tracing::instrument")) {
                    missing.push(format!("{}:{}", file.display(), i + 1));
                }
            }
        }
        assert!(seen > 300, "found only {seen} functions");
        assert!(missing.is_empty(), "without #[tracing::instrument]: {missing:#?}");
    }
}
