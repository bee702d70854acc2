//! What each message says, in Dutch and English: one data model per message, rendered by the
//! same two templates (`templates/mail/message.html` and `.txt`), so the plain-text and HTML
//! parts never say different things and every message has the same footer.

use askama::Template;
use serde::{Deserialize, Serialize};

use crate::domain::lang::{Lang, long_date};
use crate::locale::Msg;

/// What a message is about, as written into the (sealed) outbox: everything the text needs,
/// so a message composed again after a crash is the same message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    BadgeAwarded {
        credential: String,
        name: String,
        issuer: String,
        /// The module's uploaded PNG artwork, sent inside the message (never a remote image,
        /// which would tell us when the mail is opened).
        #[serde(default)]
        artwork: Option<uuid::Uuid>,
        linkedin: String,
        progress: Option<String>,
    },
    CertificateEarned {
        credential: String,
        name: String,
        issuer: String,
        #[serde(default)]
        artwork: Option<uuid::Uuid>,
        linkedin: String,
        progress: Option<String>,
    },
    /// `change`: `suspend`, `reinstate` or `revoke`.
    StatusChanged {
        credential: String,
        name: String,
        issuer: String,
        change: String,
        reason: Option<String>,
    },
    ProgressLinkReplaced {
        issuer: String,
        progress: String,
    },
    /// A console invitation (`reset`: a password reset of an existing member).
    ConsoleInvitation {
        url: String,
        issuer: Option<String>,
        role: String,
        expires: String,
        reset: bool,
    },
    /// A learner's one-time link to their own page.
    SignInLink {
        url: String,
        expires: String,
    },
    /// A learner adds a further address to their page: the link confirms it.
    ConfirmAddress {
        url: String,
        account: String,
        expires: String,
    },
    /// A learner asks the issuer to correct one of their credentials (to the issuer's address).
    CorrectionRequest {
        credential: String,
        name: String,
        issuer: String,
        learner: String,
        message: String,
    },
    /// A manager is asked (or reminded) to look back on whether a learner applies a module.
    ImpactReviewInvitation {
        url: String,
        learner: String,
        module: String,
        issuer: String,
        expires: String,
        reminder: bool,
    },
    /// The learner's manager answered the review; the learner reads it on their own page.
    ImpactReviewAnswered {
        url: String,
        module: String,
        issuer: String,
    },
}

/// The content id of a message's inline artwork (`cid:` in the HTML part).
pub const ARTWORK_CID: &str = "artwork@metrobadge";

impl Notice {
    /// The artwork a message carries inside it, if any.
    pub fn artwork(&self) -> Option<uuid::Uuid> {
        match self {
            Notice::BadgeAwarded { artwork, .. } | Notice::CertificateEarned { artwork, .. } => *artwork,
            _ => None,
        }
    }

    /// The notice with `id` as its inline artwork (for the kinds that show one).
    pub fn with_artwork(mut self, id: Option<uuid::Uuid>) -> Notice {
        if let Notice::BadgeAwarded { artwork, .. } | Notice::CertificateEarned { artwork, .. } = &mut self {
            *artwork = id;
        }
        self
    }

    /// The outbox's `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::BadgeAwarded { .. } => "badge_awarded",
            Notice::CertificateEarned { .. } => "certificate_earned",
            Notice::StatusChanged { .. } => "status_changed",
            Notice::ProgressLinkReplaced { .. } => "progress_link_replaced",
            Notice::ConsoleInvitation { reset: false, .. } => "console_invitation",
            Notice::ConsoleInvitation { reset: true, .. } => "console_reset",
            Notice::SignInLink { .. } => "learner_sign_in",
            Notice::ConfirmAddress { .. } => "learner_address",
            Notice::CorrectionRequest { .. } => "correction_request",
            Notice::ImpactReviewInvitation { reminder: false, .. } => "impact_review_invitation",
            Notice::ImpactReviewInvitation { reminder: true, .. } => "impact_review_reminder",
            Notice::ImpactReviewAnswered { .. } => "impact_review_answered",
        }
    }

    /// Whether the learner's opt-out silences it: everything except news about the status of
    /// their own credentials (and console mail, which is not a learner's).
    pub fn may_opt_out(&self) -> bool {
        !matches!(
            self,
            Notice::StatusChanged { .. }
                | Notice::ConsoleInvitation { .. }
                | Notice::SignInLink { .. }
                | Notice::ConfirmAddress { .. }
                | Notice::CorrectionRequest { .. }
                | Notice::ImpactReviewInvitation { .. }
        )
    }
}

/// A rendered message.
#[derive(Debug, Clone)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
}

struct Action {
    label: String,
    url: String,
    note: Option<String>,
}

struct Unsubscribe {
    label: String,
    url: String,
}

