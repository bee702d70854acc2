//! Metro lines for an issuer admin: the list, and a form for a new line or a new version of
//! one — stations picked from the issuer's own and accepted partners' modules, a rule builder
//! for the common shapes (all of, at least n, minimum study hours, within days, in order) and
//! an advanced JSON editor for nested rules. The form becomes the API's JSON, so every field
//! error is the API's.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Chrome, Console, Fields};
use crate::domain::access::Action;
use crate::domain::metro_line::{MetroLineSpec, MetroMapSpec};
use crate::domain::pathway::Rule;
use crate::http::AppState;
use crate::service::{ConsoleUser, MetroLineView, ServiceError, StationChoice};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/metro-lines", get(list))
        .route("/console/metro-lines/new", get(new_form).post(create))
        .route("/console/metro-lines/{id}", get(edit_form).post(update))
}

/// The signed-in member and their issuer, if they may manage its catalogue.
pub(super) fn manager(console: &Console) -> Result<(ConsoleUser, Uuid), Response> {
    let user = console.require()?.clone();
    match user.principal.issuer_id {
        Some(issuer) if user.principal.check(issuer, Action::Manage).is_ok() => Ok((user, issuer)),
        _ => Err(console.fail(ServiceError::Forbidden)),
    }
}

#[derive(Template)]
#[template(path = "console/lines.html")]
struct ListPage {
    c: Chrome,
    lines: Vec<MetroLineView>,
    /// The issuer's metro maps (id, name), each shown as its picture.
    maps: Vec<(Uuid, String)>,
}

async fn list(State(s): State<AppState>, console: Console) -> Response {
    let (user, issuer) = match manager(&console) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let loaded = async {
        let lines = s.service.metro_lines(&user.principal, issuer).await?;
        let maps = s.service.metro_maps(&user.principal, issuer).await?;
        Ok::<_, ServiceError>((lines, maps))
    };
    match loaded.await {
        Ok((lines, maps)) => {
            let maps =
                maps.into_iter().map(|m| (m.id, m.spec["name"].as_str().unwrap_or_default().to_string())).collect();
            console.page(StatusCode::OK, &ListPage { c: console.chrome(console.t().lines_title), lines, maps })
        }
        Err(e) => console.fail(e),
    }
}

/// The form as typed.
#[derive(Default, Clone)]
struct LineForm {
    name: String,
    description: String,
    colour: String,
    map: String,
    new_map: String,
    /// Station id → position as typed.
    positions: Vec<(String, String)>,
    kind: String,
    n: String,
    hours: String,
    days: String,
    rule_json: String,
    cert_name: String,
    cert_description: String,
    cert_credits: String,
    /// The certificate as an EU micro-credential.
    micro: super::nanomodules::MicroForm,
}

impl LineForm {
    fn read(fields: &Fields) -> (String, LineForm) {
        let get = |k: &str| fields.get(k).to_string();
        let positions = fields.prefixed("station-").map(|(id, v)| (id.to_string(), v.to_string())).collect();
        let form = LineForm {
            name: get("name"),
            description: get("description"),
            colour: get("colour"),
            map: get("map"),
            new_map: get("new_map"),
            positions,
            kind: get("kind"),
            n: get("n"),
            hours: get("hours"),
            days: get("days"),
            rule_json: get("rule_json"),
            cert_name: get("cert_name"),
            cert_description: get("cert_description"),
            cert_credits: get("cert_credits"),
            micro: super::nanomodules::MicroForm::read(get),
        };
        (get("csrf"), form)
    }

