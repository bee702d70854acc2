//! Issuers' signing keys (private halves sealed under the master key).

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Sql, Store, StoreError, StoreResult, Tx, args};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub key_id: Uuid,
    pub issuer_id: Uuid,
    pub public_key: Vec<u8>,
    pub multibase: String,
    pub sealed_secret: Vec<u8>,
    pub created_at: OffsetDateTime,
    pub retired_at: Option<OffsetDateTime>,
    pub compromised_since: Option<OffsetDateTime>,
}

impl KeyRow {
    /// `Ed25519` (Data Integrity proofs, EdDSA JWTs) or `P-256` (ES256 JWTs), by the public
    /// key's length (32 bytes, or a 33-byte compressed point), as the schema's index reads it.
    pub fn algorithm(&self) -> &'static str {
        algorithm_of(&self.public_key)
    }

    pub fn is_ed25519(&self) -> bool {
        self.algorithm() == ED25519
    }
}

pub const ED25519: &str = "Ed25519";
pub const P256: &str = "P-256";

/// The algorithm of a stored public key.
pub fn algorithm_of(public_key: &[u8]) -> &'static str {
    if public_key.len() == 33 { P256 } else { ED25519 }
}

/// The stored public key length of an algorithm.
fn key_length(algorithm: &str) -> i64 {
    if algorithm == P256 { 33 } else { 32 }
}

impl Tx {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_key(&mut self, k: &KeyRow) -> StoreResult<()> {
        self.execute(
            "INSERT INTO signing_key (key_id, issuer_id, public_key, multibase, sealed_secret, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                k.key_id,
                k.issuer_id,
                k.public_key.clone(),
                k.multibase.clone(),
                k.sealed_secret.clone(),
                k.created_at
            ],
        )
        .await?;
        Ok(())
    }

    /// Retires the issuer's active key of one algorithm (it stays published for verification).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn retire_active_key_of(
        &mut self,
        issuer: Uuid,
        algorithm: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.execute(
            "UPDATE signing_key SET retired_at = $2 WHERE issuer_id = $1 AND retired_at IS NULL AND length(public_key) = $3",
            args![issuer, now, key_length(algorithm)],
        )
        .await?;
        Ok(())
    }

    /// Retires the issuer's active keys (they stay published for verification).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn retire_active_key(&mut self, issuer: Uuid, now: OffsetDateTime) -> StoreResult<()> {
        self.execute(
            "UPDATE signing_key SET retired_at = $2 WHERE issuer_id = $1 AND retired_at IS NULL",
            args![issuer, now],
        )
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn mark_key_compromised(&mut self, issuer: Uuid, key: Uuid, since: OffsetDateTime) -> StoreResult<()> {
        let n = self
            .execute(
                "UPDATE signing_key SET compromised_since = $3 WHERE issuer_id = $1 AND key_id = $2",
                args![issuer, key, since],
            )
            .await?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}

impl Store {
    /// Every key the issuer ever had, oldest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn keys(&self, issuer: Uuid) -> StoreResult<Vec<KeyRow>> {
        self.clone()
            .fetch_all(
                "SELECT key_id, issuer_id, public_key, multibase, sealed_secret, created_at, retired_at, compromised_since \
                 FROM signing_key WHERE issuer_id = $1 ORDER BY created_at, key_id",
                args![issuer],
            )
            .await
    }

    /// The public half of one key of an issuer, by its multibase (verification's lookup).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn public_key(&self, issuer: Uuid, multibase: &str) -> StoreResult<Option<PublicKeyRow>> {
        self.clone()
            .fetch_optional(
                "SELECT public_key, compromised_since FROM signing_key WHERE multibase = $1 AND issuer_id = $2",
                args![multibase, issuer],
            )
            .await
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PublicKeyRow {
    pub public_key: Vec<u8>,
    pub compromised_since: Option<OffsetDateTime>,
}

/// A sealed secret and the context it was sealed with (its key id).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SealedRow {
    pub key_id: Uuid,
    pub sealed_secret: Vec<u8>,
}

impl Store {
    /// One sealed key, if any exists (the readiness check opens it to prove the master key is
    /// the right one).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn any_sealed_key(&self) -> StoreResult<Option<SealedRow>> {
        self.clone()
            .fetch_optional(
                "SELECT key_id, sealed_secret FROM signing_key UNION ALL SELECT key_id, sealed_secret FROM platform_key LIMIT 1",
                vec![],
            )
            .await
    }
}
