//! A learner's record of a metro line as a signed CLR 2.0 `ClrCredential`, for staff (only
//! what their issuer signed: no partner badge travels without the learner) and for the learner
//! themselves (partner badges included). Made on request, signed by the line's issuer, not
//! stored; each one is in the audit trail with its digest.

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult, decode_spec};
use crate::credential::{clr, ob3};
use crate::domain::access::{Action, Principal};
use crate::domain::audit::{Actor, NewEvent};
use crate::domain::metro_line::MetroLineSpec;
use crate::domain::stacking::Standing;
use crate::store::{Learner, MetroLineRow};

impl Service {
    /// Staff: the record of line `id` for a learner, with only the line's issuer's credentials.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn metro_line_clr(
        &self,
        who: &Principal,
        id: Uuid,
        identity_type: &str,
        identity: &str,
    ) -> ServiceResult<Value> {
        let row = self.store.metro_line(id, None).await?.ok_or(ServiceError::NotFound)?;
        who.check(row.issuer_id, Action::Read)?;
        let learner = self.learner(identity_type, identity, "")?;
        let issuer = row.issuer_id;
        self.line_record(row, &learner, Some(issuer), &who.actor()).await
    }

    /// The signed-in learner's own record of line `id`, from whichever of their addresses
    /// holds its badges: with every issuer's badges, or (`partners` false, the learner's
    /// choice) only the line issuer's.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn my_line_clr(&self, account: &str, id: Uuid, partners: bool) -> ServiceResult<Value> {
        let row = self.store.metro_line(id, None).await?.ok_or(ServiceError::NotFound)?;
        let only = (!partners).then_some(row.issuer_id);
        for address in self.learner_addresses(account).await? {
            let learner = Learner { identity_type: "emailAddress".into(), identity: address };
            match self.line_record(row.clone(), &learner, only, &Self::learner_actor()).await {
                Err(ServiceError::NotFound) => continue,
                other => return other,
            }
        }
        Err(ServiceError::NotFound)
    }

    async fn line_record(
        &self,
        row: MetroLineRow,
        learner: &Learner,
        only: Option<Uuid>,
        actor: &Actor,
    ) -> ServiceResult<Value> {
        let spec: MetroLineSpec = decode_spec(&row.spec)?;
        let facts = self.learner_facts(learner).await?;
        let counts = |issuer: Uuid| only.is_none_or(|i| i == issuer);
        let parse = |signed: String| -> ServiceResult<Value> {
            serde_json::from_str(&signed).map_err(|e| ServiceError::Internal(e.to_string()))
        };
        let mut badges = Vec::new();
        for station in &spec.stations {
            let held = facts.held.iter().filter(|h| h.nanomodule == *station && h.standing == Standing::Valid);
            for h in held.filter(|h| counts(h.issuer)) {
                badges.push(parse(self.live_credential(h.credential).await?.signed)?);
            }
        }
        let certificate = facts.certs.iter().rev().find(|c| {
            c.metro_line_id == row.metro_line_id
                && c.revoked_at.is_none()
                && c.suspended_at.is_none()
                && counts(c.issuer_id)
        });
        let certificate = match certificate {
            Some(c) => Some(parse(self.live_credential(c.credential_id).await?.signed)?),
            None => None,
        };
        if badges.is_empty() && certificate.is_none() {
            return Err(ServiceError::NotFound);
        }
        let issuer_url = ob3::issuer_url(&self.base_url, row.issuer_id);
        let name = spec.name.clone().unwrap_or_default();
        let now = crate::domain::time::whole_seconds(self.now());
        let created = crate::domain::time::rfc3339(now);
        let id = format!("urn:uuid:{}", Uuid::new_v4());
        let salt = super::issuance::fresh_salt();
        let doc = clr::build(clr::ClrInput {
            id: &id,
            name: &name,
            description: &format!(
                "The badges and certificate of the metro line \"{name}\" (part of a learner's record)."
            ),
            issuer: ob3::profile(&issuer_url, &self.issuer_spec(row.issuer_id).await?),
            valid_from: &created,
            identity: &learner.identity,
            identity_type: &learner.identity_type,
            salt: &salt,
            badges,
            certificate,
            ordered: spec.rule.as_ref().is_some_and(|r| r.asks_order()),
        });
        let signed = super::issuance::sign_one(doc, self.issuer_signing(row.issuer_id).await?, created).await?;
        let mut tx = self.store.begin().await?;
        tx.audit(vec![NewEvent::new(
            actor,
            Some(row.issuer_id),
            "clr.issued",
            row.metro_line_id,
            &json!({"id": id, "sha256": signed.sha256}),
        )])
        .await?;
        tx.commit().await?;
        serde_json::from_str(&signed.signed).map_err(|e| ServiceError::Internal(e.to_string()))
    }
}
