//! Nanomodules: versioned definitions, images, and their public Achievement documents.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult, decode_spec, encode_spec, patched};
use crate::credential::ob3;
use crate::domain::access::{Action, Principal};
use crate::domain::audit::{NewEvent, sha256_hex};
use crate::domain::nanomodule::NanomoduleSpec;
use crate::domain::skill::SkillSpec;
use crate::domain::validate::Invalid;
use crate::store::{Catalog, ImageRow, NanomoduleVersionRow};

/// Largest accepted badge image.
pub const MAX_IMAGE_BYTES: usize = 512 * 1024;

#[derive(Debug, Clone, Serialize)]
pub struct NanomoduleView {
    pub id: Uuid,
    pub issuer_id: Uuid,
    pub version: i64,
    pub current_version: i64,
    /// Public page/document of the module (its current version).
    pub url: String,
    /// The OB 3.0 Achievement id of this version: what awarded badges point at.
    pub achievement_id: String,
    pub image_url: String,
    #[serde(flatten)]
    pub spec: NanomoduleSpec,
    #[serde(with = "time::serde::rfc3339")]
    pub version_created_at: OffsetDateTime,
}

/// An uploaded image before validation.
#[derive(Debug)]
pub struct NewImage {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl NewImage {
    /// Accepts a PNG that decodes in full within the size limits, or an SVG that passes the
    /// allowlist of [`crate::credential::image::check_svg`].
    fn parse(self) -> Result<NewImage, Invalid> {
        use crate::credential::image::{check_png, check_svg};
        if self.bytes.len() > MAX_IMAGE_BYTES {
            return Err(Invalid::one(
                "image",
                crate::problem!("image-too-large", "must be at most {max} bytes", max = MAX_IMAGE_BYTES),
            ));
        }
        match self.content_type.as_str() {
            "image/png" => {
                check_png(&self.bytes).map_err(|e| Invalid::one("image", crate::domain::validate::unreadable(e)))?
            }
            "image/svg+xml" => {
                let text = std::str::from_utf8(&self.bytes)
                    .map_err(|_| Invalid::one("image", crate::problem!("svg-not-utf8", "SVG must be UTF-8")))?;
                check_svg(text).map_err(|e| Invalid::one("image", crate::domain::validate::unreadable(e)))?;
                return Ok(self);
            }
            _ => {
                return Err(Invalid::one(
                    "content-type",
                    crate::problem!("not-an-image-type", "must be image/png or image/svg+xml"),
                ));
            }
        };
        Ok(self)
    }
}

impl Service {
    fn nanomodule_view(&self, row: &NanomoduleVersionRow) -> ServiceResult<NanomoduleView> {
        Ok(NanomoduleView {
            id: row.nanomodule_id,
            issuer_id: row.issuer_id,
            version: row.version,
            current_version: row.current_version,
            url: format!("{}/nanomodules/{}", self.base_url, row.nanomodule_id),
            achievement_id: self.achievement_id(row.nanomodule_id, row.version),
            image_url: self.image_url(row),
            spec: decode_spec(&row.spec)?,
            version_created_at: row.created_at,
        })
    }

    pub fn achievement_id(&self, id: Uuid, version: i64) -> String {
        format!("{}/nanomodules/{}/versions/{}", self.base_url, id, version)
    }

    /// External image if given, else the uploaded one, else the generated default.
    fn image_url(&self, row: &NanomoduleVersionRow) -> String {
        let spec: Option<NanomoduleSpec> = serde_json::from_str(&row.spec).ok();
        match (spec.and_then(|s| s.image), row.image_id) {
            (Some(external), _) => external,
            (None, Some(image)) => format!("{}/images/{}", self.base_url, image),
            (None, None) => format!("{}/image.svg", self.achievement_id(row.nanomodule_id, row.version)),
        }
    }

    async fn version_row(&self, id: Uuid, version: Option<i64>) -> ServiceResult<NanomoduleVersionRow> {
        self.store.nanomodule_version(id, version).await?.ok_or(ServiceError::NotFound)
    }

    /// What a module refers to beyond itself: its skills exist and are the issuer's; a
    /// micro-credential's issuer names its country (Annex I: "country/region of the issuer").
    async fn check_nanomodule_refs(&self, issuer: Uuid, spec: &NanomoduleSpec) -> ServiceResult<()> {
        let mut errors = Vec::new();
        for check in [
            self.check_skill_refs(issuer, "skills", &spec.skills).await,
            self.check_skill_refs(issuer, "base_skills", &spec.base_skills).await,
        ] {
            match check {
                Ok(()) => {}
                Err(ServiceError::Invalid(Invalid(e))) => errors.extend(e),
                Err(other) => return Err(other),
            }
        }
        errors.extend(self.micro_credential_country(issuer, spec.micro_credential.is_some()).await?);
        if errors.is_empty() { Ok(()) } else { Err(Invalid(errors).into()) }
    }

