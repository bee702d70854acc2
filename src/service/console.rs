//! Who may use the web console, and how: accounts (an issuer's members and platform admins),
//! one-time invitation links to set a password, password sign-in with a per-account lockout,
//! and server-side sessions with idle and absolute timeouts. The console's pages then act
//! through the same use cases as the API, as the [`Principal`] a session stands for.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult};
use crate::domain::access::{Action, Principal, Role};
use crate::domain::audit::{Actor, NewEvent};
use crate::domain::validate::{Checker, Invalid, SHORT};
use crate::store::{AccountRow, StoreError, Tx};

/// How long an invitation (or reset) link works.
pub const INVITATION_VALID: Duration = Duration::days(7);
/// A session unused this long has ended.
pub const SESSION_IDLE: Duration = Duration::minutes(30);
/// A session ends this long after sign-in, however busy.
pub const SESSION_ABSOLUTE: Duration = Duration::hours(12);
/// Consecutive failed sign-ins that lock an account ...
pub const LOCK_AFTER: i64 = 5;
/// ... for this long.
pub const LOCKED_FOR: Duration = Duration::minutes(15);
/// A session's last use is written at most this often (not on every page).
const TOUCH_EVERY: Duration = Duration::seconds(60);
const MIN_PASSWORD: usize = 12;
const MAX_PASSWORD: usize = 1024;

/// A link that lets its holder set the account's password, once.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub url: String,
    pub expires_at: OffsetDateTime,
}

/// A new session: the cookie value (a secret). With a second factor on the account, the
/// session is only good for giving the code until that is done.
#[derive(Clone)]
pub struct SignedIn {
    pub session: String,
    pub second_factor: bool,
}

/// Secrets never reach a log, not even through `{:?}`.
impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn").field("session", &"[redacted]").field("second_factor", &self.second_factor).finish()
    }
}

/// How long a password-checked session waits for its second factor.
pub const SECOND_FACTOR_WAIT: Duration = Duration::minutes(5);

/// What an authenticator app needs to add the account (shown once, on the set-up page).
#[derive(Clone)]
pub struct TotpSetup {
    /// Base32, for typing in.
    pub secret: String,
    /// `otpauth://totp/…`, for the QR code.
    pub uri: String,
}

fn totp_name(account: Uuid) -> String {
    format!("totp:{account}")
}

fn totp_pending_name(account: Uuid) -> String {
    format!("totp-pending:{account}")
}

/// The sealing context of a named secret (the same one the master-key rotation uses).
fn secret_context(name: &str) -> Vec<u8> {
    format!("secret:{name}").into_bytes()
}

/// The time step (RFC 6238, 30 s) whose 6-digit code `code` is, within one step of `now`.
fn totp_step(secret: &[u8], code: &str, now: OffsetDateTime) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = now.unix_timestamp().div_euclid(30);
    (current - 1..=current + 1).find(|step| {
        let expected = totp_lite::totp_custom::<totp_lite::Sha1>(30, 6, secret, (*step * 30) as u64);
        bool::from(expected.as_bytes().ct_eq(code.as_bytes()))
    })
}

/// Someone signed in to the console.
#[derive(Clone)]
pub struct ConsoleUser {
    pub account_id: Uuid,
    pub name: String,
    pub email: String,
    /// Acts with exactly the rights an API token of the same role and issuer would have.
    pub principal: Principal,
    /// Every form that changes something carries it.
    pub csrf: String,
}

impl std::fmt::Debug for ConsoleUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleUser")
            .field("account_id", &self.account_id)
            .field("principal", &self.principal)
            .field("csrf", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl ConsoleUser {
    /// Constant-time check of a form's CSRF token against the session's.
    pub fn csrf_matches(&self, presented: &str) -> bool {
        presented.len() == self.csrf.len() && bool::from(presented.as_bytes().ct_eq(self.csrf.as_bytes()))
    }
}

/// Whose invitation a link is (shown on the set-password page).
#[derive(Debug, Clone)]
pub struct InvitationFor {
    pub name: String,
    pub email: String,
}

pub(super) fn secret(prefix: &str) -> String {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(raw))
}

pub(super) fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// An audit event about the person's own account.
fn account_event(user: &ConsoleUser, action: &'static str) -> NewEvent {
    NewEvent::new(&user.principal.actor(), user.principal.issuer_id, action, user.account_id, &serde_json::json!({}))
}

