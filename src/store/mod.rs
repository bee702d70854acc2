//! Storage: the only module that speaks SQL.
//!
//! Two concrete backends behind one enum (SQLite embedded by default, PostgreSQL for several
//! instances on one database). Every statement is written once with `$n` placeholders, which
//! both drivers accept, and runs through [`Args`]-based helpers so no query text is duplicated
//! per backend. Errors are translated once, here, into [`StoreError`].

mod audit;
mod console;
mod credential;
mod image;
mod impact;
mod issuer;
mod key;
mod learner;
mod mail;
mod me;
mod member;
mod metro;
mod nanomodule;
mod oauth;
mod partnership;
mod peer_group;
mod remote;
mod report;
mod sealed;
mod skill;
mod stack;
mod status;
mod token;
mod wallet;

use std::str::FromStr;
use std::time::Duration;

use crate::clock::Clock;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow};
use sqlx::{FromRow, PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

pub use audit::{AuditRow, ChainClose, CheckpointRow, TreeHeadRow};
pub use console::{AccountRow, AwardSummary, AwardedRow, FoundCredential, SessionRow};
pub use credential::{AwardRow, CredentialRow, IdempotencyRow, NewCredential, STATUS_LIST_SIZE};
pub use image::ImageRow;
pub use impact::{ImpactCount, ImpactPeriod, NewReview, ReviewRow};
pub use issuer::IssuerRow;
pub use key::{ED25519, KeyRow, P256, PublicKeyRow, SealedRow};
pub use learner::{AuditRef, EnrolmentInfo, LearnerCredentialRow, LearnerLinkRow};
pub use mail::{ClaimedMail, MailCount, MailRow, NewMail, RecipientRow};
pub use me::{MyCredentialRow, TakenLogin};
pub use member::MemberRow;
pub use metro::{HolderCredential, MetroLineRow};
pub use nanomodule::NanomoduleVersionRow;
pub use oauth::{NewOAuthCode, NewOAuthToken, OAuthClientRow, OAuthCodeRow, OAuthTokenRow};
pub use partnership::PartnershipRow;
pub use peer_group::PeerGroupRow;
pub use remote::RemoteDocumentRow;
pub use report::IssuanceFact;
pub use sealed::SealedItem;
pub use skill::{Catalog, SkillRow};
pub use stack::{
    CertificateRow, ComponentRow, EnrolmentRow, HeldBadge, Learner, LearnerRows, NewCertificate, NewProgressLink,
    ProgressLinkRow,
};
pub use status::{CredentialState, SignedList, StatusChange, StatusListRow};
pub use token::{TokenInfo, TokenRow};
pub use wallet::{NewWalletCopy, OfferRow, WalletCopyRow};

/// Why a storage call failed. Handlers never see `sqlx::Error`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("unsupported database URL (expected sqlite: or postgres:)")]
    UnsupportedUrl,
    #[error("database error")]
    Backend(#[source] sqlx::Error),
    /// The database cannot be reached, or did not answer in time (down, restarting, locked by
    /// someone else for longer than the configured timeout): worth retrying later.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Self::Conflict(db.constraint().unwrap_or("unique").to_string())
            }
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                Self::Conflict(db.constraint().unwrap_or("foreign key").to_string())
            }
            error if is_outage(&error) => Self::Unavailable(error),
            error => Self::Backend(error),
        }
    }
}

/// Whether an error means "the database is not there right now" rather than "this request or
/// the data is wrong": connection and pool failures, PostgreSQL's shutdown, connection, timeout
/// and lock-wait classes, SQLite's busy and locked codes.
fn is_outage(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::WorkerCrashed | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL: 08 connection exception, 57P0x shutdown / cannot connect now, 53
            // insufficient resources, 57014 statement timeout, 55P03 lock timeout.
            // SQLite: 5 SQLITE_BUSY, 6 SQLITE_LOCKED (with extended codes).
            code.starts_with("08")
                || code.starts_with("57P0")
                || code.starts_with("53")
                || code == "57014"
                || code == "55P03"
                || code.parse::<i64>().is_ok_and(|c| c & 0xff == 5 || c & 0xff == 6)
        }
        _ => false,
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// How long database work may wait before it fails (and the request is answered 503).
#[derive(Debug, Clone)]
pub struct DbLimits {
    /// For a pooled connection, a lock (SQLite busy timeout, PostgreSQL `lock_timeout`).
    pub wait: Duration,
    /// For one statement (PostgreSQL `statement_timeout`).
    pub statement: Duration,
}

