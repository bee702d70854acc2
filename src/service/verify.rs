//! Verification with this service's knowledge: its issuers' keys (including retired and
//! compromised ones) and its status lists; other issuers' `did:web` and https key documents and
//! status lists only when the operator allows fetching ([`crate::fetch`]), kept in the database
//! for their cache lifetime and for the offline mode.

use serde_json::Value;
use time::Duration;
use uuid::Uuid;

use super::{Service, ServiceError};
use crate::credential::verify::{self, Check, Input, KeyInfo, KeyLookup, Report, Resolver, StatusInfo};

impl Resolver for Service {
    async fn key(&self, verification_method: &str) -> KeyLookup {
        let Some(rest) = verification_method.strip_prefix(&format!("{}/issuers/", self.base_url)) else {
            return self.remote_key(verification_method).await;
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
        let Some(public_key) = crate::credential::multikey::PublicKey::from_bytes(&key.public_key) else {
            return KeyLookup::Unknown;
        };
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
            return self.remote_status(entry).await;
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

/// How long a URL whose fetch failed is not asked again.
const FAILURE_BACKOFF: Duration = Duration::minutes(1);

/// How long a fetched document is used without asking again: the server's `max-age`, within
/// five minutes and a day; an hour when it gives none.
fn cache_lifetime(max_age: Option<u64>) -> Duration {
    Duration::seconds(max_age.unwrap_or(3600).clamp(300, 86_400) as i64)
}

impl Service {
    /// Another issuer's public document: a fresh stored copy, else fetched (when allowed) and
    /// stored; offline, any stored copy. `Err` says why there is none.
    async fn remote_document(&self, url: &str) -> Result<Value, String> {
        let Some(fetcher) = &self.fetcher else {
            return Err("fetching other sites is off (METROBADGE_VERIFY_FETCH)".into());
        };
        if let Some(doc) = self.stored_document(url, fetcher.policy().offline).await {
            return Ok(doc);
        }
        if fetcher.policy().offline {
            return Err(format!("offline, and no stored copy of {url}"));
        }
        // Whoever waited for another lookup of the same URL finds its result stored.
        let lock =
            self.fetch_locks.lock().unwrap_or_else(|p| p.into_inner()).entry(url.to_string()).or_default().clone();
        let _guard = lock.lock().await;
        let result = self.fetch_and_store(fetcher, url).await;
        self.fetch_locks.lock().unwrap_or_else(|p| p.into_inner()).remove(url);
        result
    }

    /// A stored copy of `url` still within its lifetime (any age when `stale_ok`).
    async fn stored_document(&self, url: &str, stale_ok: bool) -> Option<Value> {
        let row = match self.store.remote_document(url).await {
            Ok(row) => row?,
            Err(e) => {
                tracing::warn!(error = %e, "verification: stored document lookup failed");
                return None;
            }
        };
        (row.expires_at > self.now() || stale_ok).then(|| serde_json::from_str(&row.body).ok()).flatten()
    }

    async fn fetch_and_store(&self, fetcher: &crate::fetch::Fetcher, url: &str) -> Result<Value, String> {
        if let Some(doc) = self.stored_document(url, false).await {
            return Ok(doc);
        }
        let now = self.now();
        let recent = self.fetch_failures.lock().unwrap_or_else(|p| p.into_inner()).get(url).cloned();
        if let Some((at, why)) = recent
            && now - at < FAILURE_BACKOFF
        {
            return Err(format!("{why} (not asked again for a minute)"));
        }
        let fetched = match fetcher.get(url).await {
            Ok(f) => f,
            Err(e) => {
                let mut failures = self.fetch_failures.lock().unwrap_or_else(|p| p.into_inner());
                if failures.len() >= 1_000 {
                    failures.clear();
                }
                failures.insert(url.to_string(), (now, e.to_string()));
                return Err(e.to_string());
            }
        };
        let doc: Value = serde_json::from_slice(&fetched.body).map_err(|_| format!("{url} is not JSON"))?;
        if let Some(problem) = crate::credential::verify::shape_problem(&doc) {
            return Err(format!("{url} is refused: {problem}"));
        }
        let body = doc.to_string();
        if let Err(e) = self.store.put_remote_document(url, &body, now, now + cache_lifetime(fetched.max_age)).await {
            tracing::warn!(error = %e, "verification: could not store a fetched document");
        }
        Ok(doc)
    }

    /// A `did:web` or https verification method of another issuer.
    async fn remote_key(&self, verification_method: &str) -> KeyLookup {
        let Some(url) = crate::credential::did::document_url(verification_method) else {
            return KeyLookup::NotAvailable(
                "only this service's issuers, did:key, did:web and https key documents are resolved".into(),
            );
        };
        match self.remote_document(&url).await {
            Ok(doc) => match crate::credential::did::key_in_document(&doc, verification_method) {
                Ok(key) => KeyLookup::Found(key),
                Err(why) => KeyLookup::Rejected(why),
            },
            Err(why) => KeyLookup::NotAvailable(why),
        }
    }

    /// Another issuer's `BitstringStatusListEntry`: its list fetched (when allowed), its own
    /// signature checked by its issuer's key, then the bit read.
    async fn remote_status(&self, entry: &Value) -> StatusInfo {
        let url = entry["statusListCredential"].as_str().unwrap_or_default();
        if self.fetcher.is_none() {
            return StatusInfo::NotHosted;
        }
        if entry["type"] != "BitstringStatusListEntry" {
            return StatusInfo::CouldNotCheck(format!("status entries of type {} are not read", entry["type"]));
        }
        let list = match self.remote_document(url).await {
            Ok(list) => list,
            Err(why) => return StatusInfo::CouldNotCheck(why),
        };
        let Some(vm) = list["proof"]["verificationMethod"]
            .as_str()
            .or(list["proof"][0]["verificationMethod"].as_str())
            .map(str::to_string)
        else {
            return StatusInfo::Broken("the status list has no proof".into());
        };
        let key = match verify::resolve_key(self, &vm).await {
            KeyLookup::Found(key) => key,
            KeyLookup::Unavailable => return StatusInfo::Unavailable,
            KeyLookup::NotAvailable(why) => return StatusInfo::CouldNotCheck(format!("the list's key: {why}")),
            KeyLookup::Unknown => return StatusInfo::Broken("the list is not signed by a key of its issuer".into()),
            KeyLookup::Rejected(why) => return StatusInfo::Broken(format!("the list's key: {why}")),
        };
        let list_issuer = list["issuer"].as_str().or(list["issuer"]["id"].as_str()).unwrap_or_default();
        if key.controller != list_issuer {
            return StatusInfo::Broken("the list is not signed by its issuer".into());
        }
        let signed = tokio::task::spawn_blocking({
            let list = list.clone();
            move || {
                let raw = key.public_key.ed25519().ok_or("the list's key is not an Ed25519 key")?;
                let vk = ed25519_dalek::VerifyingKey::from_bytes(&raw).map_err(|e| e.to_string())?;
                crate::credential::data_integrity::verify(&list, &vk).map_err(|e| e.to_string())
            }
        })
        .await;
        match signed {
            Ok(Ok(())) => {}
            Ok(Err(why)) => return StatusInfo::Broken(format!("the list's signature is not valid ({why})")),
            Err(e) => return StatusInfo::CouldNotCheck(format!("the list's signature could not be checked ({e})")),
        }
        match crate::credential::status_list::entry_is_set(&list, entry) {
            Ok(false) => StatusInfo::Active,
            Ok(true) if entry["statusPurpose"] == "suspension" => StatusInfo::Suspended(None),
            Ok(true) => StatusInfo::Revoked(None),
            Err(why) => StatusInfo::Broken(why),
        }
    }

    /// Another site's credential at `url`, fetched as the fetch policy allows (never stored: a
    /// credential is not a public key document) and verified like a pasted one.
    async fn verify_remote_url(&self, url: &str, recipient: Option<&str>, format: Check) -> Report {
        let unchecked = |why: String| Report::new(vec![format.clone(), Check::unchecked("hosted", why)], None, false);
        let Some(fetcher) = &self.fetcher else {
            return unchecked(
                "not a credential of this service; fetching other sites is off, so it could not be checked".into(),
            );
        };
        let fetched = match fetcher.get(url).await {
            Ok(f) => f,
            Err(e) => return unchecked(format!("could not check: {e}")),
        };
        match serde_json::from_slice::<Value>(&fetched.body) {
            Ok(doc @ Value::Object(_)) => self.verify(Input::Json(doc), recipient).await,
            _ => match std::str::from_utf8(&fetched.body).map(str::trim) {
                // A VC-JWT served as text.
                Ok(text) if text.split('.').count() == 3 && !text.contains(char::is_whitespace) => {
                    self.verify(Input::Jwt(text.to_string()), recipient).await
                }
                _ => Report::new(
                    vec![
                        format,
                        Check::new("format", false, "the link does not lead to a credential (JSON or VC-JWT)"),
                    ],
                    None,
                    false,
                ),
            },
        }
    }

    /// Whether the credential at `url` is a wallet copy of `original`.
    async fn is_copy_of(&self, url: &str, original: Uuid) -> super::ServiceResult<bool> {
        let Some(id) = url.strip_prefix(&format!("{}/credentials/", self.base_url)).and_then(|id| id.parse().ok())
        else {
            return Ok(false);
        };
        Ok(self.wallet_original(id).await? == Some(original))
    }

    /// Verifies an Open Badges credential (the `/verify` rules).
    #[tracing::instrument(skip_all)]
    pub async fn verify(&self, input: Input, recipient: Option<&str>) -> Report {
        verify::verify(input, self, recipient, self.now(), verify::Profile::OpenBadges).await
    }

    /// Verifies any VCDM 1.1 or 2.0 credential (the VC-API verifier).
    #[tracing::instrument(skip_all)]
    pub async fn verify_any(&self, input: Input) -> Report {
        verify::verify(input, self, None, self.now(), verify::Profile::AnyCredential).await
    }

    /// Verifies what a URL names, as an employer pastes a shared badge link: a credential or
    /// OB 2.0 assertion of this service is looked up here (never fetched, whatever its query);
    /// another site's credential is fetched only as the operator allows (as keys are), else it
    /// cannot be checked.
    #[tracing::instrument(skip_all)]
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
            return self.verify_remote_url(url, recipient, format).await;
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
