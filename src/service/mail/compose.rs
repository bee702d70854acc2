//! What each message says, in Dutch and English: one data model per message, rendered by the
//! same two templates (`templates/mail/message.html` and `.txt`), so the plain-text and HTML
//! parts never say different things and every message has the same footer.

use askama::Template;
use serde::{Deserialize, Serialize};

use crate::domain::lang::{Lang, long_date};

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

/// Fills `{name}` placeholders.
fn fill(text: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(text.to_string(), |t, (k, v)| t.replace(&format!("{{{k}}}"), v))
}

/// The learner's private progress link, with the warning to keep it to themselves.
fn progress_action(t: &MailTexts, url: &str, v: &[(&str, &str)]) -> Action {
    Action { label: t.progress.into(), url: url.into(), note: Some(fill(t.progress_note, v)) }
}

/// Renders `notice` for a reader of `lang` named `to_name`; `unsubscribe` is the learner's
/// one-click opt-out link, when the message may be opted out of.
pub fn compose(lang: Lang, to_name: Option<&str>, notice: &Notice, unsubscribe: Option<&str>) -> Composed {
    let t = texts(lang);
    let greeting = match to_name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => fill(t.hello, &[("name", n)]),
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
            body.subject = fill(subject, &v);
            body.heading = body.subject.clone();
            body.image = artwork.map(|_| format!("cid:{ARTWORK_CID}"));
            body.image_alt = name.clone();
            body.paragraphs = vec![fill(said, &v), t.share.to_string()];
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
            body.why = fill(t.why_learner, &v);
        }
        Notice::StatusChanged { credential, name, issuer, change, reason } => {
            let v = [("name", name.as_str()), ("issuer", issuer.as_str())];
            let (subject, said) = match change.as_str() {
                "suspend" => (t.suspended_subject, t.suspended_body),
                "reinstate" => (t.reinstated_subject, t.reinstated_body),
                _ => (t.revoked_subject, t.revoked_body),
            };
            body.subject = fill(subject, &v);
            body.heading = body.subject.clone();
            body.paragraphs.push(fill(said, &v));
            if let Some(r) = reason.as_deref().filter(|r| !r.trim().is_empty()) {
                body.paragraphs.push(fill(t.reason, &[("reason", r)]));
            }
            body.paragraphs.push(fill(t.questions, &v));
            body.actions.push(Action { label: t.view_credential.into(), url: credential.clone(), note: None });
            body.why = fill(t.why_learner, &v);
        }
        Notice::ProgressLinkReplaced { issuer, progress } => {
            let v = [("issuer", issuer.as_str())];
            body.subject = fill(t.replaced_subject, &v);
            body.heading = body.subject.clone();
            body.paragraphs.push(fill(t.replaced_body, &v));
            body.actions.push(progress_action(t, progress, &v));
            body.why = fill(t.why_learner, &v);
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
            body.subject = fill(subject, &v);
            body.heading = body.subject.clone();
            body.paragraphs.push(fill(said, &v));
            body.actions.push(Action {
                label: t.set_password.into(),
                url: url.clone(),
                note: Some(fill(t.expires, &v)),
            });
            body.paragraphs.push(t.not_you.to_string());
            body.why = fill(t.why_member, &v);
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
                note: Some(fill(t.expires, &v)),
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
            body.paragraphs.push(fill(t.address_body, &v));
            body.actions.push(Action {
                label: t.address_button.into(),
                url: url.clone(),
                note: Some(fill(t.expires, &v)),
            });
            body.paragraphs.push(t.not_you.to_string());
            body.why = t.why_sign_in.to_string();
        }
        Notice::CorrectionRequest { credential, name, issuer, learner, message } => {
            let v = [("name", name.as_str()), ("issuer", issuer.as_str()), ("learner", learner.as_str())];
            body.greeting = fill(t.hello, &[("name", issuer)]);
            body.subject = fill(t.correction_subject, &v);
            body.heading = body.subject.clone();
            body.paragraphs.push(fill(t.correction_body, &v));
            body.paragraphs.push(format!("“{message}”"));
            body.actions.push(Action { label: t.view_credential.into(), url: credential.clone(), note: None });
            body.why = fill(t.why_correction, &v);
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
            body.subject = fill(if *reminder { t.review_reminder_subject } else { t.review_subject }, &v);
            body.heading = body.subject.clone();
            body.paragraphs.push(fill(t.review_body, &v));
            body.paragraphs.push(fill(t.review_how, &v));
            body.actions.push(Action {
                label: t.review_button.into(),
                url: url.clone(),
                note: Some(fill(t.review_until, &v)),
            });
            body.why = fill(t.why_review, &v);
        }
        Notice::ImpactReviewAnswered { url, module, issuer } => {
            let v = [("name", module.as_str()), ("issuer", issuer.as_str())];
            body.subject = fill(t.answered_subject, &v);
            body.heading = body.subject.clone();
            body.paragraphs.push(fill(t.answered_body, &v));
            body.actions.push(Action { label: t.sign_in_button.into(), url: url.clone(), note: None });
            body.why = fill(t.why_learner, &v);
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
        body.unsubscribe = Some(Unsubscribe { label: fill(t.unsubscribe, &[("issuer", issuer)]), url: url.into() });
    }
    let html = HtmlPart { b: &body }.render().expect("the mail template renders");
    let text = TextPart { b: &body }.render().expect("the mail template renders");
    Composed { subject: body.subject, text, html }
}

