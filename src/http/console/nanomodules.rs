//! An issuer admin's nanomodules: create, edit (every save is a new version; earlier versions
//! stay visible and keep their badges), and a new badge image with a preview. The form becomes
//! the same JSON the API takes, so validation and audit events are the API's.

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Chrome, Console, Fields};
use crate::domain::nanomodule::NanomoduleSpec;
use crate::http::AppState;
use crate::service::{NanomoduleView, NewImage, ServiceError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/nanomodules/new", get(new_form).post(create))
        .route("/console/nanomodules/{id}", get(edit_form).post(update))
        .route("/console/nanomodules/{id}/image", post(upload_image))
        .route("/console/skills", get(skills).post(create_skill))
        .route("/console/skills/profiles", post(create_profile))
}

/// The form's fields, as typed.
#[derive(Default, Clone)]
struct ModuleForm {
    name: String,
    description: String,
    criteria: String,
    duration: String,
    framework: String,
    level: String,
    language: String,
    tags: String,
    validity: String,
    /// Weeks until the manager's impact review; `0` for none, empty for the default.
    review_weeks: String,
    skills: Vec<String>,
    micro: MicroForm,
}

/// The EU micro-credential elements, as typed (learning outcomes one per line).
#[derive(Default, Clone)]
pub(super) struct MicroForm {
    pub(super) on: bool,
    pub(super) outcomes: String,
    pub(super) assessment: String,
    pub(super) participation: String,
    pub(super) quality: String,
    pub(super) hours_per_ects: String,
    pub(super) prerequisites: String,
    pub(super) supervision: String,
    pub(super) grading: String,
    pub(super) integration: String,
    pub(super) further: String,
}

impl MicroForm {
    pub(super) fn of(spec: Option<&crate::domain::nanomodule::MicroCredentialSpec>) -> MicroForm {
        let Some(m) = spec else { return MicroForm::default() };
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        MicroForm {
            on: true,
            outcomes: m.learning_outcomes.join("\n"),
            assessment: text(&m.assessment_type),
            participation: text(&m.participation),
            quality: text(&m.quality_assurance),
            hours_per_ects: m.hours_per_ects.map(|h| h.to_string()).unwrap_or_default(),
            prerequisites: text(&m.prerequisites),
            supervision: text(&m.supervision),
            grading: text(&m.grading),
            integration: text(&m.integration),
            further: text(&m.further_information),
        }
    }

    pub(super) fn read(get: impl Fn(&str) -> String) -> MicroForm {
        MicroForm {
            on: !get("micro").is_empty(),
            outcomes: get("mc_outcomes"),
            assessment: get("mc_assessment"),
            participation: get("mc_participation"),
            quality: get("mc_quality"),
            hours_per_ects: get("mc_hours_per_ects"),
            prerequisites: get("mc_prerequisites"),
            supervision: get("mc_supervision"),
            grading: get("mc_grading"),
            integration: get("mc_integration"),
            further: get("mc_further"),
        }
    }

    /// `null` (not a micro-credential, or no longer one) or the API's object.
    pub(super) fn json(&self, text: impl Fn(&str) -> Value, number: impl Fn(&str) -> Value) -> Value {
        if !self.on {
            return Value::Null;
        }
        let outcomes: Vec<&str> = self.outcomes.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        json!({
            "learning_outcomes": outcomes,
            "assessment_type": text(&self.assessment),
            "participation": text(&self.participation),
            "quality_assurance": text(&self.quality),
            "hours_per_ects": number(&self.hours_per_ects),
            "prerequisites": text(&self.prerequisites),
            "supervision": text(&self.supervision),
            "grading": text(&self.grading),
            "integration": text(&self.integration),
            "further_information": text(&self.further),
        })
    }
}

