//! Problems in the reader's language. The domain and the service speak English (what the API
//! sends) and give every problem a stable code ([`crate::problem!`]); pages word the code in
//! the reader's language from `locales/nl/problems.ftl`.

use crate::domain::validate::{FieldError, Message};
use crate::http::texts::Lang;

/// A field error from a use case, for the reader: in English as the API words it; in Dutch
/// from `locales/nl/problems.ftl` (field names word by word, the message by its code).
pub fn problem(lang: Lang, e: &FieldError) -> String {
    problem_at(lang, &e.field, e)
}

/// `e` said of `field` instead of its own (a row's field without the row; none at all).
pub fn problem_at(lang: Lang, field: &str, e: &FieldError) -> String {
    let (field, message) = match lang {
        Lang::En => (field.to_string(), e.message.clone()),
        Lang::Nl => (dutch_field(field), dutch_message(e.code, &e.message, &e.args)),
    };
    if field.is_empty() { message } else { format!("{field}: {message}") }
}

/// The Dutch words for the domain's field names and messages (the domain speaks English).
static PROBLEMS_NL: std::sync::LazyLock<Result<&'static crate::locale::Resource, crate::locale::LocaleError>> =
    std::sync::LazyLock::new(|| {
        let source = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/locales/nl/problems.ftl"));
        crate::locale::Resource::parse(Lang::Nl, "locales/nl/problems.ftl", source)
    });

/// `locales/nl/problems.ftl` loads (see `locale::check`).
pub fn check_problems() -> Result<(), crate::locale::LocaleError> {
    PROBLEMS_NL.as_ref().map(|_| ()).map_err(Clone::clone)
}

/// A Dutch word from `problems.ftl`, with `args` put in; `None` when there is none.
fn dutch(id: &str, args: &[(&str, &str)]) -> Option<String> {
    PROBLEMS_NL.as_ref().ok().and_then(|r| r.lookup(id, args))
}

/// `participants[1].email` → `deelnemers[1].e-mailadres`.
fn dutch_field(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        match dutch(&format!("field-{word}"), &[]) {
            Some(nl) if !word.is_empty() => out.push_str(&nl),
            _ => out.push_str(word),
        }
        word.clear();
    };
    for c in field.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The message's Dutch words with its values put in (`problem-<code>`); the English words