impl Default for DbLimits {
    fn default() -> Self {
        DbLimits { wait: Duration::from_secs(10), statement: Duration::from_secs(60) }
    }
}

/// The file of a `sqlite:` database URL (without its query), `None` for any other URL.
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    Some(std::path::PathBuf::from(rest.split('?').next().unwrap_or_default()))
}

/// The database file and its WAL and shared-memory files hold personal data: owner only. A
/// new database file is created empty with mode 0600 before SQLite opens it (SQLite gives the
/// WAL and -shm files the main file's mode); existing files are restricted.
fn restrict_sqlite_files(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if path.as_os_str().is_empty() || path.to_string_lossy().starts_with(':') {
            return;
        }
        let _ = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
        for file in std::iter::once(path.to_path_buf()).chain(sqlite_companions(path)) {
            if file.exists()
                && let Err(e) = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
            {
                tracing::warn!(file = %file.display(), error = %e, "could not restrict the database file to its owner");
            }
        }
    }
}

/// The WAL and shared-memory files SQLite keeps beside a database file.
pub fn sqlite_companions(path: &std::path::Path) -> [std::path::PathBuf; 2] {
    ["-wal", "-shm"].map(|suffix| std::path::PathBuf::from(format!("{}{suffix}", path.display())))
}

/// One bound parameter. A closed set of types keeps both drivers' encodings in one place.
#[derive(Debug, Clone)]
pub enum Arg {
    Uuid(Uuid),
    OptUuid(Option<Uuid>),
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Bytes(Vec<u8>),
    Time(OffsetDateTime),
    OptTime(Option<OffsetDateTime>),
}

macro_rules! arg_from {
    ($($t:ty => $v:ident),* $(,)?) => {
        $(impl From<$t> for Arg { fn from(v: $t) -> Self { Arg::$v(v) } })*
    };
}
arg_from!(Uuid => Uuid, Option<Uuid> => OptUuid, String => Text, Option<String> => OptText,
    i64 => Int, Option<i64> => OptInt, Vec<u8> => Bytes, OffsetDateTime => Time, Option<OffsetDateTime> => OptTime);

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_string())
    }
}

/// Builds a `Vec<Arg>` from heterogeneous values.
macro_rules! args {
    ($($v:expr),* $(,)?) => { vec![$($crate::store::Arg::from($v)),*] };
}
pub(crate) use args;

/// Binds every [`Arg`] to a query of either backend (the expansion is type-checked per backend).
macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for a in $args {
            q = match a {
                Arg::Uuid(v) => q.bind(v),
                Arg::OptUuid(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::OptText(v) => q.bind(v),
                Arg::Int(v) => q.bind(v),
                Arg::OptInt(v) => q.bind(v),
                Arg::Bytes(v) => q.bind(v),
                Arg::Time(v) => q.bind(v),
                Arg::OptTime(v) => q.bind(v),
            };
        }
        q
    }};
}

/// A row type that decodes from both backends (the `FromRow` derive is generic over the row).
pub trait Record: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Record for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