/// Every sentence of our e-mail (placeholders in braces).
struct MailTexts {
    hello: &'static str,
    hello_anyone: &'static str,
    badge_subject: &'static str,
    badge_body: &'static str,
    certificate_subject: &'static str,
    certificate_body: &'static str,
    share: &'static str,
    view_badge: &'static str,
    view_certificate: &'static str,
    view_credential: &'static str,
    add_to_linkedin: &'static str,
    add_to_wallet: &'static str,
    add_to_wallet_note: &'static str,
    progress: &'static str,
    progress_note: &'static str,
    suspended_subject: &'static str,
    suspended_body: &'static str,
    reinstated_subject: &'static str,
    reinstated_body: &'static str,
    revoked_subject: &'static str,
    revoked_body: &'static str,
    reason: &'static str,
    questions: &'static str,
    replaced_subject: &'static str,
    replaced_body: &'static str,
    invitation_subject: &'static str,
    invitation_body: &'static str,
    reset_subject: &'static str,
    reset_body: &'static str,
    set_password: &'static str,
    expires: &'static str,
    not_you: &'static str,
    role_admin: &'static str,
    role_issuer_admin: &'static str,
    role_trainer: &'static str,
    role_auditor: &'static str,
    why_learner: &'static str,
    why_member: &'static str,
    why_sign_in: &'static str,
    sign_in_subject: &'static str,
    sign_in_body: &'static str,
    sign_in_button: &'static str,
    correction_subject: &'static str,
    correction_body: &'static str,
    why_correction: &'static str,
    all_badges: &'static str,
    unsubscribe: &'static str,
    address_subject: &'static str,
    address_body: &'static str,
    address_button: &'static str,
    review_subject: &'static str,
    review_reminder_subject: &'static str,
    review_body: &'static str,
    review_how: &'static str,
    review_button: &'static str,
    review_until: &'static str,
    why_review: &'static str,
    answered_subject: &'static str,
    answered_body: &'static str,
}

fn texts(lang: Lang) -> &'static MailTexts {
    match lang {
        Lang::En => &EN,
        Lang::Nl => &NL,
    }
}

