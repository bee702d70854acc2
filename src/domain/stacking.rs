//! Stacking: what a learner's badges mean for one metro line's partial certificate.
//!
//! The decision is pure so that award, status change, expiry sweep and the issuer's "evaluate
//! everyone" all reach the same verdict from the same facts. A certificate is revoked only when
//! the rule fails even if suspended and expired badges counted (the loss is permanent: a
//! revoked component or a compromised key), and suspended when it fails only because of them
//! (the loss may be undone, and the certificate then comes back with it).

use std::collections::BTreeMap;

use time::OffsetDateTime;
use uuid::Uuid;

use super::pathway::{Badge, Evaluation, Explanation, Rule, Unusable};
use super::time::rfc3339;

/// Where a learner's badge stands today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Valid,
    Suspended,
    Expired(OffsetDateTime),
    Revoked,
    /// Signed by a key marked compromised (from before the mark).
    Compromised,
}

impl Standing {
    /// Losses that may be undone: the certificate is suspended, not revoked.
    fn is_temporary(self) -> bool {
        matches!(self, Standing::Suspended | Standing::Expired(_))
    }

    /// Why the badge does not count, in words (`None` when it does).
    pub fn words(self) -> Option<String> {
        match self {
            Standing::Valid => None,
            Standing::Suspended => Some("suspended".into()),
            Standing::Expired(at) => Some(format!("expired on {}", &rfc3339(at)[..10])),
            Standing::Revoked => Some("revoked".into()),
            Standing::Compromised => Some("signed by a compromised key".into()),
        }
    }
}

/// One badge of the learner.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub credential: Uuid,
    /// The issuer that signed the badge.
    pub issuer: Uuid,
    pub nanomodule: Uuid,
    pub awarded: OffsetDateTime,
    pub hours: f64,
    pub standing: Standing,
}

/// The learner's certificate for the line that is not revoked, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldCertificate {
    pub credential: Uuid,
    pub version: i64,
    pub suspended: bool,
    /// Suspended by the service because of a component (so it comes back with the component),
    /// rather than by a person.
    pub suspended_by_cascade: bool,
    pub components: Vec<Uuid>,
}

/// What to do for one learner and line.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Nothing,
    /// Issue a certificate resting on these credentials.
    Issue {
        components: Vec<Uuid>,
    },
    /// `causes`: the certificate's components that no longer count.
    Suspend {
        certificate: Uuid,
        causes: Vec<Uuid>,
    },
    Reinstate {
        certificate: Uuid,
    },
    Revoke {
        certificate: Uuid,
        causes: Vec<Uuid>,
    },
    /// A component was lost for good (revoked, compromised key) but the rule still holds
    /// through the learner's other badges: a new certificate resting on `components` replaces
    /// the old one, which is revoked as superseded, so no valid certificate ever points at a
    /// revoked badge.
    Supersede {
        certificate: Uuid,
        causes: Vec<Uuid>,
        components: Vec<Uuid>,
    },
}

/// Evaluates `rule` over the badges that count (strictly valid ones).
pub fn explain(rule: &Rule, held: &[Held], names: &BTreeMap<Uuid, String>) -> Explanation {
    evaluate(rule, held, names, |s| s == Standing::Valid)
}

fn evaluate(
    rule: &Rule,
    held: &[Held],
    names: &BTreeMap<Uuid, String>,
    counts: impl Fn(Standing) -> bool,
) -> Explanation {
    let mut badges = Vec::new();
    let mut unusable = Vec::new();
    for h in held {
        if counts(h.standing) {
            badges.push(Badge {
                credential: h.credential,
                nanomodule: h.nanomodule,
                awarded: h.awarded,
                hours: h.hours,
            });
        } else if let Some(reason) = h.standing.words() {
            unusable.push(Unusable { nanomodule: h.nanomodule, reason });
        }
    }
    Evaluation::new(&badges, &unusable, names).explain(rule)
}