/// Runs one operation (`execute`, `fetch_all`, …) on whichever executor the enum holds.
macro_rules! run {
    (exec, $target:expr, $sql:expr, $args:expr) => {
        match $target {
            Exec::Sqlite(e) => bind_all!(sqlx::query($sql), $args).execute(e).await.map(|r| r.rows_affected()),
            Exec::Postgres(e) => bind_all!(sqlx::query($sql), $args).execute(e).await.map(|r| r.rows_affected()),
        }
    };
    ($method:ident, $target:expr, $sql:expr, $args:expr) => {
        match $target {
            Exec::Sqlite(e) => bind_all!(sqlx::query_as($sql), $args).$method(e).await,
            Exec::Postgres(e) => bind_all!(sqlx::query_as($sql), $args).$method(e).await,
        }
    };
    // A statement written for one batch (an `IN (…)` list): on PostgreSQL it is not kept as a
    // named prepared statement, so it is planned with its values every time. A kept one may
    // fall back to a generic plan chosen while the table was nearly empty, which PostgreSQL
    // replaces only after an ANALYZE (never, with autovacuum off): in the stacking benchmark
    // such a plan read every enrolment of the platform once per batch. SQLite has no such
    // plans and keeps its statements.
    (batch exec, $target:expr, $sql:expr, $args:expr) => {
        match $target {
            Exec::Sqlite(e) => bind_all!(sqlx::query($sql), $args).execute(e).await.map(|r| r.rows_affected()),
            Exec::Postgres(e) => {
                bind_all!(sqlx::query($sql), $args).persistent(false).execute(e).await.map(|r| r.rows_affected())
            }
        }
    };
    (batch $method:ident, $target:expr, $sql:expr, $args:expr) => {
        match $target {
            Exec::Sqlite(e) => bind_all!(sqlx::query_as($sql), $args).$method(e).await,
            Exec::Postgres(e) => bind_all!(sqlx::query_as($sql), $args).persistent(false).$method(e).await,
        }
    };
}

enum Exec<'a> {
    Sqlite(&'a mut sqlx::SqliteConnection),
    Postgres(&'a mut sqlx::PgConnection),
}

/// The SQL helpers shared by pooled reads and transactions.
trait Executor {
    fn exec(&mut self) -> impl std::future::Future<Output = StoreResult<ExecGuard<'_>>> + Send;
}

/// A borrowed connection: either a pool checkout or the connection inside a transaction.
enum ExecGuard<'a> {
    SqlitePooled(sqlx::pool::PoolConnection<Sqlite>),
    PgPooled(sqlx::pool::PoolConnection<Postgres>),
    Borrowed(Exec<'a>),
}

impl ExecGuard<'_> {
    fn get(&mut self) -> Exec<'_> {
        match self {
            ExecGuard::SqlitePooled(c) => Exec::Sqlite(c),
            ExecGuard::PgPooled(c) => Exec::Postgres(c),
            ExecGuard::Borrowed(Exec::Sqlite(c)) => Exec::Sqlite(c),
            ExecGuard::Borrowed(Exec::Postgres(c)) => Exec::Postgres(c),
        }
    }
}

