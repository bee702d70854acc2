//! The words on our pages, in English and Dutch, from `locales/<lang>/pages.ftl`. Templates take
//! a `&Texts` and never hold sentences of their own, so a page cannot be translated in one
//! language and forgotten in the other (a message missing in either file stops the service at
//! start; see `crate::locale`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

pub use crate::locale::Msg;

pub use crate::domain::lang::{Lang, long_date, number};

/// The page words of a language (the enum itself lives in the domain: e-mail speaks it too).
impl Lang {
    pub fn texts(self) -> &'static Texts {
        Texts::get(self)
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

crate::locale::catalogue! {
    /// Every fixed text on the public pages.
    pub struct Texts in "pages" {
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
        /// The badge page's micro-credential block.
        pub mc_heading: &'static str,
        pub mc_intro: &'static str,
        pub mc_learning_outcomes: &'static str,
        pub mc_workload: &'static str,
        pub mc_hours: &'static str,
        pub mc_level: &'static str,
        pub mc_assessment: &'static str,
        pub mc_participation: &'static str,
        pub mc_onsite: &'static str,
        pub mc_online: &'static str,
        pub mc_blended: &'static str,
        pub mc_quality: &'static str,
        pub mc_country: &'static str,
        pub mc_prerequisites: &'static str,
        pub mc_supervision: &'static str,
        pub mc_grading: &'static str,
        pub mc_integration: &'static str,
        pub mc_further: &'static str,
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
        pub me_correct_sent: Msg,
        pub me_export: &'static str,
        pub unsubscribe_title: Msg,
        pub unsubscribe_question: Msg,
        pub unsubscribe_button: &'static str,
        pub unsubscribed: Msg,
        pub unsubscribe_still: &'static str,
        pub resubscribe_button: &'static str,
        pub resubscribed: Msg,
        pub status_active: &'static str,
        pub status_suspended: &'static str,
        pub status_revoked: &'static str,
        pub impact_applied: &'static str,
        pub impact_confirmed_by: &'static str,
        pub impact_endorsement: &'static str,
        pub review_title: &'static str,
        pub review_intro: Msg,
        pub review_question: &'static str,
        pub answer_yes: &'static str,
        pub answer_partly: &'static str,
        pub answer_not_yet: &'static str,
        pub review_example: &'static str,
        pub review_follow_up: &'static str,
        pub review_public_note: Msg,
        pub review_send: &'static str,
        pub review_until: Msg,
        pub review_thanks: Msg,
        pub review_closed: &'static str,
        pub me_reviews: &'static str,
        pub me_review_planned: Msg,
        pub me_review_invited: &'static str,
        pub me_review_expired: &'static str,
        pub me_review_cancelled: &'static str,
        pub me_review_answer: &'static str,
        pub me_review_example: &'static str,
        pub me_review_follow_up: &'static str,
        pub me_review_comment: &'static str,
        pub me_review_seen: &'static str,
        pub me_review_your_comment: &'static str,
        pub me_review_endorsed: &'static str,
        pub me_ask_manager: &'static str,
        pub me_manager_name: &'static str,
        pub me_manager_email: &'static str,
        pub me_manager_company: &'static str,
        pub me_ask: &'static str,
        pub me_review_requested: &'static str,
        pub me_to_wallet: &'static str,
        pub wallet_title: &'static str,
        pub wallet_intro: &'static str,
        pub wallet_qr: &'static str,
        pub wallet_open: &'static str,
        pub wallet_code: &'static str,
        pub wallet_expires: Msg,
        pub wallet_back: &'static str,
        pub me_addresses: &'static str,
        pub me_add_address: &'static str,
        pub me_add_send: &'static str,
        pub me_address_sent: &'static str,
        pub me_lines: &'static str,
        pub me_station_done: &'static str,
        pub me_station_todo: &'static str,
        pub me_line_complete: &'static str,
        pub me_view_certificate: &'static str,
        pub wallet_sign_in_first: &'static str,
        pub review_need_answer: &'static str,
        pub review_need_example: &'static str,
        pub review_follow_up_long: &'static str,
        pub oauth_title: &'static str,
        pub oauth_asks: Msg,
        pub oauth_scope_credentials: &'static str,
        pub oauth_scope_profile: &'static str,
        pub oauth_scope_offline: &'static str,
        pub oauth_about: &'static str,
        pub oauth_site: &'static str,
        pub oauth_terms: &'static str,
        pub oauth_privacy: &'static str,
        pub oauth_return: Msg,
        pub oauth_allow: &'static str,
        pub oauth_deny: &'static str,
        pub oauth_sign_in_first: &'static str,
        pub oauth_broken: &'static str,
        pub oauth_broken_intro: &'static str,
        pub privacy_title: &'static str,
        pub privacy_stored: &'static str,
        pub privacy_public: &'static str,
        pub privacy_apps: &'static str,
        pub privacy_rights: &'static str,
        pub me_apps: &'static str,
        pub me_app_withdraw: &'static str,
        pub me_app_withdrawn: &'static str,
        pub me_line_record: &'static str,
        pub api_intro: &'static str,
        pub me_line_record_all: &'static str,
        pub me_line_record_own: &'static str,
    }
}

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
