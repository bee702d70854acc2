//! The append-only audit table (one hash chain per issuer, the platform's, the closed legacy
//! chain), the legacy chain's closing and the signed tree heads.

use uuid::Uuid;

use super::{Sql, Store, StoreResult, Tx, args};
use crate::domain::audit::{ChainHead, Event, GENESIS_HASH, LEGACY_CHAIN, NewEvent};

/// Advisory lock namespace for appends to one chain on PostgreSQL ("MBAU" in ASCII, the upper
/// half of the 64-bit key); the lower half is derived from the chain's name.
const PG_AUDIT_LOCK: i64 = 0x4d42_4155 << 32;

/// The columns of an event row, in [`AuditRow`] order.
macro_rules! event_columns {
    () => {
        "id, chain, seq, occurred_at, actor_token, actor_role, issuer_id, action, subject_id, change_digest, prev_hash, hash"
    };
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub chain: String,
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
            position: r.id,
            chain: r.chain,
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

/// How the legacy chain was closed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChainClose {
    pub seq: i64,
    pub head_hash: String,
    /// Hex Merkle root over the legacy events' hashes; every new chain starts from it.
    pub root: String,
}

#[derive(sqlx::FromRow)]
struct Head {
    chain: String,
    seq: i64,
    hash: String,
}

/// The advisory lock key of a chain (a collision only makes two chains share a lock).
fn chain_lock_key(chain: &str) -> i64 {
    let d = crate::domain::audit::sha256_hex(chain.as_bytes());
    PG_AUDIT_LOCK | i64::from_str_radix(&d[..8], 16).expect("hex digits")
}

impl Tx {
    /// Appends `events` to their chains inside this transaction. On PostgreSQL an advisory
    /// transaction lock per chain (taken in name order) serialises appenders of that chain from
    /// every instance, so the head read here is the head the insert extends (the unique
    /// `(chain, seq)` would reject a fork regardless); appends to other chains do not wait.
    /// On SQLite the transaction already holds the write lock (`BEGIN IMMEDIATE`).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn audit(&mut self, events: Vec<NewEvent>) -> StoreResult<Vec<Event>> {
        let mut chains: Vec<&str> =
            events.iter().map(|e| crate::domain::audit::chain_of(e.issuer_id.as_deref())).collect();
        chains.sort_unstable();
        chains.dedup();
        let mut heads = std::collections::HashMap::new();
        for chain in chains {
            if self.is_postgres() {
                self.execute("SELECT pg_advisory_xact_lock($1)", args![chain_lock_key(chain)]).await?;
            }
            heads.insert(chain.to_string(), self.audit_head(chain).await?);
        }
        let origin = if heads.values().any(Option::is_none) { self.audit_origin().await? } else { String::new() };
        let occurred_at = crate::domain::time::rfc3339(self.clock.now());
        let mut out = Vec::with_capacity(events.len());
        for new in events {
            let prev = heads.get_mut(crate::domain::audit::chain_of(new.issuer_id.as_deref())).expect("read above");
            let e = Event::chain(new, prev.take(), &origin, occurred_at.clone());
            *prev = Some((e.seq, e.hash.clone()));
            out.push(e);
        }
        let rows = out
            .iter()
            .map(|e| {
                args![
                    e.chain.clone(),
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
            "INSERT INTO audit_event (chain, seq, occurred_at, actor_token, actor_role, issuer_id, action, subject_id, change_digest, prev_hash, hash) VALUES",
            11,
            rows,
        )
        .await?;
        Ok(out)
    }

    /// A chain's newest event's (seq, hash), if it has any.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn audit_head(&mut self, chain: &str) -> StoreResult<Option<(i64, String)>> {
        let h: Option<Head> = self
            .fetch_optional(
                "SELECT chain, seq, hash FROM audit_event WHERE chain = $1 ORDER BY seq DESC LIMIT 1",
                args![chain],
            )
            .await?;
        Ok(h.map(|h| (h.seq, h.hash)))
    }

