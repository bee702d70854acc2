//! OAuth 2.0 as the Open Badges 3.0 API profiles it: what a client may register (RFC 7591 with
//! the OB 3.0 security section's rules), the scopes we grant, what an authorization request
//! must carry, and the PKCE check (RFC 7636, `S256` only). No storage and no HTTP here: the
//! service looks clients up and the http layer shapes the answers.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const SCOPE_CREDENTIAL_READ: &str = "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly";
pub const SCOPE_CREDENTIAL_UPSERT: &str = "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.upsert";
pub const SCOPE_PROFILE_READ: &str = "https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.readonly";
pub const SCOPE_PROFILE_UPDATE: &str = "https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.update";
/// Asked for by the OB 3.0 examples to get a refresh token; granted, and means nothing more.
pub const OFFLINE_ACCESS: &str = "offline_access";
/// What this service grants: it is an OB 3.0 Provider for reading only.
pub const SUPPORTED_SCOPES: [&str; 3] = [SCOPE_CREDENTIAL_READ, SCOPE_PROFILE_READ, OFFLINE_ACCESS];
/// Scopes of the OB 3.0 API this service knows but does not grant (Provider, write).
const WRITE_SCOPES: [&str; 2] = [SCOPE_CREDENTIAL_UPSERT, SCOPE_PROFILE_UPDATE];

pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
/// The only client authentication the OB 3.0 security section allows.
pub const CLIENT_SECRET_BASIC: &str = "client_secret_basic";

const MAX_REDIRECT_URIS: usize = 10;
const NAME_MAX: usize = 200;

/// A registration request as sent (RFC 7591 §2); every field optional here so that a missing
/// one is reported by name instead of as a parse error.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClientMetadataInput {
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub tos_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub software_id: Option<String>,
    pub software_version: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub scope: Option<String>,
}

/// A registered client's metadata, as stored and as returned to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientMetadata {
    pub client_name: String,
    pub client_uri: String,
    pub logo_uri: String,
    pub tos_uri: String,
    pub policy_uri: String,
    pub software_id: String,
    pub software_version: String,
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    /// Space-separated: what the client may ask for (the supported part of what it asked).
    pub scope: String,
}

impl ClientMetadata {
    pub fn scopes(&self) -> Vec<&str> {
        split_scope(&self.scope)
    }

    pub fn may_refresh(&self) -> bool {
        self.grant_types.iter().any(|g| g == GRANT_REFRESH_TOKEN)
    }
}

/// Why a registration is refused (RFC 7591 §3.2.2 error codes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    #[error("{0}")]
    InvalidRedirectUri(String),
    #[error("{0}")]
    InvalidClientMetadata(String),
}

impl RegistrationError {
    pub fn code(&self) -> &'static str {
        match self {
            RegistrationError::InvalidRedirectUri(_) => "invalid_redirect_uri",
            RegistrationError::InvalidClientMetadata(_) => "invalid_client_metadata",
        }
    }
}

