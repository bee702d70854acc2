//! An issuer's credentials for its admins and auditors: search by learner, nanomodule, status
//! and date; one credential's history from the audit chain; revoke, suspend or reinstate one
//! or many at once with a reason (issuer admins; all or nothing, like the API's bulk calls).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::{Chrome, Console, Fields, texts};
use crate::http::AppState;
use crate::service::{CredentialSearch, FoundLine, ServiceError, Standing};
use crate::store::StatusChange;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/credentials", get(search))
        .route("/console/credentials/status", post(change))
        .route("/console/credentials/{id}", get(history))
}

#[derive(Deserialize, Default)]
struct Query {
    #[serde(default)]
    identity: String,
    #[serde(default)]
    module: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct Item {
    line: FoundLine,
    when: String,
    standing: &'static str,
}

fn standing_text(t: &texts::ConsoleTexts, s: Standing) -> &'static str {
    match s {
        Standing::Valid => t.valid,
        Standing::Suspended => t.suspended,
        Standing::Revoked => t.revoked,
    }
}

#[derive(Template)]
#[template(path = "console/credentials.html")]
struct SearchPage {
    c: Chrome,
    q: Query,
    modules: Vec<Choice>,
    statuses: Vec<Choice>,
    items: Vec<Item>,
    problems: Vec<String>,
    may_manage: bool,
    back: String,
}

fn day(v: &str) -> Result<Option<time::Date>, ()> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    time::Date::parse(v, time::macros::format_description!("[year]-[month]-[day]")).map(Some).map_err(|_| ())
}

async fn search(State(s): State<AppState>, console: Console, uri: axum::http::Uri) -> Response {
    let user = match console.require() {
        Ok(u) => u.clone(),
        Err(r) => return r,
    };
    let Some(issuer) = user.principal.issuer_id else { return console.fail(ServiceError::NotFound) };
    let t = console.t();
    let q: Query = uri.query().and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
    let mut problems = vec![];
    let from = day(&q.from).unwrap_or_else(|()| {
        problems.push(format!("{}: YYYY-MM-DD", t.from_date));
        None
    });
    let to = day(&q.to).unwrap_or_else(|()| {
        problems.push(format!("{}: YYYY-MM-DD", t.to_date));
        None
    });
    let standing = match q.status.as_str() {
        "valid" => Some(Standing::Valid),
        "suspended" => Some(Standing::Suspended),
        "revoked" => Some(Standing::Revoked),
        _ => None,
    };
    let search = CredentialSearch {
        identity: Some(q.identity.trim().to_string()).filter(|i| !i.is_empty()),
        nanomodule: q.module.parse().ok(),
        standing,
        from: from.map(|d| d.midnight().assume_utc()),
        to: to.map(|d| d.midnight().assume_utc() + time::Duration::days(1)),
    };
    let home = match s.service.console_home(&user.principal, "").await {
        Ok(h) => h,
        Err(e) => return console.fail(e),
    };
    let items = if problems.is_empty() {
        match s.service.search_credentials(&user.principal, issuer, &search).await {
            Ok(found) => found
                .into_iter()
                .map(|line| Item {
                    when: texts::date(console.lang, line.created_at, false),
                    standing: standing_text(t, line.standing),
                    line,
                })
                .collect(),
            Err(e) => return console.fail(e),
        }
    } else {
        vec![]
    };
    let any = |selected: bool| Choice { value: String::new(), label: t.any.into(), selected };
    let mut modules = vec![any(q.module.is_empty())];
    modules.extend(home.modules.iter().map(|m| Choice {
        value: m.id.to_string(),
        label: m.name.clone(),
        selected: m.id.to_string() == q.module,
    }));
    let mut statuses = vec![any(q.status.is_empty())];
    statuses.extend(
        [("valid", t.valid), ("suspended", t.suspended), ("revoked", t.revoked)].into_iter().map(|(v, label)| Choice {
            value: v.into(),
            label: label.into(),
            selected: q.status == v,
        }),
    );
    let back = uri.to_string();
    let status = if problems.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let may_manage = user.principal.check(issuer, crate::domain::access::Action::Manage).is_ok();
    let page =
        SearchPage { c: console.chrome(t.credentials_title), q, modules, statuses, items, problems, may_manage, back };
    console.page(status, &page)
}

/// Revoke / suspend / reinstate every selected credential (`ids` repeated), all or nothing.
async fn change(State(s): State<AppState>, console: Console, body: Bytes) -> Response {
    let Some(form) = Fields::strict(&body) else {
        return console.message(StatusCode::BAD_REQUEST, console.t().problem);
    };
    let get = |k: &str| form.get(k).to_string();
    let user = match console.require_form(&get("csrf")) {
        Ok(u) => u.clone(),
        Err(r) => return r,
    };
    let t = console.t();
    let ids: Vec<Uuid> = form.all("ids").into_iter().filter_map(|v| v.parse().ok()).collect();
    if ids.is_empty() {
        return console.message(StatusCode::UNPROCESSABLE_ENTITY, t.nothing_selected);
    }
    let change = match get("change").as_str() {
        "revoke" => StatusChange::Revoke,
        "suspend" => StatusChange::Suspend,
        "reinstate" => StatusChange::Reinstate,
        _ => return console.message(StatusCode::UNPROCESSABLE_ENTITY, t.problem),
    };
    let reason = Some(get("reason").trim().to_string()).filter(|r| !r.is_empty());
    if reason.is_none() && change != StatusChange::Reinstate {
        return console.message(StatusCode::UNPROCESSABLE_ENTITY, t.reason_required);
    }
    match s.service.change_status(&user.principal, &ids, change, reason).await {
        Ok(_) => {
            let back = get("back");
            let back = if back.starts_with("/console/credentials") { back } else { "/console/credentials".into() };
            Redirect::to(&back).into_response()
        }
        Err(e) => console.fail(e),
    }
}

struct EventLine {
    action: String,
    when: String,
    actor: String,
    hash: String,
}

#[derive(Template)]
#[template(path = "console/credential.html")]
struct HistoryPage {
    c: Chrome,
    item: Item,
    reason: Option<String>,
    events: Vec<EventLine>,
    may_manage: bool,
}

async fn history(State(s): State<AppState>, console: Console, Path(raw): Path<String>) -> Response {
    let user = match console.require() {
        Ok(u) => u.clone(),
        Err(r) => return r,
    };
    let Ok(id) = raw.parse::<Uuid>() else { return console.fail(ServiceError::NotFound) };
    let h = match s.service.credential_history(&user.principal, id).await {
        Ok(h) => h,
        Err(e) => return console.fail(e),
    };
    let t = console.t();
    let events = h
        .events
        .into_iter()
        .map(|e| EventLine {
            when: crate::domain::time::parse_rfc3339(&e.occurred_at)
                .map(|at| texts::date(console.lang, at, true))
                .unwrap_or_else(|| e.occurred_at.clone()),
            action: e.action,
            actor: format!("{} ({})", e.actor_token, e.actor_role),
            hash: e.hash,
        })
        .collect();
    let item = Item {
        when: texts::date(console.lang, h.credential.created_at, true),
        standing: standing_text(t, h.credential.standing),
        line: h.credential,
    };
    let page =
        HistoryPage { c: console.chrome(&item.line.what), item, reason: h.reason, events, may_manage: h.may_manage };
    console.page(StatusCode::OK, &page)
}
