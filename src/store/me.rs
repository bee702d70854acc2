//! A learner's own sign-in links, sessions and page choices ("my badges").

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Sql, Store, StoreResult, Tx, args};

/// One of a learner's credentials, from any issuer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MyCredentialRow {
    pub credential_id: Uuid,
    pub issuer_id: Uuid,
    pub metro_line_id: Option<Uuid>,
    pub signed: String,
    pub jwt: String,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub suspended_at: Option<OffsetDateTime>,
    pub page_hidden_at: Option<OffsetDateTime>,
}

#[derive(sqlx::FromRow)]
struct Identity {
    identity: String,
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

#[derive(sqlx::FromRow)]
struct Hidden {
    page_hidden_at: Option<OffsetDateTime>,
}

impl Tx {
    pub async fn insert_learner_login(
        &mut self,
        hash: Vec<u8>,
        identity: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO learner_login (token_hash, identity, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            args![hash, identity, now, expires_at],
        )
        .await?;
        Ok(())
    }

    /// Uses up a sign-in link that is still open; returns whose it was.
    pub async fn take_learner_login(&mut self, hash: Vec<u8>, now: OffsetDateTime) -> StoreResult<Option<String>> {
        let row: Option<Identity> = self
            .fetch_optional(
                "UPDATE learner_login SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
                 RETURNING identity",
                args![hash, now],
            )
            .await?;
        Ok(row.map(|r| r.identity))
    }

    pub async fn insert_learner_session(
        &mut self,
        hash: Vec<u8>,
        identity: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO learner_session (session_hash, identity, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            args![hash, identity, now, expires_at],
        )
        .await?;
        Ok(())
    }

    /// Hides (`at`) or shows again the public page of one of the learner's own credentials.
    pub async fn set_page_hidden(
        &mut self,
        credential: Uuid,
        identity: &str,
        at: Option<OffsetDateTime>,
    ) -> StoreResult<u64> {
        self.execute(
            "UPDATE credential SET page_hidden_at = $3 \
             WHERE credential_id = $1 AND identity_type = 'emailAddress' AND identity = $2",
            args![credential, identity, at],
        )
        .await
    }

    /// Ends the learner's sessions and open links (erasure).
    pub async fn delete_learner_logins(&mut self, identity: &str) -> StoreResult<()> {
        self.execute("DELETE FROM learner_session WHERE identity = $1", args![identity]).await?;
        self.execute("DELETE FROM learner_login WHERE identity = $1", args![identity]).await?;
        Ok(())
    }
}

impl Store {
    /// Sign-in links sent to `identity` since `since` (a limit per address).
    pub async fn learner_logins_since(&self, identity: &str, since: OffsetDateTime) -> StoreResult<i64> {
        let c: Option<Count> = self
            .clone()
            .fetch_optional(
                "SELECT COUNT(*) AS n FROM learner_login WHERE identity = $1 AND created_at > $2",
                args![identity, since],
            )
            .await?;
        Ok(c.map(|c| c.n).unwrap_or(0))
    }

    /// The learner a session belongs to, while it lasts.
    pub async fn learner_session(&self, hash: Vec<u8>, now: OffsetDateTime) -> StoreResult<Option<String>> {
        let row: Option<Identity> = self
            .clone()
            .fetch_optional(
                "SELECT identity FROM learner_session WHERE session_hash = $1 AND expires_at > $2",
                args![hash, now],
            )
            .await?;
        Ok(row.map(|r| r.identity))
    }

    pub async fn delete_learner_session(&self, hash: Vec<u8>) -> StoreResult<()> {
        self.clone().execute("DELETE FROM learner_session WHERE session_hash = $1", args![hash]).await?;
        Ok(())
    }

    /// Every credential awarded to the address by any issuer (erased ones excluded), newest
    /// first.
    pub async fn my_credentials(&self, identity: &str) -> StoreResult<Vec<MyCredentialRow>> {
        self.clone()
            .fetch_all(
                "SELECT credential_id, issuer_id, metro_line_id, signed, jwt, created_at, revoked_at, suspended_at, \
                 page_hidden_at FROM credential \
                 WHERE identity_type = 'emailAddress' AND identity = $1 AND signed <> '' \
                 ORDER BY created_at DESC, credential_id DESC",
                args![identity],
            )
            .await
    }

    /// Whether the holder hid the credential's public page.
    pub async fn page_hidden(&self, credential: Uuid) -> StoreResult<bool> {
        let row: Option<Hidden> = self
            .clone()
            .fetch_optional("SELECT page_hidden_at FROM credential WHERE credential_id = $1", args![credential])
            .await?;
        Ok(row.is_some_and(|r| r.page_hidden_at.is_some()))
    }
}
