//! Merkle tree hashing as RFC 9162 (Certificate Transparency 2.0) §2.1 defines it, so a signed
//! checkpoint can commit to every audit chain's head at once while an auditor is shown only their
//! own head and a logarithmic path of sibling hashes.
//!
//! Leaves are hashed as `SHA-256(0x00 || data)` and inner nodes as `SHA-256(0x01 || left ||
//! right)`; the domain separation means a leaf can never pass for a node. The tree is built
//! bottom-up, pairing left to right and promoting an unpaired last node unchanged, which yields
//! the same root as the RFC's recursive split at the largest power of two (a test checks both).

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Every level of the tree over `leaves` (already leaf-hashed), bottom first.
fn levels(leaves: Vec<Hash>) -> Vec<Vec<Hash>> {
    let mut levels = vec![leaves];
    while levels.last().is_some_and(|l| l.len() > 1) {
        let below = levels.last().expect("checked above");
        let up =
            below.chunks(2).map(|pair| if pair.len() == 2 { node_hash(&pair[0], &pair[1]) } else { pair[0] }).collect();
        levels.push(up);
    }
    levels
}

/// A tree built once, to answer its root and many inclusion proofs.
pub struct Tree {
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    pub fn new(leaves: Vec<Hash>) -> Tree {
        Tree { levels: levels(leaves) }
    }

    pub fn size(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// The root; for no leaves, the hash of the empty string (RFC 9162).
    pub fn root(&self) -> Hash {
        match self.levels.last().and_then(|l| l.first()) {
            Some(r) => *r,
            None => Sha256::digest([]).into(),
        }
    }

    /// The audit path for leaf `index`: sibling hashes from the bottom up.
    pub fn proof(&self, index: u64) -> Vec<Hash> {
        let mut i = index as usize;
        let mut path = Vec::new();
        for level in &self.levels[..self.levels.len().saturating_sub(1)] {
            let sibling = i ^ 1;
            if sibling < level.len() {
                path.push(level[sibling]);
            }
            i /= 2;
        }
        path
    }
}

/// RFC 9162 §2.1.3.2: does `path` prove that `leaf` (leaf-hashed) sits at `index` of a tree of
/// `size` leaves whose root is `root`?
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, path: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9162 §2.1.1's recursive definition, for comparison.
    fn rfc_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaves[0],
            n => {
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                node_hash(&rfc_root(&leaves[..k]), &rfc_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_match_the_rfc_and_every_proof_verifies() {
        for n in 0..40u64 {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(format!("leaf {i}").as_bytes())).collect();
            let tree = Tree::new(leaves.clone());
            assert_eq!(tree.root(), rfc_root(&leaves), "n = {n}");
            for i in 0..n {
                let path = tree.proof(i);
                assert!(verify_inclusion(i, n, &leaves[i as usize], &path, &tree.root()), "n = {n}, i = {i}");
                // The same path does not prove another leaf or another place.
                let other = leaf_hash(b"other");
                assert!(!verify_inclusion(i, n, &other, &path, &tree.root()));
                if n > 1 {
                    assert!(!verify_inclusion((i + 1) % n, n, &leaves[i as usize], &path, &tree.root()));
                }
            }
        }
    }

    #[test]
    fn a_leaf_cannot_pass_for_a_node() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let tree = Tree::new(vec![a, b]);
        let mut joined = a.to_vec();
        joined.extend_from_slice(&b);
        assert_ne!(leaf_hash(&joined), tree.root());
    }
}
