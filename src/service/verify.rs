//! Verification with this service's knowledge: its issuers' keys (including retired and
//! compromised ones) and its status lists. Nothing is fetched from anywhere else.

use serde_json::Value;
use uuid::Uuid;

use super::Service;
use crate::credential::verify::{self, Input, KeyInfo, Report, Resolver, StatusInfo};

impl Resolver for Service {
    async fn key(&self, verification_method: &str) -> Option<KeyInfo> {
        let rest = verification_method.strip_prefix(&format!("{}/issuers/", self.base_url))?;
        let (issuer, multibase) = rest.split_once('#')?;
        let issuer: Uuid = issuer.parse().ok()?;
        let keys = self.store.keys(issuer).await.ok()?;
        let key = keys.iter().find(|k| k.multibase == multibase)?;
        Some(KeyInfo {
            public_key: key.public_key.as_slice().try_into().ok()?,
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
            Ok(Some(c)) if self.credential_url(c.credential_id) == credential_id => {
                match (c.revoked_at, c.suspended_at) {
                    (Some(_), _) => StatusInfo::Revoked(c.revocation_reason),
                    (None, Some(_)) => StatusInfo::Suspended(c.suspension_reason),
                    (None, None) => StatusInfo::Active,
                }
            }
            _ => StatusInfo::Mismatch,
        }
    }
}

impl Service {
    pub async fn verify(&self, input: Input, recipient: Option<&str>) -> Report {
        verify::verify(input, self, recipient, time::OffsetDateTime::now_utc()).await
    }
}
