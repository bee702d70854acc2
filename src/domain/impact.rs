//! The manager's impact review: some weeks after a module, the learner's manager says whether
//! the learning is applied at work. A "yes" the learner has seen becomes an endorsement of the
//! learner's badge; "partly" and "not yet" stay private feedback between the two of them.

use serde::{Deserialize, Serialize};

use super::validate::{Checker, Invalid, LONG, SHORT};

/// Weeks after the award a review is due unless the nanomodule says otherwise.
pub const DEFAULT_WEEKS: i64 = 6;
/// The weeks a nanomodule may choose: a month is too soon to see practice change, a quarter
/// is as far as people remember a 4-hour session.
pub const WEEKS: std::ops::RangeInclusive<i64> = 4..=13;
/// One reminder, this long after the invitation when the manager has not answered.
pub const REMIND_AFTER: time::Duration = time::Duration::weeks(1);
/// An invitation not answered in this time expires.
pub const EXPIRES_AFTER: time::Duration = time::Duration::weeks(4);

/// The learner's manager as the trainer (or later the learner) names them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagerInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
}

/// A validated manager: the address is required (the invitation goes there), name and company
/// are what an endorsement says about who confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manager {
    pub name: Option<String>,
    pub email: String,
    pub company: Option<String>,
}

impl ManagerInput {
    /// Checks the manager under field prefix `at` (e.g. `recipients[3].manager`).
    pub fn check(&self, c: &mut Checker, at: &str) -> Manager {
        let email = match self.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => c.email(&format!("{at}.email"), e).to_lowercase(),
            None => {
                c.fail(
                    format!("{at}.email"),
                    crate::problem!("manager-email-required", "is required: the invitation to the review goes there"),
                );
                String::new()
            }
        };
        let name = c.opt_text(&format!("{at}.name"), &blank_is_none(&self.name), SHORT);
        let company = c.opt_text(&format!("{at}.company"), &blank_is_none(&self.company), SHORT);
        Manager { name, email, company }
    }

    pub fn parse(&self) -> Result<Manager, Invalid> {
        let mut c = Checker::default();
        let m = self.check(&mut c, "manager");
        c.finish().map(|()| m)
    }

    /// Whether every field is empty (a spreadsheet row without a manager).
    pub fn is_empty(&self) -> bool {
        [&self.name, &self.email, &self.company].iter().all(|v| v.as_deref().is_none_or(|s| s.trim().is_empty()))
    }
}

fn blank_is_none(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// The weeks after an award a nanomodule's review is due, or `None` when it has none.
pub fn due_weeks(enabled: Option<bool>, weeks: Option<i64>) -> Option<i64> {
    (enabled != Some(false)).then(|| weeks.unwrap_or(DEFAULT_WEEKS))
}

/// What the manager says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Yes,
    Partly,
    NotYet,
}

impl Answer {
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Yes => "yes",
            Answer::Partly => "partly",
            Answer::NotYet => "not_yet",
        }
    }

    pub fn parse(s: &str) -> Option<Answer> {
        match s {
            "yes" => Some(Answer::Yes),
            "partly" => Some(Answer::Partly),
            "not_yet" => Some(Answer::NotYet),
            _ => None,
        }
    }
}

/// The manager's form as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReviewInput {
    #[serde(default)]
    pub answer: Option<String>,
    #[serde(default)]
    pub example: Option<String>,
    #[serde(default)]
    pub follow_up: Option<String>,
}

/// A validated answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewAnswer {
    pub answer: Answer,
    pub example: String,
    pub follow_up: Option<String>,
}

/// Longest example or wish a manager may write: a few paragraphs.
pub const ANSWER_MAX: usize = 2_000;

impl ReviewInput {
    pub fn parse(&self) -> Result<ReviewAnswer, Invalid> {
        let mut c = Checker::default();
        let answer = match self.answer.as_deref().map(str::trim) {
            None | Some("") => {
                c.fail("answer", crate::problem!("answer-required", "choose yes, partly or not yet"));
                None
            }
            Some(a) => Answer::parse(a).or_else(|| {
                c.fail("answer", crate::problem!("not-an-answer", "must be yes, partly or not_yet"));
                None
            }),
        };
        let example = c.text("example", self.example.as_deref().unwrap_or_default(), ANSWER_MAX.min(LONG));
        let follow_up = c.opt_text("follow_up", &blank_is_none(&self.follow_up), ANSWER_MAX);
        c.finish()?;
        Ok(ReviewAnswer { answer: answer.expect("checked"), example, follow_up })
    }
}

/// Where a review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for its due date.
    Scheduled,
    /// The manager was invited and has not answered.
    Invited,
    Answered,
    /// Not answered within [`EXPIRES_AFTER`].
    Expired,
    /// The badge was revoked before the manager answered.
    Cancelled,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Scheduled => "scheduled",
            State::Invited => "invited",
            State::Answered => "answered",
            State::Expired => "expired",
            State::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> State {
        match s {
            "invited" => State::Invited,
            "answered" => State::Answered,
            "expired" => State::Expired,
            "cancelled" => State::Cancelled,
            _ => State::Scheduled,
        }
    }
}

/// The endorsement's comment (Markdown): the manager's own words, and who said them.
pub fn endorsement_comment(module: &str, manager: &Manager, example: &str, answered: &str) -> String {
    let who = match (&manager.name, &manager.company) {
        (Some(n), Some(c)) => format!("{n} ({c})"),
        (Some(n), None) => n.clone(),
        (None, Some(c)) => format!("The manager at {c}"),
        (None, None) => "The learner's manager".to_string(),
    };
    format!(
        "{who} confirmed on {answered} that the learning of \"{module}\" is applied at work. In their words:\n\n> {}",
        example.trim().replace('\n', "\n> ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_default_and_off() {
        assert_eq!(due_weeks(None, None), Some(6));
        assert_eq!(due_weeks(Some(true), Some(9)), Some(9));
        assert_eq!(due_weeks(Some(false), Some(9)), None);
    }

    #[test]
    fn answers_and_managers_are_checked() {
        let err = ReviewInput { answer: Some("maybe".into()), example: None, follow_up: None }.parse().unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["answer", "example"]);
        let ok =
            ReviewInput { answer: Some("not_yet".into()), example: Some(" Soon ".into()), follow_up: Some(" ".into()) }
                .parse()
                .unwrap();
        assert_eq!((ok.answer, ok.example.as_str(), ok.follow_up), (Answer::NotYet, "Soon", None));
        let m = ManagerInput { email: Some("Chef@Firma.NL".into()), ..Default::default() }.parse().unwrap();
        assert_eq!(m.email, "chef@firma.nl");
        assert!(ManagerInput { name: Some("Ann".into()), ..Default::default() }.parse().is_err());
        assert!(ManagerInput::default().is_empty());
    }

    #[test]
    fn comment_quotes_the_manager() {
        let m = Manager { name: Some("Ann de Vries".into()), email: "a@b.nl".into(), company: Some("Firma".into()) };
        let c = endorsement_comment("Lubrication", &m, "Greases weekly now.\nNo failures.", "2026-11-29");
        assert!(c.starts_with("Ann de Vries (Firma) confirmed on 2026-11-29"));
        assert!(c.ends_with("> Greases weekly now.\n> No failures."));
    }
}
