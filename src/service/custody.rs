//! Custody of what is sealed under the master key: rotating the master key.

use serde::Serialize;

use super::{Service, ServiceError, ServiceResult};
use crate::domain::audit::{Actor, NewEvent};
use crate::domain::validate::Invalid;
use crate::master_key::MasterKey;

/// What a master key rotation re-sealed.
#[derive(Debug, Clone, Serialize)]
pub struct Rotation {
    pub signing_keys: usize,
    pub platform_keys: usize,
    pub secrets: usize,
}

impl Service {
    /// Re-seals every signing key, the platform key and every stored secret under `new`, in one
    /// transaction with its audit event: afterwards only `new` opens them, and the old key file
    /// can be destroyed. Secrets still derived from the master key are stored first, so that
    /// nothing derived from the old key (progress links) changes.
    #[tracing::instrument(skip_all)]
    pub async fn rotate_master_key(&self, actor: &Actor, new: &MasterKey) -> ServiceResult<Rotation> {
        if self.master_key.same_as(new) {
            return Err(Invalid::one("new", crate::problem!("key-in-use", "is the master key in use now")).into());
        }
        // Secrets still derived from the master key are stored (sealed) first: what the old key
        // derived then stays derivable.
        self.link_keys().await?;
        let mut tx = self.store.begin().await?;
        let items = tx.all_sealed().await?;
        let mut done = Rotation { signing_keys: 0, platform_keys: 0, secrets: 0 };
        for item in items {
            let context: Vec<u8> = match item.kind.as_str() {
                "secret" => format!("secret:{}", item.id).into_bytes(),
                _ => item
                    .id
                    .parse::<uuid::Uuid>()
                    .map_err(|_| ServiceError::Internal(format!("{} {} has no key id", item.kind, item.id)))?
                    .as_bytes()
                    .to_vec(),
            };
            let opened = self.master_key.open(&item.sealed, &context).map_err(|_| {
                ServiceError::Internal(format!("the current master key does not open {} {}", item.kind, item.id))
            })?;
            tx.reseal(&item.kind, &item.id, new.seal(&opened, &context)).await?;
            match item.kind.as_str() {
                "signing_key" => done.signing_keys += 1,
                "platform_key" => done.platform_keys += 1,
                _ => done.secrets += 1,
            }
        }
        let change = serde_json::to_value(&done).expect("counts serialise");
        tx.audit(vec![NewEvent::new(actor, None, "master_key.rotated", "master-key", &change)]).await?;
        tx.commit().await?;
        Ok(done)
    }
}

impl Service {
    /// Recomputes every audit chain and checks the signed checkpoints against them (after a
    /// restore, before anyone relies on the data).
    #[tracing::instrument(skip_all)]
    pub async fn integrity(&self) -> ServiceResult<super::audit::AuditReport> {
        self.audit_check(None).await
    }
}
