//! Stored copies of other issuers' public documents fetched for verification.

use time::OffsetDateTime;

use super::{Sql, Store, StoreResult, args};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RemoteDocumentRow {
    pub body: String,
    pub fetched_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl Store {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn remote_document(&self, url: &str) -> StoreResult<Option<RemoteDocumentRow>> {
        self.clone()
            .fetch_optional("SELECT body, fetched_at, expires_at FROM remote_document WHERE url = $1", args![url])
            .await
    }

    /// Keeps the newest copy of `url`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn put_remote_document(
        &self,
        url: &str,
        body: &str,
        fetched_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.clone()
            .execute(
                "INSERT INTO remote_document (url, body, fetched_at, expires_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (url) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at, \
                 expires_at = excluded.expires_at",
                args![url, body, fetched_at, expires_at],
            )
            .await
            .map(|_| ())
    }
}
