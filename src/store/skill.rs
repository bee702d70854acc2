//! Per-issuer catalogue documents with the same shape (skills, skills profiles, metro maps),
//! one table each.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Sql, Store, StoreError, StoreResult, Tx, args};

/// Which per-issuer catalogue a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Catalog {
    Skill,
    SkillsProfile,
    MetroMap,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SkillRow {
    pub id: Uuid,
    pub issuer_id: Uuid,
    pub spec: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Catalog {
    fn insert_sql(self) -> &'static str {
        match self {
            Catalog::Skill => {
                "INSERT INTO skill (skill_id, issuer_id, spec, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)"
            }
            Catalog::SkillsProfile => {
                "INSERT INTO skills_profile (skills_profile_id, issuer_id, spec, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)"
            }
            Catalog::MetroMap => {
                "INSERT INTO metro_map (metro_map_id, issuer_id, spec, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)"
            }
        }
    }
    fn update_sql(self) -> &'static str {
        match self {
            Catalog::Skill => "UPDATE skill SET spec = $3, updated_at = $4 WHERE skill_id = $1 AND issuer_id = $2",
            Catalog::SkillsProfile => {
                "UPDATE skills_profile SET spec = $3, updated_at = $4 WHERE skills_profile_id = $1 AND issuer_id = $2"
            }
            Catalog::MetroMap => {
                "UPDATE metro_map SET spec = $3, updated_at = $4 WHERE metro_map_id = $1 AND issuer_id = $2"
            }
        }
    }
    fn get_sql(self) -> &'static str {
        match self {
            Catalog::Skill => {
                "SELECT skill_id AS id, issuer_id, spec, created_at, updated_at FROM skill WHERE skill_id = $1"
            }
            Catalog::SkillsProfile => {
                "SELECT skills_profile_id AS id, issuer_id, spec, created_at, updated_at FROM skills_profile WHERE skills_profile_id = $1"
            }
            Catalog::MetroMap => {
                "SELECT metro_map_id AS id, issuer_id, spec, created_at, updated_at FROM metro_map WHERE metro_map_id = $1"
            }
        }
    }
    fn list_sql(self) -> &'static str {
        match self {
            Catalog::Skill => {
                "SELECT skill_id AS id, issuer_id, spec, created_at, updated_at FROM skill WHERE issuer_id = $1 ORDER BY created_at, skill_id"
            }
            Catalog::SkillsProfile => {
                "SELECT skills_profile_id AS id, issuer_id, spec, created_at, updated_at FROM skills_profile WHERE issuer_id = $1 ORDER BY created_at, skills_profile_id"
            }
            Catalog::MetroMap => {
                "SELECT metro_map_id AS id, issuer_id, spec, created_at, updated_at FROM metro_map WHERE issuer_id = $1 ORDER BY created_at, metro_map_id"
            }
        }
    }
}

impl Tx {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_catalog(
        &mut self,
        cat: Catalog,
        id: Uuid,
        issuer: Uuid,
        spec: String,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.execute(cat.insert_sql(), args![id, issuer, spec, now]).await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_catalog(
        &mut self,
        cat: Catalog,
        id: Uuid,
        issuer: Uuid,
        spec: String,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let n = self.execute(cat.update_sql(), args![id, issuer, spec, now]).await?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}

impl Store {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn catalog_item(&self, cat: Catalog, id: Uuid) -> StoreResult<Option<SkillRow>> {
        self.clone().fetch_optional(cat.get_sql(), args![id]).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn catalog(&self, cat: Catalog, issuer: Uuid) -> StoreResult<Vec<SkillRow>> {
        self.clone().fetch_all(cat.list_sql(), args![issuer]).await
    }
}
