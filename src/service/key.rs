//! Signing keys: generation, sealing, rotation, compromise marks.

use ed25519_dalek::SigningKey;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{Service, ServiceError, ServiceResult};
use crate::credential::ob3;
use crate::domain::access::{Action, Principal};
use crate::domain::audit::{Actor, NewEvent};
use crate::store::{KeyRow, Tx};

/// A key as the API shows it: public material and status only, never the private half.
#[derive(Debug, Clone, Serialize)]
pub struct KeyView {
    pub id: Uuid,
    pub public_key_multibase: String,
    pub verification_method: String,
    pub status: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub retired_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub compromised_since: Option<OffsetDateTime>,
}

impl Service {
    fn key_view(&self, k: &KeyRow) -> KeyView {
        let issuer = ob3::issuer_url(&self.base_url, k.issuer_id);
        KeyView {
            id: k.key_id,
            public_key_multibase: k.multibase.clone(),
            verification_method: format!("{issuer}#{}", k.multibase),
            status: match (k.retired_at, k.compromised_since) {
                (_, Some(_)) => "compromised",
                (None, None) => "active",
                (Some(_), None) => "retired",
            },
            created_at: k.created_at,
            retired_at: k.retired_at,
            compromised_since: k.compromised_since,
        }
    }

    /// Generates a key, seals its private half and inserts it as the issuer's active key.
    /// Returns the audit event for the caller's transaction.
    pub(super) async fn insert_new_key(
        &self,
        tx: &mut Tx,
        issuer: Uuid,
        now: OffsetDateTime,
        actor: &Actor,
    ) -> ServiceResult<NewEvent> {
        let signing = SigningKey::generate(&mut rand::rngs::OsRng);
        let public = signing.verifying_key().to_bytes();
        let key_id = Uuid::now_v7();
        let seed = Zeroizing::new(signing.to_bytes());
        let row = KeyRow {
            key_id,
            issuer_id: issuer,
            public_key: public.to_vec(),
            multibase: crate::credential::multikey::encode(&public),
            sealed_secret: self.master_key.seal(seed.as_ref(), key_id.as_bytes()),
            created_at: now,
            retired_at: None,
            compromised_since: None,
        };
        tx.insert_key(&row).await?;
        Ok(NewEvent::new(
            actor,
            Some(issuer),
            "key.created",
            key_id,
            &serde_json::json!({"publicKeyMultibase": row.multibase}),
        ))
    }

    pub async fn keys(&self, who: &Principal, issuer: Uuid) -> ServiceResult<Vec<KeyView>> {
        who.check(issuer, Action::Read)?;
        self.issuer_spec(issuer).await?;
        Ok(self.store.keys(issuer).await?.iter().map(|k| self.key_view(k)).collect())
    }

    /// Retires the active key and makes a new one; old keys stay published.
    pub async fn rotate_key(&self, who: &Principal, issuer: Uuid) -> ServiceResult<KeyView> {
        who.check(issuer, Action::Manage)?;
        self.issuer_spec(issuer).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.retire_active_key(issuer, now).await?;
        let event = self.insert_new_key(&mut tx, issuer, now, &who.actor()).await?;
        tx.audit(vec![event]).await?;
        tx.commit().await?;
        self.active_key_view(issuer).await
    }

    /// Marks a key compromised from `since`: anything it signed after that fails verification.
    /// If it is the active key, a new key replaces it in the same transaction.
    pub async fn mark_compromised(
        &self,
        who: &Principal,
        issuer: Uuid,
        key: Uuid,
        since: OffsetDateTime,
    ) -> ServiceResult<Vec<KeyView>> {
        who.check(issuer, Action::Manage)?;
        let keys = self.store.keys(issuer).await?;
        let target = keys.iter().find(|k| k.key_id == key).ok_or(ServiceError::NotFound)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.mark_key_compromised(issuer, key, since).await?;
        let mut events = vec![NewEvent::new(
            &who.actor(),
            Some(issuer),
            "key.compromised",
            key,
            &serde_json::json!({"since": crate::domain::time::rfc3339(since)}),
        )];
        if target.retired_at.is_none() {
            tx.retire_active_key(issuer, now).await?;
            events.push(self.insert_new_key(&mut tx, issuer, now, &who.actor()).await?);
        }
        tx.audit(events).await?;
        tx.commit().await?;
        self.keys(who, issuer).await
    }

    async fn active_key_view(&self, issuer: Uuid) -> ServiceResult<KeyView> {
        let keys = self.store.keys(issuer).await?;
        let active = keys.iter().find(|k| k.retired_at.is_none()).ok_or(ServiceError::NotFound)?;
        Ok(self.key_view(active))
    }

    /// The issuer's active signing key, unsealed. Only signing code may call this.
    pub async fn active_signing_key(&self, issuer: Uuid) -> ServiceResult<(Uuid, SigningKey)> {
        let keys = self.store.keys(issuer).await?;
        let row = keys.iter().find(|k| k.retired_at.is_none()).ok_or(ServiceError::NotFound)?;
        let seed = self.master_key.open(&row.sealed_secret, row.key_id.as_bytes())?;
        let seed: [u8; 32] = seed.as_slice().try_into().map_err(|_| crate::master_key::MasterKeyError::Open)?;
        Ok((row.key_id, SigningKey::from_bytes(&seed)))
    }
}
