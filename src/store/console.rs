//! Console accounts, their invitation links and sessions. Secrets are stored as SHA-256
//! digests only; the service compares and decides, this module only reads and writes rows.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Sql, Store, StoreResult, Tx, args};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub account_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub issuer_id: Option<Uuid>,
    pub member_id: Option<Uuid>,
    pub password_hash: Option<String>,
    pub failed_sign_ins: i64,
    pub locked_until: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub disabled_at: Option<OffsetDateTime>,
    /// The last TOTP time step accepted (none: no code used yet).
    pub totp_last_step: Option<i64>,
}

impl AccountRow {
    /// A new account: no password yet (the invitation sets it), nothing failed, not disabled.
    pub fn new(
        account_id: Uuid,
        email: String,
        name: String,
        role: String,
        issuer_id: Option<Uuid>,
        member_id: Option<Uuid>,
        created_at: OffsetDateTime,
    ) -> AccountRow {
        AccountRow {
            account_id,
            email,
            name,
            role,
            issuer_id,
            member_id,
            password_hash: None,
            failed_sign_ins: 0,
            locked_until: None,
            created_at,
            disabled_at: None,
            totp_last_step: None,
        }
    }
}

/// A live session with its account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub account_id: Uuid,
    pub csrf: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    /// 0 while the account's second factor is still to be given.
    pub verified: i64,
}

/// An award as the console lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AwardSummary {
    pub award_id: Uuid,
    pub nanomodule_id: Uuid,
    pub member_id: Option<Uuid>,
    pub recipients: i64,
    pub created_at: OffsetDateTime,
}

/// One credential of an award, with its current state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AwardedRow {
    pub credential_id: Uuid,
    pub identity: String,
    pub recipient_name: Option<String>,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub suspended_at: Option<OffsetDateTime>,
}

/// A credential as the console's search lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FoundCredential {
    pub credential_id: Uuid,
    pub identity: String,
    pub recipient_name: Option<String>,
    pub nanomodule_id: Option<Uuid>,
    pub metro_line_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub suspended_at: Option<OffsetDateTime>,
}

/// `SELECT <every account column> FROM console_account <condition>` as one static string.
macro_rules! account_select {
    ($condition:literal) => {
        concat!(
            "SELECT account_id, email, name, role, issuer_id, member_id, password_hash, failed_sign_ins, \
             locked_until, created_at, disabled_at, totp_last_step FROM console_account WHERE ",
            $condition
        )
    };
}

impl Tx {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_account(&mut self, a: &AccountRow) -> StoreResult<()> {
        self.execute(
            "INSERT INTO console_account (account_id, email, name, role, issuer_id, member_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                a.account_id,
                a.email.clone(),
                a.name.clone(),
                a.role.clone(),
                a.issuer_id,
                a.member_id,
                a.created_at
            ],
        )
        .await?;
        Ok(())
    }

    /// Replaces every open invitation of the account with this one (a reset voids older links).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_invitation(
        &mut self,
        account: Uuid,
        token_hash: Vec<u8>,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.execute(
            "UPDATE console_invitation SET used_at = $2 WHERE account_id = $1 AND used_at IS NULL",
            args![account, now],
        )
        .await?;
        self.execute(
            "INSERT INTO console_invitation (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            args![token_hash, account, now, expires_at],
        )
        .await?;
        Ok(())
    }

    /// Uses an invitation once: the account it opens, if it was open and unexpired.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn take_invitation(&mut self, token_hash: Vec<u8>, now: OffsetDateTime) -> StoreResult<Option<Uuid>> {
        let row: Option<(Uuid,)> = self
            .fetch_optional(
                "UPDATE console_invitation SET used_at = $2 \
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING account_id",
                args![token_hash, now],
            )
            .await?;
        Ok(row.map(|(a,)| a))
    }

    /// The password stops working and every session ends (a reset).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn clear_password(&mut self, account: Uuid, now: OffsetDateTime) -> StoreResult<()> {
        self.execute("UPDATE console_account SET password_hash = NULL WHERE account_id = $1", args![account]).await?;
        self.execute(
            "UPDATE console_session SET ended_at = $2 WHERE account_id = $1 AND ended_at IS NULL",
            args![account, now],
        )
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_password(&mut self, account: Uuid, hash: String) -> StoreResult<()> {
        self.execute(
            "UPDATE console_account SET password_hash = $2, failed_sign_ins = 0, locked_until = NULL \
             WHERE account_id = $1",
            args![account, hash],
        )
        .await?;
        Ok(())
    }

    /// Disables the account of a removed member and ends its sessions.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn disable_member_account(&mut self, member: Uuid, now: OffsetDateTime) -> StoreResult<()> {
        self.execute(
            "UPDATE console_session SET ended_at = $2 WHERE ended_at IS NULL AND account_id IN \
             (SELECT account_id FROM console_account WHERE member_id = $1)",
            args![member, now],
        )
        .await?;
        self.execute(
            "UPDATE console_account SET disabled_at = $2 WHERE member_id = $1 AND disabled_at IS NULL",
            args![member, now],
        )
        .await?;
        Ok(())
    }
}