    /// Where a new chain starts: the root that closed the legacy chain (closing it now if this
    /// is the first append since the split), or genesis on a database that never had one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn audit_origin(&mut self) -> StoreResult<String> {
        if let Some(c) = self.legacy_close().await? {
            return Ok(c.root);
        }
        let Some((seq, head_hash)) = self.audit_head(LEGACY_CHAIN).await? else {
            return Ok(GENESIS_HASH.to_string());
        };
        #[derive(sqlx::FromRow)]
        struct H {
            hash: String,
        }
        let hashes: Vec<H> =
            self.fetch_all("SELECT hash FROM audit_event WHERE chain = $1 ORDER BY seq", args![LEGACY_CHAIN]).await?;
        let root = hex::encode(crate::domain::audit::legacy_root(hashes.into_iter().map(|h| h.hash)).root());
        // Every instance computes the same root from the same frozen events; the first one wins.
        self.execute(
            "INSERT INTO audit_chain_close (chain, seq, head_hash, root, closed_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (chain) DO NOTHING",
            args![LEGACY_CHAIN, seq, head_hash, root.clone(), crate::domain::time::rfc3339(self.clock.now())],
        )
        .await?;
        Ok(self.legacy_close().await?.map(|c| c.root).unwrap_or(root))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn legacy_close(&mut self) -> StoreResult<Option<ChainClose>> {
        legacy_close_in(self).await
    }

    /// Every chain's head except the legacy chain's (which is represented by its closing root).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn audit_heads(&mut self) -> StoreResult<Vec<ChainHead>> {
        let heads: Vec<Head> = self
            .fetch_all(
                "SELECT e.chain, e.seq, e.hash FROM audit_event e \
                 JOIN (SELECT chain, MAX(seq) AS seq FROM audit_event WHERE chain <> $1 GROUP BY chain) h \
                 ON h.chain = e.chain AND h.seq = e.seq",
                args![LEGACY_CHAIN],
            )
            .await?;
        Ok(heads.into_iter().map(|h| ChainHead { chain: h.chain, seq: h.seq, hash: h.hash }).collect())
    }

    /// Records a signed tree head; false if that number was taken by another instance.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_tree_head(&mut self, t: &TreeHeadRow, key: Uuid) -> StoreResult<bool> {
        let n = self
            .execute(
                "INSERT INTO audit_tree_head (number, size, root, heads, signed_at, key_id, signature) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (number) DO NOTHING",
                args![t.number, t.size, t.root.clone(), t.heads.clone(), t.signed_at.clone(), key, t.signature.clone()],
            )
            .await?;
        Ok(n > 0)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn newest_tree_head(&mut self) -> StoreResult<Option<TreeHeadRow>> {
        self.fetch_optional(
            "SELECT t.number, t.size, t.root, t.heads, t.signed_at, t.signature, k.public_key FROM audit_tree_head t \
             JOIN platform_key k ON k.key_id = t.key_id ORDER BY t.number DESC LIMIT 1",
            args![],
        )
        .await
    }
}

