//! The append-only audit chain table.

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
        #[derive(sqlx::FromRow)]
        struct Head {
            seq: i64,
            hash: String,
        }
        let head: Option<Head> =
            self.fetch_optional("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1", args![]).await?;
        let mut prev = head.map(|h| (h.seq, h.hash));
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