impl Store {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn account(&self, id: Uuid) -> StoreResult<Option<AccountRow>> {
        self.clone().fetch_optional(account_select!("account_id = $1"), args![id]).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn account_by_email(&self, email: &str) -> StoreResult<Option<AccountRow>> {
        self.clone()
            .fetch_optional(account_select!("email = $1 AND disabled_at IS NULL"), args![email.to_string()])
            .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn account_of_member(&self, member: Uuid) -> StoreResult<Option<AccountRow>> {
        self.clone().fetch_optional(account_select!("member_id = $1"), args![member]).await
    }

    /// The account an open, unexpired invitation belongs to.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn open_invitation(&self, token_hash: Vec<u8>, now: OffsetDateTime) -> StoreResult<Option<Uuid>> {
        let row: Option<(Uuid,)> = self
            .clone()
            .fetch_optional(
                "SELECT account_id FROM console_invitation WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
                args![token_hash, now],
            )
            .await?;
        Ok(row.map(|(a,)| a))
    }

    /// Counts a failed sign-in; from `limit` failures on, the account is locked until `until`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn failed_sign_in(&self, account: Uuid, limit: i64, until: OffsetDateTime) -> StoreResult<()> {
        self.clone()
            .execute(
                "UPDATE console_account SET failed_sign_ins = failed_sign_ins + 1, \
                 locked_until = CASE WHEN failed_sign_ins + 1 >= $2 THEN $3 ELSE locked_until END \
                 WHERE account_id = $1",
                args![account, limit, until],
            )
            .await?;
        Ok(())
    }

    /// A successful sign-in: the failure count starts again, and the new session is stored.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn start_session(
        &self,
        account: Uuid,
        session_hash: Vec<u8>,
        csrf: String,
        now: OffsetDateTime,
        verified: bool,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.execute(
            "UPDATE console_account SET failed_sign_ins = 0, locked_until = NULL WHERE account_id = $1",
            args![account],
        )
        .await?;
        tx.execute(
            "INSERT INTO console_session (session_hash, account_id, csrf, created_at, last_seen_at, verified) \
             VALUES ($1, $2, $3, $4, $4, $5)",
            args![session_hash, account, csrf, now, verified as i64],
        )
        .await?;
        tx.commit().await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn session(&self, session_hash: Vec<u8>) -> StoreResult<Option<SessionRow>> {
        self.clone()
            .fetch_optional(
                "SELECT account_id, csrf, created_at, last_seen_at, verified FROM console_session \
                 WHERE session_hash = $1 AND ended_at IS NULL",
                args![session_hash],
            )
            .await
    }

