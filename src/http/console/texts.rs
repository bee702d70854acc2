//! The console's words, in English and Dutch, from `locales/<lang>/console.ftl` (see
//! `crate::locale`). Dates are written as people write them, per language.

use time::OffsetDateTime;

use crate::domain::validate::FieldError;
use crate::http::texts::Lang;

crate::locale::catalogue! {
    pub struct ConsoleTexts in "console" {
        pub switch_to: &'static str,
        pub skip: &'static str,
        pub console: &'static str,
        pub sign_in: &'static str,
        pub sign_in_intro: &'static str,
        pub email: &'static str,
        pub password: &'static str,
        pub sign_in_failed: &'static str,
        pub too_many_attempts: &'static str,
        pub sign_out: &'static str,
        pub sign_out_everywhere: &'static str,
        pub signed_out: &'static str,
        pub set_password: &'static str,
        pub set_password_intro: &'static str,
        pub new_password: &'static str,
        pub password_hint: &'static str,
        pub invitation_gone: &'static str,
        pub nanomodules: &'static str,
        pub search: &'static str,
        pub search_modules: &'static str,
        pub no_modules: &'static str,
        pub award: &'static str,
        pub recent_awards: &'static str,
        pub no_awards: &'static str,
        pub participants: &'static str,
        pub admin_home: &'static str,
        pub award_title: &'static str,
        pub module: &'static str,
        pub session_date: &'static str,
        pub session_place: &'static str,
        pub rows: &'static str,
        pub rows_hint: &'static str,
        pub csv_file: &'static str,
        pub csv_hint: &'static str,
        pub evidence_url: &'static str,
        pub narrative: &'static str,
        pub optional: &'static str,
        pub check: &'static str,
        pub award_button: &'static str,
        pub check_ok: &'static str,
        pub check_problems: &'static str,
        pub row: &'static str,
        pub name: &'static str,
        pub result: &'static str,
        pub ready: &'static str,
        pub already_holds: &'static str,
        pub retake_hint: &'static str,
        pub awarded_title: &'static str,
        pub badge: &'static str,
        pub status: &'static str,
        pub valid: &'static str,
        pub suspended: &'static str,
        pub revoked: &'static str,
        pub download_csv: &'static str,
        pub print_sheet: &'static str,
        pub revoke: &'static str,
        pub reason: &'static str,
        pub open_badge: &'static str,
        pub scan_me: &'static str,
        pub form_expired: &'static str,
        pub not_found: &'static str,
        pub forbidden: &'static str,
        pub unavailable: &'static str,
        pub failed: &'static str,
        pub problem: &'static str,
        pub back: &'static str,
        pub nav_audit: &'static str,
        pub nav_people: &'static str,
        pub nav_issuers: &'static str,
        pub audit_title: &'static str,
        pub audit_intro: &'static str,
        pub filter: &'static str,
        pub from_date: &'static str,
        pub to_date: &'static str,
        pub action: &'static str,
        pub actor: &'static str,
        pub subject: &'static str,
        pub no_events: &'static str,
        pub next_page: &'static str,
        pub event_details: &'static str,
        pub chain: &'static str,
        pub verify_chain: &'static str,
        pub export_csv: &'static str,
        pub export_ndjson: &'static str,
        pub chain_ok: &'static str,
        pub chain_broken: &'static str,
        pub events_checked: &'static str,
        pub checkpoint: &'static str,
        pub signature_valid: &'static str,
        pub signature_invalid: &'static str,
        pub no_checkpoint: &'static str,
        pub issuers_title: &'static str,
        pub new_issuer: &'static str,
        pub issuer_name: &'static str,
        pub issuer_url: &'static str,
        pub create: &'static str,
        pub members_title: &'static str,
        pub invite_member: &'static str,
        pub role: &'static str,
        pub role_issuer_admin: &'static str,
        pub role_trainer: &'static str,
        pub role_auditor: &'static str,
        pub invite: &'static str,
        pub invitation_link: &'static str,
        pub invitation_for: &'static str,
        pub no_console: &'static str,
        pub reset_password: &'static str,
        pub remove: &'static str,
        pub no_members: &'static str,
        pub nav_credentials: &'static str,
        pub credentials_title: &'static str,
        pub learner: &'static str,
        pub any: &'static str,
        pub found: &'static str,
        pub no_credentials: &'static str,
        pub select_for: &'static str,
        pub with_selected: &'static str,
        pub suspend: &'static str,
        pub reinstate: &'static str,
        pub apply: &'static str,
        pub history: &'static str,
        pub partial_certificate: &'static str,
        pub issued_on: &'static str,
        pub reason_required: &'static str,
        pub nothing_selected: &'static str,
        pub new_module: &'static str,
        pub edit: &'static str,
        pub description: &'static str,
        pub criteria: &'static str,
        pub duration: &'static str,
        pub level_framework: &'static str,
        pub level: &'static str,
        pub language: &'static str,
        pub tags: &'static str,
        pub validity: &'static str,
        pub skills: &'static str,
        pub save: &'static str,
        pub saved_new_version: &'static str,
        pub versions: &'static str,
        pub version: &'static str,
        pub image: &'static str,
        pub upload_image: &'static str,
        pub image_hint: &'static str,
        pub none: &'static str,
        pub nav_lines: &'static str,
        pub lines_title: &'static str,
        pub new_line: &'static str,
        pub no_lines: &'static str,
        pub stations: &'static str,
        pub colour: &'static str,
        pub metro_map: &'static str,
        pub new_map: &'static str,
        pub stations_legend: &'static str,
        pub position_of: &'static str,
        pub partner: &'static str,
        pub rule: &'static str,
        pub rule_all: &'static str,
        pub rule_at_least: &'static str,
        pub rule_hours: &'static str,
        pub rule_within: &'static str,
        pub rule_in_order: &'static str,
        pub rule_json: &'static str,
        pub map_picture: &'static str,
        pub maps_title: &'static str,
        pub certificate: &'static str,
        pub credits: &'static str,
        pub nav_groups: &'static str,
        pub groups_title: &'static str,
        pub new_group: &'static str,
        pub no_groups: &'static str,
        pub line: &'static str,
        pub group_participants: &'static str,
        pub group_participants_hint: &'static str,
        pub progress: &'static str,
        pub done: &'static str,
        pub not_yet: &'static str,
        pub planned: &'static str,
        pub award_station: &'static str,
        pub station: &'static str,
        pub who_completed: &'static str,
        pub planned_sessions: &'static str,
        pub firm: &'static str,
        pub nav_settings: &'static str,
        pub settings_title: &'static str,
        pub profile_heading: &'static str,
        pub profile_url: &'static str,
        pub profile_email: &'static str,
        pub profile_country: &'static str,
        pub profile_country_code: &'static str,
        pub profile_language: &'static str,
        pub profile_jwt: &'static str,
        pub profile_jwt_eddsa: &'static str,
        pub profile_jwt_es256: &'static str,
        pub keys: &'static str,
        pub key_active: &'static str,
        pub key_retired: &'static str,
        pub key_compromised: &'static str,
        pub rotate_key: &'static str,
        pub mark_compromised: &'static str,
        pub compromised_since: &'static str,
        pub compromise_title: &'static str,
        pub compromise_consequences: &'static str,
        pub compromise_count: &'static str,
        pub compromise_certificates: &'static str,
        pub compromise_new_key: &'static str,
        pub compromise_undo: &'static str,
        pub confirm: &'static str,
        pub cancel: &'static str,
        pub tokens: &'static str,
        pub token_label: &'static str,
        pub token_expires: &'static str,
        pub create_token: &'static str,
        pub token_secret: &'static str,
        pub token_active: &'static str,
        pub token_expired: &'static str,
        pub token_revoked: &'static str,
        pub partners: &'static str,
        pub partner_id: &'static str,
        pub ask_partner: &'static str,
        pub accept: &'static str,
        pub decline: &'static str,
        pub end: &'static str,
        pub asks_you: &'static str,
        pub you_asked: &'static str,
        pub partner_requested: &'static str,
        pub partner_accepted: &'static str,
        pub partner_declined: &'static str,
        pub partner_ended: &'static str,
        pub role_admin: &'static str,
        pub nav_learners: &'static str,
        pub learners_title: &'static str,
        pub look_up: &'static str,
        pub line_done: &'static str,
        pub line_open: &'static str,
        pub revoke_link: &'static str,
        pub revoke_link_hint: &'static str,
        pub link_revoked: &'static str,
        pub unknown_learner: &'static str,
        pub nav_account: &'static str,
        pub nav_mail: &'static str,
        pub mail_title: &'static str,
        pub mail_not_configured: &'static str,
        /// The outbox states' names, in `MAIL_STATES` order.
        pub mail_states: [&'static str; 4],
        /// Names of the message kinds, in `mail::KINDS` order.
        pub mail_kinds: [&'static str; 8],
        pub mail_address: &'static str,
        pub mail_attempts: &'static str,
        pub mail_error: &'static str,
        pub mail_created: &'static str,
        pub mail_resend: &'static str,
        pub mail_resent: &'static str,
        pub mail_none: &'static str,
        pub mail_dead_hint: &'static str,
        pub two_step: &'static str,
        pub two_step_intro: &'static str,
        pub code: &'static str,
        pub code_wrong: &'static str,
        pub two_step_on: &'static str,
        pub two_step_off: &'static str,
        pub turn_on: &'static str,
        pub turn_off: &'static str,
        pub scan_app: &'static str,
        pub setup_key: &'static str,
        pub verify_code: &'static str,
        pub nav_reports: &'static str,
        pub reports_title: &'static str,
        pub group_by: &'static str,
        pub by_month: &'static str,
        pub by_module: &'static str,
        pub by_trainer: &'static str,
        pub show: &'static str,
        pub awards_col: &'static str,
        pub badges_col: &'static str,
        pub certificates_col: &'static str,
        pub revocations_col: &'static str,
        pub suspensions_col: &'static str,
        pub total: &'static str,
        pub chart_label: &'static str,
        pub per_trainer: &'static str,
        pub review_weeks: &'static str,
        pub review_weeks_hint: &'static str,
        pub mc_legend: &'static str,
        pub mc_is: &'static str,
        pub mc_required_hint: &'static str,
        pub mc_outcomes_hint: &'static str,
        pub mc_hours_per_ects: &'static str,
        pub impact_title: &'static str,
        pub impact_period_note: &'static str,
        pub impact_due: &'static str,
        pub impact_answered: &'static str,
        pub impact_applied: &'static str,
        pub impact_per_module: &'static str,
        pub impact_planned: &'static str,
        pub impact_invited: &'static str,
        pub impact_partly: &'static str,
        pub impact_not_yet: &'static str,
        pub impact_expired: &'static str,
        pub impact_endorsed: &'static str,
        pub profile: &'static str,
        pub issuer_email: &'static str,
        pub profile_saved: &'static str,
        pub sample: &'static str,
        pub sample_hint: &'static str,
        pub try_rule: &'static str,
        pub skills_title: &'static str,
        pub new_skill: &'static str,
        pub esco_url: &'static str,
        pub no_skills: &'static str,
        pub profiles: &'static str,
        pub new_profile: &'static str,
        pub no_profiles: &'static str,
    }
}

impl ConsoleTexts {
    /// A role (`trainer`, `issuer_admin`, …) as people say it.
    pub fn role(&self, role: &str) -> &'static str {
        match role {
            "issuer_admin" => self.role_issuer_admin,
            "auditor" => self.role_auditor,
            "admin" => self.role_admin,
            _ => self.role_trainer,
        }
    }

    /// A partnership's state as people say it.
    pub fn partnership(&self, state: &str) -> &'static str {
        match state {
            "accepted" => self.partner_accepted,
            "declined" => self.partner_declined,
            "ended" => self.partner_ended,
            _ => self.partner_requested,
        }
    }
}

