//! An issuer's profile as given by its administrators (an OB 3.0 `Profile`).

use serde::{Deserialize, Serialize};

use super::validate::{Checker, Invalid, LONG, SHORT};

/// The input and stored form of an issuer profile. Field names follow OB 3.0 `Profile`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// E.g. Chamber of Commerce (KvK) number, BRIN: `{"identifier", "identifierType"}`.
    #[serde(default, rename = "otherIdentifier", skip_serializing_if = "Vec::is_empty")]
    pub other_identifier: Vec<IdentifierEntry>,
    /// The language of the issuer's e-mail to learners (`nl` or `en`; Dutch when not given).
    /// Not part of the OB 3.0 profile: `ob3::profile` leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// How the issuer's VC-JWTs are signed: `EdDSA` (default, the Ed25519 key that also signs the
    /// Data Integrity proofs) or `ES256` (a P-256 key of its own, for verifiers such as 1EdTech's
    /// that accept only RS256/ES256). Not part of the OB 3.0 profile.
    #[serde(default, rename = "jwtAlgorithm", skip_serializing_if = "Option::is_none")]
    pub jwt_algorithm: Option<String>,
}

/// JWT algorithms an issuer can choose.
pub const JWT_ALGORITHMS: &[&str] = &["EdDSA", "ES256"];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_office_box_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_locality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_country_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IdentifierEntry {
    #[serde(default)]
    pub identifier: String,
    #[serde(default)]
    pub identifier_type: String,
}

/// OB 3.0 `IdentifierTypeEnum`; anything else must use the `ext:` prefix.
const IDENTIFIER_TYPES: &[&str] = &[
    "name",
    "sourcedId",
    "systemId",
    "productId",
    "userName",
    "accountId",
    "emailAddress",
    "nationalIdentityNumber",
    "isbn",
    "issn",
    "lisSourcedId",
    "oneRosterSourcedId",
    "sisSourcedId",
    "ltiContextId",
    "ltiDeploymentId",
    "ltiToolId",
    "ltiPlatformId",
    "ltiUserId",
    "identifier",
];

/// True for a value of an OB extensible enumeration: one of `known` or `ext:` + `[A-Za-z0-9.|_-]+`.
pub fn extensible_enum(value: &str, known: &[&str]) -> bool {
    known.contains(&value)
        || value.strip_prefix("ext:").is_some_and(|rest| {
            !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || ".|_-".contains(c))
        })
}

impl IssuerSpec {
    /// Validates and normalises (trims) the profile; the result is what gets stored.
    pub fn parse(self) -> Result<IssuerSpec, Invalid> {
        let mut c = Checker::default();
        let name = super::skill::required_text(&mut c, "name", &self.name, SHORT);
        let url = c.opt_url("url", &self.url, false);
        let email = self.email.as_deref().map(|e| c.email("email", e));
        let description = c.opt_text("description", &self.description, LONG);
        let image = c.opt_url("image", &self.image, false);
        let phone = c.opt_text("phone", &self.phone, 50);
        let address = self
            .address
            .map(|a| {
                let mut f = |name: &str, v: &Option<String>| c.opt_text(&format!("address.{name}"), v, SHORT);
                let out = Address {
                    street_address: f("streetAddress", &a.street_address),
                    post_office_box_number: f("postOfficeBoxNumber", &a.post_office_box_number),
                    postal_code: f("postalCode", &a.postal_code),
                    address_locality: f("addressLocality", &a.address_locality),
                    address_region: f("addressRegion", &a.address_region),
                    address_country: f("addressCountry", &a.address_country),
                    address_country_code: a.address_country_code.clone(),
                };
                if let Some(cc) = &out.address_country_code
                    && (cc.len() != 2 || !cc.chars().all(|ch| ch.is_ascii_uppercase()))
                {
                    c.fail(
                        "address.addressCountryCode",
                        crate::problem!("not-a-country", "must be an ISO 3166-1 alpha-2 code such as NL"),
                    );
                }
                out
            })
            // An address with nothing in it is no address.
            .filter(|a| *a != Address::default());
        c.list_len("otherIdentifier", &self.other_identifier, 20);
        let other_identifier = self
            .other_identifier
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let identifier = c.text(&format!("otherIdentifier[{i}].identifier"), &e.identifier, SHORT);
                if !extensible_enum(&e.identifier_type, IDENTIFIER_TYPES) {
                    c.fail(
                        format!("otherIdentifier[{i}].identifierType"),
                        crate::problem!(
                            "not-an-identifier-type",
                            "must be an OB 3.0 identifier type or start with ext: (e.g. ext:KvK, ext:BRIN)"
                        ),
                    );
                }
                IdentifierEntry { identifier, identifier_type: e.identifier_type.clone() }
            })
            .collect();
        let language = self.language.as_deref().map(str::trim).filter(|l| !l.is_empty()).and_then(|l| {
            let code = super::lang::Lang::parse(l).map(|lang| lang.code().to_string());
            if code.is_none() {
                c.fail("language", crate::problem!("not-nl-or-en", "must be nl or en"));
            }
            code
        });
        let jwt_algorithm = self.jwt_algorithm.filter(|a| a != "EdDSA");
        if let Some(a) = &jwt_algorithm
            && !JWT_ALGORITHMS.contains(&a.as_str())
        {
            c.fail("jwtAlgorithm", crate::problem!("not-a-jwt-algorithm", "must be EdDSA or ES256"));
        }
        c.finish()?;
        Ok(IssuerSpec {
            name,
            url,
            email,
            description,
            image,
            phone,
            address,
            other_identifier,
            language,
            jwt_algorithm,
        })
    }

    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    /// Whether the issuer's VC-JWTs are signed with ES256 (a P-256 key) rather than EdDSA.
    pub fn jwt_es256(&self) -> bool {
        self.jwt_algorithm.as_deref() == Some("ES256")
    }

    /// The language of the issuer's e-mail: Dutch unless it chose English.
    pub fn lang(&self) -> super::lang::Lang {
        self.language.as_deref().and_then(super::lang::Lang::parse).unwrap_or(super::lang::Lang::Nl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_a_full_profile() {
        let spec: IssuerSpec = serde_json::from_value(json!({
            "name": "  Techniek Twente ", "url": "https://tt.example", "email": "info@tt.example",
            "address": {"addressLocality": "Enschede", "addressCountryCode": "NL"},
            "otherIdentifier": [{"identifier": "12345678", "identifierType": "ext:KvK"}]
        }))
        .unwrap();
        let spec = spec.parse().unwrap();
        assert_eq!(spec.name(), "Techniek Twente");
    }

    #[test]
    fn reports_each_bad_field() {
        let spec: IssuerSpec = serde_json::from_value(json!({
            "url": "nope", "email": "x", "address": {"addressCountryCode": "nl"},
            "otherIdentifier": [{"identifier": "1", "identifierType": "kvk"}]
        }))
        .unwrap();
        let fields: Vec<String> = spec.parse().unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["name", "url", "email", "address.addressCountryCode", "otherIdentifier[0].identifierType"]);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        assert!(serde_json::from_value::<IssuerSpec>(json!({"name": "x", "colour": "red"})).is_err());
    }
}
