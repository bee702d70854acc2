//! Reading the audit chain: admins see every event, an issuer's auditors and admins its own.

use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult};
use crate::domain::access::{Action, Principal, Role};
use crate::domain::audit::Event;
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