    /// The form of an existing line: a rule of one of the common shapes over exactly the
    /// stations fills the builder, anything else the JSON editor.
    fn of(view: &MetroLineView) -> LineForm {
        let spec = &view.spec;
        let positions = spec.stations.iter().enumerate().map(|(i, id)| (id.to_string(), (i + 1).to_string())).collect();
        let over_stations = |of: &[Rule]| {
            of.len() == spec.stations.len()
                && of.iter().zip(&spec.stations).all(|(r, s)| matches!(r, Rule::Nanomodule(id) if id == s))
        };
        let mut form = LineForm {
            name: spec.name.clone().unwrap_or_default(),
            description: spec.description.clone().unwrap_or_default(),
            colour: spec.colour.clone().unwrap_or_default(),
            map: spec.metro_map.map(|m| m.to_string()).unwrap_or_default(),
            positions,
            kind: "all".into(),
            cert_name: spec.certificate.as_ref().and_then(|c| c.name.clone()).unwrap_or_default(),
            cert_description: spec.certificate.as_ref().and_then(|c| c.description.clone()).unwrap_or_default(),
            cert_credits: spec.certificate.as_ref().and_then(|c| c.credits).map(|c| c.to_string()).unwrap_or_default(),
            micro: super::nanomodules::MicroForm::of(
                spec.certificate.as_ref().and_then(|c| c.micro_credential.as_ref()),
            ),
            ..LineForm::default()
        };
        match &spec.rule {
            None => {}
            Some(Rule::All(of)) if over_stations(of) => {}
            Some(Rule::AtLeast { n, of }) if over_stations(of) => {
                form.kind = "at_least".into();
                form.n = n.to_string();
            }
            Some(Rule::MinStudyHours { hours, of }) if over_stations(of) => {
                form.kind = "min_hours".into();
                form.hours = hours.to_string();
            }
            Some(Rule::Within { days, rule }) if matches!(rule.as_ref(), Rule::All(of) if over_stations(of)) => {
                form.kind = "within".into();
                form.days = days.to_string();
            }
            Some(Rule::InOrder(of)) if over_stations(of) => form.kind = "in_order".into(),
            Some(other) => {
                form.kind = "json".into();
                form.rule_json = serde_json::to_string_pretty(other).unwrap_or_default();
            }
        }
        form
    }

    /// Stations in the order of their positions (ties by the order on the page).
    fn stations(&self) -> Vec<String> {
        let mut picked: Vec<(f64, usize, &String)> = self
            .positions
            .iter()
            .enumerate()
            .filter_map(|(i, (id, pos))| pos.trim().parse::<f64>().ok().map(|p| (p, i, id)))
            .collect();
        picked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        picked.into_iter().map(|(_, _, id)| id.clone()).collect()
    }

    /// The API's JSON for this line. `map` is the metro map to use (made first if the form
    /// names a new one). Bad numbers and JSON are reported under the API's field names.
    fn json(&self, map: Option<String>, partners: &[Uuid]) -> Result<Value, ServiceError> {
        let stations = self.stations();
        let of: Vec<Value> = stations.iter().map(|s| json!({"nanomodule": s})).collect();
        let number = |field: &str, v: &str| -> Result<Value, ServiceError> {
            let v = v.trim();
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(|x| if x.fract() == 0.0 { json!(x as i64) } else { json!(x) })
                .ok_or_else(|| {
                    crate::domain::validate::Invalid::one(field, crate::problem!("not-a-number", "must be a number"))
                        .into()
                })
        };
        let rule = match self.kind.as_str() {
            "at_least" => json!({"at_least": {"n": number("rule.at_least.n", &self.n)?, "of": of}}),
            "min_hours" => {
                json!({"min_study_hours": {"hours": number("rule.min_study_hours.hours", &self.hours)?, "of": of}})
            }
            "within" => json!({"within": {"days": number("rule.within.days", &self.days)?, "rule": {"all": of}}}),
            "in_order" => json!({"in_order": of}),
            "json" => serde_json::from_str(&self.rule_json).map_err(|e| {
                ServiceError::from(crate::domain::validate::Invalid::one(
                    "rule",
                    crate::problem!("not-json", "is not valid JSON: {e}", e = e),
                ))
            })?,
            _ => Value::Null,
        };
        let text = |s: &str| if s.trim().is_empty() { Value::Null } else { json!(s.trim()) };
        let credits = match self.cert_credits.trim() {
            "" => Value::Null,
            c => number("certificate.credits", c)?,
        };
        let whole = |s: &str| match s.trim() {
            "" => Value::Null,
            v => v.parse::<i64>().map(|n| json!(n)).unwrap_or_else(|_| json!(v)),
        };
        Ok(json!({
            "certificate": {"name": text(&self.cert_name), "description": text(&self.cert_description), "credits": credits,
                            "micro_credential": self.micro.json(text, whole)},
            "name": text(&self.name),
            "description": text(&self.description),
            "colour": text(&self.colour),
            "metro_map": map.map(Value::String).unwrap_or(Value::Null),
            "stations": stations,
            "accepts_issuers": partners,
            "rule": rule,
        }))
    }
}

