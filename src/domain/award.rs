//! A cohort award: who gets the badge, with what evidence and result. Validated as a whole —
//! one bad row rejects the request, with every bad row and field listed.

use serde::{Deserialize, Serialize};

use super::validate::{Checker, FieldError, Invalid, LONG, SHORT};

/// Largest cohort accepted in one request.
pub const MAX_RECIPIENTS: usize = 10_000;

fn too_many_recipients() -> crate::domain::validate::Message {
    crate::problem!("too-many-recipients", "must list at most {max} recipients per request", max = MAX_RECIPIENTS)
}

/// Also said when a progress page is asked for an unknown kind of identity.
pub fn not_an_identity_type() -> crate::domain::validate::Message {
    crate::problem!("not-an-identity-type", "must be emailAddress, identifier, sourcedId, systemId or did")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum IdentityType {
    #[default]
    #[serde(rename = "emailAddress")]
    EmailAddress,
    /// E.g. the eduID pseudonym edubadges uses.
    #[serde(rename = "identifier")]
    Identifier,
    #[serde(rename = "sourcedId")]
    SourcedId,
    #[serde(rename = "systemId")]
    SystemId,
    /// A holder DID: becomes `credentialSubject.id`.
    #[serde(rename = "did")]
    Did,
}

impl IdentityType {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityType::EmailAddress => "emailAddress",
            IdentityType::Identifier => "identifier",
            IdentityType::SourcedId => "sourcedId",
            IdentityType::SystemId => "systemId",
            IdentityType::Did => "did",
        }
    }

    pub fn parse(s: &str) -> Option<IdentityType> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }
}

/// How an identity is compared and hashed: e-mail addresses trimmed and lower-cased, other
/// identifiers trimmed.
pub fn normalise_identity(kind: IdentityType, raw: &str) -> String {
    match kind {
        IdentityType::EmailAddress => raw.trim().to_lowercase(),
        _ => raw.trim().to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EvidenceInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genre: Option<String>,
}

/// OB 3.0 `Result` (value and/or status).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, rename = "achievedLevel", skip_serializing_if = "Option::is_none")]
    pub achieved_level: Option<String>,
}

const RESULT_STATUSES: &[&str] =
    &["Completed", "Enrolled", "Failed", "InProgress", "OnHold", "Provisional", "Withdrew"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RecipientInput {
    #[serde(default)]
    pub identity: Option<String>,
    #[serde(default)]
    pub identity_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ResultInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
    /// Awards the module again to someone who already holds a valid badge of it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retake: bool,
    /// The language of this learner's e-mail (`nl` or `en`), instead of the issuer's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The learner's manager, invited to the impact review when the module has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<super::impact::ManagerInput>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionInput {
    /// `YYYY-MM-DD` or an RFC 3339 date-time: when the module session took place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwardInput {
    #[serde(default)]
    pub recipients: Vec<RecipientInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionInput>,
}

/// One validated recipient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recipient {
    pub identity: String,
    pub identity_type: IdentityType,
    pub name: Option<String>,
    pub evidence: Vec<EvidenceInput>,
    pub result: Option<ResultInput>,
    pub narrative: Option<String>,
    pub retake: bool,
    pub language: Option<super::lang::Lang>,
    pub manager: Option<super::impact::Manager>,
}

/// A validated cohort award.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Award {
    pub recipients: Vec<Recipient>,
    /// Session date as an RFC 3339 date-time (midnight UTC for a plain date).
    pub session_date: Option<String>,
    pub session_location: Option<String>,
}

impl AwardInput {
    pub fn parse(self) -> Result<Award, Invalid> {
        let mut c = Checker::default();
        let n = self.recipients.len();
        if n == 0 {
            c.fail("recipients", crate::problem!("no-recipients", "must list at least one recipient"));
        } else if n > MAX_RECIPIENTS {
            c.fail("recipients", too_many_recipients());
            return Err(c.finish().unwrap_err());
        }
        let mut seen = std::collections::HashMap::new();
        let recipients: Vec<Recipient> = self
            .recipients
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.check(&mut c, &format!("recipients[{i}]")))
            .collect();
        for (i, r) in recipients.iter().enumerate() {
            if let Some(first) = seen.insert((r.identity_type, r.identity.clone()), i) {
                c.fail(
                    format!("recipients[{i}].identity"),
                    crate::problem!("repeated-recipient", "repeats recipients[{first}]", first = first),
                );
            }
        }
        let session = self.session.unwrap_or_default();
        let session_date = session.date.as_deref().and_then(|d| {
            let parsed = session_date(d);
            if parsed.is_none() {
                c.fail(
                    "session.date",
                    crate::problem!("not-a-date-or-time", "must be YYYY-MM-DD or an RFC 3339 date-time"),
                );
            }
            parsed
        });
        let session_location = c.opt_text("session.location", &session.location, SHORT);
        c.finish()?;
        Ok(Award { recipients, session_date, session_location })
    }
}

