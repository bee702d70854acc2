//! Everything sealed under the master key, for the secrets the service derives tokens from and
//! for re-sealing it all when the master key is rotated.

use uuid::Uuid;

use super::{Sql, Store, StoreResult, Tx, args};

#[derive(Debug, Clone, sqlx::FromRow)]
struct SecretRow {
    sealed: Vec<u8>,
}

/// One sealed value: which table holds it, its id there (the sealing context), the blob.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SealedItem {
    pub kind: String,
    pub id: String,
    pub sealed: Vec<u8>,
}

impl Store {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn sealed_secret(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        let row: Option<SecretRow> =
            self.clone().fetch_optional("SELECT sealed FROM sealed_secret WHERE name = $1", args![name]).await?;
        Ok(row.map(|r| r.sealed))
    }

    /// Stores a secret unless one of that name exists (the first writer wins; everyone then
    /// reads the same one).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_sealed_secret(&self, name: &str, sealed: Vec<u8>) -> StoreResult<()> {
        self.clone()
            .execute(
                "INSERT INTO sealed_secret (name, sealed, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                args![name, sealed, self.clock.now()],
            )
            .await?;
        Ok(())
    }
}

impl Tx {
    /// Stores or replaces a named secret.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn put_sealed_secret(
        &mut self,
        name: &str,
        sealed: Vec<u8>,
        now: time::OffsetDateTime,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO sealed_secret (name, sealed, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at",
            args![name.to_string(), sealed, now],
        )
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_sealed_secret(&mut self, name: &str) -> StoreResult<()> {
        self.execute("DELETE FROM sealed_secret WHERE name = $1", args![name.to_string()]).await?;
        Ok(())
    }

    /// Every sealed value: signing keys and platform keys (context: their key id) and secrets
    /// (context: their name).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn all_sealed(&mut self) -> StoreResult<Vec<SealedItem>> {
        let keys: Vec<KeyBlob> = self.fetch_all("SELECT key_id, sealed_secret FROM signing_key", vec![]).await?;
        let platform: Vec<KeyBlob> = self.fetch_all("SELECT key_id, sealed_secret FROM platform_key", vec![]).await?;
        let secrets: Vec<NamedBlob> = self.fetch_all("SELECT name, sealed FROM sealed_secret", vec![]).await?;
        let mut out: Vec<SealedItem> = keys
            .into_iter()
            .map(|k| SealedItem { kind: "signing_key".into(), id: k.key_id.to_string(), sealed: k.sealed_secret })
            .collect();
        out.extend(platform.into_iter().map(|k| SealedItem {
            kind: "platform_key".into(),
            id: k.key_id.to_string(),
            sealed: k.sealed_secret,
        }));
        out.extend(secrets.into_iter().map(|s| SealedItem { kind: "secret".into(), id: s.name, sealed: s.sealed }));
        Ok(out)
    }

    /// Replaces one sealed value (same row, new blob).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn reseal(&mut self, kind: &str, id: &str, sealed: Vec<u8>) -> StoreResult<()> {
        match kind {
            "signing_key" => {
                let id: Uuid = id.parse().map_err(|_| super::StoreError::Corrupt(format!("key id {id}")))?;
                self.execute("UPDATE signing_key SET sealed_secret = $2 WHERE key_id = $1", args![id, sealed]).await?
            }
            "platform_key" => {
                let id: Uuid = id.parse().map_err(|_| super::StoreError::Corrupt(format!("key id {id}")))?;
                self.execute("UPDATE platform_key SET sealed_secret = $2 WHERE key_id = $1", args![id, sealed]).await?
            }
            _ => self.execute("UPDATE sealed_secret SET sealed = $2 WHERE name = $1", args![id, sealed]).await?,
        };
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct KeyBlob {
    key_id: Uuid,
    sealed_secret: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct NamedBlob {
    name: String,
    sealed: Vec<u8>,
}