struct StationRow {
    choice: StationChoice,
    position: String,
}

struct MapChoice {
    id: String,
    name: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "console/line.html")]
struct LinePage {
    c: Chrome,
    view: Option<MetroLineView>,
    form: LineForm,
    maps: Vec<MapChoice>,
    stations: Vec<StationRow>,
    problems: Vec<String>,
    saved: bool,
    /// The rule tried on a learner: their address and the explanation, or `None` when they
    /// hold nothing of this issuer's.
    sample: Option<Sample>,
    /// The badge page's words for the micro-credential elements.
    p: &'static crate::http::texts::Texts,
}

/// A learner the rule was tried on: their address, and whether and why the rule holds (none
/// when they hold nothing of this issuer's).
type Sample = (String, Option<(bool, Vec<(usize, bool, String)>)>);

impl Console {
    #[allow(clippy::too_many_arguments)]
    async fn line_page(
        &self,
        s: &AppState,
        user: &ConsoleUser,
        issuer: Uuid,
        status: StatusCode,
        view: Option<MetroLineView>,
        form: LineForm,
        problems: Vec<String>,
        saved: bool,
        sample: Option<Sample>,
    ) -> Response {
        let loaded = async {
            let maps = s.service.metro_maps(&user.principal, issuer).await?;
            let choices = s.service.station_choices(&user.principal, issuer).await?;
            Ok::<_, ServiceError>((maps, choices))
        };
        let (maps, choices) = match loaded.await {
            Ok(x) => x,
            Err(e) => return self.fail(e),
        };
        let maps = maps
            .into_iter()
            .map(|m| MapChoice {
                selected: m.id.to_string() == form.map,
                id: m.id.to_string(),
                name: m.spec["name"].as_str().unwrap_or_default().to_string(),
            })
            .collect();
        let stations = choices
            .into_iter()
            .map(|choice| {
                let position = form
                    .positions
                    .iter()
                    .find(|(id, _)| *id == choice.id.to_string())
                    .map(|(_, p)| p.clone())
                    .unwrap_or_default();
                StationRow { choice, position }
            })
            .collect();
        let title = if view.is_some() { form.name.clone() } else { self.t().new_line.to_string() };
        let p = self.lang.texts();
        self.page(status, &LinePage { c: self.chrome(&title), view, form, maps, stations, problems, saved, sample, p })
    }
}

/// A posted line form from an issuer admin whose session it is.
fn posted(console: &Console, body: &Bytes) -> Result<(LineForm, ConsoleUser, Uuid), Response> {
    let (csrf, form) = LineForm::read(&Fields::parse(body));
    console.require_form(&csrf)?;
    let (user, issuer) = manager(console)?;
    Ok((form, user, issuer))
}

async fn new_form(State(s): State<AppState>, console: Console) -> Response {
    let (user, issuer) = match manager(&console) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let form = LineForm { kind: "all".into(), colour: "#0a7d3b".into(), ..LineForm::default() };
    console.line_page(&s, &user, issuer, StatusCode::OK, None, form, vec![], false, None).await
}

/// The partners whose modules the chosen stations are (the line must accept them).
async fn partners_of(s: &AppState, user: &ConsoleUser, issuer: Uuid, form: &LineForm) -> Vec<Uuid> {
    let chosen = form.stations();
    let mut partners: Vec<Uuid> = s
        .service
        .station_choices(&user.principal, issuer)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.partner.is_some() && chosen.contains(&c.id.to_string()))
        .map(|c| c.issuer_id)
        .collect();
    partners.sort();
    partners.dedup();
    partners
}

