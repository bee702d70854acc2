//! Partnerships: an issuer's metro lines may hold another issuer's nanomodules as stations only
//! with that issuer's consent. Issuer A asks, B's issuer_admin accepts or declines, either side
//! ends it. Each step is audited in both issuers' trails.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult};
use crate::domain::access::{Action, Principal};
use crate::domain::audit::NewEvent;
use crate::domain::validate::Invalid;
use crate::store::{PartnershipRow, StoreError};

#[derive(Debug, Clone, Serialize)]
pub struct PartnershipView {
    pub id: Uuid,
    /// The issuer that asked: its lines may use the partner's modules.
    pub issuer: Uuid,
    pub issuer_name: Option<String>,
    /// The issuer whose modules are shared.
    pub partner: Uuid,
    pub partner_name: Option<String>,
    /// `requested`, `accepted`, `declined` or `ended`.
    pub state: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A step in a partnership's life (its name is the last segment of the step's URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnershipStep {
    Accept,
    Decline,
    End,
}

impl Service {
    async fn partnership_view(&self, row: PartnershipRow) -> ServiceResult<PartnershipView> {
        Ok(PartnershipView {
            id: row.partnership_id,
            issuer: row.issuer_id,
            issuer_name: self.issuer_spec(row.issuer_id).await.ok().and_then(|s| s.name),
            partner: row.partner_id,
            partner_name: self.issuer_spec(row.partner_id).await.ok().and_then(|s| s.name),
            state: row.state,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// Issuer `issuer` asks `partner` for consent to use its modules as stations.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer, partner = %partner))]
    pub async fn request_partnership(
        &self,
        who: &Principal,
        issuer: Uuid,
        partner: Uuid,
    ) -> ServiceResult<PartnershipView> {
        who.check(issuer, Action::Manage)?;
        self.issuer_spec(issuer).await?;
        if partner == issuer {
            return Err(Invalid::one(
                "partner",
                crate::problem!("partner-self", "an issuer needs no partnership with itself"),
            )
            .into());
        }
        if self.store.issuer(partner).await?.is_none() {
            return Err(Invalid::one(
                "partner",
                crate::problem!("unknown-issuer", "{partner} is not an issuer on this service", partner = partner),
            )
            .into());
        }
        let now = self.now();
        let row = PartnershipRow {
            partnership_id: Uuid::now_v7(),
            issuer_id: issuer,
            partner_id: partner,
            state: "requested".into(),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_partnership(&row).await?;
        tx.audit(self.partnership_events(who, &row, "partnership.requested")).await?;
        match tx.commit().await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(ServiceError::Conflict(crate::problem!(
                    "partnership-exists",
                    "a partnership with this issuer is already requested or accepted"
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.partnership_view(row).await
    }

    /// One event in each issuer's trail (each side's auditors see the step).
    fn partnership_events(&self, who: &Principal, row: &PartnershipRow, action: &'static str) -> Vec<NewEvent> {
        let change = serde_json::json!({"issuer": row.issuer_id, "partner": row.partner_id, "state": row.state});
        [row.issuer_id, row.partner_id]
            .into_iter()
            .map(|i| NewEvent::new(&who.actor(), Some(i), action, row.partnership_id, &change))
            .collect()
    }

    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn partnerships(&self, who: &Principal, issuer: Uuid) -> ServiceResult<Vec<PartnershipView>> {
        who.check(issuer, Action::Read)?;
        self.issuer_spec(issuer).await?;
        let mut out = Vec::new();
        for row in self.store.partnerships_of(issuer).await? {
            out.push(self.partnership_view(row).await?);
        }
        Ok(out)
    }

    /// Accept or decline (the partner's issuer_admin), or end (either side's issuer_admin).
    /// Ending stops new certificates that rely on the partner's badges; certificates already
    /// issued stay valid.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn partnership_step(
        &self,
        who: &Principal,
        id: Uuid,
        step: PartnershipStep,
    ) -> ServiceResult<PartnershipView> {
        let mut row = self.store.partnership(id).await?.ok_or(ServiceError::NotFound)?;
        // Either side may see it; anyone else is told it does not exist.
        if who.check(row.issuer_id, Action::Read).is_err() && who.check(row.partner_id, Action::Read).is_err() {
            return Err(ServiceError::NotFound);
        }
        let (from, to, action): (&[&str], &str, &'static str) = match step {
            PartnershipStep::Accept => (&["requested"], "accepted", "partnership.accepted"),
            PartnershipStep::Decline => (&["requested"], "declined", "partnership.declined"),
            PartnershipStep::End => (&["requested", "accepted"], "ended", "partnership.ended"),
        };
        match step {
            PartnershipStep::Accept | PartnershipStep::Decline => who.check(row.partner_id, Action::Manage)?,
            PartnershipStep::End => {
                if who.check(row.issuer_id, Action::Manage).is_err() {
                    who.check(row.partner_id, Action::Manage)?;
                }
            }
        }
        if !from.contains(&row.state.as_str()) {
            return Err(ServiceError::Conflict(crate::problem!(
                "partnership-state",
                "the partnership is {state}",
                state = row.state
            )));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if !tx.set_partnership_state(id, &row.state, to, now).await? {
            return Err(ServiceError::Conflict(crate::problem!(
                "changed-concurrently",
                "the partnership changed concurrently"
            )));
        }
        row.state = to.into();
        row.updated_at = now;
        tx.audit(self.partnership_events(who, &row, action)).await?;
        tx.commit().await?;
        self.partnership_view(row).await
    }
}
