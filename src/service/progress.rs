//! Learners' private progress links: no account, just an unguessable link per learner and
//! issuer.
//!
//! A link belongs to one issuer and one learner: it shows that issuer's badges and metro lines
//! only, and replacing or revoking it touches no other issuer's link. The token is an HMAC of
//! the issuer, the learner's identity and a generation number under a secret sealed under the
//! master key, so the service can show the same link again on every award without storing it;
//! the database holds only the token's SHA-256 (for lookup) and which generation is current.
//! Links handed out before links were per issuer (`derivation` 1) were computed without the
//! issuer and keep working for the issuer that first awarded the learner. Replacing a link
//! revokes the old one for good.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult};
use crate::domain::access::Principal;
use crate::domain::audit::{Actor, NewEvent};
use crate::domain::award::{IdentityType, normalise_identity};
use crate::domain::validate::Invalid;
use crate::store::{Learner, NewProgressLink, ProgressLinkRow, StoreError};

const TOKEN_PREFIX: &str = "mbp_";

/// Whose private link a token is: one learner as one issuer knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkOwner {
    pub issuer: Uuid,
    pub learner: Learner,
}

/// The secrets progress-link tokens are HMACs under: the subkeys the master key used before
/// they were stored, sealed in `sealed_secret` so a master key rotation changes no link.
pub struct LinkKeys {
    /// Links handed out before links were per issuer (derivation 1).
    legacy: zeroize::Zeroizing<[u8; 32]>,
    /// Per-issuer links (derivation 2).
    per_issuer: zeroize::Zeroizing<[u8; 32]>,
}

/// Purposes (and `sealed_secret` names) of the two link keys.
const LEGACY_PURPOSE: &str = "progress-link";
const ISSUER_PURPOSE: &str = "progress-link/issuer";

impl LinkKeys {
    fn token(&self, owner: &LinkOwner, generation: i64, derivation: i64) -> String {
        use crate::master_key::hmac_sha256;
        let who = &owner.learner;
        let mac = if derivation == 1 {
            let message = format!("{}\u{0}{}\u{0}{generation}", who.identity_type, who.identity);
            hmac_sha256(&self.legacy, message.as_bytes())
        } else {
            let message = format!("{}\u{0}{}\u{0}{}\u{0}{generation}", owner.issuer, who.identity_type, who.identity);
            hmac_sha256(&self.per_issuer, message.as_bytes())
        };
        format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(mac))
    }

    /// The token of a stored link row.
    pub(super) fn token_of(&self, row: &ProgressLinkRow) -> String {
        let owner = LinkOwner {
            issuer: row.issuer_id,
            learner: Learner { identity_type: row.identity_type.clone(), identity: row.identity.clone() },
        };
        self.token(&owner, row.generation, row.derivation)
    }

    /// First-generation links with `issuer` for learners who may not have one yet.
    pub(super) fn first_links(&self, issuer: Uuid, learners: &[Learner]) -> Vec<NewProgressLink> {
        learners
            .iter()
            .map(|l| {
                let owner = LinkOwner { issuer, learner: l.clone() };
                NewProgressLink {
                    issuer_id: issuer,
                    learner: l.clone(),
                    token_hash: super::sha256_hex(&self.token(&owner, 1, 2)),
                }
            })
            .collect()
    }
}

impl Service {
    /// The link keys, read (and unsealed) once per process; created from the master key on
    /// first use, exactly as it derived them before they were stored.
    #[tracing::instrument(skip_all)]
    pub(super) async fn link_keys(&self) -> ServiceResult<std::sync::Arc<LinkKeys>> {
        let keys = self
            .link_keys
            .get_or_try_init(|| async {
                let legacy = self.link_secret(LEGACY_PURPOSE).await?;
                let per_issuer = self.link_secret(ISSUER_PURPOSE).await?;
                Ok::<_, ServiceError>(std::sync::Arc::new(LinkKeys { legacy, per_issuer }))
            })
            .await?;
        Ok(keys.clone())
    }

    async fn link_secret(&self, purpose: &str) -> ServiceResult<zeroize::Zeroizing<[u8; 32]>> {
        self.stored_secret(purpose, || *self.master_key.subkey(purpose)).await
    }

    pub fn progress_url(&self, token: &str) -> String {
        format!("{}/progress/{token}", self.base_url)
    }