/// only if the file lacks the code, which `every_problem_has_dutch_words` rules out.
fn dutch_message(code: &str, english: &str, args: &[(&'static str, String)]) -> String {
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    dutch(&format!("problem-{code}"), &args).unwrap_or_else(|| english.to_string())
}

/// A message that belongs to no field (a conflict, a refusal), in the reader's language.
pub fn message(lang: Lang, m: &Message) -> String {
    match lang {
        Lang::En => m.english.clone(),
        Lang::Nl => dutch_message(m.code, &m.english, &m.args),
    }
}

#[cfg(test)]
mod problem_tests {
    use super::*;

    fn nl(field: &str, message: crate::domain::validate::Message) -> String {
        problem(Lang::Nl, &FieldError::new(field, message))
    }

    #[test]
    fn dutch_problems() {
        assert_eq!(nl("description", crate::problem!("required", "is required")), "beschrijving: is verplicht");
        assert_eq!(
            nl("participants[1].email", crate::problem!("not-an-email", "must be an e-mail address")),
            "deelnemers[1].e-mailadres: moet een e-mailadres zijn"
        );
        assert_eq!(
            nl("name", crate::problem!("too-long", "must be at most {max} characters", max = 200)),
            "naam: mag hoogstens 200 tekens lang zijn"
        );
        assert_eq!(
            nl("recipients[2]", crate::problem!("already-holds", "already holds ({url})", url = "https://x.nl/c/1")),
            "deelnemers[2]: heeft al een geldige badge van deze nanomodule (https://x.nl/c/1); markeer de regel \
             als herkansing (kolom herkansing: ja) om hem opnieuw uit te reiken"
        );
        // A value the Dutch words choose by (a Fluent selector): the state in Dutch.
        let state = crate::problem!("partnership-state", "the partnership is {state}", state = "declined");
        assert_eq!(message(Lang::Nl, &state), "de samenwerking is afgewezen");
        assert_eq!(message(Lang::En, &state), "the partnership is declined");
        let en = FieldError::new("description", crate::problem!("required", "is required"));
        assert_eq!(problem(Lang::En, &en), "description: is required");
        assert_eq!(problem_at(Lang::Nl, "", &en), "is verplicht");
        let new =
            crate::domain::validate::Message { code: "no-such-code", english: "something new".into(), args: vec![] };
        let unknown = FieldError::new("x", new);
        assert_eq!(problem(Lang::Nl, &unknown), "x: something new", "a code without Dutch words stays readable");
    }

    /// One `problem!(…)` in the source: its code and the names of the values it gives.
    struct Use {
        at: String,
        code: String,
        names: Vec<String>,
    }

    /// Every `problem!("code", "english", name = value, …)` under `src/`, read as text (a
    /// macro's uses cannot be listed at compile time).
    fn uses() -> Vec<Use> {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("src is readable").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
        let mut found = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("a source file is text");
            for (start, _) in text.match_indices("problem!(") {
                let rest = text[start + "problem!(".len()..].trim_start();
                let line = text[..start].rsplit('\n').next().unwrap_or_default().trim_start();
                let Some(rest) = rest.strip_prefix('"') else { continue }; // the macro's own rules
                let code: String = rest.chars().take_while(|c| *c != '"').collect();
                if line.starts_with("//")
                    || code.is_empty()
                    || !code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                {
                    continue; // in a comment, or this test's own words
                }
                // Split the arguments at top-level commas, skipping string literals.
                let (mut depth, mut in_str, mut escaped) = (0usize, true, false);
                let mut parts = vec![String::new()];
                for c in rest.chars() {
                    if in_str {
                        if escaped {
                            escaped = false;
                        } else if c == '\\' {
                            escaped = true;
                        } else if c == '"' {
                            in_str = false;
                        }
                        continue;
                    }
                    match c {
                        '"' => in_str = true,
                        '(' | '[' | '{' => depth += 1,
                        ')' | ']' | '}' if depth == 0 => break,
                        ')' | ']' | '}' => depth -= 1,
                        ',' if depth == 0 => parts.push(String::new()),
                        _ => {}
                    }
                    if c != ',' || depth != 0 {
                        parts.last_mut().expect("one part at least").push(c);
                    }
                }
                let names = parts
                    .iter()
                    .skip(2)
                    .filter_map(|p| p.split_once('=').map(|(name, _)| name.trim().to_string()))
                    .filter(|n| !n.is_empty())
                    .collect();
                found.push(Use { at: file.display().to_string(), code, names });
            }
        }
        found
    }

    /// The variables (`{ $name }`) of each `problem-…` message in the Dutch file.
    fn dutch_variables() -> std::collections::HashMap<String, Vec<String>> {
        let source = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/locales/nl/problems.ftl"));
        source
            .lines()
            .filter_map(|line| line.split_once(" = "))
            .filter_map(|(id, value)| id.strip_prefix("problem-").map(|code| (code, value)))
            .map(|(code, value)| {
                let vars =
                    value.split("{ $").skip(1).filter_map(|v| v.split_once(' ').map(|(n, _)| n.to_string())).collect();
                (code.to_string(), vars)
            })
            .collect()
    }

    #[test]
    fn every_problem_has_dutch_words() {
        let uses = uses();
        assert!(uses.len() > 90, "found {} uses of problem!", uses.len());
        let dutch = dutch_variables();
        for u in &uses {
            let vars = dutch.get(&u.code).unwrap_or_else(|| {
                panic!("{}: problem-{} has no Dutch words in locales/nl/problems.ftl", u.at, u.code)
            });
            for v in vars {
                assert!(u.names.contains(v), "{}: problem-{} reads ${v}, which the source does not give", u.at, u.code);
            }
        }
        let used: std::collections::HashSet<&str> = uses.iter().map(|u| u.code.as_str()).collect();
        let unused: Vec<&String> = dutch.keys().filter(|c| !used.contains(c.as_str())).collect();
        assert!(unused.is_empty(), "used nowhere, yet in locales/nl/problems.ftl: {unused:?}");
    }
}
