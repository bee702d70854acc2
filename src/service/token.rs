//! API tokens an admin manages: created with a role and an optional expiry, listed without
//! their secrets, revoked by id. (Members' own tokens come with the member; see `member`.)

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult};
use crate::domain::access::{Action, Principal, Role};
use crate::domain::audit::NewEvent;
use crate::domain::validate::{Checker, Invalid, SHORT};
use crate::store::TokenInfo;

/// A request for a token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub role: Role,
    /// The issuer an issuer role belongs to (an issuer admin's own by default).
    pub issuer: Option<Uuid>,
    pub label: String,
    /// When the token stops working; none = until revoked.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// A token as listed. `token` (the secret) only in the answer that created it.
#[derive(Debug, Clone, Serialize)]
pub struct TokenView {
    pub id: Uuid,
    pub role: String,
    pub issuer: Option<Uuid>,
    pub member: Option<Uuid>,
    pub label: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// `active`, `expired` or `revoked`.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl TokenView {
    /// The token as listed at `now` (which decides `expired`).
    fn at(t: TokenInfo, now: OffsetDateTime) -> Self {
        let state = if t.revoked_at.is_some() {
            "revoked"
        } else if t.expires_at.is_some_and(|e| e <= now) {
            "expired"
        } else {
            "active"
        };
        TokenView {
            id: t.token_id,
            role: t.role,
            issuer: t.issuer_id,
            member: t.member_id,
            label: t.label,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            state,
            token: None,
        }
    }
}

impl Service {
    /// Admins mint any token; an issuer admin mints tokens of its own issuer's roles.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id))]
    pub async fn create_api_token(&self, who: &Principal, req: NewToken) -> ServiceResult<TokenView> {
        let issuer = match req.role {
            Role::Admin => {
                who.check_admin()?;
                if req.issuer.is_some() {
                    return Err(Invalid::one("issuer", super::admin_token_has_no_issuer()).into());
                }
                None
            }
            _ => {
                let issuer = req.issuer.or(who.issuer_id).ok_or_else(|| {
                    Invalid::one(
                        "issuer",
                        crate::problem!("token-needs-an-issuer", "a {role} token needs an issuer", role = req.role),
                    )
                })?;
                who.check(issuer, Action::Manage)?;
                self.issuer_spec(issuer).await?;
                Some(issuer)
            }
        };
        let mut c = Checker::default();
        let label = c.text("label", &req.label, SHORT);
        if req.expires_at.is_some_and(|e| e <= self.now()) {
            c.fail("expires_at", crate::problem!("not-in-the-future", "must be in the future"));
        }
        c.finish()?;
        let mut tx = self.store.begin().await?;
        let (id, secret) =
            self.insert_token(&mut tx, &who.actor(), req.role, issuer, None, &label, req.expires_at).await?;
        tx.commit().await?;
        let info = self.store.token_info(id).await?.ok_or(ServiceError::NotFound)?;
        Ok(TokenView { token: Some(secret), ..TokenView::at(info, self.now()) })
    }

    /// The tokens of an issuer (its admins) or, without one, the platform's admin tokens.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id))]
    pub async fn api_tokens(&self, who: &Principal, issuer: Option<Uuid>) -> ServiceResult<Vec<TokenView>> {
        let issuer = issuer.or(who.issuer_id);
        match issuer {
            Some(i) => {
                who.check(i, Action::Manage)?;
                self.issuer_spec(i).await?;
            }
            None => who.check_admin()?,
        }
        let now = self.now();
        Ok(self.store.tokens(issuer).await?.into_iter().map(|t| TokenView::at(t, now)).collect())
    }

    /// Revokes one token by id; it stops working with this commit.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn revoke_api_token(&self, who: &Principal, id: Uuid) -> ServiceResult<TokenView> {
        let info = self.store.token_info(id).await?.ok_or(ServiceError::NotFound)?;
        match info.issuer_id {
            Some(i) => who.check(i, Action::Manage)?,
            None => {
                if !who.is_admin() {
                    return Err(ServiceError::NotFound);
                }
            }
        }
        let mut tx = self.store.begin().await?;
        if tx.revoke_token(id, self.now()).await? {
            tx.audit(vec![NewEvent::new(&who.actor(), info.issuer_id, "token.revoked", id, &serde_json::json!({}))])
                .await?;
        }
        tx.commit().await?;
        Ok(TokenView::at(self.store.token_info(id).await?.ok_or(ServiceError::NotFound)?, self.now()))
    }
}
