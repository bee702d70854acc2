//! The words on our pages, in English and Dutch. Templates take a `&Texts` and never hold
//! sentences of their own, so a page cannot be translated in one language and forgotten in the
//! other (both catalogues are the same struct; a missing field does not compile).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

pub use crate::domain::lang::{Lang, long_date, number};

/// The page words of a language (the enum itself lives in the domain: e-mail speaks it too).
impl Lang {
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Nl => &NL,
        }
    }
}

/// The reader's choice: `?lang=` first, then the browser's `Accept-Language` (highest weight
/// first), else `None` and the page picks (a badge page its badge's language).
#[derive(Debug, Clone, Copy, Default)]
pub struct Preferred(pub Option<Lang>);

impl Preferred {
    pub fn or(self, fallback: Lang) -> Lang {
        self.0.unwrap_or(fallback)
    }

    fn from_parts(query: Option<&str>, accept_language: Option<&str>) -> Preferred {
        let asked = query
            .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "lang"))
            .and_then(|(_, v)| Lang::parse(&v));
        if asked.is_some() {
            return Preferred(asked);
        }
        let mut ranges: Vec<(f32, Lang)> = accept_language
            .unwrap_or_default()
            .split(',')
            .filter_map(|r| {
                let mut parts = r.split(';');
                let lang = Lang::parse(parts.next()?)?;
                let q = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (q > 0.0).then_some((q, lang))
            })
            .collect();
        // Stable: among equal weights the first listed wins.
        ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
        Preferred(ranges.first().map(|(_, l)| *l))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Preferred {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let accept = parts.headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        Ok(Preferred::from_parts(parts.uri.query(), accept))
    }
}

/// Every fixed text on the public pages.
pub struct Texts {
    pub switch_to: &'static str,
    pub valid: &'static str,
    pub could_not_check: &'static str,
    pub revoked: &'static str,
    pub suspended: &'static str,
    pub expired: &'static str,
    pub not_valid: &'static str,
    pub passed: &'static str,
    pub failed: &'static str,
    pub badge: &'static str,
    pub awarded_to: &'static str,
    pub issued_by: &'static str,
    pub issued_on: &'static str,
    pub criteria: &'static str,
    pub skills: &'static str,
    pub evidence: &'static str,
    pub download_or_share: &'static str,
    pub badge_png: &'static str,
    pub badge_svg: &'static str,
    pub add_to_linkedin: &'static str,
    pub your_progress: &'static str,
    pub see_progress: &'static str,
    pub progress_private_note: &'static str,
    pub verification_details: &'static str,
    pub verify_title: &'static str,
    pub verify_intro: &'static str,
    pub badge_file: &'static str,
    pub or_paste: &'static str,
    pub holder_email: &'static str,
    pub verify_button: &'static str,
    pub result_title: &'static str,
    pub issuer: &'static str,
    pub valid_from: &'static str,
    pub checks: &'static str,
    pub verify_another: &'static str,
    pub description: &'static str,
    pub website: &'static str,
    pub email: &'static str,
    pub achievement_type: &'static str,
    pub study_load: &'static str,
    pub kind_issuer: &'static str,
    pub kind_nanomodule: &'static str,
    pub kind_certificate: &'static str,
    pub progress_intro: &'static str,
    pub your_lines: &'static str,
    pub stations: &'static str,
    pub where_you_stand: &'static str,
    pub certificate: &'static str,
    pub no_lines: &'static str,
    pub your_badges: &'static str,
    pub shared_by_mistake: &'static str,
    pub replace_link: &'static str,
    pub replace_note: &'static str,
    pub new_link_title: &'static str,
    pub new_link_intro: &'static str,
    pub me_title: &'static str,
    pub me_intro: &'static str,
    pub me_email: &'static str,
    pub me_send: &'static str,
    pub me_sent: &'static str,
    pub me_link_title: &'static str,
    pub me_link_intro: &'static str,
    pub me_sign_in: &'static str,
    pub me_link_invalid: &'static str,
    pub me_none: &'static str,
    pub me_certificate: &'static str,
    pub me_badge: &'static str,
    pub me_issued: &'static str,
    pub me_hide: &'static str,
    pub me_show: &'static str,
    pub me_hidden_note: &'static str,
    pub me_sign_out: &'static str,
    pub me_json: &'static str,
    pub me_jwt: &'static str,
    pub me_valid: &'static str,
    pub me_suspended: &'static str,
    pub me_revoked: &'static str,
    pub page_hidden_title: &'static str,
    pub page_hidden_body: &'static str,
    pub me_correct: &'static str,
    pub me_correct_label: &'static str,
    pub me_correct_send: &'static str,
    pub me_correct_sent: &'static str,
    pub me_export: &'static str,
    pub unsubscribe_title: &'static str,
    pub unsubscribe_question: &'static str,
    pub unsubscribe_button: &'static str,
    pub unsubscribed: &'static str,
    pub unsubscribe_still: &'static str,
    pub resubscribe_button: &'static str,
    pub resubscribed: &'static str,
    pub status_active: &'static str,
    pub status_suspended: &'static str,
    pub status_revoked: &'static str,
}

