//! Field-level validation that collects every problem instead of stopping at the first, so a
//! client can fix a whole form in one round trip.

use serde::Serialize;

/// Longest text accepted in a short field (names, codes) and in prose (descriptions).
pub const SHORT: usize = 200;
pub const LONG: usize = 10_000;
pub const URL_MAX: usize = 2_048;
/// Longest list accepted in any input (skills, tags, identifiers…).
pub const LIST_MAX: usize = 100;

/// What is wrong with a field, said once for every language: a stable `code` (sent to API
/// clients, and the Fluent message `problem-<code>` in `locales/nl/problems.ftl` that words it in
/// Dutch), the English words the API sends as `message`, and the values both wordings fill in.
/// Made with [`problem!`](crate::problem) so the code, the words and the values stay together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub code: &'static str,
    pub english: String,
    pub args: Vec<(&'static str, String)>,
}

/// `problem!("too-long", "must be at most {max} characters", max = 200)`: a
/// [`Message`] whose English words name the values (`{max}`) the Dutch message also reads
/// (`{ $max }`). A unit test (`every_problem_has_dutch_words`) reads every use in `src/` and
/// fails on a code without Dutch words or a Dutch message that reads a value not given.
#[macro_export]
macro_rules! problem {
    ($code:literal, $english:literal $(, $name:ident = $value:expr)* $(,)?) => {{
        $(#[allow(clippy::redundant_locals)] let $name = $value;)*
        $crate::domain::validate::Message {
            code: $code,
            english: format!($english),
            args: vec![$((stringify!($name), $name.to_string())),*],
        }
    }};
}

/// Input a parser (JSON, forms, images) could not read: its own English words are all there is.
pub fn unreadable(detail: impl std::fmt::Display) -> Message {
    crate::problem!("unreadable", "{detail}", detail = detail)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON-pointer-like path of the offending input, e.g. `criteria.narrative` or `tags[3]`.
    pub field: String,
    /// Stable, for clients that word problems themselves (`docs/errors.md`).
    pub code: &'static str,
    pub message: String,
    /// The values `message` names, for wording it in another language.
    #[serde(skip)]
    pub args: Vec<(&'static str, String)>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: Message) -> FieldError {
        FieldError { field: field.into(), code: message.code, message: message.english, args: message.args }
    }

    /// The same problem at another place (`name` → `new_map.name`).
    pub fn at(self, field: String) -> FieldError {
        FieldError { field, ..self }
    }
}

/// Input that did not validate, with every offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} invalid field(s): {}", .0.len(), .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn one(field: impl Into<String>, message: Message) -> Invalid {
        Invalid(vec![FieldError::new(field, message)])
    }
}

#[derive(Default)]
pub struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    pub fn fail(&mut self, field: impl Into<String>, message: Message) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Trims `value`; requires it non-empty and at most `max` characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let v = value.trim();
        if v.is_empty() {
            self.fail(field, crate::problem!("empty", "must not be empty"));
        } else if v.chars().count() > max {
            self.fail(field, crate::problem!("too-long", "must be at most {max} characters", max = max));
        } else if v.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
            self.fail(field, crate::problem!("control-characters", "must not contain control characters"));
        }
        v.to_string()
    }

    pub fn opt_text(&mut self, field: &str, value: &Option<String>, max: usize) -> Option<String> {
        value.as_deref().map(|v| self.text(field, v, max))
    }

    /// An absolute http(s) URL, or where the standard allows an IRI identifier (`any_scheme`),
    /// also a `urn:` or `did:` URI. Every other scheme (`javascript:`, `data:`, `file:`, …) is
    /// refused: these values end up as links on pages and in other people's wallets.
    pub fn url(&mut self, field: &str, value: &str, any_scheme: bool) -> String {
        let v = value.trim();
        let ok = v.len() <= URL_MAX
            && !v.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == '"')
            && if let Some(rest) = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://")) {
                rest.split(['/', '?', '#']).next().is_some_and(|host| !host.is_empty())
            } else {
                any_scheme && is_absolute_uri(v) && {
                    let scheme = v.split(':').next().unwrap_or_default().to_ascii_lowercase();
                    scheme == "urn" || scheme == "did"
                }
            };
        if !ok {
            self.fail(
                field,
                if any_scheme {
                    crate::problem!("not-a-uri", "must be an http(s) URL, or a urn: or did: URI")
                } else {
                    crate::problem!("not-a-url", "must be an http(s) URL")
                },
            );
        }
        v.to_string()
    }

    pub fn opt_url(&mut self, field: &str, value: &Option<String>, any_scheme: bool) -> Option<String> {
        value.as_deref().map(|v| self.url(field, v, any_scheme))
    }

    pub fn email(&mut self, field: &str, value: &str) -> String {
        let v = value.trim().to_string();
        let ok = v.len() <= 254
            && v.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
            })
            && !v.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            self.fail(field, crate::problem!("not-an-email", "must be an e-mail address"));
        }
        v
    }

    pub fn list_len<T>(&mut self, field: &str, list: &[T], max: usize) {
        if list.len() > max {
            self.fail(field, crate::problem!("too-many", "must have at most {max} entries", max = max));
        }
    }

    pub fn finish(self) -> Result<(), Invalid> {
        if self.errors.is_empty() { Ok(()) } else { Err(Invalid(self.errors)) }
    }
}