/// Space-separated scope values, without empties and repeats, in the order given.
pub fn split_scope(scope: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// The host of an `https` URL (or of an `http` one on the loopback interface: an app on a
/// developer's own machine, as RFC 8252 §7.3 allows native apps); `None` for anything else or
/// a URL with a fragment (RFC 6749 §3.1.2 forbids one in a redirection URI).
fn host_of(value: &str) -> Option<String> {
    let url = url::Url::parse(value).ok()?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let scheme_ok = url.scheme() == "https" || (loopback && url.scheme() == "http");
    if !scheme_ok || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    url.host_str().map(str::to_ascii_lowercase)
}

impl ClientMetadataInput {
    /// The metadata to register, or why not. All URLs must be `https` on one host (OB 3.0
    /// security §"Register with Authorization Server"), but for loopback addresses.
    pub fn validate(self) -> Result<ClientMetadata, RegistrationError> {
        let bad = RegistrationError::InvalidClientMetadata;
        let required = |name: &str, v: Option<String>| -> Result<String, RegistrationError> {
            let v = v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
            let v = v.ok_or_else(|| bad(format!("{name} is required")))?;
            if v.chars().count() > crate::domain::validate::URL_MAX || v.chars().any(char::is_control) {
                return Err(bad(format!("{name} is too long or holds control characters")));
            }
            Ok(v)
        };
        let client_name = required("client_name", self.client_name)?;
        if client_name.chars().count() > NAME_MAX {
            return Err(bad(format!("client_name must be at most {NAME_MAX} characters")));
        }
        let software_id = required("software_id", self.software_id)?;
        let software_version = required("software_version", self.software_version)?;
        let mut host: Option<String> = None;
        let mut same_host = |name: &str, value: &str| -> Result<(), String> {
            let h =
                host_of(value).ok_or_else(|| format!("{name} must be an https URL without a fragment or user name"))?;
            match &host {
                Some(first) if *first != h => Err(format!("{name} must be on the same host as client_uri ({first})")),
                Some(_) => Ok(()),
                None => {
                    host = Some(h);
                    Ok(())
                }
            }
        };
        let client_uri = required("client_uri", self.client_uri)?;
        same_host("client_uri", &client_uri).map_err(bad)?;
        let mut urls = Vec::new();
        for (name, v) in [("logo_uri", self.logo_uri), ("tos_uri", self.tos_uri), ("policy_uri", self.policy_uri)] {
            let v = required(name, v)?;
            same_host(name, &v).map_err(bad)?;
            urls.push(v);
        }
        let redirect_uris = self.redirect_uris.unwrap_or_default();
        if redirect_uris.is_empty() || redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(RegistrationError::InvalidRedirectUri(format!(
                "redirect_uris must list 1 to {MAX_REDIRECT_URIS} URLs"
            )));
        }
        for (i, uri) in redirect_uris.iter().enumerate() {
            if uri.len() > crate::domain::validate::URL_MAX {
                return Err(RegistrationError::InvalidRedirectUri(format!("redirect_uris[{i}] is too long")));
            }
            same_host(&format!("redirect_uris[{i}]"), uri).map_err(RegistrationError::InvalidRedirectUri)?;
        }
        let method = self.token_endpoint_auth_method.unwrap_or_else(|| CLIENT_SECRET_BASIC.to_string());
        if method != CLIENT_SECRET_BASIC {
            return Err(bad(format!("token_endpoint_auth_method must be {CLIENT_SECRET_BASIC}")));
        }
        let grant_types = self.grant_types.unwrap_or_else(|| vec![GRANT_AUTHORIZATION_CODE.to_string()]);
        if grant_types.is_empty()
            || grant_types.len() > 2
            || grant_types.iter().any(|g| g != GRANT_AUTHORIZATION_CODE && g != GRANT_REFRESH_TOKEN)
        {
            return Err(bad("grant_types may hold only authorization_code and refresh_token".into()));
        }
        let response_types = self.response_types.unwrap_or_else(|| vec!["code".to_string()]);
        if response_types != ["code"] {
            return Err(bad("response_types must be [\"code\"]".into()));
        }
        // What the client may ask for: the supported part of its list (the answer tells it
        // which), or everything supported when it named nothing.
        let asked = self.scope.unwrap_or_default();
        if asked.len() > 2_000 {
            return Err(bad("scope is too long".into()));
        }
        let asked = split_scope(&asked);
        if let Some(unknown) = asked.iter().find(|s| !SUPPORTED_SCOPES.contains(s) && !WRITE_SCOPES.contains(s)) {
            return Err(bad(format!("unknown scope {unknown}")));
        }
        let granted: Vec<&str> = if asked.is_empty() {
            SUPPORTED_SCOPES.to_vec()
        } else {
            asked.into_iter().filter(|s| SUPPORTED_SCOPES.contains(s)).collect()
        };
        if !granted.iter().any(|s| *s != OFFLINE_ACCESS) {
            return Err(bad("scope names nothing this service grants (it is a Provider for reading only)".into()));
        }
        let [logo_uri, tos_uri, policy_uri]: [String; 3] = urls.try_into().expect("three URLs");
        Ok(ClientMetadata {
            client_name,
            client_uri,
            logo_uri,
            tos_uri,
            policy_uri,
            software_id,
            software_version,
            redirect_uris,
            token_endpoint_auth_method: method,
            grant_types,
            response_types,
            scope: granted.join(" "),
        })
    }
}