struct Body {
    lang: &'static str,
    subject: String,
    heading: String,
    greeting: String,
    image: Option<String>,
    image_alt: String,
    paragraphs: Vec<String>,
    actions: Vec<Action>,
    why: String,
    unsubscribe: Option<Unsubscribe>,
}

#[derive(Template)]
#[template(path = "mail/message.html")]
struct HtmlPart<'a> {
    b: &'a Body,
}

#[derive(Template)]
#[template(path = "mail/message.txt")]
struct TextPart<'a> {
    b: &'a Body,
}

/// The learner's private progress link, with the warning to keep it to themselves.
fn progress_action(t: &MailTexts, url: &str, v: &[(&str, &str)]) -> Action {
    Action { label: t.progress.into(), url: url.into(), note: Some(t.progress_note.fill(v)) }
}

/// Renders `notice` for a reader of `lang` named `to_name`; `unsubscribe` is the learner's
/// one-click opt-out link, when the message may be opted out of.
pub fn compose(lang: Lang, to_name: Option<&str>, notice: &Notice, unsubscribe: Option<&str>) -> Composed {
    let t = texts(lang);
    let greeting = match to_name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => t.hello.fill(&[("name", n)]),
        None => t.hello_anyone.to_string(),
    };
    let mut body = Body {
        lang: lang.code(),
        subject: String::new(),
        heading: String::new(),
        greeting,
        image: None,
        image_alt: String::new(),
        paragraphs: Vec::new(),
        actions: Vec::new(),
        why: String::new(),
        unsubscribe: None,
    };
    match notice {
        Notice::BadgeAwarded { credential, name, issuer, artwork, linkedin, progress }
        | Notice::CertificateEarned { credential, name, issuer, artwork, linkedin, progress } => {
            let certificate = matches!(notice, Notice::CertificateEarned { .. });
            let v = [("name", name.as_str()), ("issuer", issuer.as_str())];
            let (subject, said, view) = if certificate {
                (t.certificate_subject, t.certificate_body, t.view_certificate)
            } else {
                (t.badge_subject, t.badge_body, t.view_badge)
            };
            body.subject = subject.fill(&v);
            body.heading = body.subject.clone();
            body.image = artwork.map(|_| format!("cid:{ARTWORK_CID}"));
            body.image_alt = name.clone();
            body.paragraphs = vec![said.fill(&v), t.share.to_string()];
            body.actions.push(Action { label: view.into(), url: credential.clone(), note: None });
            body.actions.push(Action { label: t.add_to_linkedin.into(), url: linkedin.clone(), note: None });
            // Into a wallet app: the learner's own page makes the offer (after signing in).
            if let Some((base, id)) = credential.split_once("/credentials/") {
                body.actions.push(Action {
                    label: t.add_to_wallet.into(),
                    url: format!("{base}/me/wallet/{id}"),
                    note: Some(t.add_to_wallet_note.into()),
                });
            }
            if let Some(p) = progress {
                body.actions.push(progress_action(t, p, &v));
            }
            // Every issuer's badges together: the learner's own page on the same service.
            if let Some((base, _)) = credential.split_once("/credentials/") {
                body.actions.push(Action {
                    label: t.sign_in_button.into(),
                    url: format!("{base}/me"),
                    note: Some(t.all_badges.into()),
                });
            }
            body.why = t.why_learner.fill(&v);
        }
        Notice::StatusChanged { credential, name, issuer, change, reason } => {
            let v = [("name", name.as_str()), ("issuer", issuer.as_str())];
            let (subject, said) = match change.as_str() {
                "suspend" => (t.suspended_subject, t.suspended_body),
                "reinstate" => (t.reinstated_subject, t.reinstated_body),
                _ => (t.revoked_subject, t.revoked_body),
            };
            body.subject = subject.fill(&v);
            body.heading = body.subject.clone();
            body.paragraphs.push(said.fill(&v));
            if let Some(r) = reason.as_deref().filter(|r| !r.trim().is_empty()) {
                body.paragraphs.push(t.reason.fill(&[("reason", r)]));
            }
            body.paragraphs.push(t.questions.fill(&v));
            body.actions.push(Action { label: t.view_credential.into(), url: credential.clone(), note: None });
            body.why = t.why_learner.fill(&v);
        }
        Notice::ProgressLinkReplaced { issuer, progress } => {
            let v = [("issuer", issuer.as_str())];
            body.subject = t.replaced_subject.fill(&v);
            body.heading = body.subject.clone();
            body.paragraphs.push(t.replaced_body.fill(&v));
            body.actions.push(progress_action(t, progress, &v));
            body.why = t.why_learner.fill(&v);
        }
        Notice::ConsoleInvitation { url, issuer, role, expires, reset } => {
            let role = match role.as_str() {
                "admin" => t.role_admin,
                "issuer_admin" => t.role_issuer_admin,
                "auditor" => t.role_auditor,
                _ => t.role_trainer,
            };
            let place = issuer.as_deref().unwrap_or("metrobadge");
            let date = crate::domain::time::parse_rfc3339(expires)
                .map(|d| long_date(lang, d, true))
                .unwrap_or_else(|| expires.clone());
            let v = [("issuer", place), ("role", role), ("date", date.as_str())];
            let (subject, said) =
                if *reset { (t.reset_subject, t.reset_body) } else { (t.invitation_subject, t.invitation_body) };
            body.subject = subject.fill(&v);
            body.heading = body.subject.clone();
            body.paragraphs.push(said.fill(&v));
            body.actions.push(Action {
                label: t.set_password.into(),
                url: url.clone(),
                note: Some(t.expires.fill(&v)),
            });
            body.paragraphs.push(t.not_you.to_string());
            body.why = t.why_member.fill(&v);
        }
        Notice::SignInLink { url, expires } => {
            let date = crate::domain::time::parse_rfc3339(expires)
                .map(|d| long_date(lang, d, true))
                .unwrap_or_else(|| expires.clone());
            let v = [("date", date.as_str())];
            body.subject = t.sign_in_subject.to_string();
            body.heading = body.subject.clone();
            body.paragraphs.push(t.sign_in_body.to_string());
            body.actions.push(Action {
                label: t.sign_in_button.into(),
                url: url.clone(),
                note: Some(t.expires.fill(&v)),
            });
            body.paragraphs.push(t.not_you.to_string());
            body.why = t.why_sign_in.to_string();
        }
        Notice::ConfirmAddress { url, account, expires } => {
            let date = crate::domain::time::parse_rfc3339(expires)
                .map(|d| long_date(lang, d, true))
                .unwrap_or_else(|| expires.clone());
            let v = [("date", date.as_str()), ("account", account.as_str())];
            body.subject = t.address_subject.to_string();
            body.heading = body.subject.clone();
            body.paragraphs.push(t.address_body.fill(&v));
            body.actions.push(Action {
                label: t.address_button.into(),
                url: url.clone(),
                note: Some(t.expires.fill(&v)),
            });
            body.paragraphs.push(t.not_you.to_string());
            body.why = t.why_sign_in.to_string();
        }
        Notice::CorrectionRequest { credential, name, issuer, learner, message } => {
            let v = [("name", name.as_str()), ("issuer", issuer.as_str()), ("learner", learner.as_str())];
            body.greeting = t.hello.fill(&[("name", issuer)]);
            body.subject = t.correction_subject.fill(&v);
            body.heading = body.subject.clone();
            body.paragraphs.push(t.correction_body.fill(&v));
            body.paragraphs.push(format!("“{message}”"));
            body.actions.push(Action { label: t.view_credential.into(), url: credential.clone(), note: None });
            body.why = t.why_correction.fill(&v);
        }
        Notice::ImpactReviewInvitation { url, learner, module, issuer, expires, reminder } => {
            let date = crate::domain::time::parse_rfc3339(expires)
                .map(|d| long_date(lang, d, false))
                .unwrap_or_else(|| expires.clone());
            let v = [
                ("learner", learner.as_str()),
                ("name", module.as_str()),
                ("issuer", issuer.as_str()),
                ("date", date.as_str()),
            ];
            body.subject = if *reminder { t.review_reminder_subject } else { t.review_subject }.fill(&v);
            body.heading = body.subject.clone();
            body.paragraphs.push(t.review_body.fill(&v));
            body.paragraphs.push(t.review_how.fill(&v));
            body.actions.push(Action {
                label: t.review_button.into(),
                url: url.clone(),
                note: Some(t.review_until.fill(&v)),
            });
            body.why = t.why_review.fill(&v);
        }
        Notice::ImpactReviewAnswered { url, module, issuer } => {
            let v = [("name", module.as_str()), ("issuer", issuer.as_str())];
            body.subject = t.answered_subject.fill(&v);
            body.heading = body.subject.clone();
            body.paragraphs.push(t.answered_body.fill(&v));
            body.actions.push(Action { label: t.sign_in_button.into(), url: url.clone(), note: None });
            body.why = t.why_learner.fill(&v);
        }
    }
    if let Some(url) = unsubscribe {
        let issuer = match notice {
            Notice::BadgeAwarded { issuer, .. }
            | Notice::CertificateEarned { issuer, .. }
            | Notice::StatusChanged { issuer, .. }
            | Notice::ProgressLinkReplaced { issuer, .. }
            | Notice::ImpactReviewInvitation { issuer, .. }
            | Notice::ImpactReviewAnswered { issuer, .. } => issuer.as_str(),
            Notice::ConsoleInvitation { .. }
            | Notice::SignInLink { .. }
            | Notice::ConfirmAddress { .. }
            | Notice::CorrectionRequest { .. } => "metrobadge",
        };
        body.unsubscribe = Some(Unsubscribe { label: t.unsubscribe.fill(&[("issuer", issuer)]), url: url.into() });
    }
    let html = HtmlPart { b: &body }.render().expect("the mail template renders");
    let text = TextPart { b: &body }.render().expect("the mail template renders");
    Composed { subject: body.subject, text, html }
}

