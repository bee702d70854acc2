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

/// A used sign-in link: the address it was sent to, and the account it joins that address to
/// (for a further address).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TakenLogin {
    pub identity: String,
    pub joins: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Account {
    account: String,
}

#[derive(sqlx::FromRow)]
struct Address {
    address: String,
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
    /// A one-time link for `identity`; `joins`: the account a further address is confirmed for.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_learner_login(
        &mut self,
        hash: Vec<u8>,
        identity: &str,
        joins: Option<&str>,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO learner_login (token_hash, identity, joins, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            args![hash, identity, joins.map(str::to_string), now, expires_at],
        )
        .await?;
        Ok(())
    }

    /// Uses up a sign-in link that is still open; returns whose it was.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn take_learner_login(&mut self, hash: Vec<u8>, now: OffsetDateTime) -> StoreResult<Option<TakenLogin>> {
        self.fetch_optional(
            "UPDATE learner_login SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
             RETURNING identity, joins",
            args![hash, now],
        )
        .await
    }

    /// Joins `address` (and every address that was joined to it) to `account`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn join_address(&mut self, address: &str, account: &str, now: OffsetDateTime) -> StoreResult<()> {
        self.execute("UPDATE learner_address SET account = $2 WHERE account = $1", args![address, account]).await?;
        self.execute("DELETE FROM learner_address WHERE address = $1", args![address]).await?;
        self.execute(
            "INSERT INTO learner_address (address, account, confirmed_at) VALUES ($1, $2, $3)",
            args![address, account, now],
        )
        .await?;
        Ok(())
    }

    /// Forgets an address's links to an account, either way (erasure).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_learner_addresses(&mut self, address: &str) -> StoreResult<()> {
        self.execute("DELETE FROM learner_address WHERE address = $1 OR account = $1", args![address]).await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
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
    #[tracing::instrument(level = "debug", skip_all)]
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
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_learner_logins(&mut self, identity: &str) -> StoreResult<()> {
        self.execute("DELETE FROM learner_session WHERE identity = $1", args![identity]).await?;
        self.execute("DELETE FROM learner_login WHERE identity = $1", args![identity]).await?;
        Ok(())
    }
}

impl Store {
    /// The account an address belongs to (itself when it was never joined to another).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn account_of(&self, address: &str) -> StoreResult<String> {
        let row: Option<Account> = self
            .clone()
            .fetch_optional("SELECT account FROM learner_address WHERE address = $1", args![address])
            .await?;
        Ok(row.map(|r| r.account).unwrap_or_else(|| address.to_string()))
    }

    /// The addresses joined to `account` (without the account's own).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn joined_addresses(&self, account: &str) -> StoreResult<Vec<String>> {
        let rows: Vec<Address> = self
            .clone()
            .fetch_all("SELECT address FROM learner_address WHERE account = $1 ORDER BY confirmed_at", args![account])
            .await?;
        Ok(rows.into_iter().map(|r| r.address).collect())
    }

    /// Sign-in links sent to `identity` since `since` (a limit per address).
    #[tracing::instrument(level = "debug", skip_all)]
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
    #[tracing::instrument(level = "debug", skip_all)]
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

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_learner_session(&self, hash: Vec<u8>) -> StoreResult<()> {
        self.clone().execute("DELETE FROM learner_session WHERE session_hash = $1", args![hash]).await?;
        Ok(())
    }

    /// Every credential awarded to the address by any issuer (erased ones excluded), newest
    /// first.
    #[tracing::instrument(level = "debug", skip_all)]
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
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn page_hidden(&self, credential: Uuid) -> StoreResult<bool> {
        let row: Option<Hidden> = self
            .clone()
            .fetch_optional("SELECT page_hidden_at FROM credential WHERE credential_id = $1", args![credential])
            .await?;
        Ok(row.is_some_and(|r| r.page_hidden_at.is_some()))
    }
}
