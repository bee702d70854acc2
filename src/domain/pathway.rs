//! Metro-line rules: when a learner's valid badges add up to a partial certificate.
//!
//! Pure and deterministic: the same badges in any order give the same answer, and every node of
//! the rule explains itself (satisfied or not, which credentials counted, what is missing).
//! Rules reference nanomodules only — never other lines — and arrive as a JSON tree, so they
//! cannot contain cycles.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::validate::{FieldError, Invalid};

/// Deepest nesting accepted, and most nodes in one rule.
pub const MAX_DEPTH: usize = 12;
pub const MAX_NODES: usize = 500;

/// A rule as JSON: `{"nanomodule": ID}`, `{"all": [..]}`, `{"at_least": {"n", "of"}}`,
/// `{"min_study_hours": {"hours", "of"}}`, `{"within": {"days", "rule"}}`, `{"in_order": [..]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Rule {
    Nanomodule(Uuid),
    All(Vec<Rule>),
    AtLeast { n: usize, of: Vec<Rule> },
    MinStudyHours { hours: f64, of: Vec<Rule> },
    Within { days: i64, rule: Box<Rule> },
    InOrder(Vec<Rule>),
}

impl Rule {
    /// Whether any part of the rule asks for badges in order.
    pub fn asks_order(&self) -> bool {
        match self {
            Rule::Nanomodule(_) => false,
            Rule::InOrder(_) => true,
            Rule::All(of) | Rule::AtLeast { of, .. } | Rule::MinStudyHours { of, .. } => {
                of.iter().any(Rule::asks_order)
            }
            Rule::Within { rule, .. } => rule.asks_order(),
        }
    }

    /// Every station of a line, all required: the rule when none is given.
    pub fn all_of(stations: &[Uuid]) -> Rule {
        Rule::All(stations.iter().map(|s| Rule::Nanomodule(*s)).collect())
    }

    /// Field-level problems: empty groups, `n` out of range, unknown modules, bad numbers,
    /// too deep or too large.
    pub fn check(&self, known: &HashSet<Uuid>) -> Result<(), Invalid> {
        let mut errors = Vec::new();
        let mut nodes = 0;
        self.check_at("rule", known, 1, &mut nodes, &mut errors);
        if nodes > MAX_NODES {
            errors.push(FieldError::new(
                "rule",
                crate::problem!("rule-too-large", "has {nodes} nodes; at most {max}", nodes = nodes, max = MAX_NODES),
            ));
        }
        if errors.is_empty() { Ok(()) } else { Err(Invalid(errors)) }
    }

    fn check_at(&self, at: &str, known: &HashSet<Uuid>, depth: usize, nodes: &mut usize, errors: &mut Vec<FieldError>) {
        *nodes += 1;
        let mut fail =
            |field: String, message: crate::domain::validate::Message| errors.push(FieldError::new(field, message));
        if depth > MAX_DEPTH {
            fail(at.into(), crate::problem!("rule-too-deep", "nests deeper than {max} levels", max = MAX_DEPTH));
            return;
        }
        let group = |name: &str, of: &[Rule], errors: &mut Vec<FieldError>, nodes: &mut usize| {
            if of.is_empty() {
                errors.push(FieldError::new(format!("{at}.{name}"), crate::problem!("empty", "must not be empty")));
            }
            for (i, r) in of.iter().enumerate() {
                r.check_at(&format!("{at}.{name}[{i}]"), known, depth + 1, nodes, errors);
            }
        };
        match self {
            Rule::Nanomodule(id) => {
                if !known.contains(id) {
                    fail(
                        format!("{at}.nanomodule"),
                        crate::problem!("not-usable-nanomodule", "{id} is not a nanomodule this line may use", id = id),
                    );
                }
            }
            Rule::All(of) => group("all", of, errors, nodes),
            Rule::InOrder(of) => group("in_order", of, errors, nodes),
            Rule::AtLeast { n, of } => {
                if *n == 0 || *n > of.len() {
                    fail(
                        format!("{at}.at_least.n"),
                        crate::problem!(
                            "at-least-out-of-range",
                            "must be 1 to {n} (the number of rules in of)",
                            n = of.len()
                        ),
                    );
                }
                group("at_least.of", of, errors, nodes);
            }
            Rule::MinStudyHours { hours, of } => {
                if !(hours.is_finite() && *hours > 0.0 && *hours <= 10_000.0) {
                    fail(
                        format!("{at}.min_study_hours.hours"),
                        crate::problem!("hours-out-of-range", "must be more than 0 and at most 10000"),
                    );
                }
                group("min_study_hours.of", of, errors, nodes);
            }
            Rule::Within { days, rule } => {
                if !(1..=36_500).contains(days) {
                    fail(format!("{at}.within.days"), crate::problem!("days-out-of-range", "must be 1 to 36500"));
                }
                rule.check_at(&format!("{at}.within.rule"), known, depth + 1, nodes, errors);
            }
        }
    }

