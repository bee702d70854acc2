//! Into a wallet: OpenID for Verifiable Credential Issuance 1.0, pre-authorised code flow.
//!
//! The learner, signed in on their own page, makes an offer for one of their credentials: a
//! pre-authorised code (in the offer link and QR code) and a 6-digit transaction code (shown
//! beside it, typed into the wallet), valid for ten minutes, used once. The wallet exchanges
//! them at the token endpoint for an access token, fetches a nonce, and asks the credential
//! endpoint for the credential, proving possession of its key with a JWT over that nonce. The
//! credential it receives is a copy bound to the holder's `did:key`, signed afresh with the
//! issuer's key; it keeps the original's status entry, so it stands or falls with it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use uuid::Uuid;

use super::console::secret;
use super::{Service, ServiceError, ServiceResult, sha256_hex};
use crate::credential::holder::{self, HolderProofError};
use crate::credential::ob3;
use crate::domain::audit::{Actor, NewEvent};
use crate::master_key::hmac_sha256;
use crate::store::NewWalletCopy;

/// The one credential configuration offered: an OB 3.0 credential as `ldp_vc` with its
/// eddsa-rdfc-2022 Data Integrity proof.
pub const CONFIGURATION: &str = "OpenBadgeCredential_ldp_vc";
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
const OFFER_VALID: time::Duration = time::Duration::minutes(10);
const TOKEN_VALID: time::Duration = time::Duration::minutes(5);
const NONCE_VALID: time::Duration = time::Duration::minutes(5);
/// Wrong transaction codes before an offer is burnt (6 digits: a guess in 200 000).
const TX_ATTEMPTS: i64 = 5;

/// What the token and credential endpoints answer when they refuse (RFC 6749 §5.2 and
/// OpenID4VCI 1.0 §8.3.1 error codes).
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    #[error("{0}")]
    InvalidGrant(String),
    #[error("the access token is missing, unknown, used or expired")]
    InvalidToken,
    #[error("{0}")]
    InvalidProof(String),
    #[error("the nonce is unknown or expired; ask the nonce endpoint for a new one")]
    InvalidNonce,
    #[error("unknown credential configuration")]
    UnknownConfiguration,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<crate::store::StoreError> for WalletError {
    fn from(e: crate::store::StoreError) -> Self {
        WalletError::Service(e.into())
    }
}

impl WalletError {
    /// The protocol's `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            WalletError::InvalidRequest(_) => "invalid_request",
            WalletError::UnsupportedGrantType => "unsupported_grant_type",
            WalletError::InvalidGrant(_) => "invalid_grant",
            WalletError::InvalidToken => "invalid_token",
            WalletError::InvalidProof(_) => "invalid_proof",
            WalletError::InvalidNonce => "invalid_nonce",
            WalletError::UnknownConfiguration => "unknown_credential_configuration",
            WalletError::Service(_) => "server_error",
        }
    }
}

/// An offer as the learner's page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct WalletOffer {
    /// `openid-credential-offer://?credential_offer=…` (the offer by value).
    pub url: String,
    pub tx_code: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires: OffsetDateTime,
    pub name: String,
}

/// The token endpoint's answer.
#[derive(Debug, Clone, Serialize)]
pub struct WalletToken {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
}

impl Service {
    /// `/.well-known/openid-credential-issuer`.
    pub fn credential_issuer_metadata(&self) -> Value {
        let base = &self.base_url;
        json!({
            "credential_issuer": base,
            "credential_endpoint": format!("{base}/oid4vci/credential"),
            "nonce_endpoint": format!("{base}/oid4vci/nonce"),
            "display": [{"name": "metrobadge", "locale": "en"}, {"name": "metrobadge", "locale": "nl"}],
            "credential_configurations_supported": {
                CONFIGURATION: {
                    "format": "ldp_vc",
                    "credential_definition": {
                        "@context": [crate::credential::contexts::VC_V2, crate::credential::contexts::OB_V3_0_3],
                        "type": ["VerifiableCredential", "OpenBadgeCredential"],
                    },
                    "cryptographic_binding_methods_supported": ["did:key", "jwk"],
                    "credential_signing_alg_values_supported": ["eddsa-rdfc-2022"],
                    "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["EdDSA"]}},
                    "display": [{"name": "Open Badge", "locale": "en"}, {"name": "Open Badge", "locale": "nl"}],
                }
            }
        })
    }

