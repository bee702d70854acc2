//! Members of an issuer and the tokens they get.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Service, ServiceResult};
use crate::domain::access::{Action, Principal, Role};
use crate::domain::audit::NewEvent;
use crate::domain::skill::required_text;
use crate::domain::validate::{Checker, Invalid, SHORT};
use crate::store::MemberRow;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
}

impl NewMember {
    fn parse(self) -> Result<(String, String, Role), Invalid> {
        let mut c = Checker::default();
        let name = required_text(&mut c, "name", &self.name, SHORT).unwrap_or_default();
        let email = match &self.email {
            Some(e) => c.email("email", e),
            None => {
                c.fail("email", crate::problem!("required", "is required"));
                String::new()
            }
        };
        let role = match self.role.as_deref().map(str::parse::<Role>) {
            Some(Ok(r)) if r != Role::Admin => Some(r),
            Some(_) => {
                c.fail("role", crate::problem!("not-a-member-role", "must be issuer_admin, trainer or auditor"));
                None
            }
            None => {
                c.fail("role", crate::problem!("role-required", "is required (issuer_admin, trainer or auditor)"));
                None
            }
        };
        c.finish()?;
        Ok((name, email, role.expect("checked above")))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MemberView {
    pub id: Uuid,
    pub issuer_id: Uuid,
    pub name: String,
    pub email: String,
    pub role: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The member's API token: present only in the response that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// `invited`, or `address_signs_in_elsewhere` (the address already has a console account,
    /// one per address, so this membership is for the API only): only in the creating response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub console: Option<&'static str>,
    /// The one-time link to set a console password (7 days): only in the creating response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub invitation_expires_at: Option<OffsetDateTime>,
}

impl From<MemberRow> for MemberView {
    fn from(m: MemberRow) -> Self {
        MemberView {
            id: m.member_id,
            issuer_id: m.issuer_id,
            name: m.name,
            email: m.email,
            role: m.role,
            created_at: m.created_at,
            token: None,
            console: None,
            invitation_url: None,
            invitation_expires_at: None,
        }
    }
}

impl Service {
    /// Adds a member and mints its token (returned once).
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn add_member(&self, who: &Principal, issuer: Uuid, input: NewMember) -> ServiceResult<MemberView> {
        who.check(issuer, Action::Manage)?;
        self.issuer_spec(issuer).await?;
        let (name, email, role) = input.parse()?;
        let row = MemberRow {
            member_id: Uuid::now_v7(),
            issuer_id: issuer,
            name,
            email: email.to_lowercase(),
            role: role.as_str().into(),
            created_at: self.now(),
            removed_at: None,
        };
        let keys = self.mail_keys().await?;
        let mut tx = self.store.begin().await?;
        tx.insert_member(&row).await?;
        tx.audit(vec![NewEvent::new(
            &who.actor(),
            Some(issuer),
            "member.added",
            row.member_id,
            &serde_json::json!({"role": row.role, "member_id": row.member_id}),
        )])
        .await?;
        let (_, token) = self
            .insert_token(
                &mut tx,
                &who.actor(),
                role,
                Some(issuer),
                Some(row.member_id),
                &format!("member {}", row.member_id),
                None,
            )
            .await?;
        // One console account per address: someone who already signs in (for another issuer)
        // becomes a member for the API only, and the answer says so.
        let invitation = if self.store.account_by_email(&row.email).await?.is_some() {
            None
        } else {
            let account = crate::store::AccountRow::new(
                row.member_id,
                row.email.clone(),
                row.name.clone(),
                row.role.clone(),
                Some(issuer),
                Some(row.member_id),
                row.created_at,
            );
            Some(self.open_account(&mut tx, &keys, &who.actor(), account).await?)
        };
        tx.commit().await?;
        self.wake_mail();
        Ok(MemberView {
            token: Some(token),
            console: Some(if invitation.is_some() { "invited" } else { "address_signs_in_elsewhere" }),
            invitation_expires_at: invitation.as_ref().map(|i| i.expires_at),
            invitation_url: invitation.map(|i| i.url),
            ..MemberView::from(row)
        })
    }

    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn members(&self, who: &Principal, issuer: Uuid) -> ServiceResult<Vec<MemberView>> {
        who.check(issuer, Action::Read)?;
        self.issuer_spec(issuer).await?;
        Ok(self.store.members(issuer).await?.into_iter().map(MemberView::from).collect())
    }

    /// Removes a member; its tokens stop working with this commit.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer, member = %member))]
    pub async fn remove_member(&self, who: &Principal, issuer: Uuid, member: Uuid) -> ServiceResult<()> {
        who.check(issuer, Action::Manage)?;
        let mut tx = self.store.begin().await?;
        tx.remove_member(issuer, member, self.now()).await?;
        tx.disable_member_account(member, self.now()).await?;
        tx.audit(vec![NewEvent::new(&who.actor(), Some(issuer), "member.removed", member, &serde_json::json!({}))])
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