    /// The second factor was given: the session is a full one now.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn verify_session(&self, session_hash: Vec<u8>, now: OffsetDateTime) -> StoreResult<()> {
        self.clone()
            .execute(
                "UPDATE console_session SET verified = 1, last_seen_at = $2 WHERE session_hash = $1",
                args![session_hash, now],
            )
            .await?;
        Ok(())
    }

    /// Records a TOTP time step as used, if it is later than the last one (a code works once).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn use_totp_step(&self, account: Uuid, step: i64) -> StoreResult<bool> {
        let n = self
            .clone()
            .execute(
                "UPDATE console_account SET totp_last_step = $2 \
                 WHERE account_id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
                args![account, step],
            )
            .await?;
        Ok(n == 1)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn touch_session(&self, session_hash: Vec<u8>, now: OffsetDateTime) -> StoreResult<()> {
        self.clone()
            .execute("UPDATE console_session SET last_seen_at = $2 WHERE session_hash = $1", args![session_hash, now])
            .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn end_session(&self, session_hash: Vec<u8>, now: OffsetDateTime) -> StoreResult<()> {
        self.clone()
            .execute(
                "UPDATE console_session SET ended_at = $2 WHERE session_hash = $1 AND ended_at IS NULL",
                args![session_hash, now],
            )
            .await?;
        Ok(())
    }

    /// Ends every session of the account ("sign out everywhere").
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn end_sessions(&self, account: Uuid, now: OffsetDateTime) -> StoreResult<u64> {
        self.clone()
            .execute(
                "UPDATE console_session SET ended_at = $2 WHERE account_id = $1 AND ended_at IS NULL",
                args![account, now],
            )
            .await
    }

    /// The newest awards of an issuer, or of one member there.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn recent_awards(
        &self,
        issuer: Uuid,
        member: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<AwardSummary>> {
        self.clone()
            .fetch_all(
                "SELECT award_id, nanomodule_id, member_id, recipients, created_at FROM award \
                 WHERE issuer_id = $1 AND ($2 IS NULL OR member_id = $2) ORDER BY created_at DESC, award_id DESC \
                 LIMIT $3",
                args![issuer, member, limit],
            )
            .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn award_summary(&self, award: Uuid) -> StoreResult<Option<(Uuid, AwardSummary)>> {
        let row: Option<AwardIssuer> = self
            .clone()
            .fetch_optional(
                "SELECT issuer_id, award_id, nanomodule_id, member_id, recipients, created_at FROM award \
                 WHERE award_id = $1",
                args![award],
            )
            .await?;
        Ok(row.map(|r| {
            (
                r.issuer_id,
                AwardSummary {
                    award_id: r.award_id,
                    nanomodule_id: r.nanomodule_id,
                    member_id: r.member_id,
                    recipients: r.recipients,
                    created_at: r.created_at,
                },
            )
        }))
    }

    /// An issuer's credentials matching every given filter, newest first. `state` is `valid`,
    /// `suspended` or `revoked`.
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find_credentials(
        &self,
        issuer: Uuid,
        identity: Option<String>,
        nanomodule: Option<Uuid>,
        state: Option<String>,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
        limit: i64,
    ) -> StoreResult<Vec<FoundCredential>> {
        self.clone()
            .fetch_all(
                "SELECT credential_id, identity, recipient_name, nanomodule_id, metro_line_id, created_at, revoked_at, \
                 suspended_at FROM credential WHERE issuer_id = $1 \
                 AND ($2 IS NULL OR identity = $2) AND ($3 IS NULL OR nanomodule_id = $3) \
                 AND ($4 IS NULL OR ($4 = 'revoked' AND revoked_at IS NOT NULL) \
                      OR ($4 = 'suspended' AND revoked_at IS NULL AND suspended_at IS NOT NULL) \
                      OR ($4 = 'valid' AND revoked_at IS NULL AND suspended_at IS NULL)) \
                 AND ($5 IS NULL OR created_at >= $5) AND ($6 IS NULL OR created_at < $6) \
                 ORDER BY created_at DESC, credential_id DESC LIMIT $7",
                args![issuer, identity, nanomodule, state, from, to, limit],
            )
            .await
    }

    /// How many credentials `key` signed from `since` on (what marking it compromised affects).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn signed_since(&self, key: Uuid, since: OffsetDateTime) -> StoreResult<i64> {
        let row: (i64,) = self
            .clone()
            .fetch_optional("SELECT COUNT(*) FROM credential WHERE key_id = $1 AND created_at >= $2", args![key, since])
            .await?
            .unwrap_or((0,));
        Ok(row.0)
    }

    /// The credentials an award issued, in the order they were issued.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn awarded(&self, award: Uuid) -> StoreResult<Vec<AwardedRow>> {
        self.clone()
            .fetch_all(
                "SELECT credential_id, identity, recipient_name, created_at, revoked_at, suspended_at \
                 FROM credential WHERE award_id = $1 ORDER BY credential_id",
                args![award],
            )
            .await
    }
}

#[derive(sqlx::FromRow)]
struct AwardIssuer {
    issuer_id: Uuid,
    award_id: Uuid,
    nanomodule_id: Uuid,
    member_id: Option<Uuid>,
    recipients: i64,
    created_at: OffsetDateTime,
}