impl ModuleForm {
    fn of(spec: &NanomoduleSpec) -> ModuleForm {
        ModuleForm {
            name: spec.name.clone().unwrap_or_default(),
            description: spec.description.clone().unwrap_or_default(),
            criteria: spec.criteria.as_ref().and_then(|c| c.narrative.clone()).unwrap_or_default(),
            duration: spec.duration_minutes.map(|d| d.to_string()).unwrap_or_default(),
            framework: spec
                .level
                .as_ref()
                .and_then(|l| serde_json::to_value(l.framework).ok())
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            level: spec.level.as_ref().map(|l| l.level.to_string()).unwrap_or_default(),
            language: spec.language.clone().unwrap_or_default(),
            tags: spec.tags.join(", "),
            validity: spec.validity_days.map(|d| d.to_string()).unwrap_or_default(),
            review_weeks: match spec.review_weeks() {
                None => "0".into(),
                Some(_) => spec.impact_review_weeks.map(|w| w.to_string()).unwrap_or_default(),
            },
            skills: spec.skills.iter().map(Uuid::to_string).collect(),
            micro: MicroForm::of(spec.micro_credential.as_ref()),
        }
    }

    fn read(fields: &Fields) -> (String, ModuleForm) {
        let get = |k: &str| fields.get(k).to_string();
        let form = ModuleForm {
            name: get("name"),
            description: get("description"),
            criteria: get("criteria"),
            duration: get("duration"),
            framework: get("framework"),
            level: get("level"),
            language: get("language"),
            tags: get("tags"),
            validity: get("validity"),
            review_weeks: get("review_weeks"),
            skills: fields.all("skills").into_iter().map(str::to_string).collect(),
            micro: MicroForm::read(get),
        };
        (get("csrf"), form)
    }

    /// The API's JSON for these fields: every field present (`null` when left empty), so it
    /// serves as a whole spec and as a merge patch alike. Numbers that are not numbers stay
    /// strings, and the API's validation names the field.
    fn json(&self) -> Value {
        let text = |s: &str| {
            let s = s.trim();
            if s.is_empty() { Value::Null } else { json!(s) }
        };
        let number = |s: &str| {
            let s = s.trim();
            if s.is_empty() { Value::Null } else { s.parse::<i64>().map(|n| json!(n)).unwrap_or_else(|_| json!(s)) }
        };
        let level = match (self.framework.trim(), self.level.trim()) {
            ("", "") => Value::Null,
            (f, l) => json!({"framework": f, "level": number(l)}),
        };
        let tags: Vec<&str> = self.tags.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
        json!({
            "name": text(&self.name),
            "description": text(&self.description),
            "criteria": if self.criteria.trim().is_empty() { Value::Null } else { json!({"narrative": self.criteria.trim()}) },
            "duration_minutes": number(&self.duration),
            "level": level,
            "language": text(&self.language),
            "tags": tags,
            "validity_days": number(&self.validity),
            "impact_review": if self.review_weeks.trim() == "0" { json!(false) } else { Value::Null },
            "impact_review_weeks": if self.review_weeks.trim() == "0" { Value::Null } else { number(&self.review_weeks) },
            "skills": self.skills,
            "micro_credential": self.micro.json(text, number),
        })
    }
}

struct SkillChoice {
    id: String,
    name: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "console/nanomodule.html")]
struct ModulePage {
    c: Chrome,
    view: Option<NanomoduleView>,
    form: ModuleForm,
    skills: Vec<SkillChoice>,
    problems: Vec<String>,
    saved: bool,
    /// The badge page's words for the micro-credential elements (one wording for both).
    p: &'static crate::http::texts::Texts,
}

impl Console {
    async fn module_page(
        &self,
        s: &AppState,
        status: StatusCode,
        view: Option<NanomoduleView>,
        form: ModuleForm,
        problems: Vec<String>,
        saved: bool,
    ) -> Response {
        let Some(user) = &self.user else { return Redirect::to("/console").into_response() };
        let Some(issuer) = view.as_ref().map(|v| v.issuer_id).or(user.principal.issuer_id) else {
            return self.fail(ServiceError::NotFound);
        };
        let skills = match s.service.skills(&user.principal, issuer).await {
            Ok(list) => list
                .into_iter()
                .map(|k| SkillChoice {
                    checked: form.skills.contains(&k.id.to_string()),
                    id: k.id.to_string(),
                    name: k.spec["name"].as_str().unwrap_or_default().to_string(),
                })
                .collect(),
            Err(e) => return self.fail(e),
        };
        let title = view.as_ref().map(|_| form.name.clone()).unwrap_or_else(|| self.t().new_module.to_string());
        let p = self.lang.texts();
        self.page(status, &ModulePage { c: self.chrome(&title), view, form, skills, problems, saved, p })
    }
}

