//! "My badges": a learner's own page across issuers.
//!
//! A learner proves control of an e-mail address with a one-time link mailed to it (15
//! minutes, one use, at most a few per address per quarter hour) and then sees every badge and
//! certificate awarded to that address by any issuer. This is the learner's own consent to see
//! everything together; the per-issuer progress links stay as they are. Asking for a link
//! never tells whether the address holds anything (the answer is the same; only an address that
//! holds credentials gets mail).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use super::console::{digest, secret};

use super::mail::Outgoing;
use super::mail::compose::Notice;
use super::{Service, ServiceError, ServiceResult};
use crate::domain::audit::{Actor, NewEvent};
use crate::domain::lang::Lang;
use crate::domain::validate::Checker;

/// How long a sign-in link works.
pub const SIGN_IN_VALID: time::Duration = time::Duration::minutes(15);
/// How long a learner stays signed in.
const SESSION_VALID: time::Duration = time::Duration::hours(2);
/// Sign-in links one address may be sent per [`SIGN_IN_VALID`].
const LINKS_PER_WINDOW: i64 = 3;

/// One of the learner's credentials as their page shows it.
#[derive(Debug, Clone)]
pub struct MyCredential {
    pub id: Uuid,
    pub url: String,
    pub name: String,
    pub issuer: String,
    pub certificate: bool,
    pub issued: OffsetDateTime,
    /// `valid`, `suspended` or `revoked`.
    pub standing: &'static str,
    pub hidden: bool,
    pub linkedin: String,
}

/// One metro line the learner started, as their page shows it.
#[derive(Debug, Clone)]
pub struct MyLine {
    pub id: Uuid,
    pub name: String,
    pub colour: Option<String>,
    /// Each station's module name and whether the learner holds a valid badge of it.
    pub stations: Vec<(String, bool)>,
    pub satisfied: bool,
    /// The partial certificate, once earned (and not revoked).
    pub certificate: Option<String>,
}

impl Service {
    pub(super) fn learner_actor() -> Actor {
        Actor { token: "learner".into(), role: "learner".into() }
    }

    /// Mails a one-time sign-in link to `email` if it holds any credential (and has not had too
    /// many links lately). Says nothing about either.
    /// `next` is a page of `/me` to return to after signing in (an app's authorization
    /// request); the caller has checked it is one.
    #[tracing::instrument(skip_all)]
    pub async fn request_learner_link(&self, email: &str, lang: Lang, next: Option<&str>) -> ServiceResult<()> {
        let mut c = Checker::default();
        let email = c.email("email", email).to_lowercase();
        c.finish()?;
        let account = self.store.account_of(&email).await?;
        if self.my_rows(&account).await?.is_empty() {
            return Ok(());
        }
        self.mail_login_link(&email, None, next, lang, |url, expires| Notice::SignInLink { url, expires }).await
    }

    /// Mails a one-time link (`mbl_`, valid [`SIGN_IN_VALID`]) to `address`, unless it had
    /// [`LINKS_PER_WINDOW`] in that time already: a sign-in link, or with `joins` a link that
    /// joins the address to that account. `notice` makes the message from the link and its
    /// expiry.
    async fn mail_login_link(
        &self,
        address: &str,
        joins: Option<&str>,
        next: Option<&str>,
        lang: Lang,
        notice: impl FnOnce(String, String) -> Notice,
    ) -> ServiceResult<()> {
        let now = self.now();
        if self.store.learner_logins_since(address, now - SIGN_IN_VALID).await? >= LINKS_PER_WINDOW {
            return Ok(());
        }
        let token = secret("mbl_");
        let expires_at = now + SIGN_IN_VALID;
        let keys = self.mail_keys().await?;
        let mut tx = self.store.begin().await?;
        tx.insert_learner_login(digest(&token), address, joins, now, expires_at).await?;
        let mail = Outgoing {
            issuer: None,
            to: address.to_string(),
            to_name: None,
            lang,
            learner: None,
            subject_id: None,
            from_name: None,
            reply_to: None,
            notice: notice(
                match next {
                    Some(next) => format!(
                        "{}/me/link/{token}?{}",
                        self.base_url,
                        serde_urlencoded::to_string([("next", next)]).expect("strings encode")
                    ),
                    None => format!("{}/me/link/{token}", self.base_url),
                },
                crate::domain::time::rfc3339(expires_at),
            ),
        };
        self.queue_mail(&mut tx, &keys, vec![mail]).await?;
        tx.commit().await?;
        self.wake_mail();
        Ok(())
    }

