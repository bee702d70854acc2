//! Stacking state: the queue of learners to re-evaluate, the versions learners started on,
//! certificates with the components they rest on, and learners' progress links.

use std::collections::HashMap;

use time::OffsetDateTime;
use uuid::Uuid;

use super::metro::HolderCredential;
use super::{Arg, NewCredential, Sql, Store, StoreResult, Tx, args};

/// A learner as the credential table names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, sqlx::FromRow)]
pub struct Learner {
    pub identity_type: String,
    pub identity: String,
}

/// A certificate of a learner (any state) with what the cascade needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CertificateRow {
    pub credential_id: Uuid,
    pub issuer_id: Uuid,
    pub metro_line_id: Uuid,
    pub metro_line_version: i64,
    pub revoked_at: Option<OffsetDateTime>,
    pub suspended_at: Option<OffsetDateTime>,
    pub status_cause: Option<String>,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ComponentRow {
    pub certificate_id: Uuid,
    pub component_id: Uuid,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EnrolmentRow {
    pub metro_line_id: Uuid,
    pub version: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProgressLinkRow {
    pub issuer_id: Uuid,
    pub identity_type: String,
    pub identity: String,
    pub generation: i64,
    /// How the token is derived from the master key: 1 = without the issuer (links handed out
    /// before links were per issuer), 2 = with it.
    pub derivation: i64,
    pub revoked_at: Option<OffsetDateTime>,
}

/// A first progress link to create unless the learner has one with that issuer.
pub struct NewProgressLink {
    pub issuer_id: Uuid,
    pub learner: Learner,
    pub token_hash: String,
}

/// The columns of [`ProgressLinkRow`], as a literal so queries stay `&'static str`.
macro_rules! link_columns {
    () => {
        "p.issuer_id, p.identity_type, p.identity, p.generation, p.derivation, p.revoked_at"
    };
}

async fn award_links(db: &mut impl Sql, award: Uuid) -> StoreResult<Vec<ProgressLinkRow>> {
    db.fetch_all(
        concat!(
            "SELECT DISTINCT ",
            link_columns!(),
            " FROM progress_link p \
             JOIN credential c ON c.identity_type = p.identity_type AND c.identity = p.identity \
             AND c.issuer_id = p.issuer_id WHERE c.award_id = $1 AND p.revoked_at IS NULL"
        ),
        args![award],
    )
    .await
}

#[derive(sqlx::FromRow)]
struct JobId {
    job_id: Uuid,
}

#[derive(sqlx::FromRow)]
struct IssuerId {
    issuer_id: Uuid,
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

/// A certificate to insert, with its origin and the credentials it rests on.
pub struct NewCertificate {
    pub credential: NewCredential,
    pub issuer_id: Uuid,
    pub metro_line_id: Uuid,
    pub metro_line_version: i64,
    pub key_id: Uuid,
    pub components: Vec<Uuid>,
}

async fn certificates_of(db: &mut impl Sql, who: &[Learner]) -> StoreResult<Vec<(Learner, CertificateRow)>> {
    db.fetch_for_learners(
        "SELECT identity_type, identity, credential_id, issuer_id, metro_line_id, metro_line_version, revoked_at, \
         suspended_at, status_cause, created_at FROM credential WHERE ",
        who,
        "AND metro_line_id IS NOT NULL ORDER BY created_at, credential_id",
    )
    .await
}

async fn components_of(db: &mut impl Sql, who: &[Learner]) -> StoreResult<Vec<(Learner, ComponentRow)>> {
    db.fetch_for_learners(
        "SELECT c.identity_type, c.identity, cc.certificate_id, cc.component_id FROM certificate_component cc \
         JOIN credential c ON c.credential_id = cc.certificate_id WHERE c.",
        who,
        "",
    )
    .await
}

async fn active_link_of(db: &mut impl Sql, issuer: Uuid, who: &Learner) -> StoreResult<Option<ProgressLinkRow>> {
    db.fetch_optional(
        concat!(
            "SELECT ",
            link_columns!(),
            " FROM progress_link p \
             WHERE p.issuer_id = $1 AND p.identity_type = $2 AND p.identity = $3 AND p.revoked_at IS NULL"
        ),
        args![issuer, who.identity_type.clone(), who.identity.clone()],
    )
    .await
}

async fn enrolments_of(db: &mut impl Sql, who: &[Learner]) -> StoreResult<Vec<(Learner, EnrolmentRow)>> {
    db.fetch_for_learners("SELECT identity_type, identity, metro_line_id, version FROM line_learner WHERE ", who, "")
        .await
}

/// What a stacking round reads about one learner.
#[derive(Debug, Clone, Default)]
pub struct LearnerRows {
    pub credentials: Vec<HolderCredential>,
    pub certificates: Vec<CertificateRow>,
    pub enrolments: Vec<EnrolmentRow>,
    /// Read inside the round's transaction only.
    pub components: Vec<ComponentRow>,
    pub jobs: Vec<Uuid>,
}

/// The rows of every one of `learners` (jobs and components only `inside` a round), with one
/// statement per table rather than one per learner and table.
async fn rows_of(db: &mut impl Sql, learners: &[Learner], inside: bool) -> StoreResult<HashMap<Learner, LearnerRows>> {
    let mut out: HashMap<Learner, LearnerRows> = learners.iter().map(|l| (l.clone(), LearnerRows::default())).collect();
    for (who, c) in super::metro::holder_credentials_of(db, learners).await? {
        out.entry(who).or_default().credentials.push(c);
    }
    for (who, c) in certificates_of(db, learners).await? {
        out.entry(who).or_default().certificates.push(c);
    }
    for (who, e) in enrolments_of(db, learners).await? {
        out.entry(who).or_default().enrolments.push(e);
    }
    if inside {
        for (who, c) in components_of(db, learners).await? {
            out.entry(who).or_default().components.push(c);
        }
        let jobs: Vec<(Learner, JobId)> =
            db.fetch_for_learners("SELECT identity_type, identity, job_id FROM stack_job WHERE ", learners, "").await?;
        for (who, j) in jobs {
            out.entry(who).or_default().jobs.push(j.job_id);
        }
    }
    Ok(out)
}

impl Tx {
    /// Serialises everything that decides these learners' certificates, across instances, with
    /// one statement. Each learner is a PostgreSQL advisory transaction lock taken in the order
    /// of its lock key, so two instances locking overlapping batches wait rather than deadlock
    /// (a key shared by two learners is simply taken twice). SQLite transactions already hold
    /// the write lock.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn lock_learners(&mut self, learners: &[Learner]) -> StoreResult<()> {
        if self.is_postgres() && !learners.is_empty() {
            // The keys go as one JSON array; the subquery's ORDER BY keeps it from being
            // flattened, so the locks are taken as the sorted rows arrive.
            let keys: Vec<String> =
                learners.iter().map(|w| format!("{}\u{1f}{}", w.identity_type, w.identity)).collect();
            let keys = serde_json::to_string(&keys).expect("strings serialise");
            // The two-key form lives in another lock space than the one-key audit lock.
            self.execute(
                "SELECT pg_advisory_xact_lock(5461067, h) FROM \
                 (SELECT hashtext(k) AS h FROM json_array_elements_text($1::json) AS k ORDER BY 1) AS s",
                args![keys],
            )
            .await?;
        }
        Ok(())
    }

    /// The active progress links of `learners` with `issuer`, with one statement, inside this
    /// transaction (a judging round holds its one connection; asking the pool for a second
    /// could wait on rounds that wait on it).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn active_progress_links(
        &mut self,
        issuer: Uuid,
        learners: &[Learner],
    ) -> StoreResult<HashMap<Learner, ProgressLinkRow>> {
        let rows: Vec<(Learner, ProgressLinkRow)> = self
            .fetch_for_learners_with(
                concat!(
                    "SELECT ",
                    link_columns!(),
                    " FROM progress_link p WHERE p.issuer_id = $1 AND p.revoked_at IS NULL AND p."
                ),
                args![issuer],
                learners,
                "",
            )
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// Queues learners for re-evaluation, in the caller's transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn enqueue_learners(&mut self, learners: &[Learner], cause: &str) -> StoreResult<()> {
        let now = self.clock.now();
        let rows: Vec<Vec<Arg>> = learners
            .iter()
            .map(|l| args![Uuid::now_v7(), l.identity_type.clone(), l.identity.clone(), cause, now, now])
            .collect();
        self.insert_many(
            "INSERT INTO stack_job (job_id, identity_type, identity, cause, not_before, created_at) VALUES",
            6,
            rows,
        )
        .await
    }

    /// What a round reads about each of `learners`, as this transaction sees it: badges,
    /// certificates with their components, enrolments and queued jobs (handled ones are deleted
    /// by [`Tx::delete_jobs`]; jobs queued later stay for the next round).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn learners_rows(&mut self, learners: &[Learner]) -> StoreResult<HashMap<Learner, LearnerRows>> {
        rows_of(self, learners, true).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_jobs(&mut self, ids: &[Uuid]) -> StoreResult<()> {
        self.execute_in("DELETE FROM stack_job WHERE job_id IN", ids.iter().map(|id| Arg::Uuid(*id)).collect()).await?;
        Ok(())
    }

    /// Records the versions learners start lines on, `(line, learner, version)`, with one
    /// statement (a version already recorded is kept).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn enrol(&mut self, enrolments: Vec<(Uuid, Learner, i64)>) -> StoreResult<()> {
        let now = self.clock.now();
        let rows: Vec<Vec<Arg>> = enrolments
            .into_iter()
            .map(|(line, who, version)| args![line, who.identity_type, who.identity, version, now])
            .collect();
        self.insert_many_then(
            "INSERT INTO line_learner (metro_line_id, identity_type, identity, version, started_at) VALUES",
            5,
            rows,
            " ON CONFLICT (metro_line_id, identity_type, identity) DO NOTHING",
        )
        .await
    }

    /// Moves learners of a line to `version`; returns how many rows changed.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn migrate_learner(&mut self, line: Uuid, who: &Learner, version: i64) -> StoreResult<u64> {
        self.execute(
            "INSERT INTO line_learner (metro_line_id, identity_type, identity, version, started_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (metro_line_id, identity_type, identity) DO UPDATE SET version = excluded.version",
            args![line, who.identity_type.clone(), who.identity.clone(), version, self.clock.now()],
        )
        .await
    }

    /// Inserts certificates and the components they rest on, with multi-row statements.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_certificates(&mut self, certificates: Vec<NewCertificate>) -> StoreResult<()> {
        let now = self.clock.now();
        let mut components: Vec<Vec<Arg>> = Vec::new();
        let mut rows: Vec<Vec<Arg>> = Vec::with_capacity(certificates.len());
        for c in certificates {
            let n = c.credential;
            components.extend(c.components.iter().map(|comp| args![n.credential_id, *comp]));
            rows.push(args![
                n.credential_id,
                c.issuer_id,
                c.metro_line_id,
                c.metro_line_version,
                n.identity_type,
                n.identity,
                n.recipient_name,
                n.status_list_id,
                n.status_index,
                c.key_id,
                n.signed,
                n.jwt,
                n.sha256,
                n.valid_from,
                n.valid_until,
                now
            ]);
        }
        self.insert_many(
            "INSERT INTO credential (credential_id, issuer_id, metro_line_id, metro_line_version, identity_type, identity, recipient_name, \
             status_list_id, status_index, key_id, signed, jwt, sha256, valid_from, valid_until, created_at) VALUES",
            16,
            rows,
        )
        .await?;
        self.insert_many("INSERT INTO certificate_component (certificate_id, component_id) VALUES", 2, components).await
    }

    /// Gives every learner without one a first progress link with `issuer`; learners who have
    /// one keep it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ensure_progress_links(&mut self, links: Vec<NewProgressLink>) -> StoreResult<()> {
        let now = self.clock.now();
        let rows: Vec<Vec<Arg>> = links
            .into_iter()
            .map(|l| args![l.token_hash, l.issuer_id, l.learner.identity_type, l.learner.identity, 1i64, now])
            .collect();
        self.insert_many_then(
            "INSERT INTO progress_link (token_hash, issuer_id, identity_type, identity, generation, created_at) VALUES",
            6,
            rows,
            " ON CONFLICT DO NOTHING",
        )
        .await
    }

    /// The active progress link, with the award's issuer, of every recipient of an award.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn award_progress_links(&mut self, award: Uuid) -> StoreResult<Vec<ProgressLinkRow>> {
        award_links(self, award).await
    }

    /// A new progress link generation for a learner with an issuer (the previous one, if any,
    /// is revoked; the learner's links with other issuers stay as they are).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_progress_link(
        &mut self,
        issuer: Uuid,
        who: &Learner,
        generation: i64,
        token_hash: &str,
    ) -> StoreResult<()> {
        let now = self.clock.now();
        self.execute(
            "UPDATE progress_link SET revoked_at = $4 \
             WHERE issuer_id = $1 AND identity_type = $2 AND identity = $3 AND revoked_at IS NULL",
            args![issuer, who.identity_type.clone(), who.identity.clone(), now],
        )
        .await?;
        self.execute(
            "INSERT INTO progress_link (token_hash, issuer_id, identity_type, identity, generation, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![token_hash, issuer, who.identity_type.clone(), who.identity.clone(), generation, now],
        )
        .await?;
        Ok(())
    }
}

