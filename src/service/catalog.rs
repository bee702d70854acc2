//! Skills and skills profiles of an issuer.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult, decode_spec, encode_spec, patched};
use crate::domain::access::{Action, Principal};
use crate::domain::audit::NewEvent;
use crate::domain::metro_line::MetroMapSpec;
use crate::domain::skill::{SkillSpec, SkillsProfileSpec};
use crate::domain::validate::{FieldError, Invalid};
use crate::store::{Catalog, SkillRow};

/// A skill or a skills profile (its own fields flattened in).
#[derive(Debug, Clone, Serialize)]
pub struct CatalogView {
    pub id: Uuid,
    pub issuer_id: Uuid,
    /// Public URL (used as an alignment target when a skill has no external framework link).
    pub url: String,
    #[serde(flatten)]
    pub spec: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// What differs between the two catalogues: the spec type and its checks.
trait CatalogSpec: Serialize + serde::de::DeserializeOwned {
    const CATALOG: Catalog;
    const PATH: &'static str;
    fn parse(self) -> Result<Self, Invalid>;
    fn skill_refs(&self) -> &[Uuid] {
        &[]
    }
}

impl CatalogSpec for SkillSpec {
    const CATALOG: Catalog = Catalog::Skill;
    const PATH: &'static str = "skills";
    fn parse(self) -> Result<Self, Invalid> {
        SkillSpec::parse(self)
    }
}

impl CatalogSpec for SkillsProfileSpec {
    const CATALOG: Catalog = Catalog::SkillsProfile;
    const PATH: &'static str = "skills-profiles";
    fn parse(self) -> Result<Self, Invalid> {
        SkillsProfileSpec::parse(self)
    }
    fn skill_refs(&self) -> &[Uuid] {
        &self.skills
    }
}

impl CatalogSpec for MetroMapSpec {
    const CATALOG: Catalog = Catalog::MetroMap;
    const PATH: &'static str = "metro-maps";
    fn parse(self) -> Result<Self, Invalid> {
        MetroMapSpec::parse(self)
    }
}

impl Service {
    fn catalog_view<S: CatalogSpec>(&self, row: SkillRow) -> ServiceResult<CatalogView> {
        let spec: S = decode_spec(&row.spec)?;
        Ok(CatalogView {
            id: row.id,
            issuer_id: row.issuer_id,
            url: format!("{}/{}/{}", self.base_url, S::PATH, row.id),
            spec: serde_json::to_value(spec).expect("spec"),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// Every id in `ids` must be a skill of `issuer`; reports each one that is not, by position.
    #[tracing::instrument(skip_all, fields(issuer = %issuer))]
    pub(super) async fn check_skill_refs(&self, issuer: Uuid, field: &str, ids: &[Uuid]) -> ServiceResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let known: std::collections::HashSet<Uuid> =
            self.store.catalog(Catalog::Skill, issuer).await?.into_iter().map(|r| r.id).collect();
        let errors: Vec<FieldError> = ids
            .iter()
            .enumerate()
            .filter(|(_, id)| !known.contains(id))
            .map(|(i, id)| {
                FieldError::new(
                    format!("{field}[{i}]"),
                    crate::problem!("unknown-skill", "{id} is not a skill of this issuer", id = id),
                )
            })
            .collect();
        if errors.is_empty() { Ok(()) } else { Err(Invalid(errors).into()) }
    }

    async fn create_catalog<S: CatalogSpec>(
        &self,
        who: &Principal,
        issuer: Uuid,
        spec: S,
    ) -> ServiceResult<CatalogView> {
        who.check(issuer, Action::Manage)?;
        self.issuer_spec(issuer).await?;
        let spec = spec.parse()?;
        self.check_skill_refs(issuer, "skills", spec.skill_refs()).await?;
        let id = Uuid::now_v7();
        let json = serde_json::to_value(&spec).expect("spec");
        let mut tx = self.store.begin().await?;
        tx.insert_catalog(S::CATALOG, id, issuer, encode_spec(&spec), self.now()).await?;
        tx.audit(vec![NewEvent::new(&who.actor(), Some(issuer), created_action(S::CATALOG), id, &json)]).await?;
        tx.commit().await?;
        self.get_catalog::<S>(who, id).await
    }

    async fn get_catalog<S: CatalogSpec>(&self, who: &Principal, id: Uuid) -> ServiceResult<CatalogView> {
        let row = self.store.catalog_item(S::CATALOG, id).await?.ok_or(ServiceError::NotFound)?;
        who.check(row.issuer_id, Action::Read)?;
        self.catalog_view::<S>(row)
    }

    async fn update_catalog<S: CatalogSpec>(
        &self,
        who: &Principal,
        id: Uuid,
        patch: &Value,
    ) -> ServiceResult<CatalogView> {
        let row = self.store.catalog_item(S::CATALOG, id).await?.ok_or(ServiceError::NotFound)?;
        who.check(row.issuer_id, Action::Manage)?;
        let current: S = decode_spec(&row.spec)?;
        let spec = patched(&current, patch)?.parse()?;
        self.check_skill_refs(row.issuer_id, "skills", spec.skill_refs()).await?;
        let json = serde_json::to_value(&spec).expect("spec");
        let mut tx = self.store.begin().await?;
        tx.update_catalog(S::CATALOG, id, row.issuer_id, encode_spec(&spec), self.now()).await?;
        tx.audit(vec![NewEvent::new(&who.actor(), Some(row.issuer_id), updated_action(S::CATALOG), id, &json)]).await?;
        tx.commit().await?;
        self.get_catalog::<S>(who, id).await
    }

    async fn list_catalog<S: CatalogSpec>(&self, who: &Principal, issuer: Uuid) -> ServiceResult<Vec<CatalogView>> {
        who.check(issuer, Action::Read)?;
        self.issuer_spec(issuer).await?;
        self.store.catalog(S::CATALOG, issuer).await?.into_iter().map(|r| self.catalog_view::<S>(r)).collect()
    }

    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn create_skill(&self, who: &Principal, issuer: Uuid, spec: SkillSpec) -> ServiceResult<CatalogView> {
        self.create_catalog(who, issuer, spec).await
    }
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn skill(&self, who: &Principal, id: Uuid) -> ServiceResult<CatalogView> {
        self.get_catalog::<SkillSpec>(who, id).await
    }
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn update_skill(&self, who: &Principal, id: Uuid, patch: &Value) -> ServiceResult<CatalogView> {
        self.update_catalog::<SkillSpec>(who, id, patch).await
    }
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn skills(&self, who: &Principal, issuer: Uuid) -> ServiceResult<Vec<CatalogView>> {
        self.list_catalog::<SkillSpec>(who, issuer).await
    }
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn create_skills_profile(
        &self,
        who: &Principal,
        issuer: Uuid,
        spec: SkillsProfileSpec,
    ) -> ServiceResult<CatalogView> {
        self.create_catalog(who, issuer, spec).await
    }
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn skills_profile(&self, who: &Principal, id: Uuid) -> ServiceResult<CatalogView> {
        self.get_catalog::<SkillsProfileSpec>(who, id).await
    }
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn update_skills_profile(&self, who: &Principal, id: Uuid, patch: &Value) -> ServiceResult<CatalogView> {
        self.update_catalog::<SkillsProfileSpec>(who, id, patch).await
    }
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn skills_profiles(&self, who: &Principal, issuer: Uuid) -> ServiceResult<Vec<CatalogView>> {
        self.list_catalog::<SkillsProfileSpec>(who, issuer).await
    }

    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn create_metro_map(
        &self,
        who: &Principal,
        issuer: Uuid,
        spec: MetroMapSpec,
    ) -> ServiceResult<CatalogView> {
        self.create_catalog(who, issuer, spec).await
    }
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn metro_map(&self, who: &Principal, id: Uuid) -> ServiceResult<CatalogView> {
        self.get_catalog::<MetroMapSpec>(who, id).await
    }
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn update_metro_map(&self, who: &Principal, id: Uuid, patch: &Value) -> ServiceResult<CatalogView> {
        self.update_catalog::<MetroMapSpec>(who, id, patch).await
    }
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn metro_maps(&self, who: &Principal, issuer: Uuid) -> ServiceResult<Vec<CatalogView>> {
        self.list_catalog::<MetroMapSpec>(who, issuer).await
    }

    /// A skill's public description (no auth): name, description and framework alignment.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn public_skill(&self, id: Uuid) -> ServiceResult<Value> {
        let row = self.store.catalog_item(Catalog::Skill, id).await?.ok_or(ServiceError::NotFound)?;
        let view = self.catalog_view::<SkillSpec>(row)?;
        Ok(
            serde_json::json!({"id": view.url, "issuer": crate::credential::ob3::issuer_url(&self.base_url, view.issuer_id), "skill": view.spec}),
        )
    }
}

fn created_action(c: Catalog) -> &'static str {
    match c {
        Catalog::Skill => "skill.created",
        Catalog::SkillsProfile => "skills_profile.created",
        Catalog::MetroMap => "metro_map.created",
    }
}

fn updated_action(c: Catalog) -> &'static str {
    match c {
        Catalog::Skill => "skill.updated",
        Catalog::SkillsProfile => "skills_profile.updated",
        Catalog::MetroMap => "metro_map.updated",
    }
}