    /// Uses up a sign-in link and starts a session; returns the session secret (a cookie).
    #[tracing::instrument(skip_all)]
    pub async fn learner_sign_in(&self, token: &str) -> ServiceResult<String> {
        if !token.starts_with("mbl_") || token.len() > 80 {
            return Err(ServiceError::NotFound);
        }
        let now = self.now();
        let session = secret("mbs_");
        let mut tx = self.store.begin().await?;
        let taken = tx.take_learner_login(digest(token), now).await?.ok_or(ServiceError::NotFound)?;
        if let Some(account) = &taken.joins {
            // A further address, confirmed by its own link: it (and what was joined to it)
            // now belongs to the account that asked.
            tx.join_address(&taken.identity, account, now).await?;
            tx.audit(vec![NewEvent::new(
                &Self::learner_actor(),
                None,
                "learner.address_joined",
                super::sha256_hex(account),
                &json!({}),
            )])
            .await?;
        }
        tx.commit().await?;
        // Sessions belong to the account, whichever of its addresses signed in.
        let account = self.store.account_of(taken.joins.as_deref().unwrap_or(&taken.identity)).await?;
        let mut tx = self.store.begin().await?;
        tx.insert_learner_session(digest(&session), &account, now, now + SESSION_VALID).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// The address a learner session belongs to.
    #[tracing::instrument(skip_all)]
    pub async fn learner_of_session(&self, session: &str) -> ServiceResult<String> {
        if !session.starts_with("mbs_") || session.len() > 80 {
            return Err(ServiceError::Unauthenticated);
        }
        self.store.learner_session(digest(session), self.now()).await?.ok_or(ServiceError::Unauthenticated)
    }

    #[tracing::instrument(skip_all)]
    pub async fn learner_sign_out(&self, session: &str) -> ServiceResult<()> {
        Ok(self.store.delete_learner_session(digest(session)).await?)
    }

    /// The CSRF token of a learner session's forms (derived from the session; never stored).
    pub fn learner_form_token(session: &str) -> String {
        hex::encode(Sha256::digest(format!("form:{session}").as_bytes()))
    }

    /// Every credential awarded to the learner's address, by any issuer, newest first.
    #[tracing::instrument(skip_all)]
    pub async fn my_credentials(&self, identity: &str) -> ServiceResult<Vec<MyCredential>> {
        let rows = self.my_rows(identity).await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let vc: Value = serde_json::from_str(&r.signed).unwrap_or_default();
                // Endorsements show with the reviews they came from, not as badges of their own.
                if crate::credential::endorsement::is_endorsement(&vc) {
                    return None;
                }
                let url = self.credential_url(r.credential_id);
                Some(MyCredential {
                    id: r.credential_id,
                    linkedin: crate::credential::share::linkedin_add_url(&vc, &url, &r.credential_id.to_string()),
                    url,
                    name: crate::credential::ob3::display_name(&vc).to_string(),
                    issuer: vc["issuer"]["name"].as_str().unwrap_or_default().to_string(),
                    certificate: r.metro_line_id.is_some(),
                    issued: r.created_at,
                    standing: match (r.revoked_at, r.suspended_at) {
                        (Some(_), _) => "revoked",
                        (None, Some(_)) => "suspended",
                        (None, None) => "valid",
                    },
                    hidden: r.page_hidden_at.is_some(),
                })
            })
            .collect())
    }

    /// Hides or shows again the public HTML page of one of the learner's own credentials;
    /// another's credential is not found. Audited without the learner's address.
    #[tracing::instrument(skip_all, fields(credential = %credential))]
    pub async fn set_my_page_hidden(&self, identity: &str, credential: Uuid, hidden: bool) -> ServiceResult<()> {
        let row = self.store.credential(credential).await?.ok_or(ServiceError::NotFound)?;
        if !self.learner_owns(identity, &row.identity_type, &row.identity).await? {
            return Err(ServiceError::NotFound);
        }
        let mut tx = self.store.begin().await?;
        if tx.set_page_hidden(credential, &row.identity, hidden.then(|| self.now())).await? == 0 {
            return Err(ServiceError::NotFound);
        }
        let action = if hidden { "credential.page_hidden" } else { "credential.page_shown" };
        tx.audit(vec![NewEvent::new(&Self::learner_actor(), Some(row.issuer_id), action, credential, &json!({}))])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sends the learner's request to correct one of their credentials to its issuer's
    /// address (replies go to the learner), audited without the words.
    #[tracing::instrument(skip_all, fields(credential = %credential))]
    pub async fn ask_correction(&self, identity: &str, credential: Uuid, message: &str) -> ServiceResult<String> {
        let row = self.store.credential(credential).await?.ok_or(ServiceError::NotFound)?;
        if !self.learner_owns(identity, &row.identity_type, &row.identity).await? || row.signed.is_empty() {
            return Err(ServiceError::NotFound);
        }
        // Replies go to the address the credential was awarded to.
        let identity = row.identity.as_str();
        let mut c = Checker::default();
        let message = c.text("message", message, 2000);
        c.finish()?;
        let spec = self.issuer_spec(row.issuer_id).await?;
        let Some(to) = spec.email.clone() else {
            return Err(crate::domain::validate::Invalid::one(
                "message",
                crate::problem!(
                    "no-contact-address",
                    "{name} has no contact address in metrobadge; ask them directly",
                    name = spec.name()
                ),
            )
            .into());
        };
        let vc: Value = serde_json::from_str(&row.signed).unwrap_or_default();
        let keys = self.mail_keys().await?;
        let mail = Outgoing {
            issuer: Some(row.issuer_id),
            to,
            to_name: Some(spec.name().to_string()),
            lang: spec.lang(),
            learner: Some(crate::store::Learner {
                identity_type: row.identity_type.clone(),
                identity: identity.into(),
            }),
            subject_id: Some(credential.to_string()),
            from_name: None,
            reply_to: Some(identity.to_string()),
            notice: Notice::CorrectionRequest {
                credential: self.credential_url(credential),
                name: crate::credential::ob3::display_name(&vc).to_string(),
                issuer: spec.name().to_string(),
                learner: identity.to_string(),
                message,
            },
        };
        let mut tx = self.store.begin().await?;
        self.queue_mail(&mut tx, &keys, vec![mail]).await?;
        let event = NewEvent::new(
            &Self::learner_actor(),
            Some(row.issuer_id),
            "credential.correction_requested",
            credential,
            &json!({}),
        );
        tx.audit(vec![event]).await?;
        tx.commit().await?;
        self.wake_mail();
        Ok(spec.name().to_string())
    }

    /// The signed documents of every credential of the learner's address (their download).
    #[tracing::instrument(skip_all)]
    pub async fn my_signed_credentials(&self, identity: &str) -> ServiceResult<Vec<(Uuid, String, String)>> {
        Ok(self.my_rows(identity).await?.into_iter().map(|r| (r.credential_id, r.signed, r.jwt)).collect())
    }

    /// Progress along every line the learner started, with any issuer, under any address.
    #[tracing::instrument(skip_all)]
    pub async fn my_lines(&self, account: &str) -> ServiceResult<Vec<MyLine>> {
        let mut out = Vec::new();
        let lines = self.store.all_metro_lines().await?;
        for address in self.learner_addresses(account).await? {
            let who = crate::store::Learner { identity_type: "emailAddress".into(), identity: address };
            let facts = self.learner_facts(&who).await?;
            let done = facts.valid_modules();
            for line in &lines {
                let Some(p) = self.progress_on(line.clone(), &facts, false).await? else { continue };
                out.push(MyLine {
                    id: line.metro_line_id,
                    name: p.spec.name.clone().unwrap_or_default(),
                    colour: p.spec.colour.clone(),
                    stations: p
                        .spec
                        .stations
                        .iter()
                        .map(|s| (p.names.get(s).cloned().unwrap_or_default(), done.contains(s)))
                        .collect(),
                    satisfied: p.explanation.satisfied,
                    certificate: p
                        .certificate
                        .as_ref()
                        .filter(|c| c.revoked_at.is_none())
                        .map(|c| self.credential_url(c.credential_id)),
                });
            }
        }
        Ok(out)
    }

    /// Every address of a learner's account: the account's own first.
    #[tracing::instrument(skip_all)]
    pub async fn learner_addresses(&self, account: &str) -> ServiceResult<Vec<String>> {
        let mut all = vec![account.to_string()];
        all.extend(self.store.joined_addresses(account).await?);
        Ok(all)
    }

    /// Whether a credential's recipient is one of the account's addresses.
    #[tracing::instrument(skip_all)]
    pub(super) async fn learner_owns(&self, account: &str, identity_type: &str, identity: &str) -> ServiceResult<bool> {
        Ok(identity_type == "emailAddress" && self.learner_addresses(account).await?.iter().any(|a| a == identity))
    }

    /// The credential rows of every address of the account, newest first.
    #[tracing::instrument(skip_all)]
    pub(super) async fn my_rows(&self, account: &str) -> ServiceResult<Vec<crate::store::MyCredentialRow>> {
        let mut rows = Vec::new();
        for address in self.learner_addresses(account).await? {
            rows.extend(self.store.my_credentials(&address).await?);
        }
        rows.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.credential_id)));
        Ok(rows)
    }

    /// Mails a confirmation link to a further address of the signed-in learner; once opened,
    /// badges sent to it show on the same page. Says nothing about the address either way.
    #[tracing::instrument(skip_all)]
    pub async fn add_learner_address(&self, account: &str, address: &str, lang: Lang) -> ServiceResult<()> {
        let mut c = Checker::default();
        let address = c.email("address", address).to_lowercase();
        c.finish()?;
        if self.learner_addresses(account).await?.contains(&address) {
            return Ok(());
        }
        self.mail_login_link(&address, Some(account), None, lang, |url, expires| Notice::ConfirmAddress {
            url,
            account: account.to_string(),
            expires,
        })
        .await
    }

    /// Whether the holder hid the credential's public page.
    #[tracing::instrument(skip_all, fields(credential = %credential))]
    pub async fn page_hidden(&self, credential: Uuid) -> ServiceResult<bool> {
        Ok(self.store.page_hidden(credential).await?)
    }
}
