//! Nanomodules and their immutable versions.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Sql, Store, StoreError, StoreResult, Tx, args};

/// One version of a module, with the module's owner.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NanomoduleVersionRow {
    pub nanomodule_id: Uuid,
    pub issuer_id: Uuid,
    pub version: i64,
    pub current_version: i64,
    pub spec: String,
    pub image_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
}

impl Tx {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_nanomodule(&mut self, id: Uuid, issuer: Uuid, now: OffsetDateTime) -> StoreResult<()> {
        self.execute(
            "INSERT INTO nanomodule (nanomodule_id, issuer_id, current_version, created_at, updated_at) VALUES ($1, $2, 0, $3, $3)",
            args![id, issuer, now],
        )
        .await?;
        Ok(())
    }

    /// Appends version `version` and makes it current, provided the current one is `version - 1`
    /// (a concurrent edit that got there first makes this a conflict, not a lost update).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn push_nanomodule_version(
        &mut self,
        id: Uuid,
        version: i64,
        spec: String,
        image_id: Option<Uuid>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let n = self
            .execute(
                "UPDATE nanomodule SET current_version = $2, updated_at = $3 WHERE nanomodule_id = $1 AND current_version = $4",
                args![id, version, now, version - 1],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::Conflict("nanomodule was changed concurrently".into()));
        }
        self.execute(
            "INSERT INTO nanomodule_version (nanomodule_id, version, spec, image_id, created_at) VALUES ($1, $2, $3, $4, $5)",
            args![id, version, spec, image_id, now],
        )
        .await?;
        Ok(())
    }
}

impl Store {
    /// Version `version` of a module, or its current version when `None`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn nanomodule_version(
        &self,
        id: Uuid,
        version: Option<i64>,
    ) -> StoreResult<Option<NanomoduleVersionRow>> {
        self.clone()
            .fetch_optional(
                "SELECT n.nanomodule_id, n.issuer_id, v.version, n.current_version, v.spec, v.image_id, v.created_at \
                 FROM nanomodule n JOIN nanomodule_version v ON v.nanomodule_id = n.nanomodule_id \
                 WHERE n.nanomodule_id = $1 AND v.version = COALESCE($2, n.current_version)",
                args![id, version],
            )
            .await
    }

    /// Current versions of an issuer's modules.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn nanomodules(&self, issuer: Uuid) -> StoreResult<Vec<NanomoduleVersionRow>> {
        self.clone()
            .fetch_all(
                "SELECT n.nanomodule_id, n.issuer_id, v.version, n.current_version, v.spec, v.image_id, v.created_at \
                 FROM nanomodule n JOIN nanomodule_version v ON v.nanomodule_id = n.nanomodule_id AND v.version = n.current_version \
                 WHERE n.issuer_id = $1 ORDER BY n.created_at, n.nanomodule_id",
                args![issuer],
            )
            .await
    }
}
