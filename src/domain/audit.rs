//! The audit trail's event and hash rules (no storage here).
//!
//! The trail is a set of hash chains: one per issuer, one for the platform's own events (no
//! issuer), and the closed `legacy` chain that ran through every issuer's events before chains
//! were split. Each event commits to its predecessor in its chain: `hash = SHA-256(canonical JSON
//! of the event's fields including chain and prev_hash)`. The canonical JSON is serde_json's
//! compact output of an object whose keys are sorted, with every value a string or an integer,
//! so any language can recompute it byte for byte. Legacy events were hashed without the `chain`
//! field and keep their hashes.
//!
//! Per-issuer chains let an issuer's auditor check their trail alone (an export of one issuer's
//! events out of one shared chain could not link) and keep appends of different issuers from
//! waiting for each other. What ties the chains together is a signed [`TreeHead`]: a Merkle root
//! over every chain's head, so an auditor's export carries only their head and a short path.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::merkle;

/// `prev_hash` of the very first event when there is no legacy chain to start from.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain every event joined before chains were split; closed, never appended to.
pub const LEGACY_CHAIN: &str = "legacy";
/// The chain of events that belong to no issuer (platform admin actions, checkpoints).
pub const PLATFORM_CHAIN: &str = "platform";

/// The chain an event with this issuer joins: the issuer's own, or the platform's.
pub fn chain_of(issuer_id: Option<&str>) -> &str {
    issuer_id.unwrap_or(PLATFORM_CHAIN)
}

fn legacy_chain() -> String {
    LEGACY_CHAIN.to_string()
}

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
    /// Storage order across all chains (a paging cursor); not part of the hash.
    #[serde(skip)]
    pub position: i64,
    /// Which chain the event belongs to (an issuer id, `platform` or `legacy`); exports written
    /// before chains were split have no such field and are legacy.
    #[serde(default = "legacy_chain")]
    pub chain: String,
    /// Position in its chain, from 1.
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
        let mut body = serde_json::json!({
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
        if self.chain != LEGACY_CHAIN {
            body["chain"] = serde_json::Value::String(self.chain.clone());
        }
        sha256_hex(canonical_json(&body).as_bytes())
    }

    /// Places `new` in its chain after the event `prev` (seq, hash), or first in the chain,
    /// linked to `origin`, at `occurred_at`.
    pub fn chain(new: NewEvent, prev: Option<(i64, String)>, origin: &str, occurred_at: String) -> Event {
        let (seq, prev_hash) = match prev {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, origin.to_string()),
        };
        let mut event = Event {
            position: 0,
            chain: chain_of(new.issuer_id.as_deref()).to_string(),
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
    pub chain: String,
    pub seq: i64,
    pub expected_hash: String,
    pub found_hash: String,
}

/// Walks one chain's events in sequence order and reports the first break: a wrong own hash,
/// a wrong link to the predecessor, or a gap in the sequence numbers.
#[derive(Debug)]
pub struct ChainChecker {
    prev: (i64, String),
    pub checked: u64,
    pub first_break: Option<Break>,
}

impl Default for ChainChecker {
    fn default() -> ChainChecker {
        ChainChecker::starting_at(GENESIS_HASH)
    }
}

impl ChainChecker {
    /// A checker for a whole chain whose first event links to `origin`.
    pub fn starting_at(origin: &str) -> ChainChecker {
        ChainChecker::after(0, origin.to_string())
    }

    /// A checker for a slice of the chain that continues from a known event (e.g. a checkpoint).
    pub fn after(seq: i64, hash: String) -> ChainChecker {
        ChainChecker { prev: (seq, hash), checked: 0, first_break: None }
    }

    pub fn push(&mut self, event: &Event) {
        if self.first_break.is_some() {
            return;
        }
        self.checked += 1;
        let (want_seq, want_prev) = (self.prev.0 + 1, self.prev.1.clone());
        let expected = event.expected_hash();
        if event.seq != want_seq || event.prev_hash != want_prev || event.hash != expected {
            // A broken link reports the predecessor's hash it should have carried.
            let (expected_hash, found_hash) = if event.prev_hash != want_prev {
                (want_prev, event.prev_hash.clone())
            } else {
                (expected, event.hash.clone())
            };
            self.first_break = Some(Break { chain: event.chain.clone(), seq: event.seq, expected_hash, found_hash });
            return;
        }
        self.prev = (event.seq, event.hash.clone());
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
        let e1 = Event::chain(new_event("one"), None, GENESIS_HASH, "2026-01-01T00:00:00Z".into());
        let e2 = Event::chain(
            new_event("two"),
            Some((e1.seq, e1.hash.clone())),
            GENESIS_HASH,
            "2026-01-01T00:00:01Z".into(),
        );
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
        let e1 = Event::chain(new_event("one"), None, GENESIS_HASH, "t".into());
        let e3 = Event::chain(new_event("three"), Some((2, e1.hash.clone())), GENESIS_HASH, "t".into());
        let mut c = ChainChecker::default();
        c.push(&e1);
        c.push(&e3);
        assert_eq!(c.first_break.unwrap().seq, 3);
    }
}

/// True if `signature` (`z` + base58btc Ed25519) signs `message` under `public_key` (a Multikey).
fn signature_ok(public_key: &str, signature: &str, message: &str) -> bool {
    use ed25519_dalek::Verifier;
    let Some(key) = crate::credential::multikey::decode(public_key) else { return false };
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&key) else { return false };
    let Some(sig) = signature.strip_prefix('z').and_then(|s| bs58::decode(s).into_vec().ok()) else {
        return false;
    };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(&sig) else { return false };
    key.verify(message.as_bytes(), &sig).is_ok()
}