async fn create(State(s): State<AppState>, console: Console, body: Bytes) -> Response {
    let (form, user, issuer) = match posted(&console, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let partners = partners_of(&s, &user, issuer, &form).await;
    let result = async {
        let map = Some(form.map.clone()).filter(|m| !m.is_empty() && form.new_map.trim().is_empty());
        let doc = form.json(map, &partners)?;
        let spec: MetroLineSpec = super::spec(doc)?;
        // A new map and its first line are made together, or neither.
        match form.new_map.trim() {
            "" => s.service.create_metro_line(&user.principal, issuer, spec).await,
            name => {
                let map = MetroMapSpec { name: Some(name.to_string()), description: None };
                s.service.create_metro_line_on_new_map(&user.principal, issuer, map, spec).await
            }
        }
    };
    match result.await {
        Ok(view) => Redirect::to(&format!("/console/metro-lines/{}", view.id)).into_response(),
        Err(e) => match super::field_problems(console.lang, e) {
            Ok(problems) => {
                console
                    .line_page(&s, &user, issuer, StatusCode::UNPROCESSABLE_ENTITY, None, form, problems, false, None)
                    .await
            }
            Err(e) => console.fail(e),
        },
    }
}

async fn edit_form(
    State(s): State<AppState>,
    console: Console,
    Path(raw): Path<String>,
    uri: axum::http::Uri,
) -> Response {
    let (user, issuer) = match manager(&console) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let Ok(id) = raw.parse::<Uuid>() else { return console.fail(ServiceError::NotFound) };
    let q = Fields::query(&uri);
    let sample = Some(q.get("sample").trim().to_lowercase()).filter(|v| !v.is_empty());
    match s.service.metro_line(&user.principal, id, None).await {
        Ok(view) => {
            let form = LineForm::of(&view);
            let saved = q.get("saved") == "1";
            let sample = match sample {
                None => None,
                // The evaluator's own explanation for this learner, as saved (no new version).
                Some(who) => match s.service.metro_line_progress(&user.principal, id, "emailAddress", &who).await {
                    Ok(p) => {
                        let mut w = vec![];
                        super::learners::words(&p.explanation, 0, &mut w);
                        Some((who, Some((p.satisfied, w))))
                    }
                    Err(ServiceError::NotFound) => Some((who, None)),
                    Err(e) => return console.fail(e),
                },
            };
            console.line_page(&s, &user, issuer, StatusCode::OK, Some(view), form, vec![], saved, sample).await
        }
        Err(e) => console.fail(e),
    }
}

async fn update(State(s): State<AppState>, console: Console, Path(raw): Path<String>, body: Bytes) -> Response {
    let (form, user, issuer) = match posted(&console, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(id) = raw.parse::<Uuid>() else { return console.fail(ServiceError::NotFound) };
    let partners = partners_of(&s, &user, issuer, &form).await;
    let result = async {
        let map = Some(form.map.clone()).filter(|m| !m.is_empty());
        let mut patch = form.json(map, &partners)?;
        // The rule is replaced as a whole: a merge would mix the old shape with the new one.
        let current = s.service.metro_line(&user.principal, id, None).await?;
        let old = serde_json::to_value(&current.spec.rule).unwrap_or(Value::Null);
        patch["rule"] = crate::domain::validate::replacing_patch(&old, &patch["rule"]);
        s.service.update_metro_line(&user.principal, id, &patch).await
    };
    match result.await {
        Ok(view) => Redirect::to(&format!("/console/metro-lines/{}?saved=1", view.id)).into_response(),
        Err(e) => match super::field_problems(console.lang, e) {
            Ok(problems) => {
                let view = s.service.metro_line(&user.principal, id, None).await.ok();
                console
                    .line_page(&s, &user, issuer, StatusCode::UNPROCESSABLE_ENTITY, view, form, problems, false, None)
                    .await
            }
            Err(e) => console.fail(e),
        },
    }
}
