//! Awards, credentials, status-list index allocation and idempotency records.

use rand::Rng;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Arg, Sql, Store, StoreError, StoreResult, Tx, args};

/// Entries per status list: the Bitstring Status List minimum (16 KiB of bits), which also
/// gives every credential a large crowd to hide in.
pub const STATUS_LIST_SIZE: i64 = 131_072;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AwardRow {
    pub award_id: Uuid,
    pub issuer_id: Uuid,
    pub nanomodule_id: Uuid,
    pub nanomodule_version: i64,
    pub member_id: Option<Uuid>,
    pub actor_token: String,
    pub actor_role: String,
    pub session: String,
    pub recipients: i64,
    pub created_at: OffsetDateTime,
}

/// A credential to insert.
#[derive(Debug, Clone)]
pub struct NewCredential {
    pub credential_id: Uuid,
    pub identity_type: String,
    pub identity: String,
    pub recipient_name: Option<String>,
    pub status_list_id: Uuid,
    pub status_index: i64,
    pub signed: String,
    pub jwt: String,
    pub sha256: String,
    pub valid_from: OffsetDateTime,
    pub valid_until: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CredentialRow {
    pub credential_id: Uuid,
    /// Set for badges (from an award of a nanomodule version)…
    pub award_id: Option<Uuid>,
    pub issuer_id: Uuid,
    pub nanomodule_id: Option<Uuid>,
    pub nanomodule_version: Option<i64>,
    /// …or for partial certificates (from a metro line version).
    pub metro_line_id: Option<Uuid>,
    pub metro_line_version: Option<i64>,
    pub identity_type: String,
    pub identity: String,
    pub recipient_name: Option<String>,
    pub status_list_id: Uuid,
    pub status_index: i64,
    pub key_id: Uuid,
    pub signed: String,
    pub jwt: String,
    pub sha256: String,
    pub valid_from: OffsetDateTime,
    pub valid_until: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdempotencyRow {
    pub request_hash: String,
    pub status: i64,
    pub response: String,
}

#[derive(sqlx::FromRow)]
struct ListRow {
    status_list_id: Uuid,
    size: i64,
    allocated: i64,
}

#[derive(sqlx::FromRow)]
struct Idx {
    idx: i64,
}

#[derive(sqlx::FromRow)]
struct ListId {
    status_list_id: Uuid,
}

impl Store {
    /// Reserves `n` distinct random indices in the issuer's revocation lists, in one short
    /// transaction of its own so that no lock is held while credentials are signed. Reserved
    /// indices are never handed out again, even if the award that reserved them fails
    /// (an unused index simply stays 0 in the published list).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn reserve_status_indices(&self, issuer: Uuid, n: usize) -> StoreResult<Vec<(Uuid, i64)>> {
        let mut tx = self.begin().await?;
        let out = tx.reserve_status_indices(issuer, n).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Up to `n` status indices of the issuer's current revocation list that look free now,
    /// drawn at random and checked without a lock: candidates for documents signed before their
    /// transaction, which claims them with [`Tx::claim_status_indices`] (and signs again for any
    /// another writer took meanwhile). Empty when the issuer has no list with room (the
    /// transaction then opens one).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn draw_status_slots(&self, issuer: Uuid, n: usize) -> StoreResult<Vec<(Uuid, i64)>> {
        let mut db = self.clone();
        let Some(list) = list_with_room(&mut db, issuer).await? else { return Ok(vec![]) };
        let free = (list.size - list.allocated) as usize;
        // Only on a list with plenty of room: a fuller one is left to the locked reservation.
        if n == 0 || free * 16 < list.size as usize {
            return Ok(vec![]);
        }
        let candidates = random_candidates(&mut std::collections::HashSet::new(), n.min(free), &list);
        let taken = taken_among(&mut db, list.status_list_id, &candidates).await?;
        Ok(candidates.into_iter().filter(|i| !taken.contains(i)).take(n).map(|i| (list.status_list_id, i)).collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn credential(&self, id: Uuid) -> StoreResult<Option<CredentialRow>> {
        self.clone()
            .fetch_optional(
                "SELECT credential_id, award_id, issuer_id, nanomodule_id, nanomodule_version, metro_line_id, metro_line_version, identity_type, identity, recipient_name, \
                 status_list_id, status_index, key_id, signed, jwt, sha256, valid_from, valid_until, created_at FROM credential WHERE credential_id = $1",
                args![id],
            )
            .await
    }

    /// Completes a stored answer with what was learnt after its commit (the certificates an
    /// award completed), so a replay answers exactly what the first call answered.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn complete_idempotency(&self, scope: &str, key: &str, response: &str) -> StoreResult<()> {
        self.clone()
            .execute(
                "UPDATE idempotency_key SET response = $3 WHERE scope = $1 AND idem_key = $2",
                args![scope, key, response],
            )
            .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn idempotency(&self, scope: &str, key: &str) -> StoreResult<Option<IdempotencyRow>> {
        self.clone()
            .fetch_optional(
                "SELECT request_hash, status, response FROM idempotency_key WHERE scope = $1 AND idem_key = $2",
                args![scope, key],
            )
            .await
    }
}

impl Tx {
    /// [`Store::reserve_status_indices`] inside a longer transaction (a certificate's index is
    /// taken in the transaction that decides to issue it).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn reserve_status_indices(&mut self, issuer: Uuid, n: usize) -> StoreResult<Vec<(Uuid, i64)>> {
        let mut out = Vec::with_capacity(n);
        let mut rng = rand::rngs::OsRng;
        while out.len() < n {
            let list = match list_with_room(self, issuer).await? {
                Some(l) => l,
                None => {
                    let id = Uuid::now_v7();
                    self.execute(
                        "INSERT INTO status_list (status_list_id, issuer_id, purpose, size, allocated, created_at) VALUES ($1, $2, 'revocation', $3, 0, $4)",
                        args![id, issuer, STATUS_LIST_SIZE, self.clock.now()],
                    )
                    .await?;
                    ListRow { status_list_id: id, size: STATUS_LIST_SIZE, allocated: 0 }
                }
            };
            // Take the row lock (PostgreSQL) before reading what is taken, then re-read the count.
            self.lock_status_list(list.status_list_id).await?;
            let fresh: ListRow = self
                .fetch_optional(
                    "SELECT status_list_id, size, allocated FROM status_list WHERE status_list_id = $1",
                    args![list.status_list_id],
                )
                .await?
                .ok_or(StoreError::NotFound)?;
            let free = (fresh.size - fresh.allocated) as usize;
            if free == 0 {
                continue;
            }
            let want = free.min(n - out.len());
            let mut picked = Vec::with_capacity(want);
            if want <= 1_000 && free as i64 * 16 >= fresh.size {
                // A list at most 15/16 full: draw random candidates and ask which are taken,
                // instead of reading every index taken so far (which made a list's cost grow
                // with its fill: quadratic over a list's life). The list's row lock is held, so
                // nothing can take a candidate between the read and the insert.
                let mut tried = std::collections::HashSet::new();
                while picked.len() < want {
                    let need = want - picked.len();
                    let candidates = random_candidates(&mut tried, need, &fresh);
                    if candidates.is_empty() {
                        break;
                    }
                    let taken = taken_among(self, list.status_list_id, &candidates).await?;
                    picked.extend(candidates.into_iter().filter(|i| !taken.contains(i)).take(need));
                }
            } else {
                let taken: Vec<Idx> = self
                    .fetch_all("SELECT idx FROM status_entry WHERE status_list_id = $1", args![list.status_list_id])
                    .await?;
                let mut used = vec![false; fresh.size as usize];
                for t in taken {
                    if let Some(slot) = used.get_mut(t.idx as usize) {
                        *slot = true;
                    }
                }
                while picked.len() < want {
                    let i = rng.gen_range(0..fresh.size as usize);
                    if !used[i] {
                        used[i] = true;
                        picked.push(i as i64);
                    }
                }
            }
            self.record_reserved(list.status_list_id, &picked).await?;
            out.extend(picked.into_iter().map(|i| (list.status_list_id, i)));
        }
        Ok(out)
    }

    /// Takes the `slots` (from [`Store::draw_status_slots`]) that are still free, under each
    /// list's row lock as a reservation takes it; returns, per slot, whether it is now this
    /// transaction's. A slot another writer took since the draw is `false`: its document is
    /// signed again with a freshly reserved one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_status_indices(&mut self, slots: &[(Uuid, i64)]) -> StoreResult<Vec<bool>> {
        let mut lists: Vec<Uuid> = slots.iter().map(|s| s.0).collect();
        lists.sort_unstable();
        lists.dedup();
        let mut mine = std::collections::HashSet::new();
        for list in lists {
            self.lock_status_list(list).await?;
            let mut wanted: Vec<i64> = slots.iter().filter(|s| s.0 == list).map(|s| s.1).collect();
            wanted.sort_unstable();
            wanted.dedup();
            let taken = taken_among(self, list, &wanted).await?;
            wanted.retain(|i| !taken.contains(i));
            self.record_reserved(list, &wanted).await?;
            mine.extend(wanted.into_iter().map(|i| (list, i)));
        }
        Ok(slots.iter().map(|s| mine.contains(s)).collect())
    }

    /// Takes a status list's row lock (PostgreSQL; SQLite's transaction holds the write lock):
    /// reserving, claiming and reclaiming indices of one list never interleave.
    async fn lock_status_list(&mut self, list: Uuid) -> StoreResult<()> {
        self.execute("UPDATE status_list SET allocated = allocated WHERE status_list_id = $1", args![list]).await?;
        Ok(())
    }

    /// Records `picked` (free, distinct) indices of `list` as reserved now.
    async fn record_reserved(&mut self, list: Uuid, picked: &[i64]) -> StoreResult<()> {
        if picked.is_empty() {
            return Ok(());
        }
        let epoch = self.clock.now().unix_timestamp();
        let rows: Vec<Vec<Arg>> = picked.iter().map(|i| args![list, *i, epoch]).collect();
        self.insert_many("INSERT INTO status_entry (status_list_id, idx, reserved_epoch) VALUES", 3, rows).await?;
        self.execute(
            "UPDATE status_list SET allocated = allocated + $2 WHERE status_list_id = $1",
            args![list, picked.len() as i64],
        )
        .await?;
        Ok(())
    }

    /// Returns to their lists the status indices reserved in `[from, before)` (Unix seconds)
    /// that no credential uses: leftovers of awards that crashed between reserving and storing.
    /// Such an index was never published, so handing it out again is safe. Returns how many.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn reclaim_status_indices(&mut self, from: i64, before: i64) -> StoreResult<u64> {
        let lists: Vec<ListId> = self
            .fetch_all(
                "SELECT DISTINCT status_list_id FROM status_entry WHERE reserved_epoch >= $1 AND reserved_epoch < $2 AND NOT EXISTS \
                 (SELECT 1 FROM credential c WHERE c.status_list_id = status_entry.status_list_id AND c.status_index = status_entry.idx)",
                args![from, before],
            )
            .await?;
        let mut reclaimed = 0;
        for list in lists {
            // The list's row lock first, as a reservation takes it, so the two never interleave.
            self.lock_status_list(list.status_list_id).await?;
            reclaimed += self
                .execute(
                    "DELETE FROM status_entry WHERE status_list_id = $1 AND reserved_epoch >= $2 AND reserved_epoch < $3 AND NOT EXISTS \
                     (SELECT 1 FROM credential c WHERE c.status_list_id = status_entry.status_list_id AND c.status_index = status_entry.idx)",
                    args![list.status_list_id, from, before],
                )
                .await?;
            self.execute(
                "UPDATE status_list SET allocated = (SELECT COUNT(*) FROM status_entry e WHERE e.status_list_id = $1) \
                 WHERE status_list_id = $1",
                args![list.status_list_id],
            )
            .await?;
        }
        Ok(reclaimed)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_award(&mut self, a: &AwardRow) -> StoreResult<()> {
        self.execute(
            "INSERT INTO award (award_id, issuer_id, nanomodule_id, nanomodule_version, member_id, actor_token, actor_role, session, recipients, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            args![a.award_id, a.issuer_id, a.nanomodule_id, a.nanomodule_version, a.member_id, a.actor_token.clone(),
                a.actor_role.clone(), a.session.clone(), a.recipients, a.created_at],
        )
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_credentials(
        &mut self,
        award: &AwardRow,
        key_id: Uuid,
        creds: Vec<NewCredential>,
    ) -> StoreResult<()> {
        let now = self.clock.now();
        let rows = creds
            .into_iter()
            .map(|c| {
                args![
                    c.credential_id,
                    award.award_id,
                    award.issuer_id,
                    award.nanomodule_id,
                    award.nanomodule_version,
                    c.identity_type,
                    c.identity,
                    c.recipient_name,
                    c.status_list_id,
                    c.status_index,
                    key_id,
                    c.signed,
                    c.jwt,
                    c.sha256,
                    c.valid_from,
                    c.valid_until,
                    now
                ]
            })
            .collect();
        self.insert_many(
            "INSERT INTO credential (credential_id, award_id, issuer_id, nanomodule_id, nanomodule_version, identity_type, identity, \
             recipient_name, status_list_id, status_index, key_id, signed, jwt, sha256, valid_from, valid_until, created_at) VALUES",
            17,
            rows,
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_idempotency(
        &mut self,
        scope: &str,
        key: &str,
        request_hash: &str,
        status: i64,
        response: &str,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO idempotency_key (scope, idem_key, request_hash, status, response, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            args![scope, key, request_hash, status, response, self.clock.now()],
        )
        .await?;
        Ok(())
    }
}

/// Random indices of `list` not drawn before (`tried`): enough that, at the list's fill, about
/// twice `need` are free.
fn random_candidates(tried: &mut std::collections::HashSet<i64>, need: usize, list: &ListRow) -> Vec<i64> {
    let free = (list.size - list.allocated).max(1) as usize;
    let draws = (need * 2 * list.size as usize).div_ceil(free).min(4 * 1_000);
    let mut rng = rand::rngs::OsRng;
    let mut candidates = Vec::with_capacity(draws);
    while candidates.len() < draws && tried.len() < list.size as usize {
        let i = rng.gen_range(0..list.size);
        if tried.insert(i) {
            candidates.push(i);
        }
    }
    candidates
}

/// The issuer's oldest revocation list that still has room, if any.
async fn list_with_room(db: &mut impl Sql, issuer: Uuid) -> StoreResult<Option<ListRow>> {
    db.fetch_optional(
        "SELECT status_list_id, size, allocated FROM status_list \
         WHERE issuer_id = $1 AND purpose = 'revocation' AND allocated < size ORDER BY created_at LIMIT 1",
        args![issuer],
    )
    .await
}

/// Which of `candidates` are taken in `list`, with one read.
async fn taken_among(db: &mut impl Sql, list: Uuid, candidates: &[i64]) -> StoreResult<std::collections::HashSet<i64>> {
    if candidates.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<Idx> = db
        .fetch_in(
            "SELECT idx FROM status_entry WHERE status_list_id = $1 AND idx IN",
            args![list],
            candidates.iter().map(|i| Arg::Int(*i)).collect(),
        )
        .await?;
    Ok(rows.into_iter().map(|t| t.idx).collect())
}
