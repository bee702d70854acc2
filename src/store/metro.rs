//! Versioned metro lines, and a learner's credentials across issuers.

use time::OffsetDateTime;
use uuid::Uuid;

use super::stack::Learner;
use super::{Sql, Store, StoreError, StoreResult, Tx, args};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MetroLineRow {
    pub metro_line_id: Uuid,
    pub issuer_id: Uuid,
    pub metro_map_id: Uuid,
    pub version: i64,
    pub current_version: i64,
    pub spec: String,
    pub created_at: OffsetDateTime,
}

/// One credential of a learner with what decides whether it may count.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HolderCredential {
    pub credential_id: Uuid,
    /// The issuer that signed it (views for one issuer show only its own badges).
    pub issuer_id: Uuid,
    pub recipient_name: Option<String>,
    /// Hex SHA-256 of the signed document (a certificate's evidence names it).
    pub sha256: String,
    pub nanomodule_id: Uuid,
    pub nanomodule_version: i64,
    /// The spec of that module version (read once per version, not per credential).
    #[sqlx(default)]
    pub version_spec: String,
    pub valid_from: OffsetDateTime,
    pub valid_until: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub suspended_at: Option<OffsetDateTime>,
    pub compromised_since: Option<OffsetDateTime>,
}

#[derive(sqlx::FromRow)]
struct VersionSpec {
    nanomodule_id: Uuid,
    version: i64,
    spec: String,
}

/// Every badge of each of `learners`, oldest first. A cohort's badges share a few module
/// versions, so their specs are read once each rather than joined into every row.
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn holder_credentials_of(
    db: &mut impl Sql,
    learners: &[Learner],
) -> StoreResult<Vec<(Learner, HolderCredential)>> {
    let mut rows: Vec<(Learner, HolderCredential)> = db
        .fetch_for_learners(
            "SELECT c.identity_type, c.identity, c.credential_id, c.issuer_id, c.recipient_name, c.sha256, c.nanomodule_id, \
             c.nanomodule_version, c.valid_from, c.valid_until, c.created_at, \
             c.revoked_at, c.suspended_at, k.compromised_since \
             FROM credential c \
             JOIN signing_key k ON k.key_id = c.key_id \
             WHERE c.nanomodule_id IS NOT NULL AND c.",
            learners,
            "ORDER BY c.created_at, c.credential_id",
        )
        .await?;
    let mut modules: Vec<Uuid> = rows.iter().map(|(_, c)| c.nanomodule_id).collect();
    modules.sort_unstable();
    modules.dedup();
    let specs: std::collections::HashMap<(Uuid, i64), String> = db
        .fetch_in::<VersionSpec>(
            "SELECT nanomodule_id, version, spec FROM nanomodule_version WHERE nanomodule_id IN",
            vec![],
            modules.into_iter().map(super::Arg::Uuid).collect(),
        )
        .await?
        .into_iter()
        .map(|v| ((v.nanomodule_id, v.version), v.spec))
        .collect();
    for (_, c) in &mut rows {
        c.version_spec = specs
            .get(&(c.nanomodule_id, c.nanomodule_version))
            .cloned()
            .ok_or(StoreError::Corrupt("a credential names a module version that is not stored".into()))?;
    }
    Ok(rows)
}

impl Tx {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_metro_line(
        &mut self,
        id: Uuid,
        issuer: Uuid,
        map: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO metro_line (metro_line_id, issuer_id, metro_map_id, current_version, created_at, updated_at) VALUES ($1, $2, $3, 0, $4, $4)",
            args![id, issuer, map, now],
        )
        .await?;
        Ok(())
    }

    /// Appends version `version` if the current one is `version - 1` (else a conflict).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn push_metro_line_version(
        &mut self,
        id: Uuid,
        version: i64,
        map: Uuid,
        spec: String,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let n = self
            .execute(
                "UPDATE metro_line SET current_version = $2, metro_map_id = $3, updated_at = $4 WHERE metro_line_id = $1 AND current_version = $5",
                args![id, version, map, now, version - 1],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::Conflict("metro line was changed concurrently".into()));
        }
        self.execute(
            "INSERT INTO metro_line_version (metro_line_id, version, spec, created_at) VALUES ($1, $2, $3, $4)",
            args![id, version, spec, now],
        )
        .await?;
        Ok(())
    }
}

/// Current versions of lines, filtered and ordered by `$tail` (one literal per query, written
/// once).
macro_rules! current_lines {
    ($tail:literal) => {
        concat!(
            "SELECT l.metro_line_id, l.issuer_id, l.metro_map_id, v.version, l.current_version, v.spec, v.created_at ",
            "FROM metro_line l JOIN metro_line_version v ON v.metro_line_id = l.metro_line_id AND v.version = l.current_version ",
            $tail
        )
    };
}

impl Store {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn metro_line(&self, id: Uuid, version: Option<i64>) -> StoreResult<Option<MetroLineRow>> {
        self.clone()
            .fetch_optional(
                "SELECT l.metro_line_id, l.issuer_id, l.metro_map_id, v.version, l.current_version, v.spec, v.created_at \
                 FROM metro_line l JOIN metro_line_version v ON v.metro_line_id = l.metro_line_id \
                 WHERE l.metro_line_id = $1 AND v.version = COALESCE($2, l.current_version)",
                args![id, version],
            )
            .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn metro_lines(&self, issuer: Uuid) -> StoreResult<Vec<MetroLineRow>> {
        self.clone()
            .fetch_all(current_lines!("WHERE l.issuer_id = $1 ORDER BY l.created_at, l.metro_line_id"), args![issuer])
            .await
    }

    /// Current versions of every line on the service (stacking considers them all; lines are
    /// few compared with learners).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn all_metro_lines(&self) -> StoreResult<Vec<MetroLineRow>> {
        self.clone().fetch_all(current_lines!("ORDER BY l.created_at, l.metro_line_id"), vec![]).await
    }

    /// Current versions of the lines drawn on a map.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn metro_lines_of_map(&self, map: Uuid) -> StoreResult<Vec<MetroLineRow>> {
        self.clone()
            .fetch_all(current_lines!("WHERE l.metro_map_id = $1 ORDER BY l.created_at, l.metro_line_id"), args![map])
            .await
    }
}
