//! The outbox for issuer admins (their issuer's messages) and the platform admin (everyone's):
//! how many messages wait, went out or were not delivered, each dead letter with the mail
//! server's answer, and sending one again.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use uuid::Uuid;

use super::{Chrome, Console, Fields, texts};
use crate::domain::access::Role;
use crate::http::AppState;
use crate::service::{MAIL_STATES, ServiceError};

pub fn router() -> Router<AppState> {
    Router::new().route("/console/messages", get(messages)).route("/console/messages/{id}/resend", post(resend))
}

/// The outbox's message kinds, in the order `ConsoleTexts::mail_kinds` names them.
const KINDS: [&str; 6] = [
    "badge_awarded",
    "certificate_earned",
    "status_changed",
    "progress_link_replaced",
    "console_invitation",
    "console_reset",
];

struct Tab {
    state: &'static str,
    label: &'static str,
    count: i64,
    current: bool,
}

struct Row {
    id: Uuid,
    kind: String,
    address: String,
    attempts: i64,
    error: String,
    created: String,
}

#[derive(Template)]
#[template(path = "console/messages.html")]
struct MessagesPage {
    c: Chrome,
    configured: bool,
    tabs: Vec<Tab>,
    state: String,
    rows: Vec<Row>,
    notice: Option<&'static str>,
}

impl Console {
    async fn messages_page(
        &self,
        s: &AppState,
        state: &str,
        notice: Option<&'static str>,
    ) -> Result<Response, Response> {
        let user = self.require()?.clone();
        let who = &user.principal;
        if !matches!(who.role, Role::Admin | Role::IssuerAdmin) {
            return Err(self.fail(ServiceError::Forbidden));
        }
        let state = if MAIL_STATES.contains(&state) { state } else { "dead" };
        let t = self.t();
        let outbox = s.service.mail_overview(who, who.issuer_id, state).await.map_err(|e| self.fail(e))?;
        let tabs = MAIL_STATES
            .iter()
            .zip(t.mail_states)
            .map(|(st, label)| Tab {
                state: st,
                label,
                count: outbox.counts.get(*st).copied().unwrap_or(0),
                current: *st == state,
            })
            .collect();
        let rows = outbox
            .messages
            .into_iter()
            .map(|m| Row {
                id: m.id,
                kind: KINDS
                    .iter()
                    .position(|k| *k == m.kind)
                    .map(|i| t.mail_kinds[i].to_string())
                    .unwrap_or_else(|| m.kind.replace('_', " ")),
                address: m.address,
                attempts: m.attempts,
                error: m.last_error.unwrap_or_default(),
                created: texts::date(self.lang, m.created_at, true),
            })
            .collect();
        let page = MessagesPage {
            c: self.chrome(t.mail_title),
            configured: outbox.smtp_configured,
            tabs,
            state: state.to_string(),
            rows,
            notice,
        };
        Ok(self.page(StatusCode::OK, &page))
    }
}

async fn messages(State(s): State<AppState>, console: Console, uri: axum::http::Uri) -> Result<Response, Response> {
    let q = Fields::query(&uri);
    let state = match q.get("state") {
        "" => "dead",
        st => st,
    };
    console.messages_page(&s, state, None).await
}

async fn resend(
    State(s): State<AppState>,
    console: Console,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Result<Response, Response> {
    let form = Fields::parse(&body);
    let user = console.require_form(form.get("csrf"))?.clone();
    s.service.resend_mail(&user.principal, id).await.map_err(|e| console.fail(e))?;
    console.messages_page(&s, "dead", Some(console.t().mail_resent)).await
}
