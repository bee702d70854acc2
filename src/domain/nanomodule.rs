//! Nanomodules: independent learning units of at most four hours (OB 3.0 `Achievement`s).
//!
//! Nanomodules never require other nanomodules — only base *skills* — so there is deliberately
//! no field that points from one module to another.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::issuer::extensible_enum;
use super::skill::{Level, dedup, required_text};
use super::validate::{Checker, Invalid, LIST_MAX, LONG, SHORT};

/// A nanomodule is at most a *dagdeel*: four hours.
pub const MAX_DURATION_MINUTES: i64 = 240;

/// OB 3.0 `AchievementType` values.
pub const ACHIEVEMENT_TYPES: &[&str] = &[
    "Achievement",
    "ApprenticeshipCertificate",
    "Assessment",
    "Assignment",
    "AssociateDegree",
    "Award",
    "Badge",
    "BachelorDegree",
    "Certificate",
    "CertificateOfCompletion",
    "Certification",
    "CommunityService",
    "Competency",
    "Course",
    "CoCurricular",
    "Degree",
    "Diploma",
    "DoctoralDegree",
    "Fieldwork",
    "GeneralEducationDevelopment",
    "JourneymanCertificate",
    "LearningProgram",
    "License",
    "Membership",
    "ProfessionalDoctorate",
    "QualityAssuranceCredential",
    "MasterCertificate",
    "MasterDegree",
    "MicroCredential",
    "ResearchDoctorate",
    "SecondarySchoolDiploma",
];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriteriaSpec {
    /// Markdown: what the learner did to earn the badge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
    /// URL of a page describing the criteria.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Hours of study per ECTS credit unless the module says otherwise (ECTS users' guide: 25–30).
pub const HOURS_PER_ECTS: i64 = 28;
/// Forms of participation a micro-credential can name (Annex I: "form of participation").
pub const PARTICIPATION: &[&str] = &["onsite", "online", "blended"];

/// The elements of the EU Council Recommendation on micro-credentials (2022/C 243/02, Annex I)
/// that a nanomodule does not already carry. Title, awarding body, date of issue, learner and
/// level come from the module, issuer and award; the issuer's country from its address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MicroCredentialSpec {
    /// What the learner knows or can do afterwards (mandatory, one statement each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub learning_outcomes: Vec<String>,
    /// Type of assessment, e.g. "practical assignment observed by the trainer" (mandatory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessment_type: Option<String>,
    /// `onsite`, `online` or `blended` (mandatory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participation: Option<String>,
    /// Type of quality assurance, e.g. "internal review by the training provider; provider
    /// accredited by …" (mandatory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_assurance: Option<String>,
    /// Hours of study per ECTS credit (25–30; absent: 28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours_per_ects: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prerequisites: Option<String>,
    /// Supervision and identity verification during assessment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervision: Option<String>,
    /// How results are graded (each learner's grade is the award row's result).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grading: Option<String>,
    /// Integration and stackability options (e.g. the partial certificate it counts towards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration: Option<String>,
    /// A page with further information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub further_information: Option<String>,
}