crate::locale::catalogue! {
    /// Every sentence of our e-mail, from `locales/<lang>/mail.ftl`.
    pub(crate) struct MailTexts in "mail" {
        hello: Msg,
        hello_anyone: &'static str,
        badge_subject: Msg,
        badge_body: Msg,
        certificate_subject: Msg,
        certificate_body: Msg,
        share: &'static str,
        view_badge: &'static str,
        view_certificate: &'static str,
        view_credential: &'static str,
        add_to_linkedin: &'static str,
        add_to_wallet: &'static str,
        add_to_wallet_note: &'static str,
        progress: &'static str,
        progress_note: Msg,
        suspended_subject: Msg,
        suspended_body: Msg,
        reinstated_subject: Msg,
        reinstated_body: Msg,
        revoked_subject: Msg,
        revoked_body: Msg,
        reason: Msg,
        questions: Msg,
        replaced_subject: Msg,
        replaced_body: Msg,
        invitation_subject: Msg,
        invitation_body: Msg,
        reset_subject: Msg,
        reset_body: Msg,
        set_password: &'static str,
        expires: Msg,
        not_you: &'static str,
        role_admin: &'static str,
        role_issuer_admin: &'static str,
        role_trainer: &'static str,
        role_auditor: &'static str,
        why_learner: Msg,
        why_member: Msg,
        why_sign_in: &'static str,
        sign_in_subject: &'static str,
        sign_in_body: &'static str,
        sign_in_button: &'static str,
        correction_subject: Msg,
        correction_body: Msg,
        why_correction: Msg,
        all_badges: &'static str,
        unsubscribe: Msg,
        address_subject: &'static str,
        address_body: Msg,
        address_button: &'static str,
        review_subject: Msg,
        review_reminder_subject: Msg,
        review_body: Msg,
        review_how: Msg,
        review_button: &'static str,
        review_until: Msg,
        why_review: Msg,
        answered_subject: Msg,
        answered_body: Msg,
    }
}

