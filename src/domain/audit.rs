//! The audit chain's event and hash rules (no storage here).
//!
//! Each event commits to its predecessor: `hash = SHA-256(canonical JSON of the event's
//! fields including prev_hash)`. The canonical JSON is serde_json's compact output of an object
//! whose keys are sorted (serde_json's default map is ordered), with every value a string or an
//! integer, so any language can recompute it byte for byte.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `prev_hash` of the very first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did it: the token used and its role (`env:admin` / `cli` for the bootstrap paths).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub token: String,
    pub role: String,
}

impl Actor {
    pub fn cli() -> Actor {
        Actor { token: "cli".into(), role: "admin".into() }
    }

    /// The service acting on its own (checkpoints, certificates, cascades).
    pub fn service() -> Actor {
        Actor { token: "service".into(), role: "system".into() }
    }
}

/// An event before it is placed in the chain.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub actor: Actor,
    pub issuer_id: Option<String>,
    pub action: &'static str,
    pub subject_id: String,
    /// SHA-256 (hex) of the change's canonical JSON: commits to *what* changed without
    /// putting personal data in the chain.
    pub change_digest: String,
}

impl NewEvent {
    pub fn new(
        actor: &Actor,
        issuer_id: Option<uuid::Uuid>,
        action: &'static str,
        subject_id: impl ToString,
        change: &serde_json::Value,
    ) -> NewEvent {
        NewEvent {
            actor: actor.clone(),
            issuer_id: issuer_id.map(|i| i.to_string()),
            action,
            subject_id: subject_id.to_string(),
            change_digest: sha256_hex(canonical_json(change).as_bytes()),
        }
    }
}

/// An event as stored: every field that enters the hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub seq: i64,
    pub occurred_at: String,
    pub actor_token: String,
    pub actor_role: String,
    pub issuer_id: Option<String>,
    pub action: String,
    pub subject_id: String,
    pub change_digest: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Event {
    /// The hash this event must carry, computed from its other fields.
    pub fn expected_hash(&self) -> String {
        let body = serde_json::json!({
            "seq": self.seq,
            "occurred_at": self.occurred_at,
            "actor_token": self.actor_token,
            "actor_role": self.actor_role,
            "issuer_id": self.issuer_id,
            "action": self.action,
            "subject_id": self.subject_id,
            "change_digest": self.change_digest,
            "prev_hash": self.prev_hash,
        });
        sha256_hex(canonical_json(&body).as_bytes())
    }

    /// Places `new` after an event with `prev` (seq, hash), at `occurred_at`.
    pub fn chain(new: NewEvent, prev: Option<(i64, String)>, occurred_at: String) -> Event {
        let (seq, prev_hash) = match prev {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, GENESIS_HASH.to_string()),
        };
        let mut event = Event {
            seq,
            occurred_at,
            actor_token: new.actor.token,
            actor_role: new.actor.role,
            issuer_id: new.issuer_id,
            action: new.action.to_string(),
            subject_id: new.subject_id,
            change_digest: new.change_digest,
            prev_hash,
            hash: String::new(),
        };
        event.hash = event.expected_hash();
        event
    }
}

/// Where a chain first stops holding together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    pub seq: i64,
    pub expected_hash: String,
    pub found_hash: String,
}

/// Walks events in sequence order and reports the first break: a wrong own hash, a wrong
/// link to the predecessor, or a gap in the sequence numbers.
#[derive(Debug, Default)]
pub struct ChainChecker {
    prev: Option<(i64, String)>,
    pub checked: u64,
    pub first_break: Option<Break>,
}

impl ChainChecker {
    /// A checker for a slice of the chain that continues from a known event (e.g. a checkpoint).
    pub fn after(seq: i64, hash: String) -> ChainChecker {
        ChainChecker { prev: Some((seq, hash)), ..ChainChecker::default() }
    }

    pub fn push(&mut self, event: &Event) {
        if self.first_break.is_some() {
            return;
        }
        self.checked += 1;
        let (want_seq, want_prev) = match &self.prev {
            Some((seq, hash)) => (seq + 1, hash.clone()),
            None => (1, GENESIS_HASH.to_string()),
        };
        let expected = event.expected_hash();
        if event.seq != want_seq || event.prev_hash != want_prev || event.hash != expected {
            // A broken link reports the predecessor's hash it should have carried.
            let (expected_hash, found_hash) = if event.prev_hash != want_prev {
                (want_prev, event.prev_hash.clone())
            } else {
                (expected, event.hash.clone())
            };
            self.first_break = Some(Break { seq: event.seq, expected_hash, found_hash });
            return;
        }
        self.prev = Some((event.seq, event.hash.clone()));
    }
}