    /// Every nanomodule the rule mentions.
    pub fn modules(&self) -> BTreeSet<Uuid> {
        let mut out = BTreeSet::new();
        self.collect(&mut out);
        out
    }

    fn collect(&self, out: &mut BTreeSet<Uuid>) {
        match self {
            Rule::Nanomodule(id) => {
                out.insert(*id);
            }
            Rule::All(of) | Rule::InOrder(of) | Rule::AtLeast { of, .. } | Rule::MinStudyHours { of, .. } => {
                of.iter().for_each(|r| r.collect(out))
            }
            Rule::Within { rule, .. } => rule.collect(out),
        }
    }
}

/// A badge of the learner that may count: currently valid.
#[derive(Debug, Clone, PartialEq)]
pub struct Badge {
    pub credential: Uuid,
    pub nanomodule: Uuid,
    pub awarded: OffsetDateTime,
    pub hours: f64,
}

/// A badge that exists but may not count, and why (for the explanation).
#[derive(Debug, Clone, PartialEq)]
pub struct Unusable {
    pub nanomodule: Uuid,
    pub reason: String,
}

/// One node's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub rule: &'static str,
    pub satisfied: bool,
    /// Plain words, e.g. "2 more of: A, B, C" or "study hours 6 of 8".
    pub detail: String,
    /// Credentials that counted, sorted.
    pub counted: Vec<Uuid>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Explanation>,
    /// Latest award date among the counted badges.
    #[serde(skip)]
    pub completed: Option<OffsetDateTime>,
    #[serde(skip)]
    pub earliest: Option<OffsetDateTime>,
}

/// What the evaluator knows besides the badges: module names for the explanation.
pub struct Evaluation<'a> {
    badges: BTreeMap<Uuid, Vec<&'a Badge>>,
    unusable: &'a [Unusable],
    names: &'a BTreeMap<Uuid, String>,
}

