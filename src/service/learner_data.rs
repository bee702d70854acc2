//! A learner's rights under the GDPR (AVG): everything an issuer holds about one identity, as
//! one document (Art. 15 and 20), and its erasure (Art. 17). Issuer admins act for their own
//! issuer; the platform admin for one issuer or all of them.
//!
//! Erasure revokes the credentials ("erased on request", so anyone holding a copy learns it no
//! longer stands), replaces the identity on their rows by a random pseudonym, removes the stored
//! documents (the salts live only there), the name, progress links, line enrolments and the
//! identity in stored award answers. The audit chain holds only digests (of salted documents and
//! of changes without personal data), so it stays intact and still verifies.

use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult};
use crate::domain::access::{Action, Principal, Role};
use crate::domain::audit::NewEvent;
use crate::domain::time::rfc3339;
use crate::store::{Learner, StatusChange};

/// What the platform tells a learner about the processing (Art. 13–15).
const PROCESSING: &str = r#"{
  "purposes": "issuing, showing and verifying the learner's Open Badges credentials and partial certificates, tracking progress along metro lines of the issuing training provider, and telling the learner by e-mail about their credentials (no tracking of opens or clicks; one-click opt-out except for news about a credential's status)",
  "legal_basis": "the training agreement between the learner (or their employer) and the training provider",
  "recipients": "the issuing training provider's staff; anyone the learner shares a badge link with; employers and other verifiers who check a credential; partner training providers see only whether a station of their line is done",
  "retention": "credentials and their audit trail for as long as the credential is valid and the issuer's accreditation requires (the trail keeps only digests); progress links until revoked; sent e-mail as a record without its content; everything personal is removed on erasure",
  "rights": "access, portability, rectification and erasure through the issuer's administrator; complaints to the Autoriteit Persoonsgegevens"
}"#;