/// A signed statement of the legacy chain's head: `{seq, hash, time}` signed by the platform
/// key. Checkpoints of this form were made before chains were split and still verify.
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
        signature_ok(&self.public_key, &self.signature, &Self::message(self.seq, &self.hash, &self.time))
    }
}

/// The leaf a legacy event contributes to the tree that closes the legacy chain.
pub fn legacy_leaf(event_hash: &str) -> merkle::Hash {
    merkle::leaf_hash(event_hash.as_bytes())
}

/// The root that closes the legacy chain: a Merkle tree over its events' hashes in order. Every
/// later chain starts from it, and it is signed in every tree head as the `legacy` chain's head,
/// so a legacy event of one issuer is proven by a path, without the other issuers' events.
pub fn legacy_root(hashes: impl IntoIterator<Item = String>) -> merkle::Tree {
    merkle::Tree::new(hashes.into_iter().map(|h| legacy_leaf(&h)).collect())
}

/// One chain's newest event as a tree head commits to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub chain: String,
    pub seq: i64,
    pub hash: String,
}

impl ChainHead {
    pub fn leaf(&self) -> merkle::Hash {
        merkle::leaf_hash(
            canonical_json(&serde_json::json!({"chain": self.chain, "seq": self.seq, "hash": self.hash})).as_bytes(),
        )
    }
}

/// The tree over chain heads, in chain-name order (the order a tree head's leaves are in).
pub fn heads_tree(heads: &mut [ChainHead]) -> merkle::Tree {
    heads.sort_by(|a, b| a.chain.cmp(&b.chain));
    merkle::Tree::new(heads.iter().map(ChainHead::leaf).collect())
}

/// A platform checkpoint: the Merkle root over every chain's head, signed by the platform key,
/// like a transparency log's signed tree head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeHead {
    /// 1, 2, … in signing order.
    pub number: i64,
    /// How many chains (leaves) the root covers.
    pub size: u64,
    /// Hex Merkle root.
    pub root: String,
    pub time: String,
    /// `z` + base58btc Ed25519 signature over [`TreeHead::message`].
    pub signature: String,
    /// The platform key (`z6Mk…` Multikey).
    pub public_key: String,
}

impl TreeHead {
    /// The signed bytes: canonical JSON of `{number, root, size, time, type}`.
    pub fn message(number: i64, size: u64, root: &str, time: &str) -> String {
        canonical_json(&serde_json::json!({
            "type": "metrobadge-audit-tree-head", "number": number, "size": size, "root": root, "time": time,
        }))
    }

    pub fn signature_valid(&self) -> bool {
        signature_ok(&self.public_key, &self.signature, &Self::message(self.number, self.size, &self.root, &self.time))
    }
}

/// A chain head with the path that proves it under a tree head's root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadProof {
    #[serde(flatten)]
    pub head: ChainHead,
    pub index: u64,
    /// Hex sibling hashes, bottom up.
    pub path: Vec<String>,
}

/// A legacy event's path under the root that closed the legacy chain (its leaf index is seq - 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyProof {
    pub seq: i64,
    pub path: Vec<String>,
}

/// What makes an export checkable on its own: the newest tree head when the export began, the
/// paths for the chains in the export (and for the legacy chain's root), and the paths of the
/// legacy events in it. Written as the export's last line, `{"proof": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportProof {
    pub checkpoint: TreeHead,
    pub heads: Vec<HeadProof>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub legacy_events: Vec<LegacyProof>,
}

pub fn hex_path(path: &[merkle::Hash]) -> Vec<String> {
    path.iter().map(hex::encode).collect()
}

fn unhex(s: &str) -> Option<merkle::Hash> {
    hex::decode(s).ok()?.try_into().ok()
}

fn path_of(hexes: &[String]) -> Option<Vec<merkle::Hash>> {
    hexes.iter().map(|h| unhex(h)).collect()
}

