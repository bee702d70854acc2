//! Signing keys: generation, sealing, rotation, compromise marks.

use ed25519_dalek::SigningKey;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{Service, ServiceError, ServiceResult};
use crate::credential::jwt::JwtSigner;
use crate::credential::ob3;
use crate::domain::access::{Action, Principal};
use crate::domain::audit::{Actor, NewEvent};
use crate::store::{ED25519, KeyRow, P256, Tx};

/// Everything signing needs for one issuer, unsealed once per award or round: the Ed25519 key
/// and its verification method (Data Integrity proofs) and the VC-JWT signer (EdDSA with the
/// same key, or ES256 with the issuer's P-256 key when it chose ES256).
#[derive(Clone)]
pub struct IssuerSigning {
    pub key_id: Uuid,
    pub key: SigningKey,
    pub verification_method: String,
    pub jwt: JwtSigner,
}

/// A key as the API shows it: public material and status only, never the private half.
#[derive(Debug, Clone, Serialize)]
pub struct KeyView {
    pub id: Uuid,
    /// `Ed25519` (proofs and EdDSA JWTs) or `P-256` (ES256 JWTs).
    pub algorithm: String,
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
            algorithm: k.algorithm().to_string(),
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

    /// Generates an Ed25519 key, seals its private half and inserts it as the issuer's active
    /// key. Returns the audit event for the caller's transaction.
    #[tracing::instrument(skip_all, fields(issuer = %issuer))]
    pub(super) async fn insert_new_key(
        &self,
        tx: &mut Tx,
        issuer: Uuid,
        now: OffsetDateTime,
        actor: &Actor,
    ) -> ServiceResult<NewEvent> {
        self.insert_key_of(tx, issuer, ED25519, now, actor).await
    }