/// The issuers a request about one learner covers.
pub(super) struct LearnerScope {
    pub issuers: Vec<Uuid>,
    /// Every issuer that holds anything about the learner is covered.
    pub everywhere: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Erasure {
    pub issuers: usize,
    pub credentials: u64,
    pub progress_links: u64,
    pub metro_lines: u64,
}

/// A learner's data export (GDPR Art. 15 and 20): every record the issuers in scope hold about
/// one identity. Signed credentials stay JSON-LD documents (`Value` is their honest type).
#[derive(Debug, Clone, Serialize)]
pub struct LearnerExport {
    pub subject: ExportSubject,
    pub exported: String,
    pub issuers: Vec<Uuid>,
    pub credentials: Vec<ExportCredential>,
    pub progress_links: Vec<ExportLink>,
    pub metro_lines: Vec<ExportEnrolment>,
    pub messages: Vec<ExportMessage>,
    pub mail_subscriptions: Vec<ExportSubscription>,
    pub impact_reviews: Vec<ExportReview>,
    pub wallet_credentials: Vec<ExportWalletCopy>,
    pub learner_addresses: Vec<String>,
    pub audit_events: Vec<ExportAuditEvent>,
    /// What the platform tells the learner about the processing (fixed text).
    pub processing: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportSubject {
    pub identity_type: String,
    pub identity: String,
}

/// What a stored credential is, in words a learner reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CredentialKind {
    #[serde(rename = "badge")]
    Badge,
    #[serde(rename = "partial certificate")]
    PartialCertificate,
    #[serde(rename = "endorsement")]
    Endorsement,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportCredential {
    pub id: String,
    pub issuer: Uuid,
    pub kind: CredentialKind,
    pub recipient_name: Option<String>,
    pub issued: String,
    pub revoked: Option<String>,
    pub revocation_reason: Option<String>,
    pub suspended: Option<String>,
    pub credential: Value,
    pub vc_jwt: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportLink {
    pub issuer: Uuid,
    pub generation: i64,
    pub created: String,
    pub revoked: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportEnrolment {
    pub metro_line: Uuid,
    pub version: i64,
    pub started: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportMessage {
    pub issuer: Uuid,
    pub kind: String,
    pub address: String,
    pub state: String,
    pub created: String,
    pub sent: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportSubscription {
    pub issuer: Uuid,
    pub opted_out: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportManager {
    pub name: Option<String>,
    pub email: String,
    pub company: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportReview {
    pub issuer: Uuid,
    pub credential: String,
    pub manager: ExportManager,
    pub state: String,
    pub due: String,
    pub invited: Option<String>,
    pub reminded: Option<String>,
    pub answer: Option<String>,
    pub example: Option<String>,
    pub follow_up: Option<String>,
    pub answered: Option<String>,
    pub seen_by_learner: Option<String>,
    pub learner_comment: Option<String>,
    pub endorsement: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportWalletCopy {
    pub id: String,
    pub original: String,
    pub holder: String,
    pub issued: String,
    pub credential: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportAuditEvent {
    pub chain: String,
    pub seq: i64,
    pub at: String,
    pub action: String,
    pub subject: String,
    pub hash: String,
}

/// A stored signed document as JSON; `null` if the row does not hold JSON (it always should:
/// the service wrote it), so one damaged row does not withhold the rest of the export.
fn stored_document(signed: &str) -> Value {
    serde_json::from_str(signed).unwrap_or(Value::Null)
}

impl Service {
    /// The issuers whose data about `learner` the caller may act on (export, erase, revoke a
    /// link): the caller's own issuer, which must have awarded the learner something, or for
    /// the admin the named issuer or every issuer that did. Not found otherwise, alike whether
    /// or not another issuer knows the learner.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id))]
    pub(super) async fn learner_scope(
        &self,
        who: &Principal,
        learner: &Learner,
        issuer: Option<Uuid>,
    ) -> ServiceResult<LearnerScope> {
        let awarded_by = self.store.learner_issuers(learner).await?;
        let issuers = match (who.role, who.issuer_id.or(issuer)) {
            (_, Some(i)) => {
                who.check(i, Action::Manage)?;
                if awarded_by.contains(&i) { vec![i] } else { vec![] }
            }
            (Role::Admin, None) => awarded_by.clone(),
            (_, None) => vec![],
        };
        if issuers.is_empty() {
            return Err(ServiceError::NotFound);
        }
        let everywhere = awarded_by.iter().all(|i| issuers.contains(i));
        Ok(LearnerScope { issuers, everywhere })
    }

    /// Everything the issuers in scope hold about the learner, with what it is used for.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id))]
    pub async fn export_learner(
        &self,
        who: &Principal,
        learner: &Learner,
        issuer: Option<Uuid>,
    ) -> ServiceResult<LearnerExport> {
        let LearnerScope { issuers: scope, everywhere } = self.learner_scope(who, learner, issuer).await?;
        let mut export = LearnerExport {
            subject: ExportSubject { identity_type: learner.identity_type.clone(), identity: learner.identity.clone() },
            exported: rfc3339(self.now()),
            issuers: scope.clone(),
            credentials: vec![],
            progress_links: vec![],
            metro_lines: vec![],
            messages: vec![],
            mail_subscriptions: vec![],
            impact_reviews: vec![],
            wallet_credentials: vec![],
            learner_addresses: vec![],
            audit_events: vec![],
            processing: serde_json::from_str(PROCESSING).expect("the processing text is JSON"),
        };
        for r in self.store.learner_reviews(&learner.identity_type, &learner.identity).await? {
            if scope.contains(&r.issuer_id) {
                export.impact_reviews.push(ExportReview {
                    issuer: r.issuer_id,
                    credential: self.credential_url(r.credential_id),
                    manager: ExportManager { name: r.manager_name, email: r.manager_email, company: r.manager_company },
                    state: r.state,
                    due: rfc3339(r.due_at),
                    invited: r.invited_at.map(rfc3339),
                    reminded: r.reminded_at.map(rfc3339),
                    answer: r.answer,
                    example: r.example,
                    follow_up: r.follow_up,
                    answered: r.answered_at.map(rfc3339),
                    seen_by_learner: r.learner_seen_at.map(rfc3339),
                    learner_comment: r.learner_comment,
                    endorsement: r.endorsement_id.map(|e| self.credential_url(e)),
                });
            }
        }
        // The addresses the learner joined on their own page (one account, several addresses):
        // the learner's own platform data, so only an export that covers every issuer holds it
        // (an issuer must not learn addresses the learner uses with others).
        if learner.identity_type == "emailAddress" && everywhere && who.is_admin() {
            let account = self.store.account_of(&learner.identity).await?;
            export.learner_addresses = self.learner_addresses(&account).await?;
        }
        for c in self.store.wallet_copies(&learner.identity_type, &learner.identity).await? {
            if scope.contains(&c.issuer_id) {
                export.wallet_credentials.push(ExportWalletCopy {
                    id: self.credential_url(c.credential_id),
                    original: self.credential_url(c.original_id),
                    holder: c.holder,
                    issued: rfc3339(c.created_at),
                    credential: stored_document(&c.signed),
                });
            }
        }
        for i in &scope {
            for m in self.store.learner_mails(learner, *i).await? {
                export.messages.push(ExportMessage {
                    issuer: *i,
                    kind: m.kind,
                    address: m.address,
                    state: m.state,
                    created: rfc3339(m.created_at),
                    sent: m.sent_at.map(rfc3339),
                });
            }
            if let Some(r) = self.store.learner_subscription(learner, *i).await? {
                export
                    .mail_subscriptions
                    .push(ExportSubscription { issuer: *i, opted_out: r.opted_out_at.map(rfc3339) });
            }
            for c in self.store.learner_credentials(learner, *i).await? {
                for r in self.store.audit_refs(&c.credential_id.to_string()).await? {
                    export.audit_events.push(ExportAuditEvent {
                        chain: r.chain,
                        seq: r.seq,
                        at: r.occurred_at,
                        action: r.action,
                        subject: r.subject_id,
                        hash: r.hash,
                    });
                }
                let credential = stored_document(&c.signed);
                let kind = if c.metro_line_id.is_some() {
                    CredentialKind::PartialCertificate
                } else if crate::credential::endorsement::is_endorsement(&credential) {
                    CredentialKind::Endorsement
                } else {
                    CredentialKind::Badge
                };
                export.credentials.push(ExportCredential {
                    id: self.credential_url(c.credential_id),
                    issuer: *i,
                    kind,
                    recipient_name: c.recipient_name,
                    issued: rfc3339(c.created_at),
                    revoked: c.revoked_at.map(rfc3339),
                    revocation_reason: c.revocation_reason,
                    suspended: c.suspended_at.map(rfc3339),
                    credential,
                    vc_jwt: c.jwt,
                });
            }
            for l in self.store.learner_links(learner, *i).await? {
                export.progress_links.push(ExportLink {
                    issuer: *i,
                    generation: l.generation,
                    created: rfc3339(l.created_at),
                    revoked: l.revoked_at.map(rfc3339),
                });
            }
            for e in self.store.learner_lines(learner, *i).await? {
                export.metro_lines.push(ExportEnrolment {
                    metro_line: e.metro_line_id,
                    version: e.version,
                    started: rfc3339(e.started_at),
                });
            }
        }
        Ok(export)
    }

    /// Erases the learner from the issuers in scope, in one transaction, audited per issuer.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id))]
    pub async fn erase_learner(
        &self,
        who: &Principal,
        learner: &Learner,
        issuer: Option<Uuid>,
    ) -> ServiceResult<Erasure> {
        let LearnerScope { issuers: scope, everywhere } = self.learner_scope(who, learner, issuer).await?;
        let pseudonym = format!("erased:{}", Uuid::new_v4());
        let now = self.now();
        let mut done = Erasure { issuers: scope.len(), credentials: 0, progress_links: 0, metro_lines: 0 };
        let mut tx = self.store.begin().await?;
        let mut events = Vec::new();
        for i in &scope {
            for c in tx.learner_credentials(learner, *i).await? {
                if c.revoked_at.is_none() {
                    tx.change_status(c.credential_id, StatusChange::Revoke, Some("erased on request"), None, now)
                        .await?;
                    events.push(NewEvent::new(
                        &who.actor(),
                        Some(*i),
                        StatusChange::Revoke.action(),
                        c.credential_id,
                        &json!({"reason": "erased on request"}),
                    ));
                }
            }
            done.credentials += tx.erase_credentials(learner, *i, &pseudonym).await?;
            done.progress_links += tx.delete_learner_links(learner, *i).await?;
            done.metro_lines += tx.delete_learner_lines(learner, *i).await?;
            // Messages not yet sent would still carry the learner's links and names.
            tx.delete_learner_mail(learner, *i).await?;
            // The manager's and the learner's words about the learner.
            tx.delete_reviews(*i, &learner.identity_type, &learner.identity).await?;
            // Copies in wallets (with the holder's key) and open wallet offers.
            tx.delete_wallet_data(*i, &learner.identity_type, &learner.identity).await?;
            events.push(NewEvent::new(&who.actor(), Some(*i), "learner.erased", &pseudonym, &json!({})));
        }
        let quoted = serde_json::to_string(&learner.identity).expect("strings serialise");
        tx.scrub_idempotency(&quoted, "\"erased\"").await?;
        if everywhere {
            tx.delete_learner_jobs(learner).await?;
            tx.delete_learner_logins(&learner.identity).await?;
            // Apps the learner let read their badges (OB 3.0 API) lose their tokens.
            tx.delete_oauth_grants(&learner.identity).await?;
            tx.delete_learner_addresses(&learner.identity).await?;
        } else {
            // Other issuers still hold the learner: certificates resting on what was revoked
            // are re-judged.
            tx.enqueue_learners(std::slice::from_ref(learner), "erasure").await?;
        }
        tx.audit(events).await?;
        tx.commit().await?;
        if !everywhere {
            self.stack_after_commit(vec![learner.clone()]).await;
        }
        Ok(done)
    }
}