impl MicroCredentialSpec {
    /// Checks the elements; `at` is where the object sits (`micro_credential`, or
    /// `certificate.micro_credential` on a metro line), for the field names of errors.
    pub fn parse(&self, c: &mut Checker, at: &str) -> MicroCredentialSpec {
        let field = |f: &str| format!("{at}.{f}");
        if self.learning_outcomes.is_empty() {
            c.fail(
                field("learning_outcomes"),
                crate::problem!("outcomes-required", "is required for a micro-credential: at least one statement"),
            );
        }
        c.list_len(&field("learning_outcomes"), &self.learning_outcomes, 20);
        let learning_outcomes = self
            .learning_outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| c.text(&format!("{at}.learning_outcomes[{i}]"), o, LONG))
            .collect();
        let mut required = |name: &str, value: &Option<String>| {
            if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                c.fail(
                    field(name),
                    crate::problem!("required-for-micro-credential", "is required for a micro-credential"),
                );
                None
            } else {
                c.opt_text(&field(name), value, LONG)
            }
        };
        let assessment_type = required("assessment_type", &self.assessment_type);
        let quality_assurance = required("quality_assurance", &self.quality_assurance);
        let participation = required("participation", &self.participation);
        if let Some(p) = &participation
            && !PARTICIPATION.contains(&p.as_str())
        {
            c.fail(field("participation"), crate::problem!("not-a-participation", "must be onsite, online or blended"));
        }
        if let Some(h) = self.hours_per_ects
            && !(25..=30).contains(&h)
        {
            c.fail(
                field("hours_per_ects"),
                crate::problem!("not-hours-per-ects", "must be 25 to 30 hours per ECTS credit"),
            );
        }
        MicroCredentialSpec {
            learning_outcomes,
            assessment_type,
            participation,
            quality_assurance,
            hours_per_ects: self.hours_per_ects,
            prerequisites: c.opt_text(&field("prerequisites"), &self.prerequisites, LONG),
            supervision: c.opt_text(&field("supervision"), &self.supervision, LONG),
            grading: c.opt_text(&field("grading"), &self.grading, SHORT),
            integration: c.opt_text(&field("integration"), &self.integration, LONG),
            further_information: c.opt_url(&field("further_information"), &self.further_information, false),
        }
    }

    /// ECTS credits for `hours` of study, to two decimals (28 h = 1 ECTS unless the module says
    /// otherwise).
    pub fn ects(&self, hours: f64) -> f64 {
        (hours / self.hours_per_ects.unwrap_or(HOURS_PER_ECTS) as f64 * 100.0).round() / 100.0
    }
}

/// The input and stored form of one nanomodule version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NanomoduleSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criteria: Option<CriteriaSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_minutes: Option<i64>,
    /// External image URL; an uploaded image or the generated default is used otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Skills this module teaches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<Uuid>,
    /// Skills a participant is expected to have already (never other modules).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base_skills: Vec<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achievement_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// BCP 47 language tag of the module's texts, e.g. `nl` or `en-GB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// How long an awarded badge stays valid, in days; absent means it does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity_days: Option<i64>,
    /// Whether learners' managers are invited to an impact review (absent: yes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact_review: Option<bool>,
    /// Weeks after the award the review is due (4–13; absent: 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact_review_weeks: Option<i64>,
    /// Marks the module as an EU micro-credential, with the elements that requires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub micro_credential: Option<MicroCredentialSpec>,
}