impl<'a> Evaluation<'a> {
    /// Badges are grouped per module and sorted (award date, then credential id), so the
    /// input order never matters.
    pub fn new(badges: &'a [Badge], unusable: &'a [Unusable], names: &'a BTreeMap<Uuid, String>) -> Evaluation<'a> {
        let mut by_module: BTreeMap<Uuid, Vec<&Badge>> = BTreeMap::new();
        for b in badges {
            by_module.entry(b.nanomodule).or_default().push(b);
        }
        for list in by_module.values_mut() {
            list.sort_by_key(|a| (a.awarded, a.credential));
        }
        Evaluation { badges: by_module, unusable, names }
    }

    fn name(&self, id: &Uuid) -> String {
        self.names.get(id).cloned().unwrap_or_else(|| id.to_string())
    }

    pub fn explain(&self, rule: &Rule) -> Explanation {
        self.eval(rule, None)
    }

    /// Evaluates `rule` counting only badges awarded at or after `after` (for `in_order`).
    fn eval(&self, rule: &Rule, after: Option<OffsetDateTime>) -> Explanation {
        match rule {
            Rule::Nanomodule(id) => {
                // The earliest fitting badge: adding later badges never changes the choice.
                let pick = self.badges.get(id).and_then(|l| l.iter().find(|b| after.is_none_or(|a| b.awarded >= a)));
                match pick {
                    Some(b) => leaf(true, format!("{} done", self.name(id)), vec![b.credential], Some(b.awarded)),
                    None => {
                        let why = self
                            .unusable
                            .iter()
                            .filter(|u| u.nanomodule == *id)
                            .map(|u| u.reason.clone())
                            .collect::<Vec<_>>();
                        let detail = match (why.is_empty(), after.is_some() && self.badges.contains_key(id)) {
                            (_, true) => format!("{} must be done after the previous step", self.name(id)),
                            (false, _) => format!("{}: {}", self.name(id), why.join("; ")),
                            (true, _) => format!("{} still to do", self.name(id)),
                        };
                        leaf(false, detail, vec![], None)
                    }
                }
            }
            Rule::All(of) => {
                let children: Vec<Explanation> = of.iter().map(|r| self.eval(r, after)).collect();
                let missing: Vec<&Explanation> = children.iter().filter(|c| !c.satisfied).collect();
                let detail = if missing.is_empty() {
                    "all done".to_string()
                } else {
                    format!("{} of {} still to do", missing.len(), children.len())
                };
                group("all", missing.is_empty(), detail, children)
            }
            Rule::AtLeast { n, of } => {
                let children: Vec<Explanation> = of.iter().map(|r| self.eval(r, after)).collect();
                let done = children.iter().filter(|c| c.satisfied).count();
                let ok = done >= *n;
                let detail = if ok {
                    format!("{done} of the required {n} done")
                } else {
                    let todo: Vec<String> =
                        of.iter().zip(&children).filter(|(_, c)| !c.satisfied).map(|(r, _)| self.label(r)).collect();
                    format!("{} more of: {}", n - done, todo.join(", "))
                };
                group("at_least", ok, detail, children)
            }
            Rule::MinStudyHours { hours, of } => {
                let children: Vec<Explanation> = of.iter().map(|r| self.eval(r, after)).collect();
                // Each module counts once, with the largest study load any of its valid badges
                // carries (versions may differ), so more badges never mean fewer hours.
                let modules: BTreeSet<Uuid> = children
                    .iter()
                    .filter(|c| c.satisfied)
                    .flat_map(|c| c.counted.iter())
                    .filter_map(|cred| {
                        self.badges.values().flatten().find(|b| b.credential == *cred).map(|b| b.nanomodule)
                    })
                    .collect();
                let sum: f64 = modules
                    .iter()
                    .map(|m| self.badges.get(m).into_iter().flatten().map(|b| b.hours).fold(0.0, f64::max))
                    .sum();
                let ok = sum + 1e-9 >= *hours;
                group("min_study_hours", ok, format!("study hours {} of {}", trim(sum), trim(*hours)), children)
            }
            Rule::Within { days, rule } => {
                let inner = self.eval(rule, after);
                let span = match (inner.earliest, inner.completed) {
                    (Some(a), Some(b)) => (b - a).whole_days(),
                    _ => 0,
                };
                let ok = inner.satisfied && span <= *days;
                let detail = if !inner.satisfied {
                    format!("within {days} days: not complete yet")
                } else if ok {
                    format!("completed within {span} of {days} days")
                } else {
                    format!("took {span} days; must be within {days}")
                };
                let mut e = group("within", ok, detail, vec![inner]);
                if !ok {
                    e.counted.clear();
                }
                e
            }
            Rule::InOrder(of) => {
                let mut children = Vec::with_capacity(of.len());
                let mut bound = after;
                for r in of {
                    let c = self.eval(r, bound);
                    if c.satisfied {
                        bound = c.completed.or(bound);
                    }
                    children.push(c);
                }
                let missing = children.iter().filter(|c| !c.satisfied).count();
                let detail = if missing == 0 {
                    "all steps done in order".to_string()
                } else {
                    format!("{missing} of {} steps still to do in order", children.len())
                };
                group("in_order", missing == 0, detail, children)
            }
        }
    }

    fn label(&self, r: &Rule) -> String {
        match r {
            Rule::Nanomodule(id) => self.name(id),
            other => {
                let names: Vec<String> = other.modules().iter().map(|m| self.name(m)).collect();
                format!("({})", names.join(", "))
            }
        }
    }
}

fn trim(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn leaf(satisfied: bool, detail: String, counted: Vec<Uuid>, date: Option<OffsetDateTime>) -> Explanation {
    Explanation { rule: "nanomodule", satisfied, detail, counted, children: vec![], completed: date, earliest: date }
}

fn group(rule: &'static str, satisfied: bool, detail: String, children: Vec<Explanation>) -> Explanation {
    let counted: BTreeSet<Uuid> =
        children.iter().filter(|c| c.satisfied).flat_map(|c| c.counted.iter().copied()).collect();
    let completed = children.iter().filter(|c| c.satisfied).filter_map(|c| c.completed).max();
    let earliest = children.iter().filter(|c| c.satisfied).filter_map(|c| c.earliest).min();
    Explanation { rule, satisfied, detail, counted: counted.into_iter().collect(), children, completed, earliest }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    use serde_json::json;
    use time::Duration;

    use super::*;

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|i| Uuid::from_u128(i as u128 + 1)).collect()
    }