/// An authorization request's query (RFC 6749 §4.1.1 with PKCE).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct AuthorizationQuery {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// A request that may be put to the learner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: String,
    pub challenge: String,
}

/// Why an authorization request cannot be granted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizeError {
    /// The client or its redirection URI is unknown: told to the person, never redirected
    /// (RFC 6749 §4.1.2.1).
    #[error("{0}")]
    NotRedirectable(String),
    /// Told to the client at its redirection URI.
    #[error("{description}")]
    Redirect { redirect_uri: String, state: Option<String>, error: &'static str, description: String },
}

/// Checks `q` against the registered client (`None`: unknown `client_id`).
pub fn check_authorization(
    q: &AuthorizationQuery,
    client: Option<&ClientMetadata>,
) -> Result<Authorization, AuthorizeError> {
    let client = client.ok_or_else(|| AuthorizeError::NotRedirectable("unknown client_id".into()))?;
    let redirect_uri = q.redirect_uri.clone().filter(|r| client.redirect_uris.contains(r)).ok_or_else(|| {
        AuthorizeError::NotRedirectable("redirect_uri is missing or not registered for this client".into())
    })?;
    let refuse = |error: &'static str, description: &str| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: q.state.clone(),
        error,
        description: description.to_string(),
    };
    if q.response_type.as_deref() != Some("code") {
        return Err(refuse("unsupported_response_type", "response_type must be code"));
    }
    let state = q.state.clone().filter(|s| !s.is_empty() && s.len() <= 500);
    let state = state.ok_or_else(|| refuse("invalid_request", "state is required (at most 500 characters)"))?;
    if q.code_challenge_method.as_deref() != Some("S256") {
        return Err(refuse("invalid_request", "code_challenge_method must be S256"));
    }
    let challenge = q.code_challenge.clone().filter(|c| is_challenge(c));
    let challenge =
        challenge.ok_or_else(|| refuse("invalid_request", "code_challenge must be BASE64URL(SHA256(verifier))"))?;
    let scope = q.scope.as_deref().unwrap_or_default();
    let scopes = split_scope(scope);
    if scopes.is_empty() {
        return Err(refuse("invalid_scope", "scope is required"));
    }
    let allowed = client.scopes();
    if let Some(s) = scopes.iter().find(|s| !allowed.contains(s)) {
        return Err(refuse(
            "invalid_scope",
            &format!("{s} is not a scope this client registered or this service grants"),
        ));
    }
    Ok(Authorization {
        client_id: q.client_id.clone().unwrap_or_default(),
        redirect_uri,
        scopes: scopes.into_iter().map(String::from).collect(),
        state,
        challenge,
    })
}

/// A `code_challenge` of the S256 method: 32 bytes in unpadded base64url.
fn is_challenge(c: &str) -> bool {
    c.len() == 43 && URL_SAFE_NO_PAD.decode(c).is_ok_and(|b| b.len() == 32)
}

