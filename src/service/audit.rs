//! Reading the audit chain: admins see every event, an issuer's auditors and admins its own.

use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult};
use crate::domain::access::{Action, Principal, Role};
use crate::domain::audit::{Checkpoint, Event, NewEvent};
use crate::store::ChainReport;

/// Whose events a caller reads: everything (`None`) or one issuer's.
pub type AuditScope = Option<Uuid>;

impl Service {
    /// Checks that `who` may read the audit events of `issuer` (or of everyone when `None`).
    pub fn audit_scope(&self, who: &Principal, issuer: Option<Uuid>) -> ServiceResult<AuditScope> {
        if who.role == Role::Trainer {
            return Err(ServiceError::Forbidden);
        }
        match (who.is_admin(), issuer, who.issuer_id) {
            (true, i, _) => Ok(i),
            (false, Some(i), _) => {
                who.check(i, Action::Read)?;
                Ok(Some(i))
            }
            (false, None, own) => Ok(own),
        }
    }

    /// A page of events after sequence number `after`, oldest first.
    pub async fn audit_events(&self, scope: AuditScope, after: i64, limit: i64) -> ServiceResult<Vec<Event>> {
        Ok(match scope {
            Some(i) => self.store.audit_page_of(&i.to_string(), after, limit).await?,
            None => self.store.audit_page(after, limit).await?,
        })
    }

    /// Recomputes the chain (it is one chain for the whole platform).
    pub async fn audit_verify(&self, who: &Principal) -> ServiceResult<ChainReport> {
        self.audit_scope(who, None)?;
        Ok(self.store.audit_verify().await?)
    }
}

impl Service {
    /// The platform's checkpoint key (generated and sealed on first use).
    async fn platform_key(&self) -> ServiceResult<(Uuid, ed25519_dalek::SigningKey)> {
        let master = self.master_key.clone();
        let row = self
            .store
            .platform_key(|id| {
                let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
                (key.verifying_key().to_bytes().to_vec(), master.seal(&key.to_bytes(), id.as_bytes()))
            })
            .await?;
        let seed = self.master_key.open(&row.sealed_secret, row.key_id.as_bytes())?;
        let seed: [u8; 32] = seed.as_slice().try_into().map_err(|_| crate::master_key::MasterKeyError::Open)?;
        Ok((row.key_id, ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// The public checkpoint key as a Multikey value.
    pub async fn audit_public_key(&self) -> ServiceResult<String> {
        let (_, key) = self.platform_key().await?;
        Ok(crate::credential::multikey::encode(&key.verifying_key().to_bytes()))
    }

    /// Signs the current chain head and records the checkpoint as a chain event itself.
    /// `who` is `None` for the service's own periodic checkpoints.
    pub async fn create_checkpoint(&self, who: Option<&Principal>) -> ServiceResult<Option<Checkpoint>> {
        if let Some(p) = who {
            p.check_admin()?;
        }
        let (key_id, key) = self.platform_key().await?;
        let actor = who
            .map(|p| p.actor())
            .unwrap_or_else(|| crate::domain::audit::Actor { token: "service".into(), role: "system".into() });
        let mut tx = self.store.begin().await?;
        let Some((seq, hash)) = tx.audit_head().await? else { return Ok(None) };
        let time = crate::domain::time::rfc3339(crate::store::now());
        let message = Checkpoint::message(seq, &hash, &time);
        use ed25519_dalek::Signer;
        let signature = format!("z{}", bs58::encode(key.sign(message.as_bytes()).to_bytes()).into_string());
        if !tx.insert_checkpoint(seq, &hash, &time, key_id, &signature).await? {
            return Ok(None);
        }
        let mut event = NewEvent::new(&actor, None, "audit.checkpoint", seq, &serde_json::json!({}));
        event.change_digest = crate::domain::audit::sha256_hex(message.as_bytes());
        tx.audit(vec![event]).await?;
        tx.commit().await?;
        let public_key = crate::credential::multikey::encode(&key.verifying_key().to_bytes());
        Ok(Some(Checkpoint { seq, hash, time, signature, public_key }))
    }

    pub async fn checkpoints(&self) -> ServiceResult<Vec<Checkpoint>> {
        Ok(self
            .store
            .checkpoints()
            .await?
            .into_iter()
            .filter_map(|c| {
                let public: [u8; 32] = c.public_key.as_slice().try_into().ok()?;
                Some(Checkpoint {
                    seq: c.seq,
                    hash: c.hash,
                    time: c.signed_at,
                    signature: c.signature,
                    public_key: crate::credential::multikey::encode(&public),
                })
            })
            .collect())
    }
}