    /// A micro-credential names its issuer's country (Annex I): the error when one is `marked`
    /// and the issuer's profile has none.
    #[tracing::instrument(skip_all, fields(issuer = %issuer))]
    pub(super) async fn micro_credential_country(
        &self,
        issuer: Uuid,
        marked: bool,
    ) -> ServiceResult<Option<crate::domain::validate::FieldError>> {
        if !marked || self.issuer_spec(issuer).await?.address.and_then(|a| a.address_country_code).is_some() {
            return Ok(None);
        }
        Ok(Some(crate::domain::validate::FieldError::new(
            "issuer.address.addressCountryCode",
            crate::problem!(
                "issuer-country-required",
                "a micro-credential names the issuer's country: set it in the issuer's profile first"
            ),
        )))
    }

    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn create_nanomodule(
        &self,
        who: &Principal,
        issuer: Uuid,
        spec: NanomoduleSpec,
    ) -> ServiceResult<NanomoduleView> {
        who.check(issuer, Action::Manage)?;
        self.issuer_spec(issuer).await?;
        let spec = spec.parse()?;
        self.check_nanomodule_refs(issuer, &spec).await?;
        let id = Uuid::now_v7();
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.insert_nanomodule(id, issuer, now).await?;
        tx.push_nanomodule_version(id, 1, encode_spec(&spec), None, now).await?;
        tx.audit(vec![NewEvent::new(
            &who.actor(),
            Some(issuer),
            "nanomodule.created",
            id,
            &version_change(1, &spec, None),
        )])
        .await?;
        tx.commit().await?;
        self.nanomodule(who, id, None).await
    }

    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn nanomodule(&self, who: &Principal, id: Uuid, version: Option<i64>) -> ServiceResult<NanomoduleView> {
        let row = self.version_row(id, version).await?;
        who.check(row.issuer_id, Action::Read)?;
        self.nanomodule_view(&row)
    }

    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn nanomodules(&self, who: &Principal, issuer: Uuid) -> ServiceResult<Vec<NanomoduleView>> {
        who.check(issuer, Action::Read)?;
        self.issuer_spec(issuer).await?;
        self.store.nanomodules(issuer).await?.iter().map(|r| self.nanomodule_view(r)).collect()
    }

    /// Applies a merge patch as a new version; earlier versions stay as they were.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn update_nanomodule(&self, who: &Principal, id: Uuid, patch: &Value) -> ServiceResult<NanomoduleView> {
        let row = self.version_row(id, None).await?;
        who.check(row.issuer_id, Action::Manage)?;
        let current: NanomoduleSpec = decode_spec(&row.spec)?;
        let spec = patched(&current, patch)?.parse()?;
        self.check_nanomodule_refs(row.issuer_id, &spec).await?;
        self.push_version(who, &row, spec, NewVersionImage::Keep(row.image_id), "nanomodule.updated").await
    }

    /// Stores an uploaded PNG/SVG and makes it the module's image (as a new version).
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn set_nanomodule_image(
        &self,
        who: &Principal,
        id: Uuid,
        image: NewImage,
    ) -> ServiceResult<NanomoduleView> {
        let row = self.version_row(id, None).await?;
        who.check(row.issuer_id, Action::Manage)?;
        let image = image.parse()?;
        let mut spec: NanomoduleSpec = decode_spec(&row.spec)?;
        spec.image = None;
        let image_row = ImageRow {
            image_id: Uuid::now_v7(),
            issuer_id: row.issuer_id,
            content_type: image.content_type,
            sha256: sha256_hex(&image.bytes),
            bytes: image.bytes,
            created_at: self.now(),
        };
        self.push_version(who, &row, spec, NewVersionImage::Upload(image_row), "nanomodule.image_set").await
    }

    async fn push_version(
        &self,
        who: &Principal,
        row: &NanomoduleVersionRow,
        spec: NanomoduleSpec,
        image: NewVersionImage,
        action: &'static str,
    ) -> ServiceResult<NanomoduleView> {
        let version = row.current_version + 1;
        let mut tx = self.store.begin().await?;
        let image = match image {
            NewVersionImage::Keep(id) => id,
            NewVersionImage::Upload(upload) => {
                tx.insert_image(&upload).await?;
                Some(upload.image_id)
            }
        };
        tx.push_nanomodule_version(row.nanomodule_id, version, encode_spec(&spec), image, self.now()).await?;
        tx.audit(vec![NewEvent::new(
            &who.actor(),
            Some(row.issuer_id),
            action,
            row.nanomodule_id,
            &version_change(version, &spec, image),
        )])
        .await?;
        tx.commit().await?;
        self.nanomodule(who, row.nanomodule_id, None).await
    }

