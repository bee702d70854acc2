//! Uploaded badge images.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Sql, Store, StoreResult, Tx, args};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImageRow {
    pub image_id: Uuid,
    pub issuer_id: Uuid,
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub created_at: OffsetDateTime,
}

impl Tx {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_image(&mut self, i: &ImageRow) -> StoreResult<()> {
        self.execute(
            "INSERT INTO image (image_id, issuer_id, content_type, bytes, sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            args![i.image_id, i.issuer_id, i.content_type.clone(), i.bytes.clone(), i.sha256.clone(), i.created_at],
        )
        .await?;
        Ok(())
    }
}

impl Store {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn image(&self, id: Uuid) -> StoreResult<Option<ImageRow>> {
        self.clone()
            .fetch_optional(
                "SELECT image_id, issuer_id, content_type, bytes, sha256, created_at FROM image WHERE image_id = $1",
                args![id],
            )
            .await
    }
}