/// What an offline check found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verified {
    pub events: u64,
    pub chains: usize,
    /// The tree head the export was checked against, if it carried one.
    pub checkpoint: Option<TreeHead>,
    /// Legacy checkpoints (given separately) the legacy events reached.
    pub legacy_checkpoints: usize,
    /// Chains whose newest events came after the tree head (linked, not yet signed).
    pub unsigned_tail: u64,
}

impl std::fmt::Display for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ok: {} events in {} chain(s) checked", self.events, self.chains)?;
        match &self.checkpoint {
            Some(c) => write!(f, "; signed checkpoint {} of {} reached", c.number, c.time)?,
            None => write!(f, "; no signed checkpoint in the export")?,
        }
        if self.unsigned_tail > 0 {
            write!(f, "; {} newer event(s) linked but not yet signed", self.unsigned_tail)?;
        }
        write!(f, "; {} legacy checkpoint(s) reached", self.legacy_checkpoints)
    }
}

/// What an export is checked against besides its own proof line: legacy checkpoints, tree heads
/// obtained separately (e.g. published), and the platform key, pinned.
#[derive(Debug, Default, Clone)]
pub struct Anchors {
    pub legacy: Vec<Checkpoint>,
    pub tree_heads: Vec<TreeHead>,
    pub key: Option<String>,
}

/// One chain's events as they appear in an export.
#[derive(Default)]
struct Walk {
    checker: Option<ChainChecker>,
    first: Option<(i64, String)>,
    hashes: std::collections::BTreeMap<i64, String>,
}