    /// [`Service::insert_new_key`] for either algorithm (`Ed25519` or `P-256`).
    async fn insert_key_of(
        &self,
        tx: &mut Tx,
        issuer: Uuid,
        algorithm: &str,
        now: OffsetDateTime,
        actor: &Actor,
    ) -> ServiceResult<NewEvent> {
        let (public, secret) = if algorithm == P256 {
            use p256::elliptic_curve::sec1::ToEncodedPoint;
            let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
            let point = secret.public_key().to_encoded_point(true);
            let compressed: [u8; 33] =
                point.as_bytes().try_into().map_err(|_| ServiceError::Internal("P-256 point encoding".into()))?;
            (ob3::PublicKey::P256(compressed), Zeroizing::new(secret.to_bytes().to_vec()))
        } else {
            let signing = SigningKey::generate(&mut rand::rngs::OsRng);
            (ob3::PublicKey::Ed25519(signing.verifying_key().to_bytes()), Zeroizing::new(signing.to_bytes().to_vec()))
        };
        let key_id = Uuid::now_v7();
        let row = KeyRow {
            key_id,
            issuer_id: issuer,
            public_key: public.bytes().to_vec(),
            multibase: public.multibase(),
            sealed_secret: self.master_key.seal(secret.as_ref(), key_id.as_bytes()),
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
            &serde_json::json!({"publicKeyMultibase": row.multibase, "algorithm": algorithm}),
        ))
    }

    /// Brings the issuer's P-256 key in line with its choice of JWT algorithm: one is made when
    /// it chose ES256 and has none; the active one is retired (still published, so its JWTs keep
    /// verifying) when it went back to EdDSA. `keys` are the issuer's keys, read before the
    /// transaction. The audit events are for the caller's transaction.
    #[tracing::instrument(skip_all, fields(issuer = %issuer))]
    pub(super) async fn align_jwt_key(
        &self,
        tx: &mut Tx,
        issuer: Uuid,
        es256: bool,
        keys: &[KeyRow],
        now: OffsetDateTime,
        actor: &Actor,
    ) -> ServiceResult<Vec<NewEvent>> {
        let active = keys.iter().find(|k| k.retired_at.is_none() && k.algorithm() == P256);
        Ok(match (es256, active) {
            (true, None) => vec![self.insert_key_of(tx, issuer, P256, now, actor).await?],
            (false, Some(k)) => {
                tx.retire_active_key_of(issuer, P256, now).await?;
                vec![NewEvent::new(
                    actor,
                    Some(issuer),
                    "key.retired",
                    k.key_id,
                    &serde_json::json!({"algorithm": P256}),
                )]
            }
            _ => vec![],
        })
    }

    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn keys(&self, who: &Principal, issuer: Uuid) -> ServiceResult<Vec<KeyView>> {
        who.check(issuer, Action::Read)?;
        self.issuer_spec(issuer).await?;
        Ok(self.store.keys(issuer).await?.iter().map(|k| self.key_view(k)).collect())
    }

    /// Retires the active key and makes a new one; old keys stay published.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn rotate_key(&self, who: &Principal, issuer: Uuid) -> ServiceResult<KeyView> {
        who.check(issuer, Action::Manage)?;
        self.issuer_spec(issuer).await?;
        let now = self.now();
        // Every algorithm the issuer signs with gets a new key.
        let es256 = self.store.keys(issuer).await?.iter().any(|k| k.retired_at.is_none() && k.algorithm() == P256);
        let mut tx = self.store.begin().await?;
        tx.retire_active_key(issuer, now).await?;
        let mut events = vec![self.insert_new_key(&mut tx, issuer, now, &who.actor()).await?];
        if es256 {
            events.push(self.insert_key_of(&mut tx, issuer, P256, now, &who.actor()).await?);
        }
        tx.audit(events).await?;
        tx.commit().await?;
        self.active_key_view(issuer).await
    }

    /// Marks a key compromised from `since`: anything it signed after that fails verification.
    /// If it is the active key, a new key replaces it in the same transaction.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer, key = %key))]
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
            tx.retire_active_key_of(issuer, target.algorithm(), now).await?;
            events.push(self.insert_key_of(&mut tx, issuer, target.algorithm(), now, &who.actor()).await?);
        }
        tx.audit(events).await?;
        tx.commit().await?;
        self.keys(who, issuer).await
    }

    async fn active_key_view(&self, issuer: Uuid) -> ServiceResult<KeyView> {
        let keys = self.store.keys(issuer).await?;
        let active = keys.iter().find(|k| k.retired_at.is_none() && k.is_ed25519()).ok_or(ServiceError::NotFound)?;
        Ok(self.key_view(active))
    }

    /// The issuer's active Ed25519 signing key, unsealed. Only signing code may call this.
    #[tracing::instrument(skip_all, fields(issuer = %issuer))]
    pub async fn active_signing_key(&self, issuer: Uuid) -> ServiceResult<(Uuid, SigningKey)> {
        let keys = self.store.keys(issuer).await?;
        self.unseal_ed25519(&keys)
    }

    fn unseal_ed25519(&self, keys: &[KeyRow]) -> ServiceResult<(Uuid, SigningKey)> {
        let row = keys.iter().find(|k| k.retired_at.is_none() && k.is_ed25519()).ok_or(ServiceError::NotFound)?;
        let seed = self.master_key.open(&row.sealed_secret, row.key_id.as_bytes())?;
        let seed: [u8; 32] = seed.as_slice().try_into().map_err(|_| crate::master_key::MasterKeyError::Open)?;
        Ok((row.key_id, SigningKey::from_bytes(&seed)))
    }

    /// The issuer's signing material for credentials (proof key and JWT signer), unsealed.
    #[tracing::instrument(skip_all, fields(issuer = %issuer))]
    pub async fn issuer_signing(&self, issuer: Uuid) -> ServiceResult<IssuerSigning> {
        let keys = self.store.keys(issuer).await?;
        let (key_id, key) = self.unseal_ed25519(&keys)?;
        let issuer_url = ob3::issuer_url(&self.base_url, issuer);
        let verification_method =
            ob3::verification_method(&issuer_url, &ob3::PublicKey::Ed25519(key.verifying_key().to_bytes()));
        let jwt = match keys.iter().find(|k| k.retired_at.is_none() && k.algorithm() == P256) {
            None => JwtSigner::new(&key, &verification_method),
            Some(row) => {
                let secret = self.master_key.open(&row.sealed_secret, row.key_id.as_bytes())?;
                let secret =
                    p256::SecretKey::from_slice(&secret).map_err(|_| crate::master_key::MasterKeyError::Open)?;
                JwtSigner::es256(&secret, &format!("{issuer_url}#{}", row.multibase))
                    .map_err(|e| ServiceError::Internal(e.to_string()))?
            }
        };
        Ok(IssuerSigning { key_id, key, verification_method, jwt })
    }
}