    /// The owner of a progress token; unknown and replaced tokens are not found.
    #[tracing::instrument(skip_all)]
    pub async fn progress_owner(&self, token: &str) -> ServiceResult<LinkOwner> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 64 {
            return Err(ServiceError::NotFound);
        }
        let row = self.store.progress_link(&super::sha256_hex(token)).await?.ok_or(ServiceError::NotFound)?;
        if row.revoked_at.is_some() {
            return Err(ServiceError::NotFound);
        }
        Ok(LinkOwner {
            issuer: row.issuer_id,
            learner: Learner { identity_type: row.identity_type, identity: row.identity },
        })
    }

    /// Revokes a learner's link with one issuer and returns the new one (the learner does this
    /// from their page when the link leaked; staff through the API).
    async fn replace_progress_link(&self, owner: &LinkOwner, actor: &Actor) -> ServiceResult<String> {
        let generation = self.store.last_progress_generation(owner.issuer, &owner.learner).await? + 1;
        let token = self.link_keys().await?.token(owner, generation, 2);
        let mail_keys = self.mail_keys().await?;
        let mut mail = Vec::new();
        if owner.learner.identity_type == IdentityType::EmailAddress.as_str() {
            let spec = self.issuer_spec(owner.issuer).await?;
            mail.push(super::mail::Outgoing {
                issuer: Some(owner.issuer),
                to: owner.learner.identity.clone(),
                to_name: None,
                lang: spec.lang(),
                learner: Some(owner.learner.clone()),
                subject_id: None,
                from_name: Some(spec.name().to_string()),
                reply_to: spec.email.clone(),
                notice: super::mail::compose::Notice::ProgressLinkReplaced {
                    issuer: spec.name().to_string(),
                    progress: self.progress_url(&token),
                },
            });
        }
        let mut tx = self.store.begin().await?;
        tx.insert_progress_link(owner.issuer, &owner.learner, generation, &super::sha256_hex(&token)).await?;
        self.queue_mail(&mut tx, &mail_keys, mail).await?;
        // The identity stays out of the chain: the subject is the new link's hash.
        tx.audit(vec![NewEvent::new(
            actor,
            Some(owner.issuer),
            "progress_link.replaced",
            super::sha256_hex(&token),
            &json!({}),
        )])
        .await?;
        match tx.commit().await {
            Ok(()) => {
                self.wake_mail();
                Ok(self.progress_url(&token))
            }
            Err(StoreError::Conflict(_)) => {
                Err(ServiceError::Conflict(crate::problem!("link-replaced", "the link was replaced concurrently")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The learner replaces their own link (it leaked): the old one stops working at once.
    #[tracing::instrument(skip_all)]
    pub async fn replace_own_progress_link(&self, token: &str) -> ServiceResult<String> {
        let owner = self.progress_owner(token).await?;
        self.replace_progress_link(&owner, &Actor { token: "learner".into(), role: "learner".into() }).await
    }

    /// A learner named in a request, normalised as awards store them; `field` prefixes errors.
    pub fn learner(&self, identity_type: &str, identity: &str, field: &str) -> Result<Learner, Invalid> {
        let at = |f: &str| if field.is_empty() { f.to_string() } else { format!("{field}.{f}") };
        let kind = IdentityType::parse(identity_type)
            .ok_or_else(|| Invalid::one(at("identity_type"), crate::domain::award::not_an_identity_type()))?;
        let identity = normalise_identity(kind, identity);
        if identity.is_empty() {
            return Err(Invalid::one(at("identity"), crate::problem!("required", "is required")));
        }
        Ok(Learner { identity_type: kind.as_str().into(), identity })
    }

    /// Staff revoke a learner's link with their own issuer (e.g. on request); the learner's
    /// links with other issuers stay. The platform admin names the issuer, or revokes the
    /// learner's links with every issuer. Only issuers that awarded the learner something have
    /// a link to revoke; for any other the learner is not found.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id))]
    pub async fn revoke_progress_link(
        &self,
        who: &Principal,
        identity_type: &str,
        identity: &str,
        issuer: Option<Uuid>,
    ) -> ServiceResult<usize> {
        let learner = self.learner(identity_type, identity, "")?;
        let issuers = self.learner_scope(who, &learner, issuer).await?.issuers;
        for i in &issuers {
            self.replace_progress_link(&LinkOwner { issuer: *i, learner: learner.clone() }, &who.actor()).await?;
        }
        Ok(issuers.len())
    }
}

/// Every node's verdict in plain words, depth first (the page lists them).
fn plain_words(e: &crate::domain::pathway::Explanation, depth: usize, out: &mut Vec<Value>) {
    out.push(json!({"depth": depth, "satisfied": e.satisfied, "text": e.detail}));
    for c in &e.children {
        plain_words(c, depth + 1, out);
    }
}

impl Service {
    /// What the learner's private page shows: their badges, and per line the stations done and
    /// to go, the explanation in plain words and the certificate once earned.
    ///
    /// Only the link's issuer's badges and lines are shown; a station of a partner issuer on
    /// one of its lines is shown as done or not, without a link to the partner's badge.
    #[tracing::instrument(skip_all)]
    pub async fn progress_document(&self, token: &str) -> ServiceResult<Value> {
        let owner = self.progress_owner(token).await?;
        let who = &owner.learner;
        let facts = self.learner_facts(who).await?.as_seen_by(owner.issuer);
        let badges: Vec<Value> = facts
            .held
            .iter()
            .filter(|h| h.issuer == owner.issuer)
            .map(|h| {
                json!({
                    "id": self.credential_url(h.credential),
                    "name": facts.names.get(&h.nanomodule),
                    "awarded": crate::domain::time::rfc3339(h.awarded),
                    "status": h.standing.words().unwrap_or_else(|| "valid".into()),
                })
            })
            .collect();
        let mut lines = Vec::new();
        let done = facts.valid_modules();
        for line in self.store.all_metro_lines().await?.into_iter().filter(|l| l.issuer_id == owner.issuer) {
            let Some(p) = self.progress_on(line, &facts, false).await? else { continue };
            let stations: Vec<Value> = p
                .spec
                .stations
                .iter()
                .map(|s| json!({"id": s, "name": p.names.get(s), "done": done.contains(s)}))
                .collect();
            let mut words = Vec::new();
            plain_words(&p.explanation, 0, &mut words);
            let certificate = match &p.certificate {
                Some(c) => Some(self.credential_status(c.credential_id).await?),
                None => None,
            };
            lines.push(json!({
                "id": p.line.metro_line_id,
                "name": p.spec.name,
                "colour": p.spec.colour,
                "metro_map": p.line.metro_map_id,
                "version": p.version,
                "satisfied": p.explanation.satisfied,
                "stations": stations,
                "explanation": words,
                "certificate": certificate,
            }));
        }
        Ok(json!({
            "learner": {"identity_type": who.identity_type, "identity": who.identity},
            "badges": badges,
            "metro_lines": lines,
            "map": format!("{}/map.svg", self.progress_url(token)),
        }))
    }

    /// The learner's lines drawn like the metro map, with their stations filled in.
    #[tracing::instrument(skip_all)]
    pub async fn progress_map_svg(&self, token: &str) -> ServiceResult<String> {
        let doc = self.progress_document(token).await?;
        let lines: Vec<super::metro::DrawnLine> = doc["metro_lines"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| super::metro::DrawnLine {
                name: l["name"].as_str().unwrap_or_default().to_string(),
                colour: l["colour"].as_str().unwrap_or("#16324f").to_string(),
                stations: l["stations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| {
                        Some(super::metro::DrawnStation {
                            id: s["id"].as_str()?.parse().ok()?,
                            name: s["name"].as_str().unwrap_or_default().to_string(),
                            done: s["done"] == true,
                        })
                    })
                    .collect(),
            })
            .collect();
        Ok(super::metro::map_svg("Your metro lines", &lines))
    }

    /// The progress link to show on a badge page opened with the learner's token: only when
    /// the token belongs to the badge's recipient as the badge's issuer knows them.
    #[tracing::instrument(skip_all, fields(credential = %credential))]
    pub async fn progress_link_for_badge(&self, credential: Uuid, token: &str) -> Option<String> {
        let owner = self.progress_owner(token).await.ok()?;
        let row = self.store.credential(credential).await.ok()??;
        (row.issuer_id == owner.issuer
            && row.identity_type == owner.learner.identity_type
            && row.identity == owner.learner.identity)
            .then(|| self.progress_url(token))
    }
}