/// Offline check of an exported trail (NDJSON, one event per line, optionally ending with a
/// `{"proof": …}` line) against optional legacy checkpoints: every hash, every link within each
/// chain, that each chain starts where it must, that the tree head is signed and its paths lead
/// to its root from the heads in the export, and that each legacy event lies under the root that
/// closed the legacy chain. Errors name the chain and the sequence number.
pub fn verify_export(ndjson: &str, anchors: &Anchors) -> Result<Verified, String> {
    let checkpoints = &anchors.legacy;
    let pinned = |public_key: &str| anchors.key.as_deref().is_none_or(|k| k == public_key);
    let mut chains: std::collections::BTreeMap<String, Walk> = Default::default();
    let mut proof: Option<ExportProof> = None;
    let mut out = Verified::default();
    for (i, line) in ndjson.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|err| format!("line {}: not JSON: {err}", i + 1))?;
        if let Some(p) = value.get("proof") {
            if proof.is_some() {
                return Err(format!("line {}: a second proof line", i + 1));
            }
            proof =
                Some(serde_json::from_value(p.clone()).map_err(|err| format!("line {}: not a proof: {err}", i + 1))?);
            continue;
        }
        let e: Event =
            serde_json::from_value(value).map_err(|err| format!("line {}: not an audit event: {err}", i + 1))?;
        let walk = chains.entry(e.chain.clone()).or_default();
        out.events += 1;
        if e.chain == LEGACY_CHAIN {
            // One issuer's legacy events are not contiguous: each must hash right, consecutive
            // ones must link, and each must lie under the closing root (checked below).
            let expected = e.expected_hash();
            let linked = walk.hashes.get(&(e.seq - 1)).is_none_or(|prev| *prev == e.prev_hash);
            if e.hash != expected || !linked {
                let (expected_hash, found_hash) = if linked {
                    (expected, e.hash.clone())
                } else {
                    (walk.hashes[&(e.seq - 1)].clone(), e.prev_hash.clone())
                };
                return Err(format!(
                    "chain {} broken at seq {}: expected {expected_hash}, found {found_hash}",
                    e.chain, e.seq
                ));
            }
        } else {
            // An export may start mid-chain (`after`): trust its first link, check the rest.
            walk.first.get_or_insert_with(|| (e.seq, e.prev_hash.clone()));
            let c = walk.checker.get_or_insert_with(|| ChainChecker::after(e.seq - 1, e.prev_hash.clone()));
            c.push(&e);
            if let Some(b) = &c.first_break {
                return Err(format!(
                    "chain {} broken at seq {}: expected {}, found {}",
                    b.chain, b.seq, b.expected_hash, b.found_hash
                ));
            }
        }
        walk.hashes.insert(e.seq, e.hash);
    }
    out.chains = chains.len();

    // Legacy checkpoints sign a legacy event's hash.
    for cp in checkpoints {
        if !cp.signature_valid() || !pinned(&cp.public_key) {
            return Err(format!("checkpoint at seq {} has an invalid signature", cp.seq));
        }
        match chains.get(LEGACY_CHAIN).and_then(|w| w.hashes.get(&cp.seq)) {
            Some(h) if *h == cp.hash => out.legacy_checkpoints += 1,
            Some(_) => {
                return Err(format!("checkpoint at seq {} signs a different hash: history was rewritten", cp.seq));
            }
            None => return Err(format!("the export does not reach the checkpoint at seq {}", cp.seq)),
        }
    }

    // The origin every new chain starts from: the legacy chain's closing root, or genesis.
    let legacy_head = proof.as_ref().and_then(|p| p.heads.iter().find(|h| h.head.chain == LEGACY_CHAIN)).cloned();
    let complete_legacy = chains
        .get(LEGACY_CHAIN)
        .filter(|w| w.hashes.keys().next() == Some(&1) && w.hashes.keys().last() == Some(&(w.hashes.len() as i64)));
    let origin = match (&legacy_head, complete_legacy) {
        (Some(h), _) => Some(h.head.hash.clone()),
        (None, Some(w)) => Some(hex::encode(legacy_root(w.hashes.values().cloned()).root())),
        (None, None) => None,
    };
    for (name, walk) in chains.iter().filter(|(n, _)| *n != LEGACY_CHAIN) {
        if let Some((1, prev)) = &walk.first {
            let want = origin.as_deref().unwrap_or(GENESIS_HASH);
            if *prev != want {
                return Err(format!(
                    "chain {name} broken at seq 1: it must start from {want} (the closed legacy chain or genesis), found {prev}"
                ));
            }
        }
    }

    let Some(proof) = proof else {
        return Ok(out);
    };
    let cp = &proof.checkpoint;
    if !cp.signature_valid() {
        return Err(format!("checkpoint {} has an invalid signature", cp.number));
    }
    if !pinned(&cp.public_key) {
        return Err(format!("checkpoint {} is signed by a key other than the platform's", cp.number));
    }
    if anchors.tree_heads.iter().any(|t| t.number == cp.number && t != cp) {
        return Err(format!("checkpoint {} differs from the published one: history was rewritten", cp.number));
    }
    let root = unhex(&cp.root).ok_or_else(|| format!("checkpoint {}: root is not a hex SHA-256", cp.number))?;
    for hp in &proof.heads {
        let h = &hp.head;
        let path = path_of(&hp.path).ok_or_else(|| format!("checkpoint {}: a path is not hex", cp.number))?;
        if !merkle::verify_inclusion(hp.index, cp.size, &h.leaf(), &path, &root) {
            return Err(format!(
                "chain {} at seq {}: its head is not under checkpoint {}'s signed root: history was rewritten",
                h.chain, h.seq, cp.number
            ));
        }
        let found = chains.get(&h.chain).and_then(|w| w.hashes.get(&h.seq));
        if h.chain == LEGACY_CHAIN {
            if let Some(w) = complete_legacy.filter(|w| w.hashes.len() as i64 == h.seq)
                && hex::encode(legacy_root(w.hashes.values().cloned()).root()) != h.hash
            {
                return Err(
                    "the legacy chain's events do not give its signed closing root: history was rewritten".into()
                );
            }
            continue;
        }
        match found {
            Some(hash) if *hash == h.hash => {}
            Some(_) => {
                return Err(format!(
                    "chain {} at seq {}: checkpoint {} signs a different hash: history was rewritten",
                    h.chain, h.seq, cp.number
                ));
            }
            None => {
                return Err(format!(
                    "chain {}: the export does not reach the head signed by checkpoint {} (seq {})",
                    h.chain, cp.number, h.seq
                ));
            }
        }
        out.unsigned_tail += chains[&h.chain].hashes.range(h.seq + 1..).count() as u64;
    }
    for (name, walk) in &chains {
        if name != LEGACY_CHAIN && !proof.heads.iter().any(|h| h.head.chain == *name) {
            out.unsigned_tail += walk.hashes.len() as u64;
        }
    }
    // Legacy events: each under the closing root (unless the whole legacy chain was given).
    if let Some(w) = chains.get(LEGACY_CHAIN).filter(|_| complete_legacy.is_none()) {
        let closing = legacy_head.ok_or("legacy events in the export, but the checkpoint has no legacy root")?;
        let closing_root = unhex(&closing.head.hash).ok_or("the legacy root is not hex")?;
        for (seq, hash) in &w.hashes {
            let p = proof.legacy_events.iter().find(|p| p.seq == *seq).ok_or_else(|| {
                format!("chain legacy at seq {seq}: no proof that it lies in the closed legacy chain")
            })?;
            let path = path_of(&p.path).ok_or("a legacy path is not hex")?;
            if !merkle::verify_inclusion(
                *seq as u64 - 1,
                closing.head.seq as u64,
                &legacy_leaf(hash),
                &path,
                &closing_root,
            ) {
                return Err(format!(
                    "chain legacy at seq {seq}: not under the closed legacy chain's root: history was rewritten"
                ));
            }
        }
    }
    out.checkpoint = Some(cp.clone());
    Ok(out)
}
