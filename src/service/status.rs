//! Revocation, suspension and reinstatement, and the published status lists.

use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult};
use crate::credential::status_list::{self, Purpose};
use crate::credential::{data_integrity, ob3};
use crate::domain::access::{Action, Principal, Role};
use crate::domain::audit::NewEvent;
use crate::domain::award::IdentityType;
use crate::domain::time::rfc3339;
use crate::domain::validate::{Checker, Invalid};
use crate::store::{CredentialState, Learner, StatusChange};

/// Most credentials one bulk request may change.
pub const MAX_BULK: usize = 1000;
/// How long a trainer may revoke a badge they awarded themselves.
const TRAINER_REVOKE_WINDOW: time::Duration = time::Duration::hours(24);

impl StatusChange {
    pub(super) fn action(self) -> &'static str {
        match self {
            StatusChange::Revoke => "credential.revoked",
            StatusChange::Suspend => "credential.suspended",
            StatusChange::Reinstate => "credential.reinstated",
        }
    }

    /// The change as the mail outbox names it.
    pub(super) fn word(self) -> &'static str {
        match self {
            StatusChange::Revoke => "revoke",
            StatusChange::Suspend => "suspend",
            StatusChange::Reinstate => "reinstate",
        }
    }
}

pub(super) fn may_change(
    who: &Principal,
    c: &CredentialState,
    change: StatusChange,
    now: OffsetDateTime,
) -> ServiceResult<()> {
    match who.check(c.issuer_id, Action::Manage) {
        Ok(()) => Ok(()),
        Err(crate::domain::access::Denied::Hidden) => Err(ServiceError::NotFound),
        Err(_) => {
            let own = who.member_id.is_some() && who.member_id == c.member_id
                || c.actor_token.as_ref() == Some(&who.token_id);
            let trainer_may = who.role == Role::Trainer
                && change == StatusChange::Revoke
                && own
                && now - c.created_at <= TRAINER_REVOKE_WINDOW;
            if trainer_may { Ok(()) } else { Err(ServiceError::Forbidden) }
        }
    }
}

/// Where a credential stands, as its issuer's staff and the status API see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CredentialStatus {
    /// The credential's URL.
    pub id: String,
    /// `active`, `suspended` or `revoked`.
    pub status: &'static str,
    pub revoked_at: Option<String>,
    pub revocation_reason: Option<String>,
    pub suspended_at: Option<String>,
    pub suspension_reason: Option<String>,
}