/// Whether `verifier` (RFC 7636 §4.1: 43–128 unreserved characters) hashes to `challenge`.
pub fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    well_formed && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ClientMetadataInput {
        ClientMetadataInput {
            client_name: Some("Backpack".into()),
            client_uri: Some("https://host.example/".into()),
            logo_uri: Some("https://host.example/logo.png".into()),
            tos_uri: Some("https://host.example/tos".into()),
            policy_uri: Some("https://host.example/privacy".into()),
            software_id: Some("backpack".into()),
            software_version: Some("1.0".into()),
            redirect_uris: Some(vec!["https://host.example/cb".into()]),
            token_endpoint_auth_method: None,
            grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
            response_types: Some(vec!["code".into()]),
            scope: Some(format!("{SCOPE_CREDENTIAL_READ} {SCOPE_CREDENTIAL_UPSERT} {OFFLINE_ACCESS}")),
        }
    }

    #[test]
    fn registration_keeps_the_supported_scopes_and_defaults() {
        let m = input().validate().unwrap();
        assert_eq!(m.scope, format!("{SCOPE_CREDENTIAL_READ} {OFFLINE_ACCESS}"));
        assert_eq!(m.token_endpoint_auth_method, CLIENT_SECRET_BASIC);
        assert!(m.may_refresh());
    }

    #[test]
    fn registration_refuses_what_the_profile_forbids() {
        let with = |f: fn(&mut ClientMetadataInput)| {
            let mut i = input();
            f(&mut i);
            i.validate().unwrap_err()
        };
        assert!(
            matches!(with(|i| i.client_name = None), RegistrationError::InvalidClientMetadata(m) if m.contains("client_name"))
        );
        assert!(matches!(
            with(|i| i.redirect_uris = Some(vec!["http://host.example/cb".into()])),
            RegistrationError::InvalidRedirectUri(_)
        ));
        assert!(
            matches!(with(|i| i.redirect_uris = Some(vec!["https://elsewhere.example/cb".into()])), RegistrationError::InvalidRedirectUri(m) if m.contains("same host"))
        );
        assert!(matches!(
            with(|i| i.redirect_uris = Some(vec!["https://host.example/cb#x".into()])),
            RegistrationError::InvalidRedirectUri(_)
        ));
        assert!(matches!(with(|i| i.redirect_uris = Some(vec![])), RegistrationError::InvalidRedirectUri(_)));
        assert!(matches!(
            with(|i| i.tos_uri = Some("https://other.example/tos".into())),
            RegistrationError::InvalidClientMetadata(_)
        ));
        assert!(matches!(
            with(|i| i.token_endpoint_auth_method = Some("none".into())),
            RegistrationError::InvalidClientMetadata(_)
        ));
        assert!(matches!(
            with(|i| i.grant_types = Some(vec!["client_credentials".into()])),
            RegistrationError::InvalidClientMetadata(_)
        ));
        assert!(matches!(with(|i| i.scope = Some("openid".into())), RegistrationError::InvalidClientMetadata(_)));
        assert!(matches!(
            with(|i| i.scope = Some(SCOPE_PROFILE_UPDATE.into())),
            RegistrationError::InvalidClientMetadata(_)
        ));
        // An app on the developer's own machine may use plain http there.
        let mut dev = input();
        dev.redirect_uris = Some(vec!["http://localhost:8080/cb".into()]);
        for url in [&mut dev.client_uri, &mut dev.logo_uri, &mut dev.tos_uri, &mut dev.policy_uri] {
            *url = Some("http://localhost:8080/".into());
        }
        assert!(dev.validate().is_ok());
    }

    #[test]
    fn authorization_requests_are_checked_in_the_rfc_order() {
        let client = input().validate().unwrap();
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let good = AuthorizationQuery {
            response_type: Some("code".into()),
            client_id: Some("c1".into()),
            redirect_uri: Some("https://host.example/cb".into()),
            scope: Some(SCOPE_CREDENTIAL_READ.into()),
            state: Some("s".into()),
            code_challenge: Some(challenge.clone()),
            code_challenge_method: Some("S256".into()),
        };
        let a = check_authorization(&good, Some(&client)).unwrap();
        assert_eq!(a.scopes, vec![SCOPE_CREDENTIAL_READ]);
        assert!(matches!(check_authorization(&good, None), Err(AuthorizeError::NotRedirectable(_))));
        let mut q = good.clone();
        q.redirect_uri = Some("https://host.example/other".into());
        assert!(matches!(check_authorization(&q, Some(&client)), Err(AuthorizeError::NotRedirectable(_))));
        let error_of = |q: &AuthorizationQuery| match check_authorization(q, Some(&client)) {
            Err(AuthorizeError::Redirect { error, .. }) => error,
            other => panic!("{other:?}"),
        };
        let mut q = good.clone();
        q.code_challenge_method = Some("plain".into());
        assert_eq!(error_of(&q), "invalid_request");
        let mut q = good.clone();
        q.state = None;
        assert_eq!(error_of(&q), "invalid_request");
        let mut q = good.clone();
        q.scope = Some(SCOPE_PROFILE_READ.into());
        assert_eq!(error_of(&q), "invalid_scope");
        let mut q = good;
        q.response_type = Some("token".into());
        assert_eq!(error_of(&q), "unsupported_response_type");
        // RFC 7636 appendix B's example pair.
        assert!(verifier_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!verifier_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx", &challenge));
        assert!(!verifier_matches("short", &challenge));
    }
}
