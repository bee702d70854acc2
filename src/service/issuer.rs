//! Issuers: creation (with a first signing key), profile edits, public documents.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult, decode_spec, encode_spec, patched};
use crate::credential::ob3;
use crate::domain::access::{Action, Principal};
use crate::domain::audit::NewEvent;
use crate::domain::issuer::IssuerSpec;
use crate::store::IssuerRow;

#[derive(Debug, Clone, Serialize)]
pub struct IssuerView {
    pub id: Uuid,
    /// The issuer's public id: the Profile document and key controller.
    pub profile_url: String,
    pub did: String,
    #[serde(flatten)]
    pub spec: IssuerSpec,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Service {
    fn issuer_view(&self, row: IssuerRow) -> ServiceResult<IssuerView> {
        Ok(IssuerView {
            id: row.issuer_id,
            profile_url: ob3::issuer_url(&self.base_url, row.issuer_id),
            did: ob3::did_web(&self.base_url, row.issuer_id),
            spec: decode_spec(&row.spec)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    #[tracing::instrument(skip_all, fields(id = %id))]
    pub(super) async fn issuer_spec(&self, id: Uuid) -> ServiceResult<IssuerSpec> {
        let row = self.store.issuer(id).await?.ok_or(ServiceError::NotFound)?;
        decode_spec(&row.spec)
    }

    /// Creates an issuer and its first Ed25519 signing key, in one transaction.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id))]
    pub async fn create_issuer(&self, who: &Principal, spec: IssuerSpec) -> ServiceResult<IssuerView> {
        who.check_admin()?;
        let spec = spec.parse()?;
        let id = Uuid::now_v7();
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.insert_issuer(id, encode_spec(&spec), now).await?;
        let key_event = self.insert_new_key(&mut tx, id, now, &who.actor()).await?;
        let jwt_key = self.align_jwt_key(&mut tx, id, spec.jwt_es256(), &[], now, &who.actor()).await?;
        let created =
            NewEvent::new(&who.actor(), Some(id), "issuer.created", id, &serde_json::to_value(&spec).expect("spec"));
        tx.audit([vec![created, key_event], jwt_key].concat()).await?;
        tx.commit().await?;
        self.issuer(who, id).await
    }

    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn issuer(&self, who: &Principal, id: Uuid) -> ServiceResult<IssuerView> {
        who.check(id, Action::Read)?;
        let row = self.store.issuer(id).await?.ok_or(ServiceError::NotFound)?;
        self.issuer_view(row)
    }

    /// Admins see every issuer; everyone else sees only their own.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id))]
    pub async fn issuers(&self, who: &Principal, limit: i64, offset: i64) -> ServiceResult<Vec<IssuerView>> {
        let rows = match who.issuer_id {
            None if who.is_admin() => self.store.issuers(limit, offset).await?,
            Some(own) if offset == 0 => self.store.issuer(own).await?.into_iter().collect(),
            _ => vec![],
        };
        rows.into_iter().map(|r| self.issuer_view(r)).collect()
    }

    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn update_issuer(&self, who: &Principal, id: Uuid, patch: &Value) -> ServiceResult<IssuerView> {
        who.check(id, Action::Manage)?;
        let current = self.issuer_spec(id).await?;
        let spec = patched(&current, patch)?.parse()?;
        let keys = self.store.keys(id).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.update_issuer(id, encode_spec(&spec), now).await?;
        let updated =
            NewEvent::new(&who.actor(), Some(id), "issuer.updated", id, &serde_json::to_value(&spec).expect("spec"));
        let jwt_key = self.align_jwt_key(&mut tx, id, spec.jwt_es256(), &keys, now, &who.actor()).await?;
        tx.audit([vec![updated], jwt_key].concat()).await?;
        tx.commit().await?;
        self.issuer(who, id).await
    }

    /// Public keys ever used by the issuer, oldest first.
    async fn public_keys(&self, id: Uuid) -> ServiceResult<Vec<ob3::PublicKey>> {
        let keys = self.store.keys(id).await?;
        Ok(keys.iter().filter_map(|k| ob3::PublicKey::from_bytes(&k.public_key)).collect())
    }

    /// The public OB 3.0 Profile, doubling as controller document of every key ever used.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn profile_document(&self, id: Uuid) -> ServiceResult<Value> {
        let spec = self.issuer_spec(id).await?;
        let keys = self.public_keys(id).await?;
        Ok(ob3::profile_document(&ob3::issuer_url(&self.base_url, id), &spec, &keys))
    }

    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn jwks(&self, id: Uuid) -> ServiceResult<Value> {
        self.issuer_spec(id).await?;
        let issuer = ob3::issuer_url(&self.base_url, id);
        let keys: Vec<Value> =
            self.public_keys(id).await?.iter().map(|k| k.jwk(&ob3::verification_method(&issuer, k))).collect();
        Ok(serde_json::json!({ "keys": keys }))
    }

    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn did_document(&self, id: Uuid) -> ServiceResult<Value> {
        self.issuer_spec(id).await?;
        let keys = self.public_keys(id).await?;
        Ok(ob3::did_document(&ob3::did_web(&self.base_url, id), &keys))
    }
}
