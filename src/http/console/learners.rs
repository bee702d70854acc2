//! One learner as the issuer's staff see them: progress along each of the issuer's lines (the
//! evaluator's explanation in plain words), their credentials, and — for issuer admins — the
//! revocation of their private progress link (a new one comes with the next award).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use super::{Chrome, Console, Fields, texts};
use crate::domain::access::{Action, Role};
use crate::domain::pathway::Explanation;
use crate::http::AppState;
use crate::service::{CredentialSearch, ServiceError};

pub fn router() -> Router<AppState> {
    Router::new().route("/console/learners", get(learner)).route("/console/learners/link", post(revoke_link))
}

struct LineItem {
    name: String,
    done: bool,
    /// The explanation, depth first: (indent, satisfied, words).
    words: Vec<(usize, bool, String)>,
}

struct BadgeItem {
    what: String,
    url: String,
    when: String,
    standing: &'static str,
}

#[derive(Template)]
#[template(path = "console/learner.html")]
struct LearnerPage {
    c: Chrome,
    identity: String,
    lines: Vec<LineItem>,
    badges: Vec<BadgeItem>,
    known: bool,
    may_manage: bool,
    notice: Option<&'static str>,
}

/// The explanation in plain words, depth first: (indent, satisfied, words).
pub(super) fn words(e: &Explanation, depth: usize, out: &mut Vec<(usize, bool, String)>) {
    out.push((depth, e.satisfied, e.detail.clone()));
    for c in &e.children {
        words(c, depth + 1, out);
    }
}

impl Console {
    async fn learner_page(
        &self,
        s: &AppState,
        identity: &str,
        notice: Option<&'static str>,
    ) -> Result<Response, Response> {
        let user = self.require()?.clone();
        let issuer = match user.principal.issuer_id {
            Some(i) if user.principal.role != Role::Trainer => i,
            _ => return Err(self.fail(ServiceError::Forbidden)),
        };
        let t = self.t();
        let identity = identity.trim().to_lowercase();
        let mut lines = vec![];
        let mut badges = vec![];
        if !identity.is_empty() {
            let all = s.service.metro_lines(&user.principal, issuer).await.map_err(|e| self.fail(e))?;
            for line in all {
                match s.service.metro_line_progress(&user.principal, line.id, "emailAddress", &identity).await {
                    Ok(p) => {
                        let mut w = vec![];
                        words(&p.explanation, 0, &mut w);
                        lines.push(LineItem { name: p.name, done: p.satisfied, words: w });
                    }
                    // Not on this line, or unknown to this issuer: nothing to show for it.
                    Err(ServiceError::NotFound) => {}
                    Err(e) => return Err(self.fail(e)),
                }
            }
            let q = CredentialSearch { identity: Some(identity.clone()), ..CredentialSearch::default() };
            badges = s
                .service
                .search_credentials(&user.principal, issuer, &q)
                .await
                .map_err(|e| self.fail(e))?
                .into_iter()
                .map(|b| BadgeItem {
                    what: b.what,
                    url: b.url,
                    when: texts::date(self.lang, b.created_at, false),
                    standing: match b.standing {
                        crate::service::Standing::Valid => t.valid,
                        crate::service::Standing::Suspended => t.suspended,
                        crate::service::Standing::Revoked => t.revoked,
                    },
                })
                .collect();
        }
        let page = LearnerPage {
            c: self.chrome(t.learners_title),
            known: !badges.is_empty(),
            identity,
            lines,
            badges,
            may_manage: user.principal.check(issuer, Action::Manage).is_ok(),
            notice,
        };
        Ok(self.page(StatusCode::OK, &page))
    }
}

async fn learner(State(s): State<AppState>, console: Console, uri: axum::http::Uri) -> Result<Response, Response> {
    console.learner_page(&s, Fields::query(&uri).get("identity"), None).await
}

async fn revoke_link(State(s): State<AppState>, console: Console, body: Bytes) -> Result<Response, Response> {
    let form = Fields::parse(&body);
    let field = |k: &str| form.get(k);
    let user = console.require_form(field("csrf"))?.clone();
    let identity = field("identity");
    s.service
        .revoke_progress_link(&user.principal, "emailAddress", identity, user.principal.issuer_id)
        .await
        .map_err(|e| console.fail(e))?;
    console.learner_page(&s, identity, Some(console.t().link_revoked)).await
}