/// Compact JSON with sorted object keys.
pub fn canonical_json(value: &serde_json::Value) -> String {
    // serde_json::Map is a BTreeMap without the `preserve_order` feature, so keys come out
    // sorted; a test below guards that assumption.
    serde_json::to_string(value).expect("a Value always serialises")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_event(action: &'static str) -> NewEvent {
        NewEvent::new(&Actor::cli(), None, action, "s", &serde_json::json!({"b": 1, "a": 2}))
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let v: serde_json::Value = serde_json::from_str(r#"{"z":1,"a":{"y":2,"b":3}}"#).unwrap();
        assert_eq!(canonical_json(&v), r#"{"a":{"b":3,"y":2},"z":1}"#);
    }

    #[test]
    fn chain_links_and_detects_tampering() {
        let e1 = Event::chain(new_event("one"), None, "2026-01-01T00:00:00Z".into());
        let e2 = Event::chain(new_event("two"), Some((e1.seq, e1.hash.clone())), "2026-01-01T00:00:01Z".into());
        assert_eq!(e1.prev_hash, GENESIS_HASH);
        assert_eq!(e2.prev_hash, e1.hash);
        let mut ok = ChainChecker::default();
        ok.push(&e1);
        ok.push(&e2);
        assert_eq!(ok.first_break, None);
        assert_eq!(ok.checked, 2);

        let mut altered = e2.clone();
        altered.action = "three".into();
        let mut bad = ChainChecker::default();
        bad.push(&e1);
        bad.push(&altered);
        let b = bad.first_break.expect("break found");
        assert_eq!(b.seq, 2);
        assert_eq!(b.found_hash, e2.hash);
        assert_ne!(b.expected_hash, e2.hash);
    }

    #[test]
    fn gap_is_a_break() {
        let e1 = Event::chain(new_event("one"), None, "t".into());
        let e3 = Event::chain(new_event("three"), Some((2, e1.hash.clone())), "t".into());
        let mut c = ChainChecker::default();
        c.push(&e1);
        c.push(&e3);
        assert_eq!(c.first_break.unwrap().seq, 3);
    }
}

/// A signed statement of the chain head: `{seq, hash, time}` signed by the platform key, like
/// a transparency log's signed tree head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub time: String,
    /// `z` + base58btc Ed25519 signature over [`Checkpoint::message`].
    pub signature: String,
    /// The platform key (`z6Mk…` Multikey).
    pub public_key: String,
}

impl Checkpoint {
    /// The signed bytes: canonical JSON of `{hash, seq, time}`.
    pub fn message(seq: i64, hash: &str, time: &str) -> String {
        canonical_json(&serde_json::json!({"seq": seq, "hash": hash, "time": time}))
    }

    /// True if the signature is valid for the embedded public key.
    pub fn signature_valid(&self) -> bool {
        use ed25519_dalek::Verifier;
        let Some(key) = crate::credential::multikey::decode(&self.public_key) else { return false };
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&key) else { return false };
        let Some(sig) = self.signature.strip_prefix('z').and_then(|s| bs58::decode(s).into_vec().ok()) else {
            return false;
        };
        let Ok(sig) = ed25519_dalek::Signature::from_slice(&sig) else { return false };
        key.verify(Self::message(self.seq, &self.hash, &self.time).as_bytes(), &sig).is_ok()
    }
}

/// Offline check of an exported chain (NDJSON, one event per line) against optional signed
/// checkpoints: every hash, every link, and that each checkpoint is signed and lies on the chain.
pub fn verify_export(ndjson: &str, checkpoints: &[Checkpoint]) -> Result<u64, String> {
    let mut checker: Option<ChainChecker> = None;
    let mut heads = std::collections::HashMap::new();
    for (i, line) in ndjson.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let e: Event =
            serde_json::from_str(line).map_err(|err| format!("line {}: not an audit event: {err}", i + 1))?;
        // An export may start mid-chain (after a checkpoint): trust its first link, check the rest.
        let c = checker.get_or_insert_with(|| {
            if e.seq == 1 { ChainChecker::default() } else { ChainChecker::after(e.seq - 1, e.prev_hash.clone()) }
        });
        c.push(&e);
        if let Some(b) = &c.first_break {
            return Err(format!("chain broken at seq {}: expected {}, found {}", b.seq, b.expected_hash, b.found_hash));
        }
        heads.insert(e.seq, e.hash.clone());
    }
    let checked = checker.map(|c| c.checked).unwrap_or(0);
    for cp in checkpoints {
        if !cp.signature_valid() {
            return Err(format!("checkpoint at seq {} has an invalid signature", cp.seq));
        }
        match heads.get(&cp.seq) {
            Some(h) if *h == cp.hash => {}
            Some(_) => {
                return Err(format!("checkpoint at seq {} signs a different hash: history was rewritten", cp.seq));
            }
            None => return Err(format!("the export does not reach the checkpoint at seq {}", cp.seq)),
        }
    }
    Ok(checked)
}