fn principal_of(a: &AccountRow) -> ServiceResult<Principal> {
    let role = a.role.parse::<Role>().map_err(|e| ServiceError::Store(StoreError::Corrupt(e)))?;
    Ok(Principal {
        token_id: format!("console:{}", a.account_id),
        role,
        issuer_id: a.issuer_id,
        member_id: a.member_id,
    })
}

/// Argon2id (the crate's default parameters) on the blocking pool: it is meant to be slow.
async fn hash_password(password: String) -> ServiceResult<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| ServiceError::Internal(e.to_string()))?
    .map_err(ServiceError::Internal)
}

/// Checks a password against a stored hash; without one, checks against a decoy so an unknown
/// address takes as long as a known one.
async fn password_matches(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let decoy;
        let stored = match &stored {
            Some(s) => s.as_str(),
            None => {
                decoy = decoy_hash();
                decoy
            }
        };
        PasswordHash::new(stored).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            && stored != decoy_hash()
    })
    .await
    .unwrap_or(false)
}

fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        Argon2::default().hash_password(secret("").as_bytes()).map(|h| h.to_string()).unwrap_or_default()
    })
}

fn check_password(password: &str) -> Result<(), Invalid> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(Invalid::one(
            "password",
            crate::problem!("too-short", "must be at least {min} characters", min = MIN_PASSWORD),
        ));
    }
    if n > MAX_PASSWORD {
        return Err(Invalid::one(
            "password",
            crate::problem!("too-long", "must be at most {max} characters", max = MAX_PASSWORD),
        ));
    }
    Ok(())
}

impl Service {
    fn invitation_url(&self, token: &str) -> String {
        format!("{}/console/invitation/{token}", self.base_url)
    }

    /// Opens a console account for a new member in `tx` (same transaction as the member) and
    /// returns its invitation. An address that already signs in elsewhere is refused.
    #[tracing::instrument(skip_all)]
    pub(super) async fn open_account(
        &self,
        tx: &mut Tx,
        keys: &super::mail::MailKeys,
        actor: &Actor,
        account: AccountRow,
    ) -> ServiceResult<Invitation> {
        tx.insert_account(&account).await.map_err(|e| match e {
            StoreError::Conflict(_) => Invalid::one(
                "email",
                crate::problem!(
                    "account-exists",
                    "this address already signs in to the console (one account per address)"
                ),
            )
            .into(),
            other => ServiceError::from(other),
        })?;
        self.new_invitation(tx, keys, actor, &account, false).await
    }

    /// A new invitation link for `account`, mailed to it through the outbox (`keys` are read
    /// before the transaction: see [`Service::queue_mail`]).
    async fn new_invitation(
        &self,
        tx: &mut Tx,
        keys: &super::mail::MailKeys,
        actor: &Actor,
        account: &AccountRow,
        reset: bool,
    ) -> ServiceResult<Invitation> {
        let token = secret("mbi_");
        let now = self.now();
        let expires_at = now + INVITATION_VALID;
        tx.insert_invitation(account.account_id, digest(&token), now, expires_at).await?;
        tx.audit(vec![NewEvent::new(
            actor,
            account.issuer_id,
            "console.invitation_created",
            account.account_id,
            &serde_json::json!({"role": account.role, "expires_at": crate::domain::time::rfc3339(expires_at)}),
        )])
        .await?;
        let url = self.invitation_url(&token);
        // Read in the transaction: it holds its connection already.
        let spec: Option<crate::domain::issuer::IssuerSpec> = match account.issuer_id {
            Some(i) => Some(super::decode_spec(&tx.issuer(i).await?.ok_or(ServiceError::NotFound)?.spec)?),
            None => None,
        };
        let mail = super::mail::Outgoing {
            issuer: account.issuer_id,
            to: account.email.clone(),
            to_name: Some(account.name.clone()),
            lang: spec.as_ref().map(|s| s.lang()).unwrap_or(crate::domain::lang::Lang::Nl),
            learner: None,
            subject_id: Some(account.account_id.to_string()),
            from_name: None,
            reply_to: spec.as_ref().and_then(|s| s.email.clone()),
            notice: super::mail::compose::Notice::ConsoleInvitation {
                url: url.clone(),
                issuer: spec.as_ref().map(|s| s.name().to_string()),
                role: account.role.clone(),
                expires: crate::domain::time::rfc3339(expires_at),
                reset,
            },
        };
        self.queue_mail(tx, keys, vec![mail]).await?;
        Ok(Invitation { url, expires_at })
    }