fn texts(lang: Lang) -> &'static MailTexts {
    MailTexts::get(lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn badge() -> Notice {
        Notice::BadgeAwarded {
            credential: "https://b.example/credentials/1".into(),
            name: "Veilig <werken>".into(),
            issuer: "Techniek & Zo".into(),
            artwork: None,
            linkedin: "https://www.linkedin.com/profile/add?a=1&b=2".into(),
            progress: Some("https://b.example/progress/mbp_x".into()),
        }
    }

    #[test]
    fn both_parts_say_the_same_in_each_language() {
        for (lang, subject) in [
            (Lang::En, "You earned the badge “Veilig <werken>”"),
            (Lang::Nl, "Je hebt de badge ‘Veilig <werken>’ behaald"),
        ] {
            let m = compose(lang, Some("Ann"), &badge(), Some("https://b.example/mail/unsubscribe/u"));
            assert_eq!(m.subject, subject);
            for url in [
                "https://b.example/credentials/1",
                "https://b.example/progress/mbp_x",
                "https://b.example/mail/unsubscribe/u",
            ] {
                assert!(m.text.contains(url), "{url} in text");
                assert!(m.html.contains(url), "{url} in html");
            }
            // Escaped in HTML, verbatim in text; no images but the badge's own (no tracking).
            assert!(m.html.contains("Veilig &#60;werken&#62;") || m.html.contains("Veilig &lt;werken&gt;"));
            assert!(m.text.contains("Veilig <werken>"));
            assert!(m.html.contains("a=1&#38;b=2") || m.html.contains("a=1&amp;b=2"));
            assert!(!m.html.contains("<img"));
            assert!(m.html.contains(&format!("lang=\"{}\"", lang.code())));
        }
    }

    #[test]
    fn a_revocation_says_why() {
        let n = Notice::StatusChanged {
            credential: "https://b.example/credentials/1".into(),
            name: "Veilig werken".into(),
            issuer: "TT".into(),
            change: "revoke".into(),
            reason: Some("issued to the wrong person".into()),
        };
        let m = compose(Lang::En, None, &n, None);
        assert!(m.subject.contains("revoked"));
        assert!(m.text.contains("Reason given: issued to the wrong person"));
        assert!(!n.may_opt_out());
        assert!(badge().may_opt_out());
    }
}