impl NanomoduleSpec {
    pub fn parse(self) -> Result<NanomoduleSpec, Invalid> {
        let mut c = Checker::default();
        let name = required_text(&mut c, "name", &self.name, SHORT);
        let description = required_text(&mut c, "description", &self.description, LONG);
        let criteria = match &self.criteria {
            Some(cr) => {
                let narrative = c.opt_text("criteria.narrative", &cr.narrative, LONG);
                let id = c.opt_url("criteria.id", &cr.id, false);
                if narrative.is_none() && id.is_none() {
                    c.fail("criteria", crate::problem!("criteria-empty", "needs a narrative or an id (URL)"));
                }
                Some(CriteriaSpec { narrative, id })
            }
            None => {
                c.fail("criteria", crate::problem!("criteria-required", "is required: {{\"narrative\": \"…\"}}"));
                None
            }
        };
        match self.duration_minutes {
            None => c.fail("duration_minutes", crate::problem!("required", "is required")),
            Some(d) if !(1..=MAX_DURATION_MINUTES).contains(&d) => c.fail(
                "duration_minutes",
                crate::problem!(
                    "too-long-for-a-nanomodule",
                    "must be 1 to {max}: a nanomodule is at most 4 hours",
                    max = MAX_DURATION_MINUTES
                ),
            ),
            Some(_) => {}
        }
        let image = c.opt_url("image", &self.image, false);
        c.list_len("skills", &self.skills, LIST_MAX);
        c.list_len("base_skills", &self.base_skills, LIST_MAX);
        if let Some(l) = &self.level {
            l.check(&mut c, "level");
        }
        if let Some(t) = &self.achievement_type
            && !extensible_enum(t, ACHIEVEMENT_TYPES)
        {
            c.fail(
                "achievement_type",
                crate::problem!(
                    "not-an-achievement-type",
                    "must be an OB 3.0 achievement type (e.g. Course) or start with ext:"
                ),
            );
        }
        c.list_len("tags", &self.tags, 30);
        let tags = self.tags.iter().enumerate().map(|(i, t)| c.text(&format!("tags[{i}]"), t, 60)).collect();
        if let Some(lang) = &self.language
            && !is_language_tag(lang)
        {
            c.fail("language", crate::problem!("not-a-language", "must be a BCP 47 language tag such as nl or en-GB"));
        }
        if let Some(days) = self.validity_days
            && !(1..=36_500).contains(&days)
        {
            c.fail("validity_days", crate::problem!("days-out-of-range", "must be 1 to 36500"));
        }
        if let Some(w) = self.impact_review_weeks
            && !super::impact::WEEKS.contains(&w)
        {
            c.fail("impact_review_weeks", crate::problem!("not-review-weeks", "must be 4 to 13 weeks after the award"));
        }
        let micro_credential = self.micro_credential.as_ref().map(|m| m.parse(&mut c, "micro_credential"));
        if micro_credential.is_some() && self.achievement_type.as_deref().is_some_and(|t| t != "MicroCredential") {
            c.fail(
                "achievement_type",
                crate::problem!("micro-credential-type", "a micro-credential's achievement type is MicroCredential"),
            );
        }
        c.finish()?;
        let achievement_type = match &micro_credential {
            Some(_) => "MicroCredential".to_string(),
            None => self.achievement_type.unwrap_or_else(|| "Course".into()),
        };
        Ok(NanomoduleSpec {
            name,
            description,
            criteria,
            duration_minutes: self.duration_minutes,
            image,
            skills: dedup(self.skills),
            base_skills: dedup(self.base_skills),
            level: self.level,
            achievement_type: Some(achievement_type),
            tags,
            language: self.language,
            validity_days: self.validity_days,
            impact_review: self.impact_review,
            impact_review_weeks: self.impact_review_weeks,
            micro_credential,
        })
    }

    /// Study load in hours (OB `creditsAvailable`), rounded to two decimals.
    ///
    /// Why rounded: a JSON number with many digits becomes an `xsd:double` literal whose lexical
    /// form implementations write differently (the reference JavaScript stack keeps 16
    /// significant digits, Rust's shortest round-trip form may keep 17), and one differing
    /// literal breaks every signature. With at most 15 significant digits both agree.
    /// Weeks after an award the manager's impact review is due; `None` when the module has none.
    pub fn review_weeks(&self) -> Option<i64> {
        super::impact::due_weeks(self.impact_review, self.impact_review_weeks)
    }

    pub fn hours(&self) -> f64 {
        (self.duration_minutes.unwrap_or(0) as f64 / 60.0 * 100.0).round() / 100.0
    }
}

fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: serde_json::Value) -> Result<NanomoduleSpec, Invalid> {
        serde_json::from_value::<NanomoduleSpec>(v).unwrap().parse()
    }

    fn base() -> serde_json::Value {
        json!({"name": "Lubrication basics", "description": "Why and how", "criteria": {"narrative": "Did it"}, "duration_minutes": 240})
    }

    #[test]
    fn four_hours_is_the_limit() {
        let ok = spec(base()).unwrap();
        assert_eq!(ok.achievement_type.as_deref(), Some("Course"));
        assert_eq!(ok.hours(), 4.0);
        let mut odd = ok.clone();
        odd.duration_minutes = Some(200);
        assert_eq!(odd.hours(), 3.33);
        for bad in [0, 241, -5, 10_000] {
            let mut v = base();
            v["duration_minutes"] = json!(bad);
            let err = spec(v).unwrap_err();
            assert_eq!(err.0[0].field, "duration_minutes");
        }
    }

    #[test]
    fn criteria_and_language() {
        let mut v = base();
        v["criteria"] = json!({});
        v["language"] = json!("dutch language");
        v["achievement_type"] = json!("Nanomodule");
        let fields: Vec<String> = spec(v).unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["criteria", "achievement_type", "language"]);
        let mut v = base();
        v["language"] = json!("nl-NL");
        v["achievement_type"] = json!("ext:Nanomodule");
        assert!(spec(v).is_ok());
    }
}
