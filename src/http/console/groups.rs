//! Peer groups in the console: make a group for a line (participants pasted once), plan its
//! sessions, see everyone's progress along the line, and after a session tick who completed the
//! station and award them in one step (the award use case, idempotent like the award form).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::json;
use uuid::Uuid;

use super::{Chrome, Console, Fields, field_problems, texts};
use crate::domain::access::Action;
use crate::domain::award::{AwardInput, RecipientInput, SessionInput};
use crate::domain::peer_group::{PeerGroupSpec, participants_from_pasted};
use crate::http::AppState;
use crate::service::{
    AwardOutcome, AwardRequest, ConsoleUser, GroupProgress, MetroLineView, PeerGroupView, ServiceError, request_hash,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/groups", get(list))
        .route("/console/groups/new", get(new_form).post(create))
        .route("/console/groups/{id}", get(group))
        .route("/console/groups/{id}/sessions", post(plan))
        .route("/console/groups/{id}/award", post(award))
}

/// Trainers and issuer admins of an issuer: who keeps groups.
fn keeper(console: &Console) -> Result<(ConsoleUser, Uuid), Response> {
    let user = console.require()?.clone();
    match user.principal.issuer_id {
        Some(issuer) if user.principal.check(issuer, Action::Award).is_ok() => Ok((user, issuer)),
        _ => Err(console.fail(ServiceError::Forbidden)),
    }
}

#[derive(Template)]
#[template(path = "console/groups.html")]
struct ListPage {
    c: Chrome,
    groups: Vec<PeerGroupView>,
}

async fn list(State(s): State<AppState>, console: Console) -> Result<Response, Response> {
    let (user, issuer) = keeper(&console)?;
    let groups = s.service.peer_groups(&user.principal, issuer).await.map_err(|e| console.fail(e))?;
    Ok(console.page(StatusCode::OK, &ListPage { c: console.chrome(console.t().groups_title), groups }))
}

#[derive(Template)]
#[template(path = "console/group_new.html")]
struct NewPage {
    c: Chrome,
    lines: Vec<MetroLineView>,
    name: String,
    line: String,
    participants: String,
    problems: Vec<String>,
}

async fn new_page(
    s: &AppState,
    console: &Console,
    status: StatusCode,
    (name, line, participants): (String, String, String),
    problems: Vec<String>,
) -> Result<Response, Response> {
    let (user, issuer) = keeper(console)?;
    let lines = s.service.metro_lines(&user.principal, issuer).await.map_err(|e| console.fail(e))?;
    let page = NewPage { c: console.chrome(console.t().new_group), lines, name, line, participants, problems };
    Ok(console.page(status, &page))
}

async fn new_form(State(s): State<AppState>, console: Console) -> Result<Response, Response> {
    new_page(&s, &console, StatusCode::OK, Default::default(), vec![]).await
}

async fn create(State(s): State<AppState>, console: Console, body: Bytes) -> Result<Response, Response> {
    let p = Fields::parse(&body);
    console.require_form(p.get("csrf"))?;
    let (user, issuer) = keeper(&console)?;
    let typed = (p.get("name").to_string(), p.get("line").to_string(), p.get("participants").to_string());
    let spec = PeerGroupSpec {
        name: Some(typed.0.clone()),
        metro_line: typed.1.parse().ok(),
        participants: participants_from_pasted(&typed.2),
        sessions: vec![],
    };
    match s.service.create_peer_group(&user.principal, issuer, spec).await {
        Ok(g) => Ok(Redirect::to(&format!("/console/groups/{}", g.id)).into_response()),
        Err(e) => {
            let problems = field_problems(console.lang, e).map_err(|e| console.fail(e))?;
            new_page(&s, &console, StatusCode::UNPROCESSABLE_ENTITY, typed, problems).await
        }
    }
}

/// One station as the group page shows it.
struct StationItem {
    id: Uuid,
    name: String,
    planned: String,
    planned_text: Option<String>,
    selected: bool,
}

/// One participant's row: each station done (with the badge) or not, in the line's order.
struct ParticipantItem {
    name: String,
    email: String,
    firm: String,
    marks: Vec<(String, Option<String>)>,
    /// Ticked by default: has not yet got the station being awarded.
    tick: bool,
}

#[derive(Template)]
#[template(path = "console/group.html")]
struct GroupPage {
    c: Chrome,
    id: Uuid,
    name: String,
    line_name: String,
    stations: Vec<StationItem>,
    participants: Vec<ParticipantItem>,
    key: String,
    today: String,
    problems: Vec<String>,
}