fn session_date(d: &str) -> Option<String> {
    if let Some(t) = super::time::parse_rfc3339(d) {
        return Some(super::time::rfc3339(t));
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(d, &format).ok().map(|date| super::time::rfc3339(date.midnight().assume_utc()))
}

impl RecipientInput {
    fn check(self, c: &mut Checker, at: &str) -> Recipient {
        let kind = match self.identity_type.as_deref() {
            None => Some(IdentityType::EmailAddress),
            Some(t) => IdentityType::parse(t).or_else(|| {
                c.fail(format!("{at}.identity_type"), not_an_identity_type());
                None
            }),
        };
        let identity_type = kind.unwrap_or_default();
        let identity = match self.identity.as_deref() {
            None => {
                c.fail(format!("{at}.identity"), crate::problem!("required", "is required"));
                String::new()
            }
            Some(raw) => {
                let field = format!("{at}.identity");
                let v = normalise_identity(identity_type, raw);
                match kind {
                    // The type is already reported; its format rules cannot apply.
                    None => {}
                    Some(IdentityType::EmailAddress) => {
                        c.email(&field, &v);
                    }
                    Some(IdentityType::Did)
                        if (!v.starts_with("did:") || v.len() > 2048 || v.chars().any(char::is_whitespace)) =>
                    {
                        c.fail(&field, crate::problem!("not-a-did", "must be a DID (did:method:…)"));
                    }
                    Some(_) => {
                        c.text(&field, &v, SHORT);
                    }
                }
                v
            }
        };
        let name = c.opt_text(&format!("{at}.name"), &self.name, SHORT);
        c.list_len(&format!("{at}.evidence"), &self.evidence, 20);
        let evidence = self
            .evidence
            .iter()
            .enumerate()
            .map(|(j, e)| {
                let f = format!("{at}.evidence[{j}]");
                let ev = EvidenceInput {
                    id: c.opt_url(&format!("{f}.id"), &e.id, false),
                    name: c.opt_text(&format!("{f}.name"), &e.name, SHORT),
                    narrative: c.opt_text(&format!("{f}.narrative"), &e.narrative, LONG),
                    description: c.opt_text(&format!("{f}.description"), &e.description, LONG),
                    genre: c.opt_text(&format!("{f}.genre"), &e.genre, SHORT),
                };
                if ev.id.is_none() && ev.narrative.is_none() && ev.name.is_none() {
                    c.fail(&f, crate::problem!("evidence-empty", "needs an id (URL), a name or a narrative"));
                }
                ev
            })
            .collect();
        let result = self.result.map(|r| {
            let f = format!("{at}.result");
            if let Some(s) = &r.status
                && !RESULT_STATUSES.contains(&s.as_str())
            {
                c.fail(
                    format!("{f}.status"),
                    crate::problem!(
                        "not-a-result-status",
                        "must be one of {statuses}",
                        statuses = RESULT_STATUSES.join(", ")
                    ),
                );
            }
            let out = ResultInput {
                value: c.opt_text(&format!("{f}.value"), &r.value, SHORT),
                status: r.status.clone(),
                achieved_level: c.opt_url(&format!("{f}.achievedLevel"), &r.achieved_level, true),
            };
            if out.value.is_none() && out.status.is_none() && out.achieved_level.is_none() {
                c.fail(&f, crate::problem!("result-empty", "needs a value, a status or an achievedLevel"));
            }
            out
        });
        let narrative = c.opt_text(&format!("{at}.narrative"), &self.narrative, LONG);
        let language = self.language.as_deref().map(str::trim).filter(|l| !l.is_empty()).and_then(|l| {
            let lang = super::lang::Lang::parse(l);
            if lang.is_none() {
                c.fail(format!("{at}.language"), crate::problem!("not-nl-or-en", "must be nl or en"));
            }
            lang
        });
        let manager = self.manager.filter(|m| !m.is_empty()).map(|m| m.check(c, &format!("{at}.manager")));
        Recipient { identity, identity_type, name, evidence, result, narrative, retake: self.retake, language, manager }
    }
}

/// The columns a recipient list may have, each with the names trainers' spreadsheets give it
/// (English and Dutch; compared without case).
const COLUMNS: &[(&str, &[&str])] = &[
    ("identity", &["identity", "email", "e-mail", "e-mailadres", "emailadres", "mail"]),
    ("identity_type", &["identity_type", "identiteitstype"]),
    ("name", &["name", "naam", "volledige naam"]),
    ("evidence_url", &["evidence_url", "bewijs", "bewijs_url", "bewijslink", "link naar bewijs"]),
    ("evidence_name", &["evidence_name", "bewijs_naam", "naam bewijs"]),
    ("evidence_narrative", &["evidence_narrative", "bewijs_toelichting", "toelichting bewijs"]),
    ("narrative", &["narrative", "toelichting", "opmerking"]),
    ("result_value", &["result_value", "resultaat", "cijfer"]),
    ("result_status", &["result_status", "resultaat_status", "uitslag"]),
    ("retake", &["retake", "herkansing"]),
    ("language", &["language", "taal"]),
    ("manager_name", &["manager_name", "leidinggevende", "naam leidinggevende"]),
    (
        "manager_email",
        &["manager_email", "e-mail leidinggevende", "e-mailadres leidinggevende", "leidinggevende_email"],
    ),
    ("manager_company", &["manager_company", "bedrijf", "werkgever", "company"]),
];

/// A yes/no cell as people fill it in.
fn yes_no(cell: &str) -> Option<bool> {
    match cell.trim().to_lowercase().as_str() {
        "" | "false" | "no" | "nee" | "0" | "n" => Some(false),
        "true" | "yes" | "ja" | "1" | "y" | "j" | "x" | "waar" => Some(true),
        _ => None,
    }
}

/// The column a header names, if any.
fn column(header: &str) -> Option<&'static str> {
    let h = header.trim().to_lowercase();
    COLUMNS.iter().find(|(_, names)| names.contains(&h.as_str())).map(|(c, _)| *c)
}