fn manager(console: &Console) -> Result<crate::service::ConsoleUser, Response> {
    let user = console.require()?.clone();
    match user.principal.issuer_id {
        Some(issuer) if user.principal.check(issuer, crate::domain::access::Action::Manage).is_ok() => Ok(user),
        _ => Err(console.fail(ServiceError::Forbidden)),
    }
}

async fn new_form(State(s): State<AppState>, console: Console) -> Response {
    if let Err(r) = manager(&console) {
        return r;
    }
    console.module_page(&s, StatusCode::OK, None, ModuleForm::default(), vec![], false).await
}

async fn create(State(s): State<AppState>, console: Console, body: axum::body::Bytes) -> Response {
    let (csrf, form) = ModuleForm::read(&Fields::parse(&body));
    let user = match console.require_form(&csrf) {
        Ok(u) => u.clone(),
        Err(r) => return r,
    };
    let Some(issuer) = user.principal.issuer_id else { return console.fail(ServiceError::Forbidden) };
    let result = async {
        s.service.create_nanomodule(&user.principal, issuer, super::spec::<NanomoduleSpec>(form.json())?).await
    }
    .await;
    match result {
        Ok(view) => Redirect::to(&format!("/console/nanomodules/{}", view.id)).into_response(),
        Err(e) => match super::field_problems(console.lang, e) {
            Ok(problems) => {
                console.module_page(&s, StatusCode::UNPROCESSABLE_ENTITY, None, form, problems, false).await
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
    let user = match manager(&console) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Ok(id) = raw.parse::<Uuid>() else { return console.fail(ServiceError::NotFound) };
    match s.service.nanomodule(&user.principal, id, None).await {
        Ok(view) => {
            let saved = uri.query().is_some_and(|q| q.contains("saved=1"));
            let form = ModuleForm::of(&view.spec);
            console.module_page(&s, StatusCode::OK, Some(view), form, vec![], saved).await
        }
        Err(e) => console.fail(e),
    }
}

async fn update(
    State(s): State<AppState>,
    console: Console,
    Path(raw): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let (csrf, form) = ModuleForm::read(&Fields::parse(&body));
    let user = match console.require_form(&csrf) {
        Ok(u) => u.clone(),
        Err(r) => return r,
    };
    let Ok(id) = raw.parse::<Uuid>() else { return console.fail(ServiceError::NotFound) };
    match s.service.update_nanomodule(&user.principal, id, &form.json()).await {
        Ok(view) => Redirect::to(&format!("/console/nanomodules/{}?saved=1", view.id)).into_response(),
        Err(e) => match super::field_problems(console.lang, e) {
            Ok(problems) => {
                let view = s.service.nanomodule(&user.principal, id, None).await.ok();
                console.module_page(&s, StatusCode::UNPROCESSABLE_ENTITY, view, form, problems, false).await
            }
            Err(e) => console.fail(e),
        },
    }
}

async fn upload_image(
    State(s): State<AppState>,
    console: Console,
    Path(raw): Path<String>,
    mut multipart: Multipart,
) -> Response {
    let mut csrf = String::new();
    let mut image = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let content_type = field.content_type().unwrap_or_default().to_string();
                let Ok(bytes) = field.bytes().await else {
                    return console.message(StatusCode::BAD_REQUEST, console.t().problem);
                };
                match name.as_str() {
                    "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
                    "image" if !bytes.is_empty() => image = Some(NewImage { content_type, bytes: bytes.to_vec() }),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => return console.message(StatusCode::BAD_REQUEST, console.t().problem),
        }
    }
    let user = match console.require_form(&csrf) {
        Ok(u) => u.clone(),
        Err(r) => return r,
    };
    let Ok(id) = raw.parse::<Uuid>() else { return console.fail(ServiceError::NotFound) };
    let Some(image) = image else {
        return console.message(StatusCode::UNPROCESSABLE_ENTITY, console.t().image_hint);
    };
    match s.service.set_nanomodule_image(&user.principal, id, image).await {
        Ok(view) => Redirect::to(&format!("/console/nanomodules/{}?saved=1", view.id)).into_response(),
        Err(e) => console.fail(e),
    }
}

#[derive(Template)]
#[template(path = "console/skills.html")]
struct SkillsPage {
    c: Chrome,
    /// (name, public URL, framework link, id)
    skills: Vec<(String, String, Option<String>, String)>,
    /// (name, public URL, how many skills)
    profiles: Vec<(String, String, usize)>,
    problems: Vec<String>,
}

impl Console {
    async fn skills_page(&self, s: &AppState, status: StatusCode, problems: Vec<String>) -> Result<Response, Response> {
        let user = manager(self)?;
        let issuer = user.principal.issuer_id.ok_or_else(|| self.fail(ServiceError::Forbidden))?;
        let loaded = async {
            Ok::<_, ServiceError>((
                s.service.skills(&user.principal, issuer).await?,
                s.service.skills_profiles(&user.principal, issuer).await?,
            ))
        };
        let (skills, profiles) = loaded.await.map_err(|e| self.fail(e))?;
        let name = |v: &serde_json::Value| v["name"].as_str().unwrap_or_default().to_string();
        let skills = skills
            .into_iter()
            .map(|k| {
                let target = k.spec["alignment"]["targetUrl"].as_str().map(str::to_string);
                (name(&k.spec), k.url, target, k.id.to_string())
            })
            .collect();
        let profiles = profiles
            .into_iter()
            .map(|p| (name(&p.spec), p.url, p.spec["skills"].as_array().map(Vec::len).unwrap_or(0)))
            .collect();
        Ok(self.page(status, &SkillsPage { c: self.chrome(self.t().skills_title), skills, profiles, problems }))
    }
}

/// The issuer's skills (what nanomodules teach), each optionally aligned to a framework.
async fn skills(State(s): State<AppState>, console: Console) -> Result<Response, Response> {
    console.skills_page(&s, StatusCode::OK, vec![]).await
}

async fn create_skill(
    State(s): State<AppState>,
    console: Console,
    body: axum::body::Bytes,
) -> Result<Response, Response> {
    let form = Fields::parse(&body);
    let field = |k: &str| form.get(k).trim().to_string();
    let user = console.require_form(&field("csrf"))?.clone();
    let issuer = user.principal.issuer_id.ok_or_else(|| console.fail(ServiceError::Forbidden))?;
    let some = |v: String| Some(v).filter(|v| !v.is_empty());
    let alignment = some(field("url")).map(|url| json!({"targetUrl": url, "targetName": field("name")}));
    let doc = json!({"name": some(field("name")), "description": some(field("description")), "alignment": alignment});
    let result = async { s.service.create_skill(&user.principal, issuer, super::spec(doc)?).await }.await;
    skills_after(&s, &console, result.map(|_| ())).await
}

/// After a skill or a profile: back to the list, or the list again with the field errors.
async fn skills_after(s: &AppState, console: &Console, result: Result<(), ServiceError>) -> Result<Response, Response> {
    match result {
        Ok(()) => Ok(Redirect::to("/console/skills").into_response()),
        Err(e) => {
            let problems = super::field_problems(console.lang, e).map_err(|e| console.fail(e))?;
            console.skills_page(s, StatusCode::UNPROCESSABLE_ENTITY, problems).await
        }
    }
}

/// A skills profile: a named set of the issuer's skills (e.g. a job's).
async fn create_profile(
    State(s): State<AppState>,
    console: Console,
    body: axum::body::Bytes,
) -> Result<Response, Response> {
    let form = Fields::parse(&body);
    let field = |k: &str| form.get(k).trim().to_string();
    let user = console.require_form(&field("csrf"))?.clone();
    let issuer = user.principal.issuer_id.ok_or_else(|| console.fail(ServiceError::Forbidden))?;
    let skills = form.all("skills");
    let some = |v: String| Some(v).filter(|v| !v.is_empty());
    let doc = json!({"name": some(field("name")), "description": some(field("description")), "skills": skills});
    let result = async { s.service.create_skills_profile(&user.principal, issuer, super::spec(doc)?).await }.await;
    skills_after(&s, &console, result.map(|_| ())).await
}
