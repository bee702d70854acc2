//! Metro maps and metro lines as issuer admins define them.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::pathway::Rule;
use super::skill::{AlignmentSpec, dedup, required_text};
use super::validate::{Checker, Invalid, LIST_MAX, LONG, SHORT};

/// A sector's set of lines, e.g. "Maakindustrie — Smart Maintenance".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetroMapSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl MetroMapSpec {
    pub fn parse(self) -> Result<MetroMapSpec, Invalid> {
        let mut c = Checker::default();
        let name = required_text(&mut c, "name", &self.name, SHORT);
        let description = c.opt_text("description", &self.description, LONG);
        c.finish()?;
        Ok(MetroMapSpec { name, description })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Entrepreneurs,
    Employees,
}

/// The partial certificate a line leads to (an OB 3.0 Achievement of type `Certificate`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criteria: Option<super::nanomodule::CriteriaSpec>,
    /// E.g. the qualification (crebo code) the partial certificate belongs to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alignment: Vec<AlignmentSpec>,
    /// `creditsAvailable` (study hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<f64>,
    /// Marks the certificate as an EU micro-credential (its workload is `credits`, required then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub micro_credential: Option<super::nanomodule::MicroCredentialSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetroLineSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metro_map: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Audience>,
    /// `#rrggbb`, the line's colour on the map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
    /// Nanomodules in order (possibly of issuers listed in `accepts_issuers`).
    #[serde(default)]
    pub stations: Vec<Uuid>,
    /// Other issuers on this service whose nanomodules this line accepts as stations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepts_issuers: Vec<Uuid>,
    /// The rule; absent means every station.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateSpec>,
}

impl MetroLineSpec {
    /// Validates what can be checked without the database (station ownership is checked by
    /// the service).
    pub fn parse(self) -> Result<MetroLineSpec, Invalid> {
        let mut c = Checker::default();
        let name = required_text(&mut c, "name", &self.name, SHORT);
        let description = c.opt_text("description", &self.description, LONG);
        if self.metro_map.is_none() {
            c.fail(
                "metro_map",
                crate::problem!("map-required", "is required (the id of one of the issuer's metro maps)"),
            );
        }
        if let Some(col) = &self.colour
            && !(col.len() == 7 && col.starts_with('#') && col[1..].chars().all(|ch| ch.is_ascii_hexdigit()))
        {
            c.fail("colour", crate::problem!("not-a-colour", "must be a #rrggbb colour"));
        }
        if self.stations.is_empty() {
            c.fail("stations", crate::problem!("no-stations", "must list at least one nanomodule"));
        }
        c.list_len("stations", &self.stations, LIST_MAX);
        c.list_len("accepts_issuers", &self.accepts_issuers, 20);
        let certificate = match &self.certificate {
            None => {
                c.fail(
                    "certificate",
                    crate::problem!("certificate-required", "is required: the partial certificate this line leads to"),
                );
                None
            }
            Some(cert) => {
                let name = required_text(&mut c, "certificate.name", &cert.name, SHORT);
                let description = required_text(&mut c, "certificate.description", &cert.description, LONG);
                c.list_len("certificate.alignment", &cert.alignment, 20);
                let alignment = cert
                    .alignment
                    .iter()
                    .enumerate()
                    .map(|(i, a)| a.check(&mut c, &format!("certificate.alignment[{i}]")))
                    .collect();
                if let Some(cr) = cert.credits
                    && !(cr.is_finite() && cr > 0.0 && cr <= 10_000.0)
                {
                    c.fail(
                        "certificate.credits",
                        crate::problem!("hours-out-of-range", "must be more than 0 and at most 10000"),
                    );
                }
                let criteria = cert.criteria.as_ref().map(|cr| super::nanomodule::CriteriaSpec {
                    narrative: c.opt_text("certificate.criteria.narrative", &cr.narrative, LONG),
                    id: c.opt_url("certificate.criteria.id", &cr.id, false),
                });
                let micro_credential =
                    cert.micro_credential.as_ref().map(|m| m.parse(&mut c, "certificate.micro_credential"));
                if micro_credential.is_some() && cert.credits.is_none() {
                    c.fail(
                        "certificate.credits",
                        crate::problem!(
                            "credits-required",
                            "is required for a micro-credential: the notional workload in hours"
                        ),
                    );
                }
                Some(CertificateSpec {
                    name,
                    description,
                    criteria,
                    alignment,
                    credits: cert.credits.map(|x| (x * 100.0).round() / 100.0),
                    micro_credential,
                })
            }
        };
        let stations = dedup(self.stations.clone());
        let rule = self.rule.clone();
        if let Some(r) = &rule
            && let Err(Invalid(errors)) = r.check(&stations.iter().copied().collect())
        {
            for e in errors {
                // The line's own words: its usable nanomodules are its stations.
                if e.code == "not-usable-nanomodule" {
                    let id = e.args.iter().find(|(k, _)| *k == "id").map(|(_, v)| v.clone()).unwrap_or_default();
                    c.fail(e.field, crate::problem!("not-a-station", "{id} is not a station of this line", id = id));
                } else {
                    c.fail(
                        e.field.clone(),
                        crate::domain::validate::Message { code: e.code, english: e.message, args: e.args },
                    );
                }
            }
        }
        c.finish()?;
        Ok(MetroLineSpec {
            name,
            description,
            metro_map: self.metro_map,
            audience: self.audience,
            colour: self.colour,
            stations,
            accepts_issuers: dedup(self.accepts_issuers),
            rule,
            certificate,
        })
    }

    /// The rule in force: the given one, or all stations.
    pub fn effective_rule(&self) -> Rule {
        self.rule.clone().unwrap_or_else(|| Rule::all_of(&self.stations))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rule_may_only_use_stations() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let spec: MetroLineSpec = serde_json::from_value(json!({
            "name": "Smart Maintenance basis", "metro_map": Uuid::from_u128(9), "colour": "#0a7",
            "stations": [a], "rule": {"all": [{"nanomodule": a}, {"nanomodule": b}]},
            "certificate": {"name": "Deelcertificaat", "description": "d", "credits": 8}
        }))
        .unwrap();
        let fields: Vec<String> = spec.parse().unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["colour", "rule.all[1].nanomodule"]);
    }
}