/// `scheme:rest` with an RFC 3986 scheme.
fn is_absolute_uri(v: &str) -> bool {
    match v.split_once(':') {
        Some((scheme, rest)) => {
            !rest.is_empty()
                && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        None => false,
    }
}

/// RFC 7396 JSON Merge Patch: how PATCH bodies apply to a stored input document.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            let t = target.as_object_mut().expect("made an object above");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// The merge patch that turns `from` into exactly `to` (keys only `from` has become `null`),
/// for forms that send a whole value where a merge would mix old and new (a rule of another
/// shape). `merge_patch(from, replacing_patch(from, to)) == to` for objects without nulls.
pub fn replacing_patch(from: &serde_json::Value, to: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match (from, to) {
        (Value::Object(f), Value::Object(t)) => {
            let mut out = serde_json::Map::new();
            for k in f.keys().filter(|k| !t.contains_key(*k)) {
                out.insert(k.clone(), Value::Null);
            }
            for (k, v) in t {
                out.insert(k.clone(), f.get(k).map(|old| replacing_patch(old, v)).unwrap_or_else(|| v.clone()));
            }
            Value::Object(out)
        }
        _ => to.clone(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replacing_patch_turns_one_value_into_another() {
        let from = serde_json::json!({"within": {"days": 5, "rule": {"all": [1]}}, "x": 1});
        let to = serde_json::json!({"within": {"days": 6, "rule": {"in_order": [2]}}});
        let mut doc = from.clone();
        merge_patch(&mut doc, &replacing_patch(&from, &to));
        assert_eq!(doc, to);
        let old = serde_json::json!({"all": []});
        let mut doc = old.clone();
        merge_patch(&mut doc, &replacing_patch(&old, &serde_json::json!(null)));
        assert_eq!(doc, serde_json::json!(null));
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn collects_every_error() {
        let mut c = Checker::default();
        c.text("name", "  ", SHORT);
        c.url("url", "ftp://x", false);
        c.email("email", "nope");
        let Invalid(errors) = c.finish().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "url", "email"]);
    }

    #[test]
    fn urls() {
        let mut c = Checker::default();
        assert_eq!(c.url("u", " https://a.nl/x ", false), "https://a.nl/x");
        c.url("u", "http://", false);
        c.url("u", "urn:uuid:1", false);
        assert_eq!(c.finish().unwrap_err().0.len(), 2);
        let mut c = Checker::default();
        c.url("u", "urn:uuid:1", true);
        c.url("u", "did:web:example.com", true);
        assert!(c.errors.is_empty(), "urn: and did: where an IRI identifier is allowed");
        // Issue 11 §5: scripts and inline data are never URLs here, whatever their spelling.
        for hostile in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<b>",
            "java\tscript:x",
            "vbscript:x",
            "file:///etc/passwd",
            "javascript&#58;alert(1)",
        ] {
            c.url("u", hostile, true);
        }
        assert_eq!(c.errors.len(), 7);
    }

    #[test]
    fn merge_patch_follows_rfc7396() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}}));
        merge_patch(&mut t, &json!({"list": [1, 2]}));
        assert_eq!(t["list"], json!([1, 2]));
    }
}