impl Service {
    /// Changes the status of every credential in `ids`, all or nothing, each with an audit
    /// event carrying the reason's digest. Returns the new states.
    #[tracing::instrument(skip_all, fields(credentials = ids.len(), change = ?change, actor = %who.token_id))]
    pub async fn change_status(
        &self,
        who: &Principal,
        ids: &[Uuid],
        change: StatusChange,
        reason: Option<String>,
    ) -> ServiceResult<Vec<CredentialStatus>> {
        let mut c = Checker::default();
        if ids.is_empty() || ids.len() > MAX_BULK {
            c.fail("ids", crate::problem!("bulk-size", "must list 1 to {max} credentials", max = MAX_BULK));
        }
        let reason = match (&reason, change) {
            (None, StatusChange::Revoke | StatusChange::Suspend) => {
                c.fail("reason", crate::problem!("required", "is required"));
                None
            }
            (r, _) => c.opt_text("reason", r, 1000),
        };
        c.finish()?;
        let now = self.now();
        let mut states = Vec::with_capacity(ids.len());
        let mut errors = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            // A wallet copy shares its original's status: changing one changes the other.
            let id = &self.wallet_original(*id).await?.unwrap_or(*id);
            match self.store.credential_state(*id).await? {
                Some(state) => {
                    may_change(who, &state, change, now)?;
                    states.push(state);
                }
                None => errors.push(crate::domain::validate::FieldError::new(
                    format!("ids[{i}]"),
                    crate::problem!("unknown-credential", "{id} is not a credential", id = id),
                )),
            }
        }
        if !errors.is_empty() {
            return Err(if ids.len() == 1 { ServiceError::NotFound } else { Invalid(errors).into() });
        }
        let mail = self.status_mail(&states, change, reason.as_deref()).await?;
        let mail_keys = self.mail_keys().await?;
        let mut tx = self.store.begin().await?;
        let mut events = Vec::with_capacity(states.len());
        for s in &states {
            tx.change_status(s.credential_id, change, reason.as_deref(), None, now).await?;
            events.push(NewEvent::new(
                &who.actor(),
                Some(s.issuer_id),
                change.action(),
                s.credential_id,
                &json!({"reason": reason}),
            ));
            // An endorsement says a badge is applied at work: it falls with the badge.
            if change == StatusChange::Revoke {
                for e in tx.standing_endorsements_of(s.credential_id).await? {
                    let why = "the endorsed badge was revoked";
                    tx.change_status(e, StatusChange::Revoke, Some(why), Some("cascade"), now).await?;
                    events.push(NewEvent::new(
                        &crate::domain::audit::Actor::service(),
                        Some(s.issuer_id),
                        change.action(),
                        e,
                        &json!({"reason": why, "cause": "cascade"}),
                    ));
                }
            }
        }
        tx.audit(events).await?;
        // Certificates resting on these credentials are re-judged (cascade), durably queued.
        let mut learners: Vec<Learner> = states
            .iter()
            .map(|s| Learner { identity_type: s.identity_type.clone(), identity: s.identity.clone() })
            .collect();
        learners.sort();
        learners.dedup();
        tx.enqueue_learners(&learners, change.action()).await?;
        self.queue_mail(&mut tx, &mail_keys, mail).await?;
        tx.commit().await?;
        self.wake_mail();
        self.stack_after_commit(learners).await;
        let mut out = Vec::with_capacity(states.len());
        for s in &states {
            out.push(self.credential_status(s.credential_id).await?);
        }
        Ok(out)
    }

    /// What each learner with an e-mail address hears about a change of their credentials'
    /// status, with the reason (they cannot opt out of this).
    async fn status_mail(
        &self,
        states: &[CredentialState],
        change: StatusChange,
        reason: Option<&str>,
    ) -> ServiceResult<Vec<super::mail::Outgoing>> {
        let mut specs = std::collections::HashMap::new();
        let mut out = Vec::new();
        for s in states.iter().filter(|s| s.identity_type == IdentityType::EmailAddress.as_str()) {
            let Some(row) = self.store.credential(s.credential_id).await? else { continue };
            let vc: Value = serde_json::from_str(&row.signed).unwrap_or_default();
            let spec = match specs.entry(s.issuer_id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(self.issuer_spec(s.issuer_id).await?),
            };
            out.push(super::mail::Outgoing {
                issuer: Some(s.issuer_id),
                to: s.identity.clone(),
                to_name: row.recipient_name.clone(),
                lang: spec.lang(),
                learner: Some(Learner { identity_type: s.identity_type.clone(), identity: s.identity.clone() }),
                subject_id: Some(s.credential_id.to_string()),
                from_name: Some(spec.name().to_string()),
                reply_to: spec.email.clone(),
                notice: super::mail::compose::Notice::StatusChanged {
                    credential: self.credential_url(s.credential_id),
                    name: ob3::display_name(&vc).to_string(),
                    issuer: spec.name().to_string(),
                    change: change.word().into(),
                    reason: reason.map(str::to_string),
                },
            });
        }
        Ok(out)
    }

    /// A credential's status as its issuer's staff may read it.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn credential_status_for(&self, who: &Principal, id: Uuid) -> ServiceResult<CredentialStatus> {
        let id = self.wallet_original(id).await?.unwrap_or(id);
        let s = self.store.credential_state(id).await?.ok_or(ServiceError::NotFound)?;
        who.check(s.issuer_id, Action::Read)?;
        self.credential_status(id).await
    }

    #[tracing::instrument(skip_all, fields(id = %id))]
    pub(crate) async fn credential_status(&self, id: Uuid) -> ServiceResult<CredentialStatus> {
        let s = self.store.credential_state(id).await?.ok_or(ServiceError::NotFound)?;
        let status = match (&s.revoked_at, &s.suspended_at) {
            (Some(_), _) => "revoked",
            (None, Some(_)) => "suspended",
            (None, None) => "active",
        };
        Ok(CredentialStatus {
            id: self.credential_url(id),
            status,
            revoked_at: s.revoked_at.map(rfc3339),
            revocation_reason: s.revocation_reason,
            suspended_at: s.suspended_at.map(rfc3339),
            suspension_reason: s.suspension_reason,
        })
    }

    /// The signed `BitstringStatusListCredential` of a list, re-signed only when its bits
    /// changed since the last signature.
    #[tracing::instrument(skip_all, fields(list = %list))]
    pub async fn status_list_document(&self, list: Uuid, purpose: Purpose) -> ServiceResult<String> {
        let row = self.store.status_list(list).await?.ok_or(ServiceError::NotFound)?;
        let set = self.store.set_indices(list, purpose == Purpose::Suspension).await?;
        let encoded = status_list::encode(row.size as usize, set.into_iter().map(|i| i as usize));
        if let Some(cached) = self.store.signed_list(list, purpose.as_str()).await?
            && cached.encoded_list == encoded
        {
            return Ok(cached.signed);
        }
        let issuer = ob3::issuer_url(&self.base_url, row.issuer_id);
        let url = match purpose {
            Purpose::Revocation => self.status_list_url(list),
            Purpose::Suspension => format!("{}/suspension", self.status_list_url(list)),
        };
        let now = rfc3339(crate::domain::time::whole_seconds(self.now()));
        let doc = status_list::credential(&url, &issuer, purpose, &encoded, &now);
        let (_, key) = self.active_signing_key(row.issuer_id).await?;
        let vm = ob3::verification_method(&issuer, &ob3::PublicKey::Ed25519(key.verifying_key().to_bytes()));
        let signed = tokio::task::spawn_blocking(move || data_integrity::sign(&doc, &key, &vm, &now))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let text = serde_json::to_string(&signed).expect("JSON serialises");
        self.store.save_signed_list(list, purpose.as_str(), &encoded, &text).await?;
        Ok(text)
    }

    /// `1EdTechRevocationList` for verifiers that only know that method.
    #[tracing::instrument(skip_all, fields(issuer = %issuer))]
    pub async fn revocation_list(&self, issuer: Uuid) -> ServiceResult<Value> {
        self.issuer_spec(issuer).await?;
        let revoked: Vec<Value> = self
            .store
            .revoked(issuer)
            .await?
            .into_iter()
            .map(|c| json!({"id": self.credential_url(c.credential_id), "revoked": true, "revocationReason": c.revocation_reason}))
            .collect();
        Ok(json!({
            "id": format!("{}/issuers/{issuer}/revocations", self.base_url),
            "type": "1EdTechRevocationList",
            "issuer": ob3::issuer_url(&self.base_url, issuer),
            "revokedCredential": revoked,
        }))
    }
}

/// How old an unused status index reservation must be before it is returned: far longer than
/// any award takes between reserving and storing.
pub const RESERVATION_GRACE: time::Duration = time::Duration::hours(1);

impl Service {
    /// Returns status indices that awards reserved in `[from, before)` and never used (they
    /// crashed before storing); the worker calls it with consecutive windows.
    #[tracing::instrument(skip_all)]
    pub async fn reclaim_status_indices(&self, from: i64, before: i64) -> ServiceResult<u64> {
        let mut tx = self.store.begin().await?;
        let n = tx.reclaim_status_indices(from, before).await?;
        tx.commit().await?;
        if n > 0 {
            tracing::info!(indices = n, "returned status indices left by interrupted awards");
        }
        Ok(n)
    }
}