/// Text as spreadsheets save it: UTF-8 with or without a byte-order mark, or Windows-1252
/// (what Excel on Windows writes for "CSV (gescheiden door lijstscheidingsteken)").
fn spreadsheet_text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0,
    }
}

/// The delimiter of the header row: `;` (Dutch Excel, where `,` is the decimal separator), a
/// tab (cells pasted from a spreadsheet) or `,`, whichever the header row holds most of.
fn delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    [b'\t', b';', b',']
        .into_iter()
        .max_by_key(|d| (header.bytes().filter(|b| b == d).count(), *d == b','))
        .filter(|d| header.bytes().any(|b| b == *d))
        .unwrap_or(b',')
}

/// Rows a trainer typed or pasted into the console: either a block with a header row (then
/// exactly as [`from_csv`]), or bare rows of cells — an e-mail address and, optionally, a name
/// in any order, separated by tabs (pasted spreadsheet cells), `;` or `,`. Blank lines are
/// skipped; a row without an address is reported as `recipients[i]` like any other bad row.
pub fn from_pasted(text: &str) -> Result<Vec<RecipientInput>, Invalid> {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let d = delimiter(first) as char;
    if first.split(d).any(|cell| column(cell).is_some()) {
        return from_csv(text.trim_start().as_bytes());
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let cells: Vec<&str> =
            line.split(['\t', ';', ',']).map(|c| c.trim().trim_matches('"').trim()).filter(|c| !c.is_empty()).collect();
        let email = cells.iter().find(|c| c.contains('@'));
        let name = cells.iter().find(|c| !c.contains('@'));
        match email {
            Some(e) => rows.push(RecipientInput {
                identity: Some(e.to_string()),
                name: name.map(|n| n.to_string()),
                ..RecipientInput::default()
            }),
            None => errors.push(FieldError::new(
                format!("recipients[{}]", rows.len() + errors.len()),
                crate::problem!("no-email-in-line", "no e-mail address in \"{line}\"", line = line.trim()),
            )),
        }
    }
    if errors.is_empty() { Ok(rows) } else { Err(Invalid(errors)) }
}