pub static EN: Texts = Texts {
    switch_to: "Nederlands",
    valid: "Valid — this badge is genuine and in force.",
    could_not_check: "Could not check — this says nothing against the badge; try again later",
    revoked: "Revoked by the issuer",
    suspended: "Suspended by the issuer",
    expired: "Expired — this badge is no longer valid.",
    not_valid: "Not valid: failed check(s)",
    passed: "passed",
    failed: "failed",
    badge: "Badge",
    awarded_to: "Awarded to",
    issued_by: "Issued by",
    issued_on: "Issued on",
    criteria: "Criteria",
    skills: "Skills",
    evidence: "Evidence",
    download_or_share: "Download or share",
    badge_png: "Badge (PNG)",
    badge_svg: "Badge (SVG)",
    add_to_linkedin: "Add to LinkedIn profile",
    your_progress: "Your progress",
    see_progress: "See your metro lines and certificates",
    progress_private_note: "(a private link: share this page's address without ?learner=…).",
    verification_details: "Verification details",
    verify_title: "Verify a badge",
    verify_intro: "Upload a badge image (PNG or SVG) or paste a badge (JSON or VC-JWT). No account needed; nothing is stored.",
    badge_file: "Badge file",
    or_paste: "…or paste it here",
    holder_email: "E-mail address of the holder (optional)",
    verify_button: "Verify",
    result_title: "Verification result",
    issuer: "Issuer",
    valid_from: "Valid from",
    checks: "Checks",
    verify_another: "Verify another badge",
    description: "Description",
    website: "Website",
    email: "E-mail",
    achievement_type: "Achievement type",
    study_load: "Study load (hours)",
    kind_issuer: "Issuer",
    kind_nanomodule: "Nanomodule",
    kind_certificate: "Partial certificate",
    progress_intro: "This page is private: anyone with its link can see it. Share your badges' own links instead.",
    your_lines: "Your metro lines",
    stations: "Stations",
    where_you_stand: "Where you stand",
    certificate: "Certificate",
    no_lines: "None of your badges is part of a metro line yet.",
    your_badges: "Your badges",
    shared_by_mistake: "Link shared by mistake?",
    replace_link: "Replace this link",
    replace_note: "(the old one stops working at once).",
    new_link_title: "Your new progress link",
    new_link_intro: "The old link no longer works. Keep this one:",
    me_title: "My badges",
    me_intro: "See every badge and certificate awarded to your e-mail address, from every training provider. We send you a link to sign in; no password needed.",
    me_email: "Your e-mail address",
    me_send: "Send me a link",
    me_sent: "If badges were awarded to this address, a link is on its way. It works once, for 15 minutes.",
    me_link_title: "Sign in to your badges",
    me_link_intro: "This link works once. Press the button to continue.",
    me_sign_in: "Show my badges",
    me_link_invalid: "This link has been used or has expired. Ask for a new one below.",
    me_none: "No badges yet.",
    me_certificate: "Certificate",
    me_badge: "Badge",
    me_issued: "Awarded",
    me_hide: "Hide the public page",
    me_show: "Show the public page again",
    me_hidden_note: "The public page is hidden. The signed credential can still be verified by anyone you give its link.",
    me_sign_out: "Sign out",
    me_json: "Signed JSON",
    me_jwt: "VC-JWT",
    me_valid: "valid",
    me_suspended: "suspended",
    me_revoked: "revoked",
    page_hidden_title: "This page is not shown",
    page_hidden_body: "The holder of this credential chose not to show its page. The credential itself can still be checked: paste its link into the verifier.",
    me_correct: "Ask for a correction",
    me_correct_label: "What should be corrected? It goes to the training provider by e-mail, with your address to reply to.",
    me_correct_send: "Send",
    me_correct_sent: "Your request is on its way to {issuer}.",
    me_export: "Download everything (ZIP of the signed credentials)",
    unsubscribe_title: "E-mail from {issuer}",
    unsubscribe_question: "Stop receiving e-mail from {issuer} about new badges, certificates and your progress?",
    unsubscribe_button: "Stop e-mail",
    unsubscribed: "You no longer receive e-mail from {issuer} about new badges, certificates and your progress.",
    unsubscribe_still: "If one of your credentials is suspended or revoked, you will still be told.",
    resubscribe_button: "Receive e-mail again",
    resubscribed: "You receive e-mail from {issuer} again.",
    status_active: "active",
    status_suspended: "suspended",
    status_revoked: "revoked",
};