    /// A platform admin's console account (the CLI's `member create --role admin`): the first
    /// person in, from a fresh `cargo run`.
    #[tracing::instrument(skip_all)]
    pub async fn create_admin_account(&self, actor: &Actor, email: &str, name: &str) -> ServiceResult<Invitation> {
        let mut c = Checker::default();
        let email = c.email("email", email).to_lowercase();
        let name = c.text("name", name, SHORT);
        c.finish()?;
        let account = AccountRow::new(Uuid::now_v7(), email, name, Role::Admin.as_str().into(), None, None, self.now());
        let keys = self.mail_keys().await?;
        let mut tx = self.store.begin().await?;
        let invitation = self.open_account(&mut tx, &keys, actor, account).await?;
        tx.commit().await?;
        self.wake_mail();
        Ok(invitation)
    }

    /// A new invitation link for a member (an issuer admin resetting a password): the old
    /// password and every session end now; the member sets a new one through the link.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer, member = %member))]
    pub async fn reset_member_password(
        &self,
        who: &Principal,
        issuer: Uuid,
        member: Uuid,
    ) -> ServiceResult<Invitation> {
        who.check(issuer, Action::Manage)?;
        let m = self
            .store
            .members(issuer)
            .await?
            .into_iter()
            .find(|m| m.member_id == member)
            .ok_or(ServiceError::NotFound)?;
        let keys = self.mail_keys().await?;
        let mut tx = self.store.begin().await?;
        let invitation = match self.store.account_of_member(member).await?.filter(|a| a.disabled_at.is_none()) {
            Some(account) => {
                tx.clear_password(account.account_id, self.now()).await?;
                // A reset is also what a lost phone needs: the second factor goes with the password.
                tx.delete_sealed_secret(&totp_name(account.account_id)).await?;
                self.new_invitation(&mut tx, &keys, &who.actor(), &account, true).await?
            }
            // Members from before the console get their account now.
            None => {
                if self.store.account_by_email(&m.email).await?.is_some() {
                    return Err(Invalid::one(
                        "email",
                        crate::problem!(
                            "account-elsewhere",
                            "this address already signs in to the console for another issuer (one account per address)"
                        ),
                    )
                    .into());
                }
                let account = AccountRow::new(
                    m.member_id,
                    m.email.clone(),
                    m.name.clone(),
                    m.role.clone(),
                    Some(issuer),
                    Some(m.member_id),
                    self.now(),
                );
                self.open_account(&mut tx, &keys, &who.actor(), account).await?
            }
        };
        tx.commit().await?;
        self.wake_mail();
        Ok(invitation)
    }

    /// Whose invitation this is, if it is still open (it is not used up by looking).
    #[tracing::instrument(skip_all)]
    pub async fn invitation(&self, token: &str) -> ServiceResult<InvitationFor> {
        let account = self.store.open_invitation(digest(token), self.now()).await?.ok_or(ServiceError::NotFound)?;
        let a = self.store.account(account).await?.filter(|a| a.disabled_at.is_none()).ok_or(ServiceError::NotFound)?;
        Ok(InvitationFor { name: a.name, email: a.email })
    }

    /// Sets the password through an invitation link (used up here) and signs the person in.
    #[tracing::instrument(skip_all)]
    pub async fn accept_invitation(&self, token: &str, password: &str) -> ServiceResult<SignedIn> {
        check_password(password)?;
        let hash = hash_password(password.to_string()).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let account = tx.take_invitation(digest(token), now).await?.ok_or(ServiceError::NotFound)?;
        let a = self.store.account(account).await?.filter(|a| a.disabled_at.is_none()).ok_or(ServiceError::NotFound)?;
        tx.set_password(account, hash).await?;
        let actor = principal_of(&a)?.actor();
        tx.audit(vec![NewEvent::new(&actor, a.issuer_id, "console.password_set", account, &serde_json::json!({}))])
            .await?;
        tx.commit().await?;
        let second_factor = self.store.sealed_secret(&totp_name(account)).await?.is_some();
        self.start_session(account, !second_factor).await
    }