impl Store {
    /// Events of every chain after storage position `after`, in storage order, at most `limit`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn audit_page(&self, after: i64, limit: i64) -> StoreResult<Vec<Event>> {
        self.events(
            concat!("SELECT ", event_columns!(), " FROM audit_event WHERE id > $1 ORDER BY id LIMIT $2"),
            args![after, limit],
        )
        .await
    }

    async fn events(&self, sql: &'static str, args: Vec<super::Arg>) -> StoreResult<Vec<Event>> {
        let rows: Vec<AuditRow> = self.clone().fetch_all(sql, args).await?;
        Ok(rows.into_iter().map(Event::from).collect())
    }

    /// One issuer's events (its own chain, and its events in the legacy chain) after storage
    /// position `after`. Appends to one chain are serialised until commit, so positions within
    /// it only grow and this cursor never skips one of its events.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn audit_page_of(&self, issuer: &str, after: i64, limit: i64) -> StoreResult<Vec<Event>> {
        self.events(
            concat!(
                "SELECT ",
                event_columns!(),
                " FROM audit_event WHERE id > $1 AND issuer_id = $3 ORDER BY id LIMIT $2"
            ),
            args![after, limit, issuer],
        )
        .await
    }

    /// One chain's events after its sequence number `after`, in order.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn audit_chain_page(&self, chain: &str, after: i64, limit: i64) -> StoreResult<Vec<Event>> {
        self.events(
            concat!(
                "SELECT ",
                event_columns!(),
                " FROM audit_event WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3"
            ),
            args![chain, after, limit],
        )
        .await
    }

    /// The names of every chain that has events, legacy included.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn audit_chains(&self) -> StoreResult<Vec<String>> {
        #[derive(sqlx::FromRow)]
        struct C {
            chain: String,
        }
        let rows: Vec<C> =
            self.clone().fetch_all("SELECT DISTINCT chain FROM audit_event ORDER BY chain", args![]).await?;
        Ok(rows.into_iter().map(|c| c.chain).collect())
    }

    /// Every legacy event's hash in order (to rebuild the closing tree for proofs).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn legacy_hashes(&self) -> StoreResult<Vec<String>> {
        #[derive(sqlx::FromRow)]
        struct H {
            hash: String,
        }
        let rows: Vec<H> = self
            .clone()
            .fetch_all("SELECT hash FROM audit_event WHERE chain = $1 ORDER BY seq", args![LEGACY_CHAIN])
            .await?;
        Ok(rows.into_iter().map(|h| h.hash).collect())
    }

    /// The sequence numbers of an issuer's events in the legacy chain after storage position
    /// `after` (legacy positions are their sequence numbers).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn legacy_seqs_of(&self, issuer: &str, after: i64) -> StoreResult<Vec<i64>> {
        #[derive(sqlx::FromRow)]
        struct S {
            seq: i64,
        }
        let rows: Vec<S> = self
            .clone()
            .fetch_all(
                "SELECT seq FROM audit_event WHERE issuer_id = $1 AND chain = $2 AND id > $3 ORDER BY seq",
                args![issuer, LEGACY_CHAIN, after],
            )
            .await?;
        Ok(rows.into_iter().map(|s| s.seq).collect())
    }

    /// The event at `seq` of `chain`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn audit_event_at(&self, chain: &str, seq: i64) -> StoreResult<Option<Event>> {
        let row: Option<AuditRow> = self
            .clone()
            .fetch_optional(
                concat!("SELECT ", event_columns!(), " FROM audit_event WHERE chain = $1 AND seq = $2"),
                args![chain, seq],
            )
            .await?;
        Ok(row.map(Event::from))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn tree_heads(&self) -> StoreResult<Vec<TreeHeadRow>> {
        self.clone()
            .fetch_all(
                "SELECT t.number, t.size, t.root, t.heads, t.signed_at, t.signature, k.public_key FROM audit_tree_head t \
                 JOIN platform_key k ON k.key_id = t.key_id ORDER BY t.number",
                args![],
            )
            .await
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlatformKeyRow {
    pub key_id: Uuid,
    pub public_key: Vec<u8>,
    pub sealed_secret: Vec<u8>,
}

/// A legacy checkpoint (signed head of the legacy chain).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckpointRow {
    pub seq: i64,
    pub hash: String,
    pub signed_at: String,
    pub signature: String,
    pub public_key: Vec<u8>,
}

/// A signed tree head as stored; `heads` is the JSON list of [`ChainHead`]s in chain order.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TreeHeadRow {
    pub number: i64,
    pub size: i64,
    pub root: String,
    pub heads: String,
    pub signed_at: String,
    pub signature: String,
    pub public_key: Vec<u8>,
}

impl Store {
    /// The platform key, creating it if none exists yet (first writer wins across instances).
    #[tracing::instrument(level = "debug", skip_all)]
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
            args![id, public, sealed, self.clock.now()],
        )
        .await?;
        tx.commit().await?;
        self.clone()
            .fetch_optional("SELECT key_id, public_key, sealed_secret FROM platform_key WHERE key_id = $1", args![id])
            .await?
            .ok_or(super::StoreError::NotFound)
    }

    /// Checkpoints of the legacy chain, signed before chains were split.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn checkpoints(&self) -> StoreResult<Vec<CheckpointRow>> {
        self.clone()
            .fetch_all(
                "SELECT c.seq, c.hash, c.signed_at, c.signature, k.public_key FROM audit_checkpoint c \
                 JOIN platform_key k ON k.key_id = c.key_id ORDER BY c.seq",
                args![],
            )
            .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn legacy_close(&self) -> StoreResult<Option<ChainClose>> {
        legacy_close_in(&mut self.clone()).await
    }
}

async fn legacy_close_in(db: &mut impl Sql) -> StoreResult<Option<ChainClose>> {
    db.fetch_optional("SELECT seq, head_hash, root FROM audit_chain_close WHERE chain = $1", args![LEGACY_CHAIN]).await
}
