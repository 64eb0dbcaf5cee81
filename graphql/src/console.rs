//! The web console and the offline GraphiQL page, served from the console's build directory
//! (`PULSE_CONSOLE_DIR`, default `console/dist` relative to the working directory, else
//! `../../console/dist` relative to the executable, which is where `make up` builds it).
//!
//! - `/assets/*`: content-hashed files, `Cache-Control: public, max-age=31536000, immutable`;
//! - any other path that is a file in the directory: that file, `no-cache`;
//! - any other path (the console's client-side routes): `index.html`, `no-cache`;
//! - no `index.html` / no `graphiql.html`: a page that says how to build them (never a CDN page).

use std::path::{Component, Path, PathBuf};

use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};

use crate::AppState;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";

/// Where the console's files are (`None`: not built).
#[derive(Debug, Clone)]
pub struct ConsoleDir(pub Option<PathBuf>);

impl ConsoleDir {
    /// `PULSE_CONSOLE_DIR`, else `console/dist`, else `<exe>/../../console/dist`.
    pub fn from_env() -> Self {
        let configured = pulse_core::config::string("PULSE_CONSOLE_DIR", "console/dist");
        let mut candidates = vec![PathBuf::from(&configured)];
        if let Ok(exe) = std::env::current_exe()
            && let Some(dir) = exe.parent()
        {
            candidates.push(dir.join("../../console/dist"));
        }
        Self(candidates.into_iter().find(|p| p.is_dir()))
    }

    fn file(&self, relative: &str) -> Option<PathBuf> {
        let dir = self.0.as_ref()?;
        let relative = Path::new(relative.trim_start_matches('/'));
        // only plain names: no `..`, no absolute paths
        if !relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        {
            return None;
        }
        let path = dir.join(relative);
        path.is_file().then_some(path)
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "txt" => "text/plain; charset=utf-8",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

async fn send(path: &Path, cache: &'static str) -> Response {
    match tokio::fs::read(path).await {
        Ok(bytes) => {
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(path)),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            response
        }
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Every path the router does not claim: the console (static files with SPA fallback).
pub async fn serve(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if request.method() != axum::http::Method::GET && request.method() != axum::http::Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let console = &state.console;
    if let Some(file) = console.file(&path) {
        let cache = if path.starts_with("/assets/") {
            IMMUTABLE
        } else {
            NO_CACHE
        };
        return send(&file, cache).await;
    }
    if path.starts_with("/assets/") {
        // a missing hashed asset is a 404, not the app shell (which would be cached as JS)
        return StatusCode::NOT_FOUND.into_response();
    }
    match console.file("index.html") {
        Some(index) => send(&index, NO_CACHE).await,
        None => placeholder(
            "The web console is not built",
            "Build it with <code>make console</code> (or <code>cd console &amp;&amp; npm ci &amp;&amp; npm run build</code>), \
             or point <code>PULSE_CONSOLE_DIR</code> at its <code>dist</code> directory. \
             The API is at <a href=\"/graphql\">/graphql</a>.",
        ),
    }
}

/// The GraphiQL page (`GET /graphql` from a browser): the console's offline build.
pub async fn graphiql(console: &ConsoleDir) -> Response {
    match console.file("graphiql.html") {
        Some(page) => send(&page, NO_CACHE).await,
        None => placeholder(
            "GraphiQL is not built",
            "Pulse serves GraphiQL from its own files (no CDN, so it works offline). Build it with \
             <code>make console</code>, which writes <code>console/dist/graphiql.html</code>, or set \
             <code>PULSE_CONSOLE_DIR</code>. Meanwhile, POST queries to <code>/graphql</code> with \
             <code>Authorization: Bearer $PULSE_ADMIN_TOKEN</code>.",
        ),
    }
}

fn placeholder(title: &str, body: &str) -> Response {
    let mut response = Html(format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Pulse — {title}</title>\
         <body style=\"font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto\">\
         <h1>{title}</h1><p>{body}</p></body></html>"
    ))
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_CACHE));
    response
}