/// Query helpers available on both [`Store`] (autocommit) and [`Tx`].
#[allow(async_fn_in_trait)]
trait Sql: Executor {
    async fn execute(&mut self, sql: &'static str, args: Vec<Arg>) -> StoreResult<u64> {
        let mut guard = self.exec().await?;
        Ok(run!(exec, guard.get(), sql, args)?)
    }
    async fn fetch_all<R: Record>(&mut self, sql: &'static str, args: Vec<Arg>) -> StoreResult<Vec<R>> {
        let mut guard = self.exec().await?;
        Ok(run!(fetch_all, guard.get(), sql, args)?)
    }
    async fn fetch_optional<R: Record>(&mut self, sql: &'static str, args: Vec<Arg>) -> StoreResult<Option<R>> {
        let mut guard = self.exec().await?;
        Ok(run!(fetch_optional, guard.get(), sql, args)?)
    }
    /// `head (v1, v2, …)` with the `fixed` arguments first (`$1`… in `head`) and every value
    /// bound, in chunks of [`IN_LIST_CHUNK`] values: `SELECT … WHERE list = $1 AND idx IN`.
    async fn fetch_in<R: Record>(
        &mut self,
        head: &'static str,
        fixed: Vec<Arg>,
        values: Vec<Arg>,
    ) -> StoreResult<Vec<R>> {
        let mut out = Vec::new();
        let mut values = values.into_iter().peekable();
        while values.peek().is_some() {
            let mut args = fixed.clone();
            args.extend(values.by_ref().take(IN_LIST_CHUNK));
            let mut guard = self.exec().await?;
            let postgres = matches!(guard.get(), Exec::Postgres(_));
            // Only placeholders are generated; every value is bound.
            let sql = sqlx::AssertSqlSafe(in_list_sql(head, fixed.len(), args.len() - fixed.len(), postgres));
            let rows: Vec<R> = run!(batch fetch_all, guard.get(), sql, args)?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// The rows of several learners with one statement per identity type: `head` ends where the
    /// condition on the learner goes (`… WHERE c.`), `tail` follows it (`ORDER BY …`). Rows come
    /// tagged with the learner they belong to, in the statement's order.
    async fn fetch_for_learners<R: Record>(
        &mut self,
        head: &'static str,
        learners: &[stack::Learner],
        tail: &'static str,
    ) -> StoreResult<Vec<(stack::Learner, R)>> {
        self.fetch_for_learners_with(head, vec![], learners, tail).await
    }

    /// [`Sql::fetch_for_learners`] with `fixed` arguments bound first, as `$1`… in `head`
    /// (`… WHERE p.issuer_id = $1 AND p.`), so the condition can lead with an indexed column.
    async fn fetch_for_learners_with<R: Record>(
        &mut self,
        head: &'static str,
        fixed: Vec<Arg>,
        learners: &[stack::Learner],
        tail: &'static str,
    ) -> StoreResult<Vec<(stack::Learner, R)>> {
        let mut by_type: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for l in learners {
            by_type.entry(l.identity_type.as_str()).or_default().push(l.identity.as_str());
        }
        let mut out = Vec::new();
        for (kind, identities) in by_type {
            for chunk in identities.chunks(500) {
                let mut guard = self.exec().await?;
                let postgres = matches!(guard.get(), Exec::Postgres(_));
                let mut sql = String::with_capacity(head.len() + tail.len() + 64 + chunk.len() * 5);
                sql.push_str(&fixed_placeholders(head, fixed.len(), postgres));
                let alias = head.rsplit(' ').next().unwrap_or_default();
                sql.push_str("identity_type = ");
                push_placeholders(&mut sql, fixed.len() + 1, 1, postgres);
                sql.push_str(" AND ");
                sql.push_str(alias);
                sql.push_str("identity IN (");
                push_placeholders(&mut sql, fixed.len() + 2, chunk.len(), postgres);
                sql.push_str(") ");
                sql.push_str(tail);
                let mut args = fixed.clone();
                args.push(Arg::Text(kind.to_string()));
                args.extend(chunk.iter().map(|i| Arg::Text(i.to_string())));
                // Only placeholders are generated; every value is bound.
                let sql = sqlx::AssertSqlSafe(sql);
                let rows: Vec<Tagged<R>> = run!(batch fetch_all, guard.get(), sql, args)?;
                out.extend(rows.into_iter().map(|t| (t.learner, t.row)));
            }
        }
        Ok(out)
    }
}
impl<T: Executor> Sql for T {}

/// Values per generated `IN (…)` list: well under both drivers' parameter limits.
const IN_LIST_CHUNK: usize = 1000;

/// `head (…)`: the `fixed` arguments named `$1`… in `head`, then `values` placeholders.
fn in_list_sql(head: &str, fixed: usize, values: usize, postgres: bool) -> String {
    let mut sql = String::with_capacity(head.len() + values * 6 + 4);
    sql.push_str(&fixed_placeholders(head, fixed, postgres));
    sql.push_str(" (");
    push_placeholders(&mut sql, fixed + 1, values, postgres);
    sql.push(')');
    sql
}

/// `head` with its `$1`…`$count` written as plain `?` for SQLite. sqlx binds SQLite's plain
/// `?` in order of appearance starting from the first argument, whatever `$n` names come
/// before them, so a statement mixing the two would bind the wrong values.
fn fixed_placeholders(head: &str, count: usize, postgres: bool) -> std::borrow::Cow<'_, str> {
    if postgres || count == 0 {
        return std::borrow::Cow::Borrowed(head);
    }
    let mut out = head.to_string();
    for n in (1..=count).rev() {
        out = out.replace(&format!("${n}"), "?");
    }
    std::borrow::Cow::Owned(out)
}

/// Appends `count` bind placeholders separated by commas: `$first, $first+1, …` for PostgreSQL,
/// `?, ?, …` for SQLite (which resolves `$n` names one by one, quadratic in a long statement;
/// plain `?` binds by position).
fn push_placeholders(sql: &mut String, first: usize, count: usize, postgres: bool) {
    for i in 0..count {
        if i > 0 {
            sql.push_str(", ");
        }
        if postgres {
            sql.push('$');
            sql.push_str(&(first + i).to_string());
        } else {
            sql.push('?');
        }
    }
}

/// A row of `R` with the learner it belongs to (columns `identity_type`, `identity`).
struct Tagged<R> {
    learner: stack::Learner,
    row: R,
}

impl<'r, R: FromRow<'r, SqliteRow>> FromRow<'r, SqliteRow> for Tagged<R> {
    fn from_row(row: &'r SqliteRow) -> Result<Self, sqlx::Error> {
        Ok(Tagged { learner: stack::Learner::from_row(row)?, row: R::from_row(row)? })
    }
}