fn readable(lang: crate::http::texts::Lang, day: &str) -> Option<String> {
    let date = time::Date::parse(day, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    Some(texts::date(lang, date.midnight().assume_utc(), false))
}

impl Console {
    fn group_page(
        &self,
        g: GroupProgress,
        station: Option<Uuid>,
        problems: Vec<String>,
        status: StatusCode,
    ) -> Response {
        // The station to award: the one asked for, else the first someone has not done yet.
        let pick = station
            .or_else(|| {
                (0..g.stations.len())
                    .find(|i| g.progress.iter().any(|p| p.badges[*i].is_none()))
                    .map(|i| g.stations[i].nanomodule)
            })
            .or(g.stations.first().map(|s| s.nanomodule));
        let picked = g.stations.iter().position(|s| Some(s.nanomodule) == pick);
        let stations = g
            .stations
            .iter()
            .map(|s| StationItem {
                id: s.nanomodule,
                name: s.name.clone(),
                planned: s.planned.clone().unwrap_or_default(),
                planned_text: s.planned.as_deref().and_then(|d| readable(self.lang, d)),
                selected: Some(s.nanomodule) == pick,
            })
            .collect();
        let participants = g
            .progress
            .iter()
            .map(|p| ParticipantItem {
                name: p.participant.name.clone().unwrap_or_default(),
                email: p.participant.email.clone().unwrap_or_default(),
                firm: p.participant.firm.clone().unwrap_or_default(),
                marks: g.stations.iter().zip(&p.badges).map(|(s, b)| (s.name.clone(), b.clone())).collect(),
                tick: picked.is_some_and(|i| p.badges[i].is_none()),
            })
            .collect();
        let page = GroupPage {
            c: self.chrome(g.group.spec.name.as_deref().unwrap_or_default()),
            id: g.group.id,
            name: g.group.spec.name.clone().unwrap_or_default(),
            line_name: g.line_name,
            stations,
            participants,
            key: super::fresh_token(),
            today: self.today.to_string(),
            problems,
        };
        self.page(status, &page)
    }
}

async fn group(State(s): State<AppState>, console: Console, Path(raw): Path<String>) -> Result<Response, Response> {
    let (user, _) = keeper(&console)?;
    let id = raw.parse::<Uuid>().map_err(|_| console.fail(ServiceError::NotFound))?;
    let g = s.service.peer_group_progress(&user.principal, id).await.map_err(|e| console.fail(e))?;
    Ok(console.group_page(g, None, vec![], StatusCode::OK))
}

/// The planned date (and place) of each station's session.
async fn plan(
    State(s): State<AppState>,
    console: Console,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Response, Response> {
    let p = Fields::parse(&body);
    console.require_form(p.get("csrf"))?;
    let (user, _) = keeper(&console)?;
    let id = raw.parse::<Uuid>().map_err(|_| console.fail(ServiceError::NotFound))?;
    let sessions: Vec<serde_json::Value> = p
        .prefixed("date-")
        .filter(|(_, date)| !date.trim().is_empty())
        .map(|(station, date)| json!({"nanomodule": station, "date": date.trim()}))
        .collect();
    match s.service.update_peer_group(&user.principal, id, &json!({"sessions": sessions})).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/groups/{id}")).into_response()),
        Err(e) => {
            let problems = field_problems(console.lang, e).map_err(|e| console.fail(e))?;
            let g = s.service.peer_group_progress(&user.principal, id).await.map_err(|e| console.fail(e))?;
            Ok(console.group_page(g, None, problems, StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
}

/// Awards the chosen station to every ticked participant, as one award.
async fn award(
    State(s): State<AppState>,
    console: Console,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Response, Response> {
    let p = Fields::parse(&body);
    console.require_form(p.get("csrf"))?;
    let (user, _) = keeper(&console)?;
    let id = raw.parse::<Uuid>().map_err(|_| console.fail(ServiceError::NotFound))?;
    let group = s.service.peer_group(&user.principal, id).await.map_err(|e| console.fail(e))?;
    let station = p.get("station").parse::<Uuid>().ok();
    let ticked = p.all("who");
    let recipients: Vec<RecipientInput> = group
        .spec
        .participants
        .iter()
        .filter(|pt| pt.email.as_deref().is_some_and(|e| ticked.contains(&e)))
        .map(|pt| RecipientInput {
            identity: pt.email.clone(),
            name: pt.name.clone(),
            // The participant's manager (at the participant's firm) is invited to the review.
            manager: pt.manager_email.clone().map(|email| crate::domain::impact::ManagerInput {
                name: None,
                email: Some(email),
                company: pt.firm.clone(),
            }),
            ..RecipientInput::default()
        })
        .collect();
    let again = |problems: Vec<String>| async {
        let g = s.service.peer_group_progress(&user.principal, id).await.map_err(|e| console.fail(e))?;
        Ok::<Response, Response>(console.group_page(g, station, problems, StatusCode::UNPROCESSABLE_ENTITY))
    };
    let Some(station) = station else { return again(vec![console.t().not_found.into()]).await };
    if recipients.is_empty() {
        return again(vec![format!("{}: {}", console.t().who_completed, console.t().nothing_selected)]).await;
    }
    let some = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let input = AwardInput {
        recipients,
        session: Some(SessionInput { date: some(p.get("session_date")), location: some(p.get("session_location")) }),
    };
    let body = serde_json::to_vec(&input).expect("award input serialises");
    let req = AwardRequest {
        input,
        dry_run: false,
        idempotency_key: Some(format!("console-{}", p.get("key").chars().take(64).collect::<String>())),
        request_hash: request_hash(&[station.as_bytes(), b"console", &[0], &body]),
    };
    match s.service.award(&user.principal, station, req).await {
        Ok(AwardOutcome::Issued(awarded)) => {
            Ok(Redirect::to(&format!("/console/awards/{}", awarded.award_id)).into_response())
        }
        Ok(AwardOutcome::Checked(_)) => {
            Err(console.fail(ServiceError::Internal("an award answered as a dry run".into())))
        }
        Err(e) => {
            let problems = field_problems(console.lang, e).map_err(|e| console.fail(e))?;
            again(problems).await
        }
    }
}