pub fn texts(lang: Lang) -> &'static ConsoleTexts {
    ConsoleTexts::get(lang)
}

/// A date as people write it: "29 November 2026" / "29 november 2026", with the time when
/// `with_time` (24-hour clock, UTC).
pub fn date(lang: Lang, t: OffsetDateTime, with_time: bool) -> String {
    crate::http::texts::long_date(lang, t, with_time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_per_language() {
        let t = time::macros::datetime!(2026-11-29 09:05 UTC);
        assert_eq!(date(Lang::En, t, false), "29 November 2026");
        assert_eq!(date(Lang::Nl, t, true), "29 november 2026, 09:05");
    }
}

/// A field error from a use case, for the reader: in English as the API words it; in Dutch
/// from `locales/nl/problems.ftl` (field names word by word, the message by its code).
pub fn problem(lang: Lang, e: &FieldError) -> String {
    problem_at(lang, &e.field, e)
}

/// `e` said of `field` instead of its own (a row's field without the row; none at all).
pub fn problem_at(lang: Lang, field: &str, e: &FieldError) -> String {
    let (field, message) = match lang {
        Lang::En => (field.to_string(), e.message.clone()),
        Lang::Nl => (dutch_field(field), dutch_message(e)),
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
fn dutch_message(e: &FieldError) -> String {
    let args: Vec<(&str, &str)> = e.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    dutch(&format!("problem-{}", e.code), &args).unwrap_or_else(|| e.message.clone())
}

#[cfg(test)]
mod problem_tests {
    use super::*;
    use crate::domain::validate::FieldError;

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