/// Decides for one learner and line. `rule` is the rule of the version that applies (the
/// certificate's, or the one the learner started on); `blocked` means a person revoked an
/// earlier certificate of this line, which the service must not silently undo.
pub fn decide(
    rule: &Rule,
    held: &[Held],
    names: &BTreeMap<Uuid, String>,
    certificate: Option<&HeldCertificate>,
    blocked: bool,
) -> (Decision, Explanation) {
    let strict = explain(rule, held, names);
    let Some(cert) = certificate else {
        let decision = if strict.satisfied && !blocked {
            Decision::Issue { components: strict.counted.clone() }
        } else {
            Decision::Nothing
        };
        return (decision, strict);
    };
    if strict.satisfied {
        let lost_for_good: Vec<Uuid> = held
            .iter()
            .filter(|h| cert.components.contains(&h.credential))
            .filter(|h| h.standing != Standing::Valid && !h.standing.is_temporary())
            .map(|h| h.credential)
            .collect();
        // A certificate someone suspended by hand stays theirs to decide on.
        let by_hand = cert.suspended && !cert.suspended_by_cascade;
        if !lost_for_good.is_empty() && !by_hand {
            let decision = Decision::Supersede {
                certificate: cert.credential,
                causes: lost_for_good,
                components: strict.counted.clone(),
            };
            return (decision, strict);
        }
        let decision = if cert.suspended && cert.suspended_by_cascade {
            Decision::Reinstate { certificate: cert.credential }
        } else {
            Decision::Nothing
        };
        return (decision, strict);
    }
    let lenient = evaluate(rule, held, names, |s| s == Standing::Valid || s.is_temporary());
    let causes = |temporary: bool| -> Vec<Uuid> {
        let lost = |h: &&Held| h.standing != Standing::Valid && h.standing.is_temporary() == temporary;
        let mine: Vec<Uuid> = held
            .iter()
            .filter(|h| cert.components.contains(&h.credential))
            .filter(lost)
            .map(|h| h.credential)
            .collect();
        if mine.is_empty() { held.iter().filter(lost).map(|h| h.credential).collect() } else { mine }
    };
    let decision = if !lenient.satisfied {
        Decision::Revoke { certificate: cert.credential, causes: causes(false) }
    } else if !cert.suspended {
        Decision::Suspend { certificate: cert.credential, causes: causes(true) }
    } else {
        Decision::Nothing
    };
    (decision, strict)
}

