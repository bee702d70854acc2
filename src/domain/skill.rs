//! Skills (optionally aligned to a public framework) and skills profiles.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::validate::{Checker, Invalid, LIST_MAX, LONG, SHORT};

/// A qualification-framework level, e.g. NLQF 2 or EQF 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub framework: Framework,
    pub level: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Framework {
    #[serde(rename = "EQF")]
    Eqf,
    #[serde(rename = "NLQF")]
    Nlqf,
}

impl Framework {
    pub fn as_str(self) -> &'static str {
        match self {
            Framework::Eqf => "EQF",
            Framework::Nlqf => "NLQF",
        }
    }
}

impl Level {
    pub fn check(&self, c: &mut Checker, field: &str) {
        if !(1..=8).contains(&self.level) {
            c.fail(format!("{field}.level"), crate::problem!("not-an-eqf-level", "must be 1 to 8"));
        }
    }
}

/// OB 3.0 `Alignment` input (names as in the standard).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AlignmentSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_framework: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
}

/// OB 3.0 `AlignmentTargetType`; others need `ext:`.
const TARGET_TYPES: &[&str] = &[
    "ceasn:Competency",
    "ceterms:Credential",
    "CFItem",
    "CFRubric",
    "CFRubricCriterion",
    "CFRubricCriterionLevel",
    "CTDL",
];

impl AlignmentSpec {
    /// Validates in place; `target_url` is required by OB 3.0.
    pub fn check(&self, c: &mut Checker, field: &str) -> AlignmentSpec {
        let target_url = match &self.target_url {
            Some(u) => Some(c.url(&format!("{field}.targetUrl"), u, true)),
            None => {
                c.fail(
                    format!("{field}.targetUrl"),
                    crate::problem!("target-required", "is required (e.g. an ESCO skill URI)"),
                );
                None
            }
        };
        if let Some(t) = &self.target_type
            && !super::issuer::extensible_enum(t, TARGET_TYPES)
        {
            c.fail(
                format!("{field}.targetType"),
                crate::problem!("not-a-target-type", "must be an OB 3.0 alignment target type or start with ext:"),
            );
        }
        AlignmentSpec {
            target_url,
            target_name: c.opt_text(&format!("{field}.targetName"), &self.target_name, SHORT),
            target_code: c.opt_text(&format!("{field}.targetCode"), &self.target_code, SHORT),
            target_framework: c.opt_text(&format!("{field}.targetFramework"), &self.target_framework, SHORT),
            target_description: c.opt_text(&format!("{field}.targetDescription"), &self.target_description, LONG),
            target_type: self.target_type.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alignment: Option<AlignmentSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
}

impl SkillSpec {
    pub fn parse(self) -> Result<SkillSpec, Invalid> {
        let mut c = Checker::default();
        let name = required_text(&mut c, "name", &self.name, SHORT);
        let description = c.opt_text("description", &self.description, LONG);
        let alignment = self.alignment.as_ref().map(|a| a.check(&mut c, "alignment"));
        if let Some(l) = &self.level {
            l.check(&mut c, "level");
        }
        c.finish()?;
        Ok(SkillSpec { name, description, alignment, level: self.level })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillsProfileSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub skills: Vec<Uuid>,
}

impl SkillsProfileSpec {
    pub fn parse(self) -> Result<SkillsProfileSpec, Invalid> {
        let mut c = Checker::default();
        let name = required_text(&mut c, "name", &self.name, SHORT);
        let description = c.opt_text("description", &self.description, LONG);
        c.list_len("skills", &self.skills, LIST_MAX);
        let skills = dedup(self.skills);
        c.finish()?;
        Ok(SkillsProfileSpec { name, description, skills })
    }
}

/// A required, trimmed, bounded text field.
pub fn required_text(c: &mut Checker, field: &str, value: &Option<String>, max: usize) -> Option<String> {
    match value {
        Some(v) => Some(c.text(field, v, max)),
        None => {
            c.fail(field, crate::problem!("required", "is required"));
            None
        }
    }
}

/// Removes repeated ids, keeping the first occurrence's position.
pub fn dedup(ids: Vec<Uuid>) -> Vec<Uuid> {
    let mut seen = std::collections::HashSet::new();
    ids.into_iter().filter(|id| seen.insert(*id)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn skill_with_esco_alignment() {
        let s: SkillSpec = serde_json::from_value(json!({
            "name": "Vibration analysis",
            "alignment": {"targetUrl": "http://data.europa.eu/esco/skill/abc", "targetFramework": "ESCO"},
            "level": {"framework": "NLQF", "level": 3}
        }))
        .unwrap();
        assert!(s.parse().is_ok());
    }

    #[test]
    fn bad_skill() {
        let s: SkillSpec = serde_json::from_value(json!({
            "alignment": {"targetType": "whatever"}, "level": {"framework": "EQF", "level": 9}
        }))
        .unwrap();
        let fields: Vec<String> = s.parse().unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["name", "alignment.targetUrl", "alignment.targetType", "level.level"]);
    }
}
