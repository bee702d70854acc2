//! Metro maps for an issuer admin: each map as its picture with the lines drawn on it, a form
//! for a new map and one to rename or describe a map. Lines are put on a map in the line form;
//! the picture is the public `/metro-maps/{id}/map.svg`, drawn from the lines.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::json;
use uuid::Uuid;

use super::{Chrome, Console, Fields};
use crate::http::AppState;
use crate::service::{CatalogView, ServiceError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/metro-maps", get(list).post(create))
        .route("/console/metro-maps/{id}", get(one).post(update))
}

/// A map as the pages show it: its words, and the issuer's lines on it (id, name).
struct MapEntry {
    id: Uuid,
    name: String,
    description: String,
    lines: Vec<(Uuid, String)>,
}

#[derive(Template)]
#[template(path = "console/maps.html")]
struct MapsPage {
    c: Chrome,
    maps: Vec<MapEntry>,
    /// The new map's fields as typed (shown again with `problems`).
    name: String,
    description: String,
    problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/map.html")]
struct MapPage {
    c: Chrome,
    map: MapEntry,
    saved: bool,
    problems: Vec<String>,
}

impl Console {
    /// The issuer's maps with the lines each carries, read for the admin signed in.
    async fn maps(&self, s: &AppState) -> Result<Vec<MapEntry>, Response> {
        let (user, issuer) = super::lines::manager(self)?;
        let loaded = async {
            let maps = s.service.metro_maps(&user.principal, issuer).await?;
            let lines = s.service.metro_lines(&user.principal, issuer).await?;
            Ok::<_, ServiceError>((maps, lines))
        };
        let (maps, lines) = loaded.await.map_err(|e| self.fail(e))?;
        Ok(maps
            .into_iter()
            .map(|m| {
                let on_it = lines
                    .iter()
                    .filter(|l| l.spec.metro_map == Some(m.id))
                    .map(|l| (l.id, l.spec.name.clone().unwrap_or_default()))
                    .collect();
                entry(m, on_it)
            })
            .collect())
    }

    async fn maps_page(
        &self,
        s: &AppState,
        status: StatusCode,
        (name, description): (String, String),
        problems: Vec<String>,
    ) -> Response {
        match self.maps(s).await {
            Ok(maps) => {
                let c = self.chrome(self.t().maps_title);
                self.page(status, &MapsPage { c, maps, name, description, problems })
            }
            Err(r) => r,
        }
    }

    async fn map_page(
        &self,
        s: &AppState,
        id: Uuid,
        status: StatusCode,
        saved: bool,
        problems: Vec<String>,
    ) -> Response {
        let map = match self.maps(s).await {
            Ok(maps) => maps.into_iter().find(|m| m.id == id),
            Err(r) => return r,
        };
        match map {
            Some(map) => {
                let c = self.chrome(self.t().metro_map);
                self.page(status, &MapPage { c, map, saved, problems })
            }
            None => self.fail(ServiceError::NotFound),
        }
    }
}

fn entry(m: CatalogView, lines: Vec<(Uuid, String)>) -> MapEntry {
    let text = |k: &str| m.spec[k].as_str().unwrap_or_default().to_string();
    MapEntry { id: m.id, name: text("name"), description: text("description"), lines }
}

/// The map's fields from a posted form, after its CSRF token.
fn posted(console: &Console, body: &Bytes) -> Result<(crate::service::ConsoleUser, String, String), Response> {
    let form = Fields::parse(body);
    let user = console.require_form(form.get("csrf"))?.clone();
    Ok((user, form.get("name").trim().to_string(), form.get("description").trim().to_string()))
}

async fn list(State(s): State<AppState>, console: Console) -> Response {
    console.maps_page(&s, StatusCode::OK, Default::default(), vec![]).await
}

async fn create(State(s): State<AppState>, console: Console, body: Bytes) -> Response {
    let (user, name, description) = match posted(&console, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(issuer) = user.principal.issuer_id else { return console.fail(ServiceError::Forbidden) };
    let doc = json!({"name": name, "description": Some(&description).filter(|d| !d.is_empty())});
    let made = async { s.service.create_metro_map(&user.principal, issuer, super::spec(doc)?).await }.await;
    match made {
        Ok(view) => Redirect::to(&format!("/console/metro-maps/{}", view.id)).into_response(),
        Err(e) => match super::field_problems(console.lang, e) {
            Ok(problems) => {
                console.maps_page(&s, StatusCode::UNPROCESSABLE_ENTITY, (name, description), problems).await
            }
            Err(e) => console.fail(e),
        },
    }
}

async fn one(State(s): State<AppState>, console: Console, Path(raw): Path<String>, uri: axum::http::Uri) -> Response {
    let Ok(id) = raw.parse::<Uuid>() else { return console.fail(ServiceError::NotFound) };
    let saved = Fields::query(&uri).get("saved") == "1";
    console.map_page(&s, id, StatusCode::OK, saved, vec![]).await
}

async fn update(State(s): State<AppState>, console: Console, Path(raw): Path<String>, body: Bytes) -> Response {
    let (user, name, description) = match posted(&console, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(id) = raw.parse::<Uuid>() else { return console.fail(ServiceError::NotFound) };
    // An emptied description is removed (merge patch `null`), not stored as "".
    let patch = json!({"name": name, "description": Some(description).filter(|d| !d.is_empty())});
    match s.service.update_metro_map(&user.principal, id, &patch).await {
        Ok(view) => Redirect::to(&format!("/console/metro-maps/{}?saved=1", view.id)).into_response(),
        Err(e) => match super::field_problems(console.lang, e) {
            Ok(problems) => console.map_page(&s, id, StatusCode::UNPROCESSABLE_ENTITY, false, problems).await,
            Err(e) => console.fail(e),
        },
    }
}