pub static NL: Texts = Texts {
    switch_to: "English",
    valid: "Geldig — deze badge is echt en van kracht.",
    could_not_check: "Kon niet controleren — dit zegt niets tegen de badge; probeer het later opnieuw",
    revoked: "Ingetrokken door de uitgever",
    suspended: "Geschorst door de uitgever",
    expired: "Verlopen — deze badge is niet meer geldig.",
    not_valid: "Niet geldig: mislukte controle(s)",
    passed: "geslaagd",
    failed: "mislukt",
    badge: "Badge",
    awarded_to: "Toegekend aan",
    issued_by: "Uitgegeven door",
    issued_on: "Uitgegeven op",
    criteria: "Criteria",
    skills: "Vaardigheden",
    evidence: "Bewijs",
    download_or_share: "Downloaden of delen",
    badge_png: "Badge (PNG)",
    badge_svg: "Badge (SVG)",
    add_to_linkedin: "Toevoegen aan LinkedIn-profiel",
    your_progress: "Jouw voortgang",
    see_progress: "Bekijk je metrolijnen en certificaten",
    progress_private_note: "(een persoonlijke link: deel het adres van deze pagina zonder ?learner=…).",
    verification_details: "Details van de controle",
    verify_title: "Een badge controleren",
    verify_intro: "Upload een badge-afbeelding (PNG of SVG) of plak een badge (JSON of VC-JWT). Geen account nodig; er wordt niets bewaard.",
    badge_file: "Badgebestand",
    or_paste: "…of plak hem hier",
    holder_email: "E-mailadres van de houder (optioneel)",
    verify_button: "Controleren",
    result_title: "Resultaat van de controle",
    issuer: "Uitgever",
    valid_from: "Geldig vanaf",
    checks: "Controles",
    verify_another: "Nog een badge controleren",
    description: "Beschrijving",
    website: "Website",
    email: "E-mail",
    achievement_type: "Soort prestatie",
    study_load: "Studielast (uren)",
    kind_issuer: "Uitgever",
    kind_nanomodule: "Nanomodule",
    kind_certificate: "Deelcertificaat",
    progress_intro: "Deze pagina is persoonlijk: iedereen met de link kan haar zien. Deel liever de links van je badges zelf.",
    your_lines: "Jouw metrolijnen",
    stations: "Stations",
    where_you_stand: "Waar je staat",
    certificate: "Certificaat",
    no_lines: "Nog geen van je badges hoort bij een metrolijn.",
    your_badges: "Jouw badges",
    shared_by_mistake: "Link per ongeluk gedeeld?",
    replace_link: "Vervang deze link",
    replace_note: "(de oude werkt meteen niet meer).",
    new_link_title: "Je nieuwe voortgangslink",
    new_link_intro: "De oude link werkt niet meer. Bewaar deze:",
    me_title: "Mijn badges",
    me_intro: "Bekijk alle badges en certificaten die aan je e-mailadres zijn toegekend, van alle opleiders. We sturen je een link om aan te melden; je hebt geen wachtwoord nodig.",
    me_email: "Je e-mailadres",
    me_send: "Stuur me een link",
    me_sent: "Als er badges aan dit adres zijn toegekend, is er een link onderweg. Hij werkt één keer, 15 minuten lang.",
    me_link_title: "Aanmelden bij je badges",
    me_link_intro: "Deze link werkt één keer. Druk op de knop om verder te gaan.",
    me_sign_in: "Toon mijn badges",
    me_link_invalid: "Deze link is al gebruikt of verlopen. Vraag hieronder een nieuwe aan.",
    me_none: "Nog geen badges.",
    me_certificate: "Certificaat",
    me_badge: "Badge",
    me_issued: "Toegekend",
    me_hide: "Openbare pagina verbergen",
    me_show: "Openbare pagina weer tonen",
    me_hidden_note: "De openbare pagina is verborgen. Het ondertekende bewijs blijft controleerbaar voor iedereen aan wie je de link geeft.",
    me_sign_out: "Afmelden",
    me_json: "Ondertekende JSON",
    me_jwt: "VC-JWT",
    me_valid: "geldig",
    me_suspended: "geschorst",
    me_revoked: "ingetrokken",
    page_hidden_title: "Deze pagina wordt niet getoond",
    page_hidden_body: "De houder van dit bewijs heeft ervoor gekozen de pagina niet te tonen. Het bewijs zelf is nog te controleren: plak de link in de controle.",
    me_correct: "Om een correctie vragen",
    me_correct_label: "Wat moet er anders? Dit gaat per e-mail naar de opleider, met je adres om op te antwoorden.",
    me_correct_send: "Versturen",
    me_correct_sent: "Je verzoek is onderweg naar {issuer}.",
    me_export: "Alles downloaden (ZIP met de ondertekende bewijzen)",
    unsubscribe_title: "E-mail van {issuer}",
    unsubscribe_question: "Wil je geen e-mail meer van {issuer} over nieuwe badges, certificaten en je voortgang?",
    unsubscribe_button: "Geen e-mail meer",
    unsubscribed: "Je ontvangt geen e-mail meer van {issuer} over nieuwe badges, certificaten en je voortgang.",
    unsubscribe_still: "Wordt een van je bewijzen geschorst of ingetrokken, dan hoor je dat nog wel.",
    resubscribe_button: "Toch weer e-mail ontvangen",
    resubscribed: "Je ontvangt weer e-mail van {issuer}.",
    status_active: "actief",
    status_suspended: "geschorst",
    status_revoked: "ingetrokken",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_beats_header_and_weights_order_the_header() {
        assert_eq!(Preferred::from_parts(Some("lang=nl"), Some("en")).0, Some(Lang::Nl));
        assert_eq!(Preferred::from_parts(Some("format=json"), Some("de, en;q=0.5, nl;q=0.8")).0, Some(Lang::Nl));
        assert_eq!(Preferred::from_parts(None, Some("en-GB,en;q=0.9")).0, Some(Lang::En));
        assert_eq!(Preferred::from_parts(None, Some("nl;q=0, de")).0, None);
        assert_eq!(Preferred::from_parts(Some("lang=fr"), None).0, None);
    }
}
