//! Verification with this service's knowledge: its issuers' keys (including retired and
//! compromised ones) and its status lists. Nothing is fetched from anywhere else.

use serde_json::Value;
use uuid::Uuid;

use super::{Service, ServiceError};
use crate::credential::verify::{self, Check, Input, KeyInfo, KeyLookup, Report, Resolver, StatusInfo};

impl Resolver for Service {
    async fn key(&self, verification_method: &str) -> KeyLookup {
        let Some(rest) = verification_method.strip_prefix(&format!("{}/issuers/", self.base_url)) else {
            return KeyLookup::NotHosted;
        };
        let Some((issuer, multibase)) = rest.split_once('#') else { return KeyLookup::Unknown };
        let Ok(issuer) = issuer.parse::<Uuid>() else { return KeyLookup::Unknown };
        let key = match self.store.public_key(issuer, multibase).await {
            Ok(Some(key)) => key,
            Ok(None) => return KeyLookup::Unknown,
            Err(e) => {
                tracing::warn!(error = %e, "verification: key lookup failed");
                return KeyLookup::Unavailable;
            }
        };
        let Ok(public_key) = key.public_key.as_slice().try_into() else { return KeyLookup::Unknown };
        KeyLookup::Found(KeyInfo {
            public_key,
            controller: crate::credential::ob3::issuer_url(&self.base_url, issuer),
            compromised_since: key.compromised_since,
        })
    }

    async fn status(&self, entry: &Value, credential_id: &str) -> StatusInfo {
        let list_url = entry["statusListCredential"].as_str().unwrap_or_default();
        let Some(list) =
            list_url.strip_prefix(&format!("{}/status/", self.base_url)).and_then(|l| l.parse::<Uuid>().ok())
        else {
            return StatusInfo::NotHosted;
        };
        if entry["type"] != "BitstringStatusListEntry" || entry["statusPurpose"] != "revocation" {
            return StatusInfo::Mismatch;
        }
        let Some(index) = entry["statusListIndex"].as_str().and_then(|i| i.parse::<i64>().ok()) else {
            return StatusInfo::Mismatch;
        };
        match self.store.credential_at(list, index).await {
            Ok(Some(c)) => {
                // A wallet copy carries its original's entry: the same status. Looked up only
                // when the entry is not the credential's own.
                if self.credential_url(c.credential_id) != credential_id {
                    match self.is_copy_of(credential_id, c.credential_id).await {
                        Ok(true) => {}
                        Ok(false) => return StatusInfo::Mismatch,
                        // An outage is "could not check", never "invalid".
                        Err(e) => {
                            tracing::warn!(error = %e, "verification: wallet copy lookup failed");
                            return StatusInfo::Unavailable;
                        }
                    }
                }
                match (c.revoked_at, c.suspended_at) {
                    (Some(_), _) => StatusInfo::Revoked(c.revocation_reason),
                    (None, Some(_)) => StatusInfo::Suspended(c.suspension_reason),
                    (None, None) => StatusInfo::Active,
                }
            }
            Ok(_) => StatusInfo::Mismatch,
            Err(e) => {
                tracing::warn!(error = %e, "verification: status lookup failed");
                StatusInfo::Unavailable
            }
        }
    }
}

impl Service {
    /// Whether the credential at `url` is a wallet copy of `original`.
    async fn is_copy_of(&self, url: &str, original: Uuid) -> super::ServiceResult<bool> {
        let Some(id) = url.strip_prefix(&format!("{}/credentials/", self.base_url)).and_then(|id| id.parse().ok())
        else {
            return Ok(false);
        };
        Ok(self.wallet_original(id).await? == Some(original))
    }

    /// Verifies an Open Badges credential (the `/verify` rules).
    pub async fn verify(&self, input: Input, recipient: Option<&str>) -> Report {
        verify::verify(input, self, recipient, self.now(), verify::Profile::OpenBadges).await
    }

    /// Verifies any VCDM 1.1 or 2.0 credential (the VC-API verifier).
    pub async fn verify_any(&self, input: Input) -> Report {
        verify::verify(input, self, None, self.now(), verify::Profile::AnyCredential).await
    }

    /// Verifies what a URL names, as an employer pastes a shared badge link: a credential or
    /// OB 2.0 assertion of this service is looked up here (never fetched, whatever its query);
    /// any other URL cannot be checked, since fetching is off.
    pub async fn verify_url(&self, url: &str, recipient: Option<&str>) -> Report {
        let url = url.trim();
        let plain = url.split(['?', '#']).next().unwrap_or_default();
        if plain.starts_with(&format!("{}/ob2/assertions/", self.base_url)) {
            return self.verify_ob2(plain, recipient).await;
        }
        let local = plain
            .strip_prefix(&format!("{}/credentials/", self.base_url))
            .map(|rest| rest.trim_end_matches(".jwt").trim_end_matches('/'))
            .and_then(|id| id.parse::<Uuid>().ok());
        let format = Check::new("format", true, format!("a link to a credential: {plain}"));
        let Some(id) = local else {
            let unchecked = Check::unchecked(
                "hosted",
                "not a credential of this service; fetching other sites is off, so it could not be checked",
            );
            return Report::new(vec![format, unchecked], None, false);
        };
        let refused = |check: Check, unavailable: bool| Report::new(vec![format.clone(), check], None, unavailable);
        match self.credential_json(id).await {
            Ok(signed) => match serde_json::from_str(&signed) {
                Ok(doc) => self.verify(Input::Json(doc), recipient).await,
                Err(_) => refused(Check::new("format", false, "the stored credential is unreadable"), false),
            },
            Err(ServiceError::Gone(why)) => refused(Check::new("hosted", false, format!("{why} (revoked)")), false),
            Err(ServiceError::NotFound) => {
                refused(Check::new("hosted", false, "no such credential on this service"), false)
            }
            Err(e) => {
                tracing::warn!(error = %e, "verification: credential lookup failed");
                refused(Check::unchecked("hosted", "could not look up the credential right now"), true)
            }
        }
    }
}