/// A cause in words for a status reason: "component Smeren (https://…) revoked".
pub fn cause_words(
    held: &[Held],
    causes: &[Uuid],
    names: &BTreeMap<Uuid, String>,
    url: impl Fn(Uuid) -> String,
) -> String {
    let parts: Vec<String> = causes
        .iter()
        .filter_map(|c| held.iter().find(|h| h.credential == *c))
        .map(|h| {
            let name = names.get(&h.nanomodule).cloned().unwrap_or_else(|| h.nanomodule.to_string());
            format!("{name} ({}) {}", url(h.credential), h.standing.words().unwrap_or_default())
        })
        .collect();
    if parts.is_empty() { "the rule no longer holds".into() } else { format!("component {}", parts.join("; ")) }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;

    fn m(i: u128) -> Uuid {
        Uuid::from_u128(i)
    }

    fn held(module: u128, credential: u128, standing: Standing) -> Held {
        Held {
            credential: m(1000 + credential),
            issuer: m(1),
            nanomodule: m(module),
            awarded: OffsetDateTime::UNIX_EPOCH + Duration::days(credential as i64),
            hours: 2.0,
            standing,
        }
    }

    fn cert(components: &[u128], suspended: bool, by_cascade: bool) -> HeldCertificate {
        HeldCertificate {
            credential: m(9999),
            version: 1,
            suspended,
            suspended_by_cascade: by_cascade,
            components: components.iter().map(|c| m(1000 + c)).collect(),
        }
    }

    fn both() -> Rule {
        Rule::all_of(&[m(1), m(2)])
    }

    #[test]
    fn issues_when_complete_and_not_before() {
        let names = BTreeMap::new();
        let one = [held(1, 1, Standing::Valid)];
        assert_eq!(decide(&both(), &one, &names, None, false).0, Decision::Nothing);
        let two = [held(1, 1, Standing::Valid), held(2, 2, Standing::Valid)];
        assert_eq!(
            decide(&both(), &two, &names, None, false).0,
            Decision::Issue { components: vec![m(1001), m(1002)] }
        );
        assert_eq!(decide(&both(), &two, &names, None, true).0, Decision::Nothing, "a person's revocation stands");
    }

    #[test]
    fn suspended_or_expired_component_suspends_and_comes_back() {
        let names = BTreeMap::new();
        let c = cert(&[1, 2], false, false);
        for standing in [Standing::Suspended, Standing::Expired(OffsetDateTime::UNIX_EPOCH)] {
            let h = [held(1, 1, Standing::Valid), held(2, 2, standing)];
            assert_eq!(
                decide(&both(), &h, &names, Some(&c), false).0,
                Decision::Suspend { certificate: m(9999), causes: vec![m(1002)] }
            );
        }
        let h = [held(1, 1, Standing::Valid), held(2, 2, Standing::Valid)];
        let suspended = cert(&[1, 2], true, true);
        assert_eq!(
            decide(&both(), &h, &names, Some(&suspended), false).0,
            Decision::Reinstate { certificate: m(9999) }
        );
        let by_person = cert(&[1, 2], true, false);
        assert_eq!(decide(&both(), &h, &names, Some(&by_person), false).0, Decision::Nothing);
    }

    #[test]
    fn revoked_component_revokes_or_supersedes() {
        let names = BTreeMap::new();
        let c = cert(&[1, 2], false, false);
        let h = [held(1, 1, Standing::Valid), held(2, 2, Standing::Revoked)];
        assert_eq!(
            decide(&both(), &h, &names, Some(&c), false).0,
            Decision::Revoke { certificate: m(9999), causes: vec![m(1002)] }
        );
        // A suspended certificate whose component is then revoked is revoked too.
        let s = cert(&[1, 2], true, true);
        let h2 = [held(1, 1, Standing::Suspended), held(2, 2, Standing::Compromised)];
        assert!(matches!(decide(&both(), &h2, &names, Some(&s), false).0, Decision::Revoke { .. }));
        // A second valid badge of the same module keeps the rule satisfied: a new certificate
        // on the valid badges supersedes the one that names the revoked badge.
        let h3 = [held(1, 1, Standing::Valid), held(2, 2, Standing::Revoked), held(2, 3, Standing::Valid)];
        assert_eq!(
            decide(&both(), &h3, &names, Some(&c), false).0,
            Decision::Supersede { certificate: m(9999), causes: vec![m(1002)], components: vec![m(1001), m(1003)] }
        );
        // …also from a cascade suspension; a suspension by hand stays.
        assert!(matches!(
            decide(&both(), &h3, &names, Some(&cert(&[1, 2], true, true)), false).0,
            Decision::Supersede { .. }
        ));
        assert_eq!(decide(&both(), &h3, &names, Some(&cert(&[1, 2], true, false)), false).0, Decision::Nothing);
        // A suspended component with the rule still holding is no reason to replace anything.
        let h4 = [held(1, 1, Standing::Valid), held(2, 2, Standing::Suspended), held(2, 3, Standing::Valid)];
        assert_eq!(decide(&both(), &h4, &names, Some(&c), false).0, Decision::Nothing);
    }

    #[test]
    fn at_least_survives_one_suspension() {
        let names = BTreeMap::new();
        let rule =
            Rule::AtLeast { n: 2, of: vec![Rule::Nanomodule(m(1)), Rule::Nanomodule(m(2)), Rule::Nanomodule(m(3))] };
        let c = cert(&[1, 2], false, false);
        let h = [held(1, 1, Standing::Valid), held(2, 2, Standing::Suspended), held(3, 3, Standing::Valid)];
        assert_eq!(decide(&rule, &h, &names, Some(&c), false).0, Decision::Nothing);
    }

    #[test]
    fn cause_names_the_component() {
        let names = BTreeMap::from([(m(2), "Smeren".to_string())]);
        let h = [held(2, 2, Standing::Revoked)];
        let words = cause_words(&h, &[m(1002)], &names, |id| format!("https://x/credentials/{id}"));
        assert_eq!(words, format!("component Smeren (https://x/credentials/{}) revoked", m(1002)));
    }
}