    /// Password sign-in. Every failure looks the same to the caller (unknown address, wrong
    /// password, locked account); five failures in a row lock the account for 15 minutes.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in(&self, email: &str, password: &str) -> ServiceResult<SignedIn> {
        let email = email.trim().to_lowercase();
        let account = if email.is_empty() || password.len() > MAX_PASSWORD {
            None
        } else {
            self.store.account_by_email(&email).await?
        };
        let ok = password_matches(password.to_string(), account.as_ref().and_then(|a| a.password_hash.clone())).await;
        let Some(account) = account else { return Err(ServiceError::Unauthenticated) };
        let now = self.now();
        if account.locked_until.is_some_and(|until| until > now) {
            return Err(ServiceError::Unauthenticated);
        }
        if !ok {
            self.store.failed_sign_in(account.account_id, LOCK_AFTER, now + LOCKED_FOR).await?;
            return Err(ServiceError::Unauthenticated);
        }
        let second_factor = self.store.sealed_secret(&totp_name(account.account_id)).await?.is_some();
        self.start_session(account.account_id, !second_factor).await
    }

    /// A fresh session (a new secret at every sign-in: nothing from before carries over).
    async fn start_session(&self, account: Uuid, verified: bool) -> ServiceResult<SignedIn> {
        let session = secret("mbs_");
        self.store.start_session(account, digest(&session), secret(""), self.now(), verified).await?;
        Ok(SignedIn { session, second_factor: !verified })
    }

    /// A session whose password was right and whose second factor is still to come (and not
    /// too long ago): the account it is for.
    #[tracing::instrument(skip_all)]
    pub async fn awaiting_second_factor(&self, session: &str) -> ServiceResult<Option<Uuid>> {
        if !session.starts_with("mbs_") || session.len() > 64 {
            return Ok(None);
        }
        let Some(s) = self.store.session(digest(session)).await? else { return Ok(None) };
        Ok((s.verified == 0 && self.now() - s.created_at <= SECOND_FACTOR_WAIT).then_some(s.account_id))
    }

    /// The second factor: a current code from the authenticator, used once. Wrong codes count
    /// towards the account's lockout like wrong passwords.
    #[tracing::instrument(skip_all)]
    pub async fn give_second_factor(&self, session: &str, code: &str) -> ServiceResult<()> {
        let account = self.awaiting_second_factor(session).await?.ok_or(ServiceError::Unauthenticated)?;
        let a = self.store.account(account).await?.ok_or(ServiceError::Unauthenticated)?;
        let now = self.now();
        if a.locked_until.is_some_and(|until| until > now) {
            return Err(ServiceError::Unauthenticated);
        }
        let secret = self.totp_secret(&totp_name(account)).await.map_err(|e| match e {
            ServiceError::NotFound => ServiceError::Unauthenticated,
            // An outage is said as one, never as a wrong code.
            other => other,
        })?;
        match totp_step(&secret, code, now) {
            Some(step) if self.store.use_totp_step(account, step).await? => {
                self.store.verify_session(digest(session), now).await?;
                Ok(())
            }
            _ => {
                self.store.failed_sign_in(account, LOCK_AFTER, now + LOCKED_FOR).await?;
                Err(ServiceError::Unauthenticated)
            }
        }
    }

    /// Whether the account has a second factor.
    #[tracing::instrument(skip_all)]
    pub async fn has_second_factor(&self, user: &ConsoleUser) -> ServiceResult<bool> {
        Ok(self.store.sealed_secret(&totp_name(user.account_id)).await?.is_some())
    }

    /// Starts adding an authenticator: a new secret, kept aside until a code from it is given.
    #[tracing::instrument(skip_all)]
    pub async fn begin_second_factor(&self, user: &ConsoleUser) -> ServiceResult<TotpSetup> {
        let mut raw = [0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let name = totp_pending_name(user.account_id);
        let mut tx = self.store.begin().await?;
        tx.put_sealed_secret(&name, self.master_key.seal(&raw, &secret_context(&name)), self.now()).await?;
        tx.commit().await?;
        let secret = data_encoding::BASE32_NOPAD.encode(&raw);
        let label = format!("metrobadge:{}", user.email);
        let uri = format!(
            "otpauth://totp/{}?secret={secret}&issuer=metrobadge&algorithm=SHA1&digits=6&period=30",
            label.replace('@', "%40").replace(' ', "%20")
        );
        Ok(TotpSetup { secret, uri })
    }

    /// Turns the second factor on once a code from the new authenticator checks out.
    #[tracing::instrument(skip_all)]
    pub async fn confirm_second_factor(&self, user: &ConsoleUser, code: &str) -> ServiceResult<()> {
        let pending = totp_pending_name(user.account_id);
        let secret = self.totp_secret(&pending).await?;
        let step = totp_step(&secret, code, self.now()).ok_or_else(|| {
            Invalid::one(
                "code",
                crate::problem!(
                    "code-does-not-match",
                    "does not match: check the time on your phone and try the next code"
                ),
            )
        })?;
        self.store.use_totp_step(user.account_id, step).await?;
        let name = totp_name(user.account_id);
        let mut tx = self.store.begin().await?;
        tx.put_sealed_secret(&name, self.master_key.seal(&secret, &secret_context(&name)), self.now()).await?;
        tx.delete_sealed_secret(&pending).await?;
        tx.audit(vec![account_event(user, "console.second_factor_on")]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Turns the second factor off (a current code proves the person still has it).
    #[tracing::instrument(skip_all)]
    pub async fn remove_second_factor(&self, user: &ConsoleUser, code: &str) -> ServiceResult<()> {
        let name = totp_name(user.account_id);
        let secret = self.totp_secret(&name).await?;
        let step = totp_step(&secret, code, self.now())
            .ok_or_else(|| Invalid::one("code", crate::problem!("does-not-match", "does not match")))?;
        if !self.store.use_totp_step(user.account_id, step).await? {
            return Err(
                Invalid::one("code", crate::problem!("code-used", "was used already; wait for the next one")).into()
            );
        }
        let mut tx = self.store.begin().await?;
        tx.delete_sealed_secret(&name).await?;
        tx.audit(vec![account_event(user, "console.second_factor_off")]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A TOTP secret (active or pending), unsealed.
    async fn totp_secret(&self, name: &str) -> ServiceResult<zeroize::Zeroizing<Vec<u8>>> {
        let sealed = self.store.sealed_secret(name).await?.ok_or(ServiceError::NotFound)?;
        Ok(self.master_key.open(&sealed, &secret_context(name))?)
    }

    /// The person a session cookie stands for, while the session lives.
    #[tracing::instrument(skip_all)]
    pub async fn console_user(&self, session: &str) -> ServiceResult<Option<ConsoleUser>> {
        if !session.starts_with("mbs_") || session.len() > 64 {
            return Ok(None);
        }
        let hash = digest(session);
        let Some(s) = self.store.session(hash.clone()).await? else { return Ok(None) };
        if s.verified == 0 {
            return Ok(None);
        }
        let now = self.now();
        if now - s.last_seen_at > SESSION_IDLE || now - s.created_at > SESSION_ABSOLUTE {
            self.store.end_session(hash, now).await?;
            return Ok(None);
        }
        let Some(a) = self.store.account(s.account_id).await?.filter(|a| a.disabled_at.is_none()) else {
            return Ok(None);
        };
        if now - s.last_seen_at > TOUCH_EVERY {
            self.store.touch_session(hash, now).await?;
        }
        Ok(Some(ConsoleUser {
            account_id: a.account_id,
            principal: principal_of(&a)?,
            name: a.name,
            email: a.email,
            csrf: s.csrf,
        }))
    }

    /// Ends this session, or every session of its account.
    #[tracing::instrument(skip_all)]
    pub async fn sign_out(&self, session: &str, everywhere: bool) -> ServiceResult<()> {
        let now = self.now();
        if everywhere && let Some(user) = self.console_user(session).await? {
            self.store.end_sessions(user.account_id, now).await?;
        }
        self.store.end_session(digest(session), now).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let s = SignedIn { session: "mbs_secret".into(), second_factor: false };
        assert!(!format!("{s:?}").contains("mbs_secret"));
    }

    #[test]
    fn passwords_need_a_length() {
        assert!(check_password("short").is_err());
        assert!(check_password(&"x".repeat(MAX_PASSWORD + 1)).is_err());
        assert!(check_password("correct horse battery").is_ok());
    }

    #[test]
    fn secrets_are_long_and_distinct() {
        let (a, b) = (secret("mbs_"), secret("mbs_"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 43);
    }

    #[tokio::test]
    async fn argon2_round_trip() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(password_matches("correct horse battery".into(), Some(h.clone())).await);
        assert!(!password_matches("wrong horse battery".into(), Some(h)).await);
        assert!(!password_matches("anything at all".into(), None).await);
    }
}

/// A nanomodule a trainer may pick.
#[derive(Debug, Clone)]
pub struct ModuleChoice {
    pub id: Uuid,
    pub name: String,
    pub version: i64,
}

/// One award as the console lists it.
#[derive(Debug, Clone)]
pub struct AwardLine {
    pub award_id: Uuid,
    pub module: String,
    pub recipients: i64,
    pub created_at: OffsetDateTime,
}

/// The console's start page for someone of an issuer.
#[derive(Debug, Clone, Default)]
pub struct Home {
    pub issuer_name: Option<String>,
    pub modules: Vec<ModuleChoice>,
    pub awards: Vec<AwardLine>,
    pub may_award: bool,
}

/// Where a credential stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Valid,
    Suspended,
    Revoked,
}

/// One participant of an award.
#[derive(Debug, Clone)]
pub struct AwardedLine {
    pub credential_id: Uuid,
    pub url: String,
    pub name: Option<String>,
    pub identity: String,
    pub standing: Standing,
}

/// An award with each participant's badge, for the result page and its downloads.
#[derive(Debug, Clone)]
pub struct AwardDetails {
    pub award_id: Uuid,
    pub module: String,
    pub created_at: OffsetDateTime,
    pub lines: Vec<AwardedLine>,
    /// Whether this person may revoke these badges now (a trainer: their own, for 24 hours).
    pub may_revoke: bool,
}

/// Most modules and awards the start page lists.
const HOME_LIMIT: usize = 50;

fn module_name(spec: &str) -> String {
    serde_json::from_str::<crate::domain::nanomodule::NanomoduleSpec>(spec)
        .ok()
        .and_then(|s| s.name)
        .unwrap_or_default()
}

impl Service {
    /// The start page: the issuer's nanomodules (filtered by `search`, any part of the name,
    /// case-insensitive) and recent awards (a trainer's own; everyone's for the others).
    #[tracing::instrument(skip_all, fields(actor = %who.token_id))]
    pub async fn console_home(&self, who: &Principal, search: &str) -> ServiceResult<Home> {
        let Some(issuer) = who.issuer_id else { return Ok(Home::default()) };
        who.check(issuer, Action::Read)?;
        let spec = self.issuer_spec(issuer).await?;
        let needle = search.trim().to_lowercase();
        let rows = self.store.nanomodules(issuer).await?;
        let names: std::collections::HashMap<Uuid, String> =
            rows.iter().map(|r| (r.nanomodule_id, module_name(&r.spec))).collect();
        let mut modules: Vec<ModuleChoice> = rows
            .iter()
            .map(|r| ModuleChoice { id: r.nanomodule_id, name: module_name(&r.spec), version: r.version })
            .filter(|m| needle.is_empty() || m.name.to_lowercase().contains(&needle))
            .collect();
        modules.sort_by_key(|m| m.name.to_lowercase());
        modules.truncate(HOME_LIMIT);
        let mine = (who.role == Role::Trainer).then_some(who.member_id).flatten();
        let awards = self
            .store
            .recent_awards(issuer, mine, HOME_LIMIT as i64)
            .await?
            .into_iter()
            .map(|a| AwardLine {
                award_id: a.award_id,
                module: names.get(&a.nanomodule_id).cloned().unwrap_or_default(),
                recipients: a.recipients,
                created_at: a.created_at,
            })
            .collect();
        Ok(Home { issuer_name: spec.name, modules, awards, may_award: who.check(issuer, Action::Award).is_ok() })
    }

    /// One award's participants and badges, for someone who may see the issuer's data.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, award = %award))]
    pub async fn award_details(&self, who: &Principal, award: Uuid) -> ServiceResult<AwardDetails> {
        let (issuer, summary) = self.store.award_summary(award).await?.ok_or(ServiceError::NotFound)?;
        who.check(issuer, Action::Read)?;
        let module = self.store.nanomodule_version(summary.nanomodule_id, None).await?.map(|m| module_name(&m.spec));
        let lines: Vec<AwardedLine> = self
            .store
            .awarded(award)
            .await?
            .into_iter()
            .map(|c| AwardedLine {
                url: self.credential_url(c.credential_id),
                credential_id: c.credential_id,
                name: c.recipient_name,
                identity: c.identity,
                standing: match (c.revoked_at, c.suspended_at) {
                    (Some(_), _) => Standing::Revoked,
                    (None, Some(_)) => Standing::Suspended,
                    _ => Standing::Valid,
                },
            })
            .collect();
        // Everyone in one award was awarded by the same person at the same time: one check.
        let may_revoke = match lines.first() {
            Some(first) => match self.store.credential_state(first.credential_id).await? {
                Some(state) => {
                    super::status::may_change(who, &state, crate::store::StatusChange::Revoke, self.now()).is_ok()
                }
                None => false,
            },
            None => false,
        };
        Ok(AwardDetails {
            award_id: award,
            module: module.unwrap_or_default(),
            created_at: summary.created_at,
            lines,
            may_revoke,
        })
    }
}

/// What an issuer admin or auditor looks for among the issuer's credentials.
#[derive(Debug, Clone, Default)]
pub struct CredentialSearch {
    /// The learner's identity (an e-mail address is compared lower-cased), exactly.
    pub identity: Option<String>,
    pub nanomodule: Option<Uuid>,
    pub standing: Option<Standing>,
    /// Issued from this moment (inclusive) ...
    pub from: Option<OffsetDateTime>,
    /// ... until this one (exclusive).
    pub to: Option<OffsetDateTime>,
}

/// One credential found: a nanomodule's badge or a metro line's partial certificate.
#[derive(Debug, Clone)]
pub struct FoundLine {
    pub credential_id: Uuid,
    pub url: String,
    pub name: Option<String>,
    pub identity: String,
    /// The nanomodule's or the metro line's name.
    pub what: String,
    pub certificate: bool,
    pub created_at: OffsetDateTime,
    pub standing: Standing,
}

/// One credential with its history from the audit chain.
#[derive(Debug, Clone)]
pub struct CredentialHistory {
    pub credential: FoundLine,
    pub reason: Option<String>,
    pub events: Vec<crate::domain::audit::Event>,
    pub may_manage: bool,
}

/// Most credentials one search lists.
pub const SEARCH_LIMIT: usize = 200;

fn standing_of(revoked: Option<OffsetDateTime>, suspended: Option<OffsetDateTime>) -> Standing {
    match (revoked, suspended) {
        (Some(_), _) => Standing::Revoked,
        (None, Some(_)) => Standing::Suspended,
        _ => Standing::Valid,
    }
}

impl Service {
    /// Names of an issuer's nanomodules and metro lines, for lists.
    async fn catalogue_names(&self, issuer: Uuid) -> ServiceResult<std::collections::HashMap<Uuid, String>> {
        let mut names: std::collections::HashMap<Uuid, String> = self
            .store
            .nanomodules(issuer)
            .await?
            .into_iter()
            .map(|r| (r.nanomodule_id, module_name(&r.spec)))
            .collect();
        for l in self.store.metro_lines(issuer).await? {
            names.insert(l.metro_line_id, module_name(&l.spec));
        }
        Ok(names)
    }

    /// Searches the issuer's credentials (staff who may read the issuer's data, trainers aside:
    /// they see their own awards). Newest first, at most [`SEARCH_LIMIT`].
    #[tracing::instrument(skip_all, fields(issuer = %issuer, actor = %who.token_id))]
    pub async fn search_credentials(
        &self,
        who: &Principal,
        issuer: Uuid,
        q: &CredentialSearch,
    ) -> ServiceResult<Vec<FoundLine>> {
        who.check(issuer, Action::Read)?;
        if who.role == Role::Trainer {
            return Err(ServiceError::Forbidden);
        }
        let names = self.catalogue_names(issuer).await?;
        let identity =
            q.identity.as_deref().map(|i| if i.contains('@') { i.trim().to_lowercase() } else { i.trim().to_string() });
        let state = q.standing.map(|s| match s {
            Standing::Valid => "valid".to_string(),
            Standing::Suspended => "suspended".to_string(),
            Standing::Revoked => "revoked".to_string(),
        });
        let rows = self
            .store
            .find_credentials(issuer, identity, q.nanomodule, state, q.from, q.to, SEARCH_LIMIT as i64)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let of = r.nanomodule_id.or(r.metro_line_id);
                FoundLine {
                    url: self.credential_url(r.credential_id),
                    credential_id: r.credential_id,
                    name: r.recipient_name,
                    identity: r.identity,
                    what: of.and_then(|id| names.get(&id).cloned()).unwrap_or_default(),
                    certificate: r.metro_line_id.is_some(),
                    created_at: r.created_at,
                    standing: standing_of(r.revoked_at, r.suspended_at),
                }
            })
            .collect())
    }

    /// One credential and every event about it in its issuer's chain.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn credential_history(&self, who: &Principal, id: Uuid) -> ServiceResult<CredentialHistory> {
        let state = self.store.credential_state(id).await?.ok_or(ServiceError::NotFound)?;
        who.check(state.issuer_id, Action::Read)?;
        if who.role == Role::Trainer {
            return Err(ServiceError::Forbidden);
        }
        let names = self.catalogue_names(state.issuer_id).await?;
        let found = self
            .store
            .find_credentials(state.issuer_id, Some(state.identity.clone()), None, None, None, None, i64::MAX)
            .await?
            .into_iter()
            .find(|c| c.credential_id == id)
            .ok_or(ServiceError::NotFound)?;
        let filter = super::AuditFilter { subject: Some(id.to_string()), ..Default::default() };
        let (events, _) = self.audit_search(Some(state.issuer_id), &filter, 0, 100).await?;
        let of = found.nanomodule_id.or(found.metro_line_id);
        Ok(CredentialHistory {
            credential: FoundLine {
                url: self.credential_url(id),
                credential_id: id,
                name: found.recipient_name,
                identity: found.identity,
                what: of.and_then(|i| names.get(&i).cloned()).unwrap_or_default(),
                certificate: found.metro_line_id.is_some(),
                created_at: found.created_at,
                standing: standing_of(found.revoked_at, found.suspended_at),
            },
            reason: state.revocation_reason.or(state.suspension_reason),
            events,
            may_manage: who.check(state.issuer_id, Action::Manage).is_ok(),
        })
    }
}