const EN: MailTexts = MailTexts {
    hello: "Hello {name},",
    hello_anyone: "Hello,",
    badge_subject: "You earned the badge “{name}”",
    badge_body: "{issuer} has awarded you the badge “{name}”. It is a digitally signed Open Badges credential: \
                 anyone you share it with can check that it is genuine.",
    certificate_subject: "You earned the certificate “{name}”",
    certificate_body: "Your badges from {issuer} together complete “{name}”. The certificate is a digitally \
                       signed Open Badges credential: anyone you share it with can check that it is genuine.",
    share: "Share the link below with your employer, or add it to your LinkedIn profile.",
    view_badge: "View your badge",
    view_certificate: "View your certificate",
    view_credential: "View the credential",
    add_to_linkedin: "Add to LinkedIn profile",
    add_to_wallet: "Add to a wallet app",
    add_to_wallet_note: "For wallets that support OpenID for Verifiable Credential Issuance; you sign in to your badges page first.",
    progress: "See your progress",
    progress_note: "This link is yours alone: it shows all your badges from {issuer} and how far you are along \
                    its metro lines. Do not pass it on.",
    suspended_subject: "Your credential “{name}” is suspended",
    suspended_body: "{issuer} has suspended your credential “{name}”. Until it is reinstated, anyone who checks \
                     it sees that it is suspended.",
    reinstated_subject: "Your credential “{name}” is valid again",
    reinstated_body: "{issuer} has lifted the suspension of your credential “{name}”. It is valid again.",
    revoked_subject: "Your credential “{name}” has been revoked",
    revoked_body: "{issuer} has revoked your credential “{name}”. Anyone who checks it now sees that it is no \
                   longer valid.",
    reason: "Reason given: {reason}",
    questions: "Questions? Reply to this e-mail or contact {issuer}.",
    replaced_subject: "Your new progress link from {issuer}",
    replaced_body: "Your private progress link with {issuer} has been replaced; the old link no longer works. \
                    This is your new one.",
    invitation_subject: "You are invited to the metrobadge console of {issuer}",
    invitation_body: "You have been invited to the metrobadge console of {issuer} as {role}. Set your password \
                      with the link below to sign in.",
    reset_subject: "Set a new password for the metrobadge console",
    reset_body: "A password reset was started for your account as {role} of {issuer}. Your old password and \
                 any open sessions no longer work; set a new password with the link below.",
    set_password: "Set your password",
    expires: "The link works once, until {date} (UTC).",
    not_you: "Did you not expect this? Then you can ignore this e-mail.",
    role_admin: "platform administrator",
    role_issuer_admin: "issuer administrator",
    role_trainer: "trainer",
    role_auditor: "auditor",
    why_learner: "You receive this e-mail because {issuer} awarded a credential to this address. We do not \
                  track whether you open it.",
    why_member: "You receive this e-mail because you are a member of {issuer} on metrobadge.",
    why_sign_in: "You receive this e-mail because someone asked for a sign-in link to the badges of this \
                  address.",
    sign_in_subject: "Your link to all your badges",
    sign_in_body: "Use the link below to see every badge and certificate awarded to this address, from every \
                   training provider, in one place.",
    sign_in_button: "Show my badges",
    correction_subject: "Correction requested: “{name}”",
    correction_body: "{learner} asks {issuer} to correct the credential “{name}” issued to them. Their words:",
    why_correction: "You receive this e-mail because {learner} used the correction request on their metrobadge \
                     page. Reply to answer them; correct the credential by revoking it and awarding it again.",
    all_badges: "All your badges from every training provider, in one place — from there you can also add them to a wallet app:",
    unsubscribe: "No more e-mail from {issuer}",
    address_subject: "Confirm this address for your badges",
    address_body: "The learner who signs in to metrobadge as {account} asks to see the badges sent to this address on the same page. If that is you, confirm with the link below.",
    address_button: "Confirm this address",
    review_subject: "Is {learner} applying “{name}” at work?",
    review_reminder_subject: "Reminder: is {learner} applying “{name}” at work?",
    review_body: "Some weeks ago {learner} completed the module “{name}” with {issuer}, and named you as their \
                  manager. Would you take two minutes to look back: is what they learned applied at work?",
    review_how: "Answer yes, partly or not yet, with an example in your own words. {learner} will read your \
                 answer. Only a “yes” becomes a public endorsement of their badge, signed by {issuer} and showing \
                 your name and company; “partly” and “not yet” stay between the two of you.",
    review_button: "Look back now",
    review_until: "The link is for you alone and works until {date}.",
    why_review: "You receive this e-mail because {learner} named you as their manager when {issuer} awarded them \
                 a badge. We do not track whether you open it.",
    answered_subject: "Your manager looked back on “{name}”",
    answered_body: "Your manager answered the impact review of “{name}” from {issuer}. Read their answer and add \
                    a comment of your own on your badges page.",
};

