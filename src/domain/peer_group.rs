//! A peer group: one run of a metro line for 8–20 participants from several firms, with a
//! session per station every two or three weeks. The trainer keeps the participants here once
//! and awards each station's badge by ticking who completed.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::skill::required_text;
use super::validate::{Checker, Invalid, SHORT};

/// Most participants one group holds (a peer group is 8–20; room for a large one).
pub const MAX_PARTICIPANTS: usize = 50;
/// Most planned sessions.
pub const MAX_SESSIONS: usize = 50;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The participant's employer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firm: Option<String>,
    /// Their manager's e-mail address (for the impact review later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager_email: Option<String>,
}

/// When the group meets for one station.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionPlan {
    pub nanomodule: Uuid,
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// The input and stored form of a peer group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerGroupSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metro_line: Option<Uuid>,
    #[serde(default)]
    pub participants: Vec<ParticipantSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<SessionPlan>,
}

impl PeerGroupSpec {
    /// Checks what needs no database (that the line is the issuer's and the sessions are its
    /// stations is the service's part). Addresses come back trimmed and lower-cased.
    pub fn parse(self) -> Result<PeerGroupSpec, Invalid> {
        let mut c = Checker::default();
        let name = required_text(&mut c, "name", &self.name, SHORT);
        if self.metro_line.is_none() {
            c.fail(
                "metro_line",
                crate::problem!("line-required", "is required (the id of one of the issuer's metro lines)"),
            );
        }
        if self.participants.is_empty() {
            c.fail("participants", crate::problem!("no-participants", "must list at least one participant"));
        }
        c.list_len("participants", &self.participants, MAX_PARTICIPANTS);
        let mut seen = std::collections::HashMap::new();
        let participants = self
            .participants
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let at = |f: &str| format!("participants[{i}].{f}");
                let email = match &p.email {
                    Some(e) => Some(c.email(&at("email"), e).to_lowercase()),
                    None => {
                        c.fail(at("email"), crate::problem!("required", "is required"));
                        None
                    }
                };
                if let Some(e) = &email
                    && let Some(first) = seen.insert(e.clone(), i)
                {
                    c.fail(
                        at("email"),
                        crate::problem!("repeated-participant", "is also participant {first}", first = first),
                    );
                }
                let manager_email = p.manager_email.as_ref().map(|m| c.email(&at("manager_email"), m).to_lowercase());
                ParticipantSpec {
                    name: c.opt_text(&at("name"), &p.name, SHORT),
                    email,
                    firm: c.opt_text(&at("firm"), &p.firm, SHORT),
                    manager_email,
                }
            })
            .collect();
        c.list_len("sessions", &self.sessions, MAX_SESSIONS);
        let date = time::macros::format_description!("[year]-[month]-[day]");
        for (i, s) in self.sessions.iter().enumerate() {
            if time::Date::parse(&s.date, &date).is_err() {
                c.fail(format!("sessions[{i}].date"), crate::problem!("not-a-date", "must be YYYY-MM-DD"));
            }
        }
        let sessions = self
            .sessions
            .iter()
            .enumerate()
            .map(|(i, s)| SessionPlan {
                location: c.opt_text(&format!("sessions[{i}].location"), &s.location, SHORT),
                ..s.clone()
            })
            .collect();
        c.finish()?;
        Ok(PeerGroupSpec { name, metro_line: self.metro_line, participants, sessions })
    }
}

/// Participants as a trainer pastes them: one per line, cells separated by tabs, `;` or `,`.
/// The first cell with an `@` is the participant's address, a second one their manager's; the
/// other cells are the name, then the firm.
pub fn participants_from_pasted(text: &str) -> Vec<ParticipantSpec> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split(['\t', ';', ',']).map(str::trim).filter(|c| !c.is_empty()).collect();
            let mut addresses = cells.iter().filter(|c| c.contains('@'));
            let mut words = cells.iter().filter(|c| !c.contains('@'));
            let cell = |c: Option<&&str>| c.map(|s| s.to_string());
            ParticipantSpec {
                email: cell(addresses.next()),
                manager_email: cell(addresses.next()),
                name: cell(words.next()),
                firm: cell(words.next()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_participants() {
        let got = participants_from_pasted("Ann de Vries\tann@firma.nl\tFirma BV\tchef@firma.nl\n\nbob@x.nl;Bob\n");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].email.as_deref(), Some("ann@firma.nl"));
        assert_eq!(got[0].manager_email.as_deref(), Some("chef@firma.nl"));
        assert_eq!(got[0].firm.as_deref(), Some("Firma BV"));
        assert_eq!(got[1].name.as_deref(), Some("Bob"));
        assert_eq!(got[1].firm, None);
    }

    #[test]
    fn every_problem_named() {
        let spec = PeerGroupSpec {
            name: Some("Groep 1".into()),
            metro_line: None,
            participants: vec![
                ParticipantSpec { email: Some("Ann@x.nl".into()), ..Default::default() },
                ParticipantSpec { email: Some("ann@x.nl ".into()), ..Default::default() },
                ParticipantSpec { name: Some("no address".into()), ..Default::default() },
            ],
            sessions: vec![SessionPlan { nanomodule: Uuid::nil(), date: "12-11-2026".into(), location: None }],
        };
        let fields: Vec<String> = spec.parse().unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["metro_line", "participants[1].email", "participants[2].email", "sessions[0].date"]);
    }
}