/// Reads the recipient list trainers keep in a spreadsheet: a header row naming columns among
/// `identity`, `identity_type`, `name`, `evidence_url`, `evidence_name`, `evidence_narrative`,
/// `narrative`, `result_value`, `result_status` (or their Dutch names: `e-mail`, `naam`,
/// `bewijs`, …), separated by `,`, `;` or tabs, in UTF-8 (with or without BOM) or
/// Windows-1252. Unknown columns are an error (a typo would lose data).
pub fn from_csv(bytes: &[u8]) -> Result<Vec<RecipientInput>, Invalid> {
    let text = spreadsheet_text(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(&text))
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let raw = reader
        .headers()
        .map_err(|e| Invalid::one("csv", crate::problem!("unreadable-header", "unreadable header row: {e}", e = e)))?
        .clone();
    let mut errors = Vec::new();
    let mut headers = Vec::with_capacity(raw.len());
    for (i, h) in raw.iter().enumerate() {
        match column(h) {
            Some(c) => headers.push(c),
            None => {
                let known: Vec<&str> = COLUMNS.iter().map(|(c, _)| *c).collect();
                errors.push(FieldError::new(
                    format!("csv.header[{i}]"),
                    crate::problem!(
                        "unknown-column",
                        "unknown column '{h}'; known: {known} (or their Dutch names)",
                        h = h,
                        known = known.join(", ")
                    ),
                ));
                headers.push("");
            }
        }
    }
    for (i, h) in headers.iter().enumerate().filter(|(_, h)| !h.is_empty()) {
        if headers[..i].contains(h) {
            errors.push(FieldError::new(
                format!("csv.header[{i}]"),
                crate::problem!("repeated-column", "a second '{h}' column ('{raw}')", h = h, raw = &raw[i]),
            ));
        }
    }
    if !headers.contains(&"identity") {
        errors.push(FieldError::new("csv.header", crate::problem!("no-identity-column", "needs an 'identity' column")));
    }
    if !errors.is_empty() {
        return Err(Invalid(errors));
    }
    let col = |name: &str| headers.iter().position(|h| *h == name);
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if i >= MAX_RECIPIENTS {
            return Err(Invalid::one("recipients", too_many_recipients()));
        }
        let record = record.map_err(|e| {
            Invalid::one(
                format!("recipients[{i}]"),
                crate::problem!("unreadable-row", "unreadable CSV row: {e}", e = e),
            )
        })?;
        let get = |name: &str| col(name).and_then(|k| record.get(k)).filter(|v| !v.is_empty()).map(str::to_string);
        let evidence =
            if get("evidence_url").is_some() || get("evidence_name").is_some() || get("evidence_narrative").is_some() {
                vec![EvidenceInput {
                    id: get("evidence_url"),
                    name: get("evidence_name"),
                    narrative: get("evidence_narrative"),
                    description: None,
                    genre: None,
                }]
            } else {
                vec![]
            };
        let result = (get("result_value").is_some() || get("result_status").is_some()).then(|| ResultInput {
            value: get("result_value"),
            status: get("result_status"),
            achieved_level: None,
        });
        let retake = match get("retake").as_deref().map(yes_no) {
            None => false,
            Some(Some(b)) => b,
            Some(None) => {
                return Err(Invalid::one(
                    format!("recipients[{i}].retake"),
                    crate::problem!("not-yes-or-no", "must be yes or no (ja/nee, true/false)"),
                ));
            }
        };
        rows.push(RecipientInput {
            identity: get("identity"),
            identity_type: get("identity_type"),
            name: get("name"),
            evidence,
            result,
            narrative: get("narrative"),
            retake,
            language: get("language"),
            manager: Some(super::impact::ManagerInput {
                name: get("manager_name"),
                email: get("manager_email"),
                company: get("manager_company"),
            })
            .filter(|m| !m.is_empty()),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    #[test]
    fn pasted_cells_without_a_header() {
        let rows = from_pasted("Ann de Vries\tann@example.nl\n\n bob@example.nl ; Bob\ncarla@example.nl\n").unwrap();
        let got: Vec<(Option<&str>, Option<&str>)> =
            rows.iter().map(|r| (r.identity.as_deref(), r.name.as_deref())).collect();
        assert_eq!(
            got,
            [
                (Some("ann@example.nl"), Some("Ann de Vries")),
                (Some("bob@example.nl"), Some("Bob")),
                (Some("carla@example.nl"), None)
            ]
        );
        let err = from_pasted("ann@example.nl\nDirk without address\n").unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].field, "recipients[1]", "counted among the non-blank rows");
    }

    #[test]
    fn pasted_block_with_a_header_reads_as_a_spreadsheet() {
        let rows = from_pasted("naam\te-mail\therkansing\nAnn\tann@example.nl\tja\n").unwrap();
        assert_eq!(rows[0].identity.as_deref(), Some("ann@example.nl"));
        assert_eq!(rows[0].name.as_deref(), Some("Ann"));
    }

    use super::*;
    use serde_json::json;

    fn award(v: serde_json::Value) -> Result<Award, Invalid> {
        serde_json::from_value::<AwardInput>(v).unwrap().parse()
    }

    #[test]
    fn every_bad_row_is_listed() {
        let err = award(json!({"recipients": [
            {"identity": "ok@example.nl"},
            {"identity": "not-an-email"},
            {"identity": "OK@example.nl "},
            {"identity": "x", "identity_type": "phone"},
            {"identity": "did:example:1", "identity_type": "did", "result": {"status": "Passed"}}
        ], "session": {"date": "22-11-2026"}}))
        .unwrap_err();
        let fields: Vec<String> = err.0.into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "recipients[1].identity",
                "recipients[3].identity_type",
                "recipients[4].result.status",
                "recipients[2].identity",
                "session.date"
            ]
        );
    }

    #[test]
    fn normalises_and_dates() {
        let a = award(json!({"recipients": [{"identity": " Jan@Example.NL "}], "session": {"date": "2026-11-20", "location": "Hengelo"}})).unwrap();
        assert_eq!(a.recipients[0].identity, "jan@example.nl");
        assert_eq!(a.session_date.as_deref(), Some("2026-11-20T00:00:00Z"));
        assert!(award(json!({"recipients": []})).is_err());
    }

    #[test]
    fn csv_rows() {
        let csv = "identity,name,evidence_url,narrative\njan@example.nl,Jan Jansen,https://ex.nl/p/1,Did well\npiet@example.nl,Piet,,\n";
        let rows = from_csv(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].evidence[0].id.as_deref(), Some("https://ex.nl/p/1"));
        assert!(rows[1].evidence.is_empty());
        let err = from_csv(b"e-mail adres,name\nx,y\n").unwrap_err();
        assert_eq!(err.0[0].field, "csv.header[0]");
        let err = from_csv(b"email,identity\nx,y\n").unwrap_err();
        assert_eq!(err.0[0].field, "csv.header[1]", "two columns for one thing");
    }

    #[test]
    fn csv_as_spreadsheets_save_it() {
        // Dutch Excel: a byte-order mark, `;` between cells, Dutch column names, CRLF.
        let dutch = b"\xEF\xBB\xBFNaam;E-mail;Bewijs\r\nJan Jansen;jan@example.nl;https://ex.nl/p/1\r\nPiet de Vries;piet@example.nl;\r\n";
        let rows = from_csv(dutch).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].identity.as_deref(), rows[0].name.as_deref()),
            (Some("jan@example.nl"), Some("Jan Jansen"))
        );
        assert_eq!(rows[0].evidence[0].id.as_deref(), Some("https://ex.nl/p/1"));
        // Windows-1252 (Excel's "CSV" on Windows): é is one byte 0xE9, € is 0x80.
        let legacy = b"naam;e-mail;toelichting\nJos\xe9 M\xfcller;jose@example.nl;kosten \x80 0\n";
        let rows = from_csv(legacy).unwrap();
        assert_eq!(rows[0].name.as_deref(), Some("José Müller"));
        assert_eq!(rows[0].narrative.as_deref(), Some("kosten € 0"));
        // Cells pasted from a spreadsheet: tab-separated.
        let pasted = "E-mail\tNaam\nanna@example.nl\tAnna, B.\n";
        let rows = from_csv(pasted.as_bytes()).unwrap();
        assert_eq!(rows[0].name.as_deref(), Some("Anna, B."), "a comma inside a tab-separated cell");
        // A semicolon inside a comma-separated file's quoted cell does not fool the detection.
        let rows = from_csv(b"identity,name\njan@example.nl,\"Jansen; J.\"\n").unwrap();
        assert_eq!(rows[0].name.as_deref(), Some("Jansen; J."));
    }
}
