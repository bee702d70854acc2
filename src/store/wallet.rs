//! Wallet offers (OpenID4VCI pre-authorised codes and their access tokens) and the
//! holder-bound copies wallets received.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Sql, Store, StoreResult, Tx, args};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OfferRow {
    pub offer_id: Uuid,
    pub tx_code_hash: String,
    pub credential_id: Uuid,
    pub identity: String,
    pub expires_at: OffsetDateTime,
    pub failed_attempts: i64,
    pub redeemed_at: Option<OffsetDateTime>,
    pub token_expires_at: Option<OffsetDateTime>,
    pub used_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WalletCopyRow {
    pub credential_id: Uuid,
    pub original_id: Uuid,
    pub issuer_id: Uuid,
    pub holder: String,
    pub signed: String,
    pub created_at: OffsetDateTime,
}

/// A holder-bound copy to store.
pub struct NewWalletCopy {
    pub credential_id: Uuid,
    pub original_id: Uuid,
    pub issuer_id: Uuid,
    pub identity_type: String,
    pub identity: String,
    pub holder: String,
    pub signed: String,
    pub sha256: String,
}

impl Tx {
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_offer(
        &mut self,
        offer: Uuid,
        code_hash: &str,
        tx_code_hash: &str,
        credential: Uuid,
        identity: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO wallet_offer (offer_id, code_hash, tx_code_hash, credential_id, identity, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![offer, code_hash, tx_code_hash, credential, identity, now, expires_at],
        )
        .await?;
        Ok(())
    }

    /// The offer of a pre-authorised code, locked for this transaction on PostgreSQL.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn offer_by_code(&mut self, code_hash: &str) -> StoreResult<Option<OfferRow>> {
        let sql = if self.is_postgres() {
            "SELECT offer_id, tx_code_hash, credential_id, identity, expires_at, failed_attempts, redeemed_at, \
             token_expires_at, used_at FROM wallet_offer WHERE code_hash = $1 FOR UPDATE"
        } else {
            "SELECT offer_id, tx_code_hash, credential_id, identity, expires_at, failed_attempts, redeemed_at, \
             token_expires_at, used_at FROM wallet_offer WHERE code_hash = $1"
        };
        self.fetch_optional(sql, args![code_hash]).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn offer_failed(&mut self, offer: Uuid) -> StoreResult<()> {
        self.execute("UPDATE wallet_offer SET failed_attempts = failed_attempts + 1 WHERE offer_id = $1", args![offer])
            .await?;
        Ok(())
    }

    /// Exchanges the code for an access token (once).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn redeem_offer(
        &mut self,
        offer: Uuid,
        token_hash: &str,
        now: OffsetDateTime,
        token_expires_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let n = self
            .execute(
                "UPDATE wallet_offer SET redeemed_at = $2, token_hash = $3, token_expires_at = $4 \
                 WHERE offer_id = $1 AND redeemed_at IS NULL",
                args![offer, now, token_hash, token_expires_at],
            )
            .await?;
        Ok(n == 1)
    }

    /// Uses up an access token (one credential per offer).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn use_offer_token(&mut self, token_hash: &str, now: OffsetDateTime) -> StoreResult<Option<OfferRow>> {
        let row: Option<OfferRow> = self
            .fetch_optional(
                "UPDATE wallet_offer SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND token_expires_at > $2 \
                 RETURNING offer_id, tx_code_hash, credential_id, identity, expires_at, failed_attempts, redeemed_at, \
                 token_expires_at, used_at",
                args![token_hash, now],
            )
            .await?;
        Ok(row)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_wallet_copy(&mut self, c: NewWalletCopy, now: OffsetDateTime) -> StoreResult<()> {
        self.execute(
            "INSERT INTO wallet_credential (credential_id, original_id, issuer_id, identity_type, identity, holder, signed, \
             sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            args![c.credential_id, c.original_id, c.issuer_id, c.identity_type, c.identity, c.holder, c.signed, c.sha256, now],
        )
        .await?;
        Ok(())
    }

    /// Forgets a learner's wallet copies and offers with `issuer` (erasure).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_wallet_data(&mut self, issuer: Uuid, identity_type: &str, identity: &str) -> StoreResult<()> {
        self.execute(
            "DELETE FROM wallet_credential WHERE issuer_id = $1 AND identity_type = $2 AND identity = $3",
            args![issuer, identity_type, identity],
        )
        .await?;
        if identity_type == "emailAddress" {
            self.execute(
                "DELETE FROM wallet_offer WHERE identity = $2 AND credential_id IN \
                 (SELECT credential_id FROM credential WHERE issuer_id = $1)",
                args![issuer, identity],
            )
            .await?;
        }
        Ok(())
    }
}

impl Store {
    /// A holder-bound copy by its id.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn wallet_copy(&self, id: Uuid) -> StoreResult<Option<WalletCopyRow>> {
        self.clone()
            .fetch_optional(
                "SELECT credential_id, original_id, issuer_id, holder, signed, created_at FROM wallet_credential \
                 WHERE credential_id = $1",
                args![id],
            )
            .await
    }

    /// A learner's copies in wallets.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn wallet_copies(&self, identity_type: &str, identity: &str) -> StoreResult<Vec<WalletCopyRow>> {
        self.clone()
            .fetch_all(
                "SELECT credential_id, original_id, issuer_id, holder, signed, created_at FROM wallet_credential \
                 WHERE identity_type = $1 AND identity = $2 ORDER BY created_at",
                args![identity_type, identity],
            )
            .await
    }

    /// The offer an access token was issued for, while the token is unused and unexpired.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn offer_by_token(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<Option<OfferRow>> {
        self.clone()
            .fetch_optional(
                "SELECT offer_id, tx_code_hash, credential_id, identity, expires_at, failed_attempts, redeemed_at, \
                 token_expires_at, used_at FROM wallet_offer WHERE token_hash = $1 AND used_at IS NULL \
                 AND token_expires_at > $2",
                args![token_hash, now],
            )
            .await
    }

    #[doc(hidden)]
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn offer(&self, offer: Uuid) -> StoreResult<Option<OfferRow>> {
        self.clone()
            .fetch_optional(
                "SELECT offer_id, tx_code_hash, credential_id, identity, expires_at, failed_attempts, redeemed_at, \
                 token_expires_at, used_at FROM wallet_offer WHERE offer_id = $1",
                args![offer],
            )
            .await
    }
}