    fn badge(module: Uuid, day: i64, hours: f64) -> Badge {
        Badge {
            credential: Uuid::new_v4(),
            nanomodule: module,
            awarded: OffsetDateTime::UNIX_EPOCH + Duration::days(20_000 + day),
            hours,
        }
    }

    fn names(m: &[Uuid]) -> BTreeMap<Uuid, String> {
        m.iter().enumerate().map(|(i, id)| (*id, format!("M{i}"))).collect()
    }

    #[test]
    fn parses_the_documented_json() {
        let m = ids(3);
        let rule: Rule = serde_json::from_value(json!({"all": [
            {"nanomodule": m[0]},
            {"at_least": {"n": 1, "of": [{"nanomodule": m[1]}, {"nanomodule": m[2]}]}},
            {"min_study_hours": {"hours": 8, "of": [{"nanomodule": m[0]}]}},
            {"within": {"days": 365, "rule": {"in_order": [{"nanomodule": m[0]}, {"nanomodule": m[1]}]}}}
        ]}))
        .unwrap();
        assert_eq!(rule.modules().len(), 3);
        assert!(rule.check(&m.iter().copied().collect()).is_ok());
        assert!(serde_json::from_value::<Rule>(json!({"any": []})).is_err(), "unknown kinds are rejected");
        assert!(serde_json::from_value::<Rule>(json!({"at_least": {"n": 1, "of": [], "extra": 1}})).is_err());
    }