const NL: MailTexts = MailTexts {
    hello: "Beste {name},",
    hello_anyone: "Beste deelnemer,",
    badge_subject: "Je hebt de badge ‘{name}’ behaald",
    badge_body: "{issuer} heeft je de badge ‘{name}’ toegekend. Het is een digitaal ondertekend Open \
                 Badges-bewijs: iedereen met wie je het deelt, kan nagaan dat het echt is.",
    certificate_subject: "Je hebt het certificaat ‘{name}’ behaald",
    certificate_body: "Je badges van {issuer} vormen samen ‘{name}’. Het certificaat is een digitaal \
                       ondertekend Open Badges-bewijs: iedereen met wie je het deelt, kan nagaan dat het echt is.",
    share: "Deel de link hieronder met je werkgever, of zet hem op je LinkedIn-profiel.",
    view_badge: "Bekijk je badge",
    view_certificate: "Bekijk je certificaat",
    view_credential: "Bekijk het bewijs",
    add_to_linkedin: "Toevoegen aan LinkedIn-profiel",
    add_to_wallet: "Toevoegen aan een wallet-app",
    add_to_wallet_note: "Voor wallets die OpenID for Verifiable Credential Issuance ondersteunen; je logt eerst in op je badgepagina.",
    progress: "Bekijk je voortgang",
    progress_note: "Deze link is alleen voor jou: hij toont al je badges van {issuer} en hoe ver je bent op \
                    de metrolijnen. Geef hem niet door.",
    suspended_subject: "Je bewijs ‘{name}’ is geschorst",
    suspended_body: "{issuer} heeft je bewijs ‘{name}’ geschorst. Zolang de schorsing duurt, ziet iedereen \
                     die het controleert dat het geschorst is.",
    reinstated_subject: "Je bewijs ‘{name}’ is weer geldig",
    reinstated_body: "{issuer} heeft de schorsing van je bewijs ‘{name}’ opgeheven. Het is weer geldig.",
    revoked_subject: "Je bewijs ‘{name}’ is ingetrokken",
    revoked_body: "{issuer} heeft je bewijs ‘{name}’ ingetrokken. Wie het nu controleert, ziet dat het niet \
                   meer geldig is.",
    reason: "Opgegeven reden: {reason}",
    questions: "Vragen? Beantwoord deze e-mail of neem contact op met {issuer}.",
    replaced_subject: "Je nieuwe voortgangslink van {issuer}",
    replaced_body: "Je persoonlijke voortgangslink bij {issuer} is vervangen; de oude link werkt niet meer. \
                    Dit is je nieuwe link.",
    invitation_subject: "Je bent uitgenodigd voor de metrobadge-console van {issuer}",
    invitation_body: "Je bent uitgenodigd voor de metrobadge-console van {issuer} als {role}. Stel met de link \
                      hieronder je wachtwoord in om aan te melden.",
    reset_subject: "Stel een nieuw wachtwoord in voor de metrobadge-console",
    reset_body: "Voor je account als {role} van {issuer} is een nieuw wachtwoord aangevraagd. Je oude \
                 wachtwoord en open sessies werken niet meer; stel met de link hieronder een nieuw wachtwoord in.",
    set_password: "Stel je wachtwoord in",
    expires: "De link werkt één keer, tot {date} (UTC).",
    not_you: "Had je dit niet verwacht? Dan kun je deze e-mail negeren.",
    role_admin: "platformbeheerder",
    role_issuer_admin: "beheerder",
    role_trainer: "trainer",
    role_auditor: "auditor",
    why_learner: "Je ontvangt deze e-mail omdat {issuer} een bewijs aan dit adres heeft toegekend. We houden \
                  niet bij of je hem opent.",
    why_member: "Je ontvangt deze e-mail omdat je lid bent van {issuer} op metrobadge.",
    why_sign_in: "Je ontvangt deze e-mail omdat iemand een aanmeldlink heeft gevraagd voor de badges van dit \
                  adres.",
    sign_in_subject: "Je link naar al je badges",
    sign_in_body: "Met de link hieronder zie je alle badges en certificaten die aan dit adres zijn toegekend, \
                   van alle opleiders, op één plek.",
    sign_in_button: "Toon mijn badges",
    correction_subject: "Correctie gevraagd: ‘{name}’",
    correction_body: "{learner} vraagt {issuer} het bewijs ‘{name}’ te corrigeren. In eigen woorden:",
    why_correction: "Je ontvangt deze e-mail omdat {learner} op de eigen metrobadge-pagina om een correctie \
                     vroeg. Beantwoord deze e-mail om te reageren; corrigeer het bewijs door het in te trekken en \
                     opnieuw uit te reiken.",
    all_badges: "Al je badges van alle opleiders op één plek — van daaruit zet je ze ook in een wallet-app:",
    unsubscribe: "Geen e-mail meer van {issuer}",
    address_subject: "Bevestig dit adres voor je badges",
    address_body: "Wie bij metrobadge inlogt als {account} wil de badges die naar dit adres zijn gestuurd op dezelfde pagina zien. Ben jij dat, bevestig dan met de link hieronder.",
    address_button: "Bevestig dit adres",
    review_subject: "Past {learner} ‘{name}’ toe in het werk?",
    review_reminder_subject: "Herinnering: past {learner} ‘{name}’ toe in het werk?",
    review_body: "Enkele weken geleden rondde {learner} de module ‘{name}’ bij {issuer} af en noemde jou als \
                  leidinggevende. Wil je twee minuten terugkijken: wordt wat geleerd is toegepast in het werk?",
    review_how: "Antwoord ja, deels of nog niet, met een voorbeeld in je eigen woorden. {learner} leest je \
                 antwoord. Alleen een ‘ja’ wordt een openbare aanbeveling bij de badge, ondertekend door {issuer} \
                 en met je naam en bedrijf; ‘deels’ en ‘nog niet’ blijven tussen jullie.",
    review_button: "Nu terugkijken",
    review_until: "De link is alleen voor jou en werkt tot {date}.",
    why_review: "Je ontvangt deze e-mail omdat {learner} jou als leidinggevende noemde toen {issuer} een badge \
                 toekende. We houden niet bij of je hem opent.",
    answered_subject: "Je leidinggevende keek terug op ‘{name}’",
    answered_body: "Je leidinggevende heeft de terugblik op ‘{name}’ van {issuer} ingevuld. Lees het antwoord en \
                    voeg zelf een reactie toe op je badgepagina.",
};

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