impl<'r, R: FromRow<'r, PgRow>> FromRow<'r, PgRow> for Tagged<R> {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Tagged { learner: stack::Learner::from_row(row)?, row: R::from_row(row)? })
    }
}

/// The database: SQLite (default, one machine) or PostgreSQL (several instances).
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    /// Stamps rows and audit events; shared with the service (see [`Clock`]).
    clock: Clock,
}

#[derive(Clone, Debug)]
enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Executor for Store {
    async fn exec(&mut self) -> StoreResult<ExecGuard<'_>> {
        Ok(match &self.db {
            Db::Sqlite(p) => ExecGuard::SqlitePooled(p.acquire().await?),
            Db::Postgres(p) => ExecGuard::PgPooled(p.acquire().await?),
        })
    }
}

/// One transaction. Dropping it without [`Tx::commit`] rolls back, so an error anywhere
/// leaves nothing half-written.
pub struct Tx {
    inner: TxInner,
    clock: Clock,
}

enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Executor for Tx {
    async fn exec(&mut self) -> StoreResult<ExecGuard<'_>> {
        Ok(ExecGuard::Borrowed(match &mut self.inner {
            TxInner::Sqlite(t) => Exec::Sqlite(&mut *t),
            TxInner::Postgres(t) => Exec::Postgres(&mut *t),
        }))
    }
}

