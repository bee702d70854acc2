//! The Open Badges 3.0 API's OAuth 2.0 (Provider, read): apps such as backpacks and hosts
//! register themselves (RFC 7591, no initial access token), a learner signed in on their own
//! page grants one the right to read their badges or profile (authorization code with PKCE
//! S256), and the app exchanges the code for an access token (one hour) and, if it registered
//! for it, a refresh token (rotated on every use). A code or rotated refresh token presented
//! twice revokes everything of its grant (RFC 6819 §5.2.2.3; OB 3.0 security).

use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::console::{digest, secret};
use super::{Service, ServiceError, ServiceResult, sha256_hex};
use crate::domain::audit::{Actor, NewEvent};
use crate::domain::oauth::{
    self, Authorization, AuthorizationQuery, AuthorizeError, ClientMetadata, ClientMetadataInput, RegistrationError,
};
use crate::store::{NewOAuthCode, NewOAuthToken};

const CODE_VALID: time::Duration = time::Duration::minutes(10);
const ACCESS_VALID: time::Duration = time::Duration::hours(1);
const REFRESH_VALID: time::Duration = time::Duration::days(90);
/// Credentials one page may hold, and the page size when the app names none.
pub const PAGE_MAX: u32 = 100;

/// Why the token or revocation endpoint refuses (RFC 6749 §5.2).
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("client authentication failed")]
    InvalidClient,
    #[error("{0}")]
    InvalidGrant(String),
    #[error("this client did not register for that grant type")]
    UnauthorizedClient,
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    #[error("{0}")]
    InvalidScope(String),
    #[error(transparent)]
    Registration(#[from] RegistrationError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        OAuthError::Service(e.into())
    }
}

impl OAuthError {
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnauthorizedClient => "unauthorized_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::Registration(r) => r.code(),
            OAuthError::Service(_) => "server_error",
        }
    }
}

/// A client just registered: its credentials (the secret shown this once) and metadata.
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    pub client_id: String,
    pub client_secret: String,
    pub issued_at: OffsetDateTime,
    pub metadata: ClientMetadata,
}

/// An authorization request to put to the learner, with what the consent page shows.
#[derive(Debug, Clone)]
pub struct PendingAuthorization {
    pub request: Authorization,
    pub client: ClientMetadata,
}

/// The token endpoint's request (form fields), any grant type but the pre-authorised code.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub grant_type: String,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
}

/// The token endpoint's answer (RFC 6749 §5.1).
#[derive(Debug, Clone, serde::Serialize)]
pub struct OAuthTokens {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Why a resource request is refused (RFC 6750 §3.1).
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error("the access token is missing, unknown, revoked or expired")]
    Unauthorized,
    #[error("the access token does not carry the scope {0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// One page of a learner's credentials for an app.
#[derive(Debug, Clone)]
pub struct CredentialPage {
    /// Signed credentials (Data Integrity proofs), oldest first.
    pub credentials: Vec<Value>,
    pub total: usize,
}

/// The grant tokens are issued under: its code's digest, client, learner and whole scope.
struct Grant<'a> {
    hash: &'a [u8],
    client_id: &'a str,
    client: &'a ClientMetadata,
    account: &'a str,
    scope: &'a str,
}

/// An app that can read a learner's badges, as their page lists it.
#[derive(Debug, Clone)]
pub struct MyApp {
    pub client_id: String,
    pub name: String,
    pub uri: String,
    pub scopes: Vec<String>,
}

/// Client authentication as the token and revocation endpoints received it.
pub struct ClientAuth {
    pub client_id: String,
    pub client_secret: String,
}

impl Service {
    fn oauth_actor(client_id: &str) -> Actor {
        Actor { token: format!("oauth:{client_id}"), role: "app".into() }
    }

