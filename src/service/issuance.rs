//! The one way the service signs credentials in a batch: each holder's document is built with
//! its status list slot, all are signed together on the blocking pool (split over the cores),
//! and each becomes the row the store keeps. Nanomodule badges and partial certificates differ
//! only in how their document is built (their achievement and evidence); endorsements, CLRs
//! and wallet copies are signed one at a time through [`sign_one`].

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::key::IssuerSigning;
use super::{Service, ServiceError, ServiceResult};
use crate::credential::badge::StatusEntry;
use crate::credential::issue::{Issued, sign_batch};
use crate::domain::time::rfc3339;
use crate::store::{Learner, NewCredential};

/// Whom one credential of a batch is for, and the id it is issued under.
pub(super) struct Holder {
    pub id: Uuid,
    pub learner: Learner,
    pub name: Option<String>,
}

/// One document to build: the holder's index in the batch, the credential's URL, its status
/// entry and a fresh salt for the identity hash.
pub(super) struct Slot<'a> {
    pub index: usize,
    pub url: &'a str,
    pub status: &'a StatusEntry,
    pub salt: &'a str,
}

impl Service {
    /// Builds (`build`), signs and shapes for storage one credential per holder, holder `i` in
    /// status slot `slots[i]`, valid from `valid_from` (whole seconds) until `valid_until`.
    #[tracing::instrument(skip_all, fields(credentials = holders.len()))]
    pub(super) async fn issue_batch(
        &self,
        holders: Vec<Holder>,
        slots: &[(Uuid, i64)],
        signing: IssuerSigning,
        (valid_from, valid_until): (OffsetDateTime, Option<OffsetDateTime>),
        build: impl Fn(Slot<'_>) -> Value,
    ) -> ServiceResult<Vec<NewCredential>> {
        if holders.len() != slots.len() {
            return Err(ServiceError::Internal("a status slot for every credential".into()));
        }
        let docs: Vec<Value> = holders
            .iter()
            .zip(slots)
            .enumerate()
            .map(|(index, (h, (list, i)))| {
                let status = StatusEntry { list_url: self.status_list_url(*list), index: *i as u32 };
                let url = self.credential_url(h.id);
                build(Slot { index, url: &url, status: &status, salt: &fresh_salt() })
            })
            .collect();
        let signed = sign_parallel(docs, signing, rfc3339(valid_from)).await?;
        Ok(holders
            .into_iter()
            .zip(slots)
            .zip(signed)
            .map(|((h, slot), signed)| {
                stored_credential(h.id, h.learner, h.name, *slot, signed, valid_from, valid_until)
            })
            .collect())
    }
}

/// Salt for a recipient's identity hash: 16 random bytes, hex.
pub(super) fn fresh_salt() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Signs one credential on the blocking pool with the issuer's keys, at `created` (CLRs,
/// endorsements and wallet copies are signed one at a time).
#[tracing::instrument(skip_all)]
pub(super) async fn sign_one(doc: Value, signing: IssuerSigning, created: String) -> ServiceResult<Issued> {
    sign_parallel(vec![doc], signing, created)
        .await?
        .pop()
        .ok_or_else(|| ServiceError::Internal("nothing signed".into()))
}

/// Signs on the blocking pool, split over the cores, so the async workers stay responsive.
#[tracing::instrument(skip_all)]
async fn sign_parallel(docs: Vec<Value>, signing: IssuerSigning, created: String) -> ServiceResult<Vec<Issued>> {
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8);
    let chunk = docs.len().div_ceil(workers).max(1);
    let mut tasks = Vec::new();
    let mut docs = docs.into_iter().peekable();
    while docs.peek().is_some() {
        let part: Vec<Value> = docs.by_ref().take(chunk).collect();
        let (s, created) = (signing.clone(), created.clone());
        tasks.push(tokio::task::spawn_blocking(move || {
            sign_batch(&part, &s.key, &s.verification_method, &created, &s.jwt)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        let part = t
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        out.extend(part);
    }
    Ok(out)
}

/// A signed credential as the store keeps it: its holder, status list slot and dates.
pub(super) fn stored_credential(
    id: Uuid,
    who: Learner,
    recipient_name: Option<String>,
    (status_list_id, status_index): (Uuid, i64),
    signed: Issued,
    valid_from: OffsetDateTime,
    valid_until: Option<OffsetDateTime>,
) -> NewCredential {
    NewCredential {
        credential_id: id,
        identity_type: who.identity_type,
        identity: who.identity,
        recipient_name,
        status_list_id,
        status_index,
        signed: signed.signed,
        jwt: signed.jwt,
        sha256: signed.sha256,
        valid_from,
        valid_until,
    }
}