    /// The public OB 3.0 Achievement of a version (current when `None`).
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn achievement_document(&self, id: Uuid, version: Option<i64>) -> ServiceResult<Value> {
        let row = self.version_row(id, version).await?;
        let spec: NanomoduleSpec = decode_spec(&row.spec)?;
        let issuer_id = ob3::issuer_url(&self.base_url, row.issuer_id);
        let creator = ob3::profile(&issuer_id, &self.issuer_spec(row.issuer_id).await?);
        Ok(ob3::with_context(self.achievement_of(&row, &spec, creator).await?))
    }

    /// The `Achievement` of a version already read, by the issuer profile `creator` (as a
    /// badge embeds it: without `@context`). An award reads the version and the issuer once
    /// and builds both the badge's achievement and its issuer from them.
    #[tracing::instrument(skip_all, fields(id = %row.nanomodule_id))]
    pub(super) async fn achievement_of(
        &self,
        row: &NanomoduleVersionRow,
        spec: &NanomoduleSpec,
        creator: Value,
    ) -> ServiceResult<Value> {
        let skills = self.skill_refs(row.issuer_id, &spec.skills).await?;
        let ctx = ob3::AchievementContext {
            id: self.achievement_id(row.nanomodule_id, row.version),
            version: row.version,
            image_url: self.image_url(row),
            creator,
            skills: &skills,
        };
        Ok(ob3::achievement(spec, &ctx))
    }

    async fn skill_refs(&self, issuer: Uuid, ids: &[Uuid]) -> ServiceResult<Vec<ob3::SkillRef>> {
        let all = self.store.catalog(Catalog::Skill, issuer).await?;
        ids.iter()
            .filter_map(|id| all.iter().find(|r| r.id == *id))
            .map(|r| {
                Ok(ob3::SkillRef {
                    url: format!("{}/skills/{}", self.base_url, r.id),
                    spec: decode_spec::<SkillSpec>(&r.spec)?,
                })
            })
            .collect()
    }

    /// The generated default image of a version (SVG).
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn default_image(&self, id: Uuid, version: i64) -> ServiceResult<String> {
        let row = self.version_row(id, Some(version)).await?;
        let spec: NanomoduleSpec = decode_spec(&row.spec)?;
        Ok(ob3::default_image_svg(spec.name.as_deref().unwrap_or_default()))
    }

    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn image(&self, id: Uuid) -> ServiceResult<ImageRow> {
        self.store.image(id).await?.ok_or(ServiceError::NotFound)
    }
}

/// The image a new version gets: the previous one, or a fresh upload stored in the same transaction.
enum NewVersionImage {
    Keep(Option<Uuid>),
    Upload(ImageRow),
}

fn version_change(version: i64, spec: &NanomoduleSpec, image: Option<Uuid>) -> Value {
    serde_json::json!({"version": version, "spec": spec, "image_id": image})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svg(s: &str) -> Result<NewImage, Invalid> {
        NewImage { content_type: "image/svg+xml".into(), bytes: s.as_bytes().to_vec() }.parse()
    }

    #[test]
    fn image_checks() {
        assert!(svg("<svg xmlns='http://www.w3.org/2000/svg'><circle r='4'/></svg>").is_ok());
        assert!(svg("<svg><script>alert(1)</script></svg>").is_err());
        assert!(svg("<svg onload='x()'></svg>").is_err());
        assert!(svg("<svg><a href='javascript:x'/></svg>").is_err());
        assert!(svg("hello").is_err());
        let png =
            NewImage { content_type: "image/png".into(), bytes: crate::credential::bake::solid_png(4, [0, 0, 0]) };
        assert!(png.parse().is_ok());
        let stub = NewImage { content_type: "image/png".into(), bytes: b"\x89PNG\r\n\x1a\nrest".to_vec() };
        assert!(stub.parse().is_err(), "issue 11 §5: a PNG signature alone is not a PNG");
        let fake = NewImage { content_type: "image/png".into(), bytes: b"GIF89a".to_vec() };
        assert!(fake.parse().is_err());
        let gif = NewImage { content_type: "image/gif".into(), bytes: b"GIF89a".to_vec() };
        assert_eq!(gif.parse().unwrap_err().0[0].field, "content-type");
    }
}