/// A nanomodule that may be a station of the issuer's lines: its own, or an accepted partner's.
#[derive(Debug, Clone)]
pub struct StationChoice {
    pub id: Uuid,
    pub name: String,
    pub issuer_id: Uuid,
    /// The partner's name; `None` for the issuer's own modules.
    pub partner: Option<String>,
}

impl Service {
    /// Every module a line of `issuer` may use as a station: its own, then those of each
    /// partner that accepted its request (their consent is what makes them visible here).
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn station_choices(&self, who: &Principal, issuer: Uuid) -> ServiceResult<Vec<StationChoice>> {
        who.check(issuer, Action::Manage)?;
        let mut out: Vec<StationChoice> = self
            .store
            .nanomodules(issuer)
            .await?
            .into_iter()
            .map(|r| StationChoice {
                id: r.nanomodule_id,
                name: module_name(&r.spec),
                issuer_id: issuer,
                partner: None,
            })
            .collect();
        for p in self.partnerships(who, issuer).await? {
            if p.issuer != issuer || p.state != "accepted" {
                continue;
            }
            for r in self.store.nanomodules(p.partner).await? {
                out.push(StationChoice {
                    id: r.nanomodule_id,
                    name: module_name(&r.spec),
                    issuer_id: p.partner,
                    partner: Some(p.partner_name.clone().unwrap_or_else(|| p.partner.to_string())),
                });
            }
        }
        Ok(out)
    }
}

impl Service {
    /// What marking `key` compromised from `since` would do, counted before anyone confirms:
    /// how many credentials it signed since then (they will fail verification).
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer, key = %key))]
    pub async fn compromise_impact(
        &self,
        who: &Principal,
        issuer: Uuid,
        key: Uuid,
        since: OffsetDateTime,
    ) -> ServiceResult<i64> {
        who.check(issuer, Action::Manage)?;
        if !self.store.keys(issuer).await?.iter().any(|k| k.key_id == key) {
            return Err(ServiceError::NotFound);
        }
        Ok(self.store.signed_since(key, since).await?)
    }
}