    /// `/.well-known/oauth-authorization-server` (RFC 8414): one token endpoint for the
    /// wallet's pre-authorised code and the OB 3.0 API's authorization code and refresh token.
    pub fn authorization_server_metadata(&self) -> Value {
        use crate::domain::oauth;
        let base = &self.base_url;
        json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/me/authorize"),
            "token_endpoint": format!("{base}/oauth/token"),
            "registration_endpoint": format!("{base}/ims/ob/v3p0/oauth/register"),
            "revocation_endpoint": format!("{base}/ims/ob/v3p0/oauth/revoke"),
            "scopes_supported": oauth::SUPPORTED_SCOPES,
            "response_types_supported": ["code"],
            "grant_types_supported": [PRE_AUTHORIZED_GRANT, oauth::GRANT_AUTHORIZATION_CODE, oauth::GRANT_REFRESH_TOKEN],
            "token_endpoint_auth_methods_supported": [oauth::CLIENT_SECRET_BASIC, "none"],
            "revocation_endpoint_auth_methods_supported": [oauth::CLIENT_SECRET_BASIC],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": true,
            "service_documentation": format!("{base}/ims/ob/v3p0/discovery"),
            "pre-authorized_grant_anonymous_access_supported": true,
        })
    }

    /// An offer for one of the signed-in learner's credentials that still stands.
    #[tracing::instrument(skip_all, fields(credential = %credential))]
    pub async fn wallet_offer(&self, identity: &str, credential: Uuid) -> ServiceResult<WalletOffer> {
        let row = self.live_credential(credential).await?;
        if !self.learner_owns(identity, &row.identity_type, &row.identity).await? {
            return Err(ServiceError::NotFound);
        }
        let identity = row.identity.as_str();
        let state = self.store.credential_state(credential).await?.ok_or(ServiceError::NotFound)?;
        if state.revoked_at.is_some() {
            return Err(crate::domain::validate::Invalid::one(
                "credential",
                crate::problem!("revoked-not-to-wallet", "a revoked credential cannot go into a wallet"),
            )
            .into());
        }
        let vc: Value = serde_json::from_str(&row.signed).unwrap_or_default();
        let name = ob3::display_name(&vc);
        let code = secret("mbp_");
        let tx_code = format!("{:06}", rand::random::<u32>() % 1_000_000);
        let now = self.now();
        let expires = now + OFFER_VALID;
        let mut tx = self.store.begin().await?;
        tx.insert_offer(Uuid::now_v7(), &sha256_hex(&code), &sha256_hex(&tx_code), credential, identity, now, expires)
            .await?;
        tx.audit(vec![NewEvent::new(
            &Self::learner_actor(),
            Some(row.issuer_id),
            "credential.wallet_offered",
            credential,
            &json!({}),
        )])
        .await?;
        tx.commit().await?;
        let offer = json!({
            "credential_issuer": self.base_url,
            "credential_configuration_ids": [CONFIGURATION],
            "grants": {PRE_AUTHORIZED_GRANT: {
                "pre-authorized_code": code,
                "tx_code": {"input_mode": "numeric", "length": 6, "description": "The code shown next to the QR code"},
            }},
        });
        let query = serde_urlencoded::to_string([("credential_offer", offer.to_string())]).expect("strings encode");
        Ok(WalletOffer { url: format!("openid-credential-offer://?{query}"), tx_code, expires, name: name.to_string() })
    }

    /// The token endpoint: a pre-authorised code and its transaction code for an access token.
    #[tracing::instrument(skip_all)]
    pub async fn wallet_token(
        &self,
        grant_type: &str,
        code: Option<&str>,
        tx_code: Option<&str>,
    ) -> Result<WalletToken, WalletError> {
        if grant_type != PRE_AUTHORIZED_GRANT {
            return Err(WalletError::UnsupportedGrantType);
        }
        let code = code
            .filter(|c| !c.is_empty() && c.len() <= 100)
            .ok_or_else(|| WalletError::InvalidRequest("pre-authorized_code is required".into()))?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let offer = tx
            .offer_by_code(&sha256_hex(code))
            .await?
            .ok_or_else(|| WalletError::InvalidGrant("unknown code".into()))?;
        if offer.redeemed_at.is_some() || offer.expires_at <= now || offer.failed_attempts >= TX_ATTEMPTS {
            return Err(WalletError::InvalidGrant("the offer was used or has expired; make a new one".into()));
        }
        let presented = sha256_hex(tx_code.unwrap_or_default());
        if !bool::from(presented.as_bytes().ct_eq(offer.tx_code_hash.as_bytes())) {
            tx.offer_failed(offer.offer_id).await?;
            tx.commit().await?;
            return Err(WalletError::InvalidGrant("wrong transaction code".into()));
        }
        let token = secret("mba_");
        if !tx.redeem_offer(offer.offer_id, &sha256_hex(&token), now, now + TOKEN_VALID).await? {
            return Err(WalletError::InvalidGrant("the offer was used".into()));
        }
        tx.commit().await?;
        Ok(WalletToken { access_token: token, token_type: "Bearer", expires_in: TOKEN_VALID.whole_seconds() })
    }

    async fn nonce_key(&self) -> ServiceResult<zeroize::Zeroizing<[u8; 32]>> {
        self.stored_secret("oid4vci/nonce", rand::random).await
    }

    /// The nonce endpoint: a fresh `c_nonce` (an HMAC of its time: nothing is stored).
    #[tracing::instrument(skip_all)]
    pub async fn wallet_nonce(&self) -> ServiceResult<String> {
        let key = self.nonce_key().await?;
        let at = self.now().unix_timestamp().to_be_bytes();
        let mut raw = at.to_vec();
        raw.extend_from_slice(&hmac_sha256(&key, &[b"oid4vci-nonce\0".as_slice(), &at].concat())[..16]);
        Ok(format!("mbn_{}", URL_SAFE_NO_PAD.encode(raw)))
    }

    async fn nonce_is_fresh(&self, nonce: &str) -> ServiceResult<bool> {
        let Some(raw) = nonce.strip_prefix("mbn_").and_then(|n| URL_SAFE_NO_PAD.decode(n).ok()) else {
            return Ok(false);
        };
        if raw.len() != 24 {
            return Ok(false);
        }
        let key = self.nonce_key().await?;
        let at: [u8; 8] = raw[..8].try_into().expect("eight bytes");
        let mac = hmac_sha256(&key, &[b"oid4vci-nonce\0".as_slice(), &at].concat());
        let age = self.now().unix_timestamp() - i64::from_be_bytes(at);
        Ok(bool::from(mac[..16].ct_eq(&raw[8..])) && (-60..=NONCE_VALID.whole_seconds()).contains(&age))
    }

    /// The credential endpoint: with a proof of possession, a copy bound to the holder's
    /// `did:key`, signed now; without one, the credential as issued.
    #[tracing::instrument(skip_all)]
    pub async fn wallet_credential(
        &self,
        access_token: &str,
        configuration: Option<&str>,
        proofs: &[String],
    ) -> Result<Value, WalletError> {
        if configuration.is_some_and(|c| c != CONFIGURATION) {
            return Err(WalletError::UnknownConfiguration);
        }
        if proofs.len() > 1 {
            return Err(WalletError::InvalidRequest("one proof per request: one credential per offer".into()));
        }
        // The proof is checked before the token is used up, so a wallet whose nonce expired can
        // fetch a new one and ask again.
        let proof = match proofs.first() {
            Some(jwt) => {
                let p = holder::verify_proof(jwt)
                    .map_err(|e: HolderProofError| WalletError::InvalidProof(e.to_string()))?;
                if p.aud.as_deref() != Some(self.base_url.as_str()) {
                    return Err(WalletError::InvalidProof(format!("aud must be {}", self.base_url)));
                }
                if !self.nonce_is_fresh(p.nonce.as_deref().unwrap_or_default()).await? {
                    return Err(WalletError::InvalidNonce);
                }
                Some(p)
            }
            None => None,
        };
        let now = self.now();
        let token_hash = sha256_hex(access_token);
        let offer = self.store.offer_by_token(&token_hash, now).await?.ok_or(WalletError::InvalidToken)?;
        let original = self.live_credential(offer.credential_id).await?;
        let Some(p) = proof else {
            let mut tx = self.store.begin().await?;
            tx.use_offer_token(&token_hash, now).await?.ok_or(WalletError::InvalidToken)?;
            tx.commit().await?;
            return serde_json::from_str(&original.signed)
                .map_err(|e| WalletError::Service(ServiceError::Internal(e.to_string())));
        };
        let signing = self.issuer_signing(original.issuer_id).await?;
        let id = Uuid::now_v7();
        let doc: Value = serde_json::from_str(&original.signed).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let copy = holder::holder_copy(&doc, &self.credential_url(id), &p.holder)
            .ok_or_else(|| ServiceError::Internal("the stored credential has no subject".into()))?;
        let created = crate::domain::time::rfc3339(crate::domain::time::whole_seconds(now));
        let signed = super::issuance::sign_one(copy, signing, created).await?;
        let mut tx = self.store.begin().await?;
        tx.use_offer_token(&token_hash, now).await?.ok_or(WalletError::InvalidToken)?;
        tx.insert_wallet_copy(
            NewWalletCopy {
                credential_id: id,
                original_id: original.credential_id,
                issuer_id: original.issuer_id,
                identity_type: original.identity_type.clone(),
                identity: original.identity.clone(),
                holder: p.holder.clone(),
                signed: signed.signed.clone(),
                sha256: signed.sha256.clone(),
            },
            now,
        )
        .await?;
        tx.audit(vec![NewEvent::new(
            &Actor { token: "wallet".into(), role: "learner".into() },
            Some(original.issuer_id),
            "credential.wallet_issued",
            id,
            &json!({"original": original.credential_id, "sha256": signed.sha256}),
        )])
        .await?;
        tx.commit().await?;
        serde_json::from_str(&signed.signed).map_err(|e| WalletError::Service(ServiceError::Internal(e.to_string())))
    }

    /// The original a wallet copy was made from (`None` for any other id); a copy's page is
    /// its original's.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn wallet_original(&self, id: Uuid) -> ServiceResult<Option<Uuid>> {
        Ok(self.store.wallet_copy(id).await?.map(|c| c.original_id))
    }

    /// A wallet copy's signed JSON; gone with its original's erasure.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub(super) async fn wallet_copy_json(&self, id: Uuid) -> ServiceResult<Option<String>> {
        let Some(copy) = self.store.wallet_copy(id).await? else { return Ok(None) };
        self.live_credential(copy.original_id).await?;
        Ok(Some(copy.signed))
    }
}