    /// Registers a client (RFC 7591 §3.1): the secret is returned once and kept as a digest.
    #[tracing::instrument(skip_all)]
    pub async fn register_oauth_client(&self, input: ClientMetadataInput) -> Result<RegisteredClient, OAuthError> {
        let metadata = input.validate()?;
        let client_id = secret("mbk_");
        let client_secret = secret("mbx_");
        let now = self.now();
        let stored = serde_json::to_string(&metadata).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let mut tx = self.store.begin().await?;
        tx.insert_oauth_client(&client_id, digest(&client_secret), &stored, now).await?;
        tx.audit(vec![NewEvent::new(
            &Self::oauth_actor(&client_id),
            None,
            "oauth.client_registered",
            &client_id,
            &json!({"client_name": metadata.client_name, "client_uri": metadata.client_uri, "scope": metadata.scope}),
        )])
        .await?;
        tx.commit().await?;
        Ok(RegisteredClient { client_id, client_secret, issued_at: now, metadata })
    }

    async fn oauth_client_metadata(&self, client_id: &str) -> ServiceResult<Option<ClientMetadata>> {
        if client_id.len() > 100 {
            return Ok(None);
        }
        let Some(row) = self.store.oauth_client(client_id).await? else { return Ok(None) };
        serde_json::from_str(&row.metadata).map(Some).map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// Checks an authorization request before the learner is asked.
    #[tracing::instrument(skip_all)]
    pub async fn authorization_request(
        &self,
        q: &AuthorizationQuery,
    ) -> Result<PendingAuthorization, Result<AuthorizeError, ServiceError>> {
        let client = self.oauth_client_metadata(q.client_id.as_deref().unwrap_or_default()).await.map_err(Err)?;
        let request = oauth::check_authorization(q, client.as_ref()).map_err(Ok)?;
        Ok(PendingAuthorization { request, client: client.expect("checked above") })
    }

    /// The learner's answer to an authorization request: where to send the browser (the
    /// client's redirection URI with a code, or with `access_denied`).
    #[tracing::instrument(skip_all)]
    pub async fn decide_authorization(
        &self,
        account: &str,
        q: &AuthorizationQuery,
        allow: bool,
    ) -> Result<String, Result<AuthorizeError, ServiceError>> {
        let pending = self.authorization_request(q).await?;
        let a = pending.request;
        if !allow {
            return Err(Ok(AuthorizeError::Redirect {
                redirect_uri: a.redirect_uri,
                state: Some(a.state),
                error: "access_denied",
                description: "the learner declined".into(),
            }));
        }
        let code = secret("mbc_");
        let scope = a.scopes.join(" ");
        let now = self.now();
        let stored = async {
            let mut tx = self.store.begin().await?;
            tx.insert_oauth_code(
                NewOAuthCode {
                    hash: digest(&code),
                    client_id: &a.client_id,
                    account,
                    redirect_uri: &a.redirect_uri,
                    scope: &scope,
                    challenge: &a.challenge,
                    expires_at: now + CODE_VALID,
                },
                now,
            )
            .await?;
            tx.audit(vec![NewEvent::new(
                &Self::learner_actor(),
                None,
                "learner.app_authorised",
                sha256_hex(account),
                &json!({"client_id": a.client_id, "client_name": pending.client.client_name, "scope": scope}),
            )])
            .await?;
            tx.commit().await?;
            Ok::<_, ServiceError>(())
        };
        stored.await.map_err(Err)?;
        Ok(with_query(
            &a.redirect_uri,
            &[("code", code.as_str()), ("scope", &scope), ("state", &a.state), ("iss", &self.base_url)],
        ))
    }

    /// Authenticates a client at the token or revocation endpoint (secret compared as a
    /// digest, in constant time).
    async fn authenticated_client(&self, auth: Option<ClientAuth>) -> Result<(String, ClientMetadata), OAuthError> {
        let auth = auth.ok_or(OAuthError::InvalidClient)?;
        if auth.client_id.len() > 100 {
            return Err(OAuthError::InvalidClient);
        }
        let row = self.store.oauth_client(&auth.client_id).await?.ok_or(OAuthError::InvalidClient)?;
        if !bool::from(digest(&auth.client_secret).ct_eq(&row.secret_hash)) {
            return Err(OAuthError::InvalidClient);
        }
        let metadata = serde_json::from_str(&row.metadata).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok((row.client_id, metadata))
    }

    /// The token endpoint for the authorization code and refresh token grants.
    #[tracing::instrument(skip_all)]
    pub async fn oauth_token(&self, auth: Option<ClientAuth>, req: TokenRequest) -> Result<OAuthTokens, OAuthError> {
        if ![oauth::GRANT_AUTHORIZATION_CODE, oauth::GRANT_REFRESH_TOKEN].contains(&req.grant_type.as_str()) {
            return Err(OAuthError::UnsupportedGrantType);
        }
        let (client_id, client) = self.authenticated_client(auth).await?;
        match req.grant_type.as_str() {
            oauth::GRANT_AUTHORIZATION_CODE => self.redeem_code(&client_id, &client, req).await,
            oauth::GRANT_REFRESH_TOKEN if client.may_refresh() => self.refresh(&client_id, &client, req).await,
            oauth::GRANT_REFRESH_TOKEN => Err(OAuthError::UnauthorizedClient),
            _ => Err(OAuthError::UnsupportedGrantType),
        }
    }

    async fn redeem_code(
        &self,
        client_id: &str,
        client: &ClientMetadata,
        req: TokenRequest,
    ) -> Result<OAuthTokens, OAuthError> {
        let code = req.code.filter(|c| !c.is_empty() && c.len() <= 100);
        let code = code.ok_or_else(|| OAuthError::InvalidRequest("code is required".into()))?;
        let verifier =
            req.code_verifier.ok_or_else(|| OAuthError::InvalidRequest("code_verifier is required".into()))?;
        let now = self.now();
        let hash = digest(&code);
        let mut tx = self.store.begin().await?;
        let row = tx.oauth_code(hash.clone()).await?.ok_or_else(|| OAuthError::InvalidGrant("unknown code".into()))?;
        if row.client_id != client_id {
            return Err(OAuthError::InvalidGrant("the code was issued to another client".into()));
        }
        if row.used_at.is_some() {
            // Someone has the code twice: whatever it bought is withdrawn.
            tx.revoke_oauth_grant(hash, now).await?;
            tx.commit().await?;
            return Err(OAuthError::InvalidGrant("the code was used before; its tokens are revoked".into()));
        }
        if row.expires_at <= now {
            return Err(OAuthError::InvalidGrant("the code has expired".into()));
        }
        if req.redirect_uri.as_deref() != Some(row.redirect_uri.as_str()) {
            return Err(OAuthError::InvalidGrant("redirect_uri differs from the authorization request's".into()));
        }
        if !oauth::verifier_matches(&verifier, &row.challenge) {
            return Err(OAuthError::InvalidGrant("code_verifier does not match the code_challenge".into()));
        }
        let scope = narrowed(&row.scope, req.scope.as_deref())?;
        if !tx.use_oauth_code(hash.clone(), now).await? {
            return Err(OAuthError::InvalidGrant("the code was used".into()));
        }
        let grant = Grant { hash: &hash, client_id, client, account: &row.account, scope: &row.scope };
        let tokens = self.issue_tokens(&mut tx, grant, &scope, now).await?;
        tx.commit().await?;
        Ok(tokens)
    }

    async fn refresh(
        &self,
        client_id: &str,
        client: &ClientMetadata,
        req: TokenRequest,
    ) -> Result<OAuthTokens, OAuthError> {
        let presented = req.refresh_token.filter(|t| !t.is_empty() && t.len() <= 100);
        let presented = presented.ok_or_else(|| OAuthError::InvalidRequest("refresh_token is required".into()))?;
        let now = self.now();
        let hash = digest(&presented);
        let mut tx = self.store.begin().await?;
        let row = tx.oauth_token(hash.clone()).await?.filter(|r| r.kind == "refresh" && r.client_id == client_id);
        let row = row.ok_or_else(|| OAuthError::InvalidGrant("unknown refresh token".into()))?;
        if row.revoked_at.is_some() {
            // A rotated refresh token came back: it was copied. End the grant.
            tx.revoke_oauth_grant(row.grant_hash, now).await?;
            tx.commit().await?;
            return Err(OAuthError::InvalidGrant("the refresh token was used or revoked".into()));
        }
        if row.expires_at <= now {
            return Err(OAuthError::InvalidGrant("the refresh token has expired".into()));
        }
        let scope = narrowed(&row.scope, req.scope.as_deref())?;
        if !tx.revoke_oauth_token(hash, now).await? {
            return Err(OAuthError::InvalidGrant("the refresh token was used".into()));
        }
        // The new refresh token keeps the grant's whole scope, so narrowing one access token
        // does not narrow the grant.
        let grant = Grant { hash: &row.grant_hash, client_id, client, account: &row.account, scope: &row.scope };
        let tokens = self.issue_tokens(&mut tx, grant, &scope, now).await?;
        tx.commit().await?;
        Ok(tokens)
    }

    /// An access token with `scope` and, for a client that registered for it, a refresh token
    /// with the grant's whole scope.
    async fn issue_tokens(
        &self,
        tx: &mut crate::store::Tx,
        g: Grant<'_>,
        scope: &str,
        now: OffsetDateTime,
    ) -> Result<OAuthTokens, OAuthError> {
        let token = |hash, kind, scope, expires_at| NewOAuthToken {
            hash,
            kind,
            grant: g.hash,
            client_id: g.client_id,
            account: g.account,
            scope,
            expires_at,
        };
        let access = secret("mbo_");
        tx.insert_oauth_token(token(digest(&access), "access", scope, now + ACCESS_VALID), now).await?;
        let refresh = if g.client.may_refresh() {
            let refresh = secret("mbr_");
            tx.insert_oauth_token(token(digest(&refresh), "refresh", g.scope, now + REFRESH_VALID), now).await?;
            Some(refresh)
        } else {
            None
        };
        Ok(OAuthTokens {
            access_token: access,
            token_type: "Bearer",
            expires_in: ACCESS_VALID.whole_seconds(),
            scope: scope.to_string(),
            refresh_token: refresh,
        })
    }

    /// Token revocation (RFC 7009): a refresh token ends its whole grant, an access token
    /// itself. Unknown tokens and other clients' tokens are answered the same way (nothing
    /// to tell).
    #[tracing::instrument(skip_all)]
    pub async fn oauth_revoke(&self, auth: Option<ClientAuth>, token: &str) -> Result<(), OAuthError> {
        let (client_id, _) = self.authenticated_client(auth).await?;
        if token.is_empty() || token.len() > 100 {
            return Err(OAuthError::InvalidRequest("token is required".into()));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if let Some(row) = tx.oauth_token(digest(token)).await?.filter(|r| r.client_id == client_id) {
            if row.kind == "refresh" {
                tx.revoke_oauth_grant(row.grant_hash, now).await?;
            } else {
                tx.revoke_oauth_token(digest(token), now).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The learner account behind a bearer token that carries `scope`.
    #[tracing::instrument(skip_all)]
    pub async fn oauth_resource_owner(
        &self,
        bearer: Option<&str>,
        scope: &'static str,
    ) -> Result<String, ResourceError> {
        let bearer = bearer.filter(|b| b.starts_with("mbo_") && b.len() <= 100).ok_or(ResourceError::Unauthorized)?;
        let row = self.store.oauth_access(digest(bearer), self.now()).await.map_err(ServiceError::from)?;
        let row = row.ok_or(ResourceError::Unauthorized)?;
        if !oauth::split_scope(&row.scope).contains(&scope) {
            return Err(ResourceError::Forbidden(scope));
        }
        Ok(row.account)
    }

    /// The apps that can read the learner's badges now (a live token).
    #[tracing::instrument(skip_all)]
    pub async fn my_apps(&self, account: &str) -> ServiceResult<Vec<MyApp>> {
        let rows = self.store.oauth_apps(account, self.now()).await?;
        rows.into_iter()
            .map(|r| {
                let m: ClientMetadata =
                    serde_json::from_str(&r.metadata).map_err(|e| ServiceError::Internal(e.to_string()))?;
                Ok(MyApp {
                    client_id: r.client_id,
                    scopes: m.scopes().into_iter().map(String::from).collect(),
                    name: m.client_name,
                    uri: m.client_uri,
                })
            })
            .collect()
    }

    /// The learner withdraws an app's access: every token they gave it is revoked.
    #[tracing::instrument(skip_all)]
    pub async fn withdraw_app(&self, account: &str, client_id: &str) -> ServiceResult<()> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if tx.revoke_oauth_app(account, client_id, now).await? > 0 {
            tx.audit(vec![NewEvent::new(
                &Self::learner_actor(),
                None,
                "learner.app_withdrawn",
                sha256_hex(account),
                &json!({"client_id": client_id}),
            )])
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `getCredentials`: the learner's credentials (every issuer, every confirmed address),
    /// oldest first, those issued after `since`, from `offset`, at most `limit`.
    #[tracing::instrument(skip_all)]
    pub async fn ob_credentials(
        &self,
        account: &str,
        since: Option<OffsetDateTime>,
        offset: usize,
        limit: usize,
    ) -> ServiceResult<CredentialPage> {
        let mut rows = self.my_rows(account).await?;
        rows.reverse();
        rows.retain(|r| since.is_none_or(|s| r.created_at > s));
        let total = rows.len();
        let credentials = rows
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|r| serde_json::from_str(&r.signed).map_err(|e| ServiceError::Internal(e.to_string())))
            .collect::<ServiceResult<Vec<Value>>>()?;
        Ok(CredentialPage { credentials, total })
    }

    /// `getProfile`: the learner as an OB 3.0 `Profile` — the address they signed in with (the
    /// account) and any further ones they confirmed.
    #[tracing::instrument(skip_all)]
    pub async fn ob_profile(&self, account: &str) -> ServiceResult<Value> {
        let mut profile = json!({
            "@context": [crate::credential::contexts::VC_V2, crate::credential::contexts::OB_V3_0_3],
            "id": format!("mailto:{account}"),
            "type": ["Profile"],
            "email": account,
        });
        let others: Vec<String> = self.learner_addresses(account).await?.into_iter().filter(|a| a != account).collect();
        if !others.is_empty() {
            profile["otherIdentifier"] = others
                .iter()
                .map(|a| json!({"type": "IdentifierEntry", "identifier": a, "identifierType": "emailAddress"}))
                .collect();
        }
        Ok(profile)
    }
}

/// The scope of a token asked with `asked` under a grant of `granted`: the grant's when
/// nothing is asked, otherwise a subset of it (RFC 6749 §6).
fn narrowed(granted: &str, asked: Option<&str>) -> Result<String, OAuthError> {
    let Some(asked) = asked.filter(|a| !a.trim().is_empty()) else { return Ok(granted.to_string()) };
    let have = oauth::split_scope(granted);
    let want = oauth::split_scope(asked);
    if let Some(s) = want.iter().find(|s| !have.contains(s)) {
        return Err(OAuthError::InvalidScope(format!("{s} was not granted")));
    }
    Ok(want.join(" "))
}

/// `uri` with `params` added to its query.
pub fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            u.to_string()
        }
        Err(_) => uri.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_narrow_but_never_widen() {
        let granted = "a b c";
        assert_eq!(narrowed(granted, None).unwrap(), "a b c");
        assert_eq!(narrowed(granted, Some("b")).unwrap(), "b");
        assert!(matches!(narrowed(granted, Some("b d")), Err(OAuthError::InvalidScope(_))));
    }

    #[test]
    fn redirects_keep_the_clients_own_query() {
        let to = with_query("https://app.example/cb?x=1", &[("code", "c d"), ("state", "s&t")]);
        assert_eq!(to, "https://app.example/cb?x=1&code=c+d&state=s%26t");
    }
}
