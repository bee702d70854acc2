//! The append-only audit chain table.

use uuid::Uuid;

use super::{Sql, Store, StoreResult, Tx, args};
use crate::domain::audit::{Break, ChainChecker, Event, NewEvent};

/// Lock key for serialising appends across PostgreSQL sessions ("MBAUDIT" in ASCII, truncated).
const PG_AUDIT_LOCK: i64 = 0x004d_4241_5544_4954;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub occurred_at: String,
    pub actor_token: String,
    pub actor_role: String,
    pub issuer_id: Option<String>,
    pub action: String,
    pub subject_id: String,
    pub change_digest: String,
    pub prev_hash: String,
    pub hash: String,
}

impl From<AuditRow> for Event {
    fn from(r: AuditRow) -> Event {
        Event {
            seq: r.seq,
            occurred_at: r.occurred_at,
            actor_token: r.actor_token,
            actor_role: r.actor_role,
            issuer_id: r.issuer_id,
            action: r.action,
            subject_id: r.subject_id,
            change_digest: r.change_digest,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ChainReport {
    pub ok: bool,
    pub events_checked: u64,
    pub first_break: Option<Break>,
}

impl Tx {
    /// Appends `events` to the chain inside this transaction. On PostgreSQL an advisory
    /// transaction lock serialises appenders from every instance, so the head read here is the
    /// head the insert extends (the primary key on `seq` would reject a fork regardless).
    /// On SQLite the transaction already holds the write lock (`BEGIN IMMEDIATE`).
    pub async fn audit(&mut self, events: Vec<NewEvent>) -> StoreResult<Vec<Event>> {
        if self.is_postgres() {
            self.execute("SELECT pg_advisory_xact_lock($1)", args![PG_AUDIT_LOCK]).await?;
        }
        let mut prev = self.audit_head().await?;
        let occurred_at = crate::domain::time::rfc3339(super::now());
        let mut out = Vec::with_capacity(events.len());
        for new in events {
            let e = Event::chain(new, prev.take(), occurred_at.clone());
            prev = Some((e.seq, e.hash.clone()));
            out.push(e);
        }
        let rows = out
            .iter()
            .map(|e| {
                args![
                    e.seq,
                    e.occurred_at.clone(),
                    e.actor_token.clone(),
                    e.actor_role.clone(),
                    e.issuer_id.clone(),
                    e.action.clone(),
                    e.subject_id.clone(),
                    e.change_digest.clone(),
                    e.prev_hash.clone(),
                    e.hash.clone()
                ]
            })
            .collect();
        self.insert_many(
            "INSERT INTO audit_event (seq, occurred_at, actor_token, actor_role, issuer_id, action, subject_id, change_digest, prev_hash, hash) VALUES",
            10,
            rows,
        )
        .await?;
        Ok(out)
    }
}

impl Store {
    /// Events after `after` (exclusive), oldest first, at most `limit`.
    pub async fn audit_page(&self, after: i64, limit: i64) -> StoreResult<Vec<Event>> {
        let rows: Vec<AuditRow> = self
            .clone()
            .fetch_all(
                "SELECT seq, occurred_at, actor_token, actor_role, issuer_id, action, subject_id, change_digest, prev_hash, hash \
                 FROM audit_event WHERE seq > $1 ORDER BY seq LIMIT $2",
                args![after, limit],
            )
            .await?;
        Ok(rows.into_iter().map(Event::from).collect())
    }

    /// One issuer's events after `after`, oldest first (the chain itself is global; an issuer's
    /// auditors see their issuer's events).
    pub async fn audit_page_of(&self, issuer: &str, after: i64, limit: i64) -> StoreResult<Vec<Event>> {
        let rows: Vec<AuditRow> = self
            .clone()
            .fetch_all(
                "SELECT seq, occurred_at, actor_token, actor_role, issuer_id, action, subject_id, change_digest, prev_hash, hash \
                 FROM audit_event WHERE seq > $1 AND issuer_id = $3 ORDER BY seq LIMIT $2",
                args![after, limit, issuer],
            )
            .await?;
        Ok(rows.into_iter().map(Event::from).collect())
    }

    /// Recomputes the whole chain, page by page, so memory stays flat however long it is.
    pub async fn audit_verify(&self) -> StoreResult<ChainReport> {
        let mut checker = ChainChecker::default();
        let mut after = 0;
        loop {
            let page = self.audit_page(after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for e in &page {
                checker.push(e);
            }
            if checker.first_break.is_some() {
                break;
            }
        }
        Ok(ChainReport {
            ok: checker.first_break.is_none(),
            events_checked: checker.checked,
            first_break: checker.first_break,
        })
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlatformKeyRow {
    pub key_id: Uuid,
    pub public_key: Vec<u8>,
    pub sealed_secret: Vec<u8>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckpointRow {
    pub seq: i64,
    pub hash: String,
    pub signed_at: String,
    pub signature: String,
    pub public_key: Vec<u8>,
}

impl Store {
    /// The platform key, creating it if none exists yet (first writer wins across instances).
    pub async fn platform_key(&self, make: impl FnOnce(Uuid) -> (Vec<u8>, Vec<u8>)) -> StoreResult<PlatformKeyRow> {
        let id = Uuid::nil();
        if let Some(k) = self
            .clone()
            .fetch_optional("SELECT key_id, public_key, sealed_secret FROM platform_key WHERE key_id = $1", args![id])
            .await?
        {
            return Ok(k);
        }
        let (public, sealed) = make(id);
        let mut tx = self.begin().await?;
        tx.execute(
            "INSERT INTO platform_key (key_id, public_key, sealed_secret, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (key_id) DO NOTHING",
            args![id, public, sealed, super::now()],
        )
        .await?;
        tx.commit().await?;
        self.clone()
            .fetch_optional("SELECT key_id, public_key, sealed_secret FROM platform_key WHERE key_id = $1", args![id])
            .await?
            .ok_or(super::StoreError::NotFound)
    }

    pub async fn checkpoints(&self) -> StoreResult<Vec<CheckpointRow>> {
        self.clone()
            .fetch_all(
                "SELECT c.seq, c.hash, c.signed_at, c.signature, k.public_key FROM audit_checkpoint c \
                 JOIN platform_key k ON k.key_id = c.key_id ORDER BY c.seq",
                args![],
            )
            .await
    }
}

impl Tx {
    /// The newest event's (seq, hash), if any.
    pub async fn audit_head(&mut self) -> StoreResult<Option<(i64, String)>> {
        #[derive(sqlx::FromRow)]
        struct Head {
            seq: i64,
            hash: String,
        }
        let h: Option<Head> =
            self.fetch_optional("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1", args![]).await?;
        Ok(h.map(|h| (h.seq, h.hash)))
    }

    /// Records a checkpoint; false if that head was already signed.
    pub async fn insert_checkpoint(
        &mut self,
        seq: i64,
        hash: &str,
        signed_at: &str,
        key: Uuid,
        signature: &str,
    ) -> StoreResult<bool> {
        let n = self
            .execute(
                "INSERT INTO audit_checkpoint (seq, hash, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING",
                args![seq, hash, signed_at, key, signature],
            )
            .await?;
        Ok(n > 0)
    }
}