    #[test]
    fn validation_names_fields() {
        let m = ids(2);
        let known: HashSet<Uuid> = m[..1].iter().copied().collect();
        let rule: Rule = serde_json::from_value(json!({"all": [
            {"at_least": {"n": 3, "of": [{"nanomodule": m[0]}, {"nanomodule": m[1]}]}},
            {"in_order": []},
            {"within": {"days": 0, "rule": {"nanomodule": m[0]}}},
            {"min_study_hours": {"hours": -1, "of": [{"nanomodule": m[0]}]}}
        ]}))
        .unwrap();
        let fields: Vec<String> = rule.check(&known).unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "rule.all[0].at_least.n",
                "rule.all[0].at_least.of[1].nanomodule",
                "rule.all[1].in_order",
                "rule.all[2].within.days",
                "rule.all[3].min_study_hours.hours"
            ]
        );
        let mut deep = Rule::Nanomodule(m[0]);
        for _ in 0..MAX_DEPTH {
            deep = Rule::All(vec![deep]);
        }
        assert!(deep.check(&known).is_err(), "too deep");
    }

    #[test]
    fn explanations_in_plain_words() {
        let m = ids(4);
        let n = names(&m);
        let rule = Rule::All(vec![
            Rule::AtLeast {
                n: 3,
                of: vec![
                    Rule::Nanomodule(m[0]),
                    Rule::Nanomodule(m[1]),
                    Rule::Nanomodule(m[2]),
                    Rule::Nanomodule(m[3]),
                ],
            },
            Rule::MinStudyHours { hours: 8.0, of: m.iter().map(|x| Rule::Nanomodule(*x)).collect() },
        ]);
        let badges = vec![badge(m[0], 0, 3.0), badge(m[1], 10, 3.0)];
        let unusable = vec![Unusable { nanomodule: m[2], reason: "expired on 2026-01-01".into() }];
        let e = Evaluation::new(&badges, &unusable, &n).explain(&rule);
        assert!(!e.satisfied);
        assert_eq!(e.children[0].detail, "1 more of: M2, M3");
        assert_eq!(e.children[0].children[2].detail, "M2: expired on 2026-01-01");
        assert_eq!(e.children[1].detail, "study hours 6 of 8");
        let more = [badges.clone(), vec![badge(m[3], 20, 4.0)]].concat();
        let e = Evaluation::new(&more, &[], &n).explain(&rule);
        assert!(e.satisfied);
        assert_eq!(e.counted.len(), 3);
    }

    #[test]
    fn order_and_windows() {
        let m = ids(2);
        let n = names(&m);
        let ordered = Rule::InOrder(vec![Rule::Nanomodule(m[0]), Rule::Nanomodule(m[1])]);
        let wrong = vec![badge(m[1], 0, 1.0), badge(m[0], 5, 1.0)];
        assert!(!Evaluation::new(&wrong, &[], &n).explain(&ordered).satisfied);
        let redo = [wrong.clone(), vec![badge(m[1], 9, 1.0)]].concat();
        assert!(Evaluation::new(&redo, &[], &n).explain(&ordered).satisfied, "a later second badge fixes the order");
        let window = Rule::Within { days: 30, rule: Box::new(Rule::all_of(&m)) };
        let slow = vec![badge(m[0], 0, 1.0), badge(m[1], 40, 1.0)];
        let e = Evaluation::new(&slow, &[], &n).explain(&window);
        assert!(!e.satisfied);
        assert_eq!(e.detail, "took 40 days; must be within 30");
    }

    fn random_rule(rng: &mut StdRng, m: &[Uuid], depth: usize) -> Rule {
        let leaf = |rng: &mut StdRng| Rule::Nanomodule(m[rng.gen_range(0..m.len())]);
        if depth == 0 {
            return leaf(rng);
        }
        let kids =
            |rng: &mut StdRng| (0..rng.gen_range(1..4)).map(|_| random_rule(rng, m, depth - 1)).collect::<Vec<_>>();
        match rng.gen_range(0..6) {
            0 => leaf(rng),
            1 => Rule::All(kids(rng)),
            2 => {
                let of = kids(rng);
                Rule::AtLeast { n: rng.gen_range(1..=of.len()), of }
            }
            3 => Rule::MinStudyHours { hours: rng.gen_range(1..10) as f64, of: kids(rng) },
            4 => Rule::InOrder(kids(rng)),
            _ => Rule::Within { days: rng.gen_range(1..60), rule: Box::new(random_rule(rng, m, depth - 1)) },
        }
    }

    fn has_within(r: &Rule) -> bool {
        match r {
            Rule::Within { .. } => true,
            Rule::Nanomodule(_) => false,
            Rule::All(of) | Rule::InOrder(of) | Rule::AtLeast { of, .. } | Rule::MinStudyHours { of, .. } => {
                of.iter().any(has_within)
            }
        }
    }

    /// Order of the input never matters; adding a valid badge never turns a satisfied rule
    /// unsatisfied unless a `within` window is involved.
    #[test]
    fn properties() {
        let mut rng = StdRng::seed_from_u64(42);
        let m = ids(5);
        let n = names(&m);
        for _ in 0..2000 {
            let rule = random_rule(&mut rng, &m, 3);
            let badges: Vec<Badge> = (0..rng.gen_range(0..8))
                .map(|_| badge(m[rng.gen_range(0..m.len())], rng.gen_range(0..90), rng.gen_range(1..5) as f64))
                .collect();
            let e = Evaluation::new(&badges, &[], &n).explain(&rule);
            let mut shuffled = badges.clone();
            shuffled.shuffle(&mut rng);
            assert_eq!(Evaluation::new(&shuffled, &[], &n).explain(&rule), e, "order-independent");
            if e.satisfied && !has_within(&rule) {
                let extra = badge(m[rng.gen_range(0..m.len())], rng.gen_range(0..90), 2.0);
                let more = [badges.clone(), vec![extra]].concat();
                assert!(Evaluation::new(&more, &[], &n).explain(&rule).satisfied, "monotone: {rule:?}");
            }
        }
    }
}