/// A learner's standing badge of one nanomodule.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HeldBadge {
    pub identity_type: String,
    pub identity: String,
    pub credential_id: Uuid,
}

impl Store {
    /// [`Tx::award_progress_links`] outside a transaction (replays of an award answer).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn award_progress_links(&self, award: Uuid) -> StoreResult<Vec<ProgressLinkRow>> {
        award_links(&mut self.clone(), award).await
    }

    /// Badges, certificates and enrolments of each of `learners`, one statement per table.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn learners_rows(&self, learners: &[Learner]) -> StoreResult<HashMap<Learner, LearnerRows>> {
        rows_of(&mut self.clone(), learners, false).await
    }

    /// Issuers that issued anything to the learner.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn learner_issuers(&self, who: &Learner) -> StoreResult<Vec<Uuid>> {
        let rows: Vec<IssuerId> = self
            .clone()
            .fetch_all(
                "SELECT DISTINCT issuer_id FROM credential WHERE identity_type = $1 AND identity = $2",
                args![who.identity_type.clone(), who.identity.clone()],
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.issuer_id).collect())
    }

    /// Learners with queued work that is due, oldest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn due_learners(&self, now: OffsetDateTime, limit: i64) -> StoreResult<Vec<Learner>> {
        self.clone()
            .fetch_all(
                "SELECT identity_type, identity FROM stack_job WHERE not_before <= $1 \
                 GROUP BY identity_type, identity ORDER BY MIN(created_at) LIMIT $2",
                args![now, limit],
            )
            .await
    }

    /// Backs off a learner whose re-evaluation failed.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn postpone_learner(&self, who: &Learner, until: OffsetDateTime) -> StoreResult<()> {
        self.clone()
            .execute(
                "UPDATE stack_job SET attempts = attempts + 1, not_before = $3 WHERE identity_type = $1 AND identity = $2",
                args![who.identity_type.clone(), who.identity.clone(), until],
            )
            .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn queued_jobs(&self) -> StoreResult<i64> {
        let c: Count =
            self.clone().fetch_optional("SELECT COUNT(*) AS n FROM stack_job", vec![]).await?.unwrap_or(Count { n: 0 });
        Ok(c.n)
    }

    /// Who holds a badge of `nanomodule` (any version) that is neither revoked nor expired at
    /// `now`, and which one: a second award to them would be a double.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn standing_badges_of(&self, nanomodule: Uuid, now: time::OffsetDateTime) -> StoreResult<Vec<HeldBadge>> {
        self.clone()
            .fetch_all(
                "SELECT identity_type, identity, credential_id FROM credential WHERE nanomodule_id = $1 \
                 AND revoked_at IS NULL AND (valid_until IS NULL OR valid_until > $2)",
                args![nanomodule, now],
            )
            .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn holders_of(&self, nanomodule: Uuid) -> StoreResult<Vec<Learner>> {
        self.clone()
            .fetch_all(
                "SELECT DISTINCT identity_type, identity FROM credential WHERE nanomodule_id = $1",
                args![nanomodule],
            )
            .await
    }

    /// Everyone with a certificate of, or a recorded start on, a line.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn learners_of_line(&self, line: Uuid) -> StoreResult<Vec<Learner>> {
        self.clone()
            .fetch_all(
                "SELECT identity_type, identity FROM credential WHERE metro_line_id = $1 \
                 UNION SELECT identity_type, identity FROM line_learner WHERE metro_line_id = $1",
                args![line],
            )
            .await
    }

    /// Holders of certificates that are still standing while a component of theirs expired in
    /// `[from, to)`: expiry changes nothing in the database, so it is found by time.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn expired_component_holders(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> StoreResult<Vec<Learner>> {
        self.clone()
            .fetch_all(
                "SELECT DISTINCT cert.identity_type, cert.identity FROM certificate_component cc \
                 JOIN credential cert ON cert.credential_id = cc.certificate_id \
                 JOIN credential comp ON comp.credential_id = cc.component_id \
                 WHERE cert.revoked_at IS NULL AND comp.valid_until >= $1 AND comp.valid_until < $2",
                args![from, to],
            )
            .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn progress_link(&self, token_hash: &str) -> StoreResult<Option<ProgressLinkRow>> {
        self.clone()
            .fetch_optional(
                concat!("SELECT ", link_columns!(), " FROM progress_link p WHERE p.token_hash = $1"),
                args![token_hash],
            )
            .await
    }

    /// The learner's current (unrevoked) link with an issuer, if any.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn active_progress_link(&self, issuer: Uuid, who: &Learner) -> StoreResult<Option<ProgressLinkRow>> {
        active_link_of(&mut self.clone(), issuer, who).await
    }

    /// Highest generation ever used for the learner with an issuer (0 when none).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn last_progress_generation(&self, issuer: Uuid, who: &Learner) -> StoreResult<i64> {
        let c: Count = self
            .clone()
            .fetch_optional(
                "SELECT COALESCE(MAX(generation), 0) AS n FROM progress_link \
                 WHERE issuer_id = $1 AND identity_type = $2 AND identity = $3",
                args![issuer, who.identity_type.clone(), who.identity.clone()],
            )
            .await?
            .unwrap_or(Count { n: 0 });
        Ok(c.n)
    }

    /// Certificates issued by an issuer in `[from, to)` (for issuance reports).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn certificates_issued(
        &self,
        issuer: Uuid,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> StoreResult<Vec<CertificateRow>> {
        self.clone()
            .fetch_all(
                "SELECT credential_id, issuer_id, metro_line_id, metro_line_version, revoked_at, suspended_at, status_cause, created_at \
                 FROM credential WHERE issuer_id = $1 AND metro_line_id IS NOT NULL AND created_at >= $2 AND created_at < $3 ORDER BY created_at",
                args![issuer, from, to],
            )
            .await
    }
}