impl Tx {
    /// Inserts many rows with multi-row `INSERT … VALUES (…), (…)` statements, chunked to stay
    /// under both drivers' parameter limits. `prefix` is `INSERT INTO t (a, b, c) VALUES`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub(crate) async fn insert_many(
        &mut self,
        prefix: &'static str,
        columns: usize,
        rows: Vec<Vec<Arg>>,
    ) -> StoreResult<()> {
        self.insert_many_then(prefix, columns, rows, "").await
    }

    /// [`Tx::insert_many`] with a clause after the values, e.g. `ON CONFLICT DO NOTHING`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub(crate) async fn insert_many_then(
        &mut self,
        prefix: &'static str,
        columns: usize,
        rows: Vec<Vec<Arg>>,
        suffix: &'static str,
    ) -> StoreResult<()> {
        let per_chunk = (30_000 / columns.max(1)).clamp(1, 1000);
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<Vec<Arg>> = rows.by_ref().take(per_chunk).collect();
            let mut sql = String::with_capacity(prefix.len() + chunk.len() * columns * 6);
            sql.push_str(prefix);
            let mut n = 0;
            let postgres = self.is_postgres();
            for (i, row) in chunk.iter().enumerate() {
                debug_assert_eq!(row.len(), columns);
                sql.push_str(if i == 0 { " (" } else { ", (" });
                push_placeholders(&mut sql, n + 1, columns, postgres);
                n += columns;
                sql.push(')');
            }
            sql.push_str(suffix);
            let args: Vec<Arg> = chunk.into_iter().flatten().collect();
            // Only placeholders are generated; every value is bound.
            let sql = sqlx::AssertSqlSafe(sql);
            match &mut self.inner {
                TxInner::Sqlite(t) => bind_all!(sqlx::query(sql), args).execute(&mut **t).await.map(|_| ())?,
                TxInner::Postgres(t) => bind_all!(sqlx::query(sql), args).execute(&mut **t).await.map(|_| ())?,
            };
        }
        Ok(())
    }

    /// `head (v1, v2, …)` with every value bound, chunked like [`Tx::insert_many`]
    /// (`DELETE FROM t WHERE id IN`). Nothing to do for no values.
    #[tracing::instrument(level = "debug", skip_all)]
    pub(crate) async fn execute_in(&mut self, head: &'static str, values: Vec<Arg>) -> StoreResult<u64> {
        let mut done = 0;
        let mut values = values.into_iter().peekable();
        while values.peek().is_some() {
            let chunk: Vec<Arg> = values.by_ref().take(IN_LIST_CHUNK).collect();
            // Only placeholders are generated; every value is bound.
            let sql = sqlx::AssertSqlSafe(in_list_sql(head, 0, chunk.len(), self.is_postgres()));
            let mut guard = self.exec().await?;
            done += run!(batch exec, guard.get(), sql, chunk)?;
        }
        Ok(done)
    }

    /// [`Store::execute_raw`] inside this transaction (tests hold locks with it).
    #[doc(hidden)]
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn execute_raw(&mut self, sql: &str) -> StoreResult<u64> {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        Ok(match &mut self.inner {
            TxInner::Sqlite(t) => sqlx::query(sql).execute(&mut **t).await?.rows_affected(),
            TxInner::Postgres(t) => sqlx::query(sql).execute(&mut **t).await?.rows_affected(),
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn commit(self) -> StoreResult<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    fn is_postgres(&self) -> bool {
        matches!(self.inner, TxInner::Postgres(_))
    }
}

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates the database named by `url`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn connect(url: &str) -> StoreResult<Store> {
        Store::connect_with(url, &DbLimits::default()).await
    }

    /// [`Store::connect`] with explicit time limits.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn connect_with(url: &str, limits: &DbLimits) -> StoreResult<Store> {
        let store = Store::open_with(url, limits).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the database without touching its schema.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn open(url: &str) -> StoreResult<Store> {
        Store::open_with(url, &DbLimits::default()).await
    }

    /// [`Store::open`] with explicit time limits: a request held up by a lock or an unreachable
    /// server fails within `limits.wait` instead of hanging (and is answered 503).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn open_with(url: &str, limits: &DbLimits) -> StoreResult<Store> {
        let db = if url.starts_with("sqlite:") {
            if let Some(path) = sqlite_path(url) {
                restrict_sqlite_files(&path);
            }
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(limits.wait)
                .foreign_keys(true);
            let pool =
                SqlitePoolOptions::new().max_connections(8).acquire_timeout(limits.wait).connect_with(options).await?;
            Db::Sqlite(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)?.options([
                ("statement_timeout", format!("{}ms", limits.statement.as_millis())),
                ("lock_timeout", format!("{}ms", limits.wait.as_millis())),
            ]);
            let pool =
                PgPoolOptions::new().max_connections(16).acquire_timeout(limits.wait).connect_with(options).await?;
            Db::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        Ok(Store { db, clock: Clock::default() })
    }

    /// The clock that stamps this store's rows; [`crate::service::Service`] reads the same one.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Runs one literal SQL statement: for operators' and tests' checks (e.g. proving that the
    /// audit table refuses changes). Application code uses the typed functions.
    #[doc(hidden)]
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn execute_raw(&self, sql: &str) -> StoreResult<u64> {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        Ok(match &self.db {
            Db::Sqlite(p) => sqlx::query(sql).execute(p).await?.rows_affected(),
            Db::Postgres(p) => sqlx::query(sql).execute(p).await?.rows_affected(),
        })
    }

    /// Runs several literal statements on one connection, in order (a test rewinding the schema
    /// must not meet another pooled connection's stale view of it); see [`Store::execute_raw`].
    #[doc(hidden)]
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn execute_script(&self, sql: &str) -> StoreResult<()> {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match &self.db {
            Db::Sqlite(p) => {
                sqlx::raw_sql(sql).execute(p).await?;
            }
            Db::Postgres(p) => {
                sqlx::raw_sql(sql).execute(p).await?;
            }
        }
        Ok(())
    }

    /// First column (as text) of each row of a literal query; see [`Store::execute_raw`].
    #[doc(hidden)]
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn query_text(&self, sql: &str) -> StoreResult<Vec<String>> {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        Ok(match &self.db {
            Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await?,
            Db::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await?,
        })
    }

    /// Applies pending migrations. Safe to run from several instances at once: sqlx takes a
    /// lock (an advisory lock on PostgreSQL) around the run.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn migrate(&self) -> StoreResult<()> {
        match &self.db {
            Db::Sqlite(p) => sqlx::migrate!("migrations/sqlite").run(p).await?,
            Db::Postgres(p) => sqlx::migrate!("migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    /// Applies migrations up to `version` only: for tests of a migration's data changes (fill
    /// the older schema, then [`Store::migrate`]).
    #[doc(hidden)]
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn migrate_to(&self, version: i64) -> StoreResult<()> {
        match &self.db {
            Db::Sqlite(p) => sqlx::migrate!("migrations/sqlite").run_to(version, p).await?,
            Db::Postgres(p) => sqlx::migrate!("migrations/postgres").run_to(version, p).await?,
        }
        Ok(())
    }

    /// A consistent copy of a SQLite database in `target` (`VACUUM INTO`: a snapshot while
    /// other connections keep reading and writing). The file is created first with mode 0600.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn backup_sqlite(&self, target: &std::path::Path) -> StoreResult<()> {
        let Db::Sqlite(pool) = &self.db else { return Err(StoreError::UnsupportedUrl) };
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(target)
                .map_err(|e| StoreError::Corrupt(format!("cannot create {}: {e}", target.display())))?;
        }
        let path = target.display().to_string().replace('\'', "''");
        sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{path}'"))).execute(pool).await?;
        Ok(())
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`)
    /// so two writers never deadlock upgrading a read lock.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn begin(&self) -> StoreResult<Tx> {
        let inner = match &self.db {
            Db::Sqlite(p) => TxInner::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => TxInner::Postgres(p.begin().await?),
        };
        Ok(Tx { inner, clock: self.clock.clone() })
    }

    /// The newest migration this build knows and the newest applied to the database (`None`
    /// when none is, or the database was never migrated).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn migration_versions(&self) -> StoreResult<(i64, Option<i64>)> {
        #[derive(sqlx::FromRow)]
        struct Applied {
            v: Option<i64>,
        }
        let known = match &self.db {
            Db::Sqlite(_) => sqlx::migrate!("migrations/sqlite").iter().map(|m| m.version).max(),
            Db::Postgres(_) => sqlx::migrate!("migrations/postgres").iter().map(|m| m.version).max(),
        };
        let applied: StoreResult<Option<Applied>> =
            self.clone().fetch_optional("SELECT MAX(version) AS v FROM _sqlx_migrations WHERE success", vec![]).await;
        let applied = match applied {
            Ok(row) => row.and_then(|r| r.v),
            // No migrations table: an empty or foreign database.
            Err(StoreError::Backend(_)) => None,
            Err(e) => return Err(e),
        };
        Ok((known.unwrap_or(0), applied))
    }

    /// Cheap liveness probe for `/health`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ping(&self) -> StoreResult<()> {
        let mut s = self.clone();
        s.execute("SELECT 1", vec![]).await?;
        Ok(())
    }

    pub fn backend(&self) -> &'static str {
        match &self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }
}
