//! Serves the Trunk-built SPA from `dist/`: files as they are (hashed assets cached for a year,
//! immutable), and `index.html` (never cached) for every client-side route, so deep links work.

use std::path::{Component, Path, PathBuf};

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use common::{ErrorBody, ErrorCode};

use crate::startup::AppState;

/// Unknown `/api/...` paths: a JSON 404, never the SPA.
pub async fn api_not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .insert_header(("Cache-Control", "no-store"))
        .json(ErrorBody::new(ErrorCode::NotFound, "指定されたAPIは存在しません。"))
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Trunk names built assets `name-<16 hex>.ext` (and `_bg.wasm`): those never change.
fn is_hashed(path: &Path) -> bool {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, h)| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Maps a URL path to a file under `root`, refusing anything that is not a plain relative path.
fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let rel = Path::new(url_path.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(root.join(rel))
}

pub async fn serve(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let root = &state.config.dist_dir;
    if let Some(file) = resolve(root, req.path()).filter(|p| p.is_file())
        && let Ok(bytes) = tokio::fs::read(&file).await
    {
        let cache = if is_hashed(&file) { "public, max-age=31536000, immutable" } else { "no-cache" };
        return HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, content_type(&file)))
            .insert_header((header::CACHE_CONTROL, cache))
            .body(bytes);
    }
    // A missing asset (a path with an extension) is a real 404; anything else is a client route.
    let last = req.path().rsplit('/').next().unwrap_or("");
    if last.contains('.') {
        return HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("見つかりません");
    }
    match tokio::fs::read(root.join("index.html")).await {
        Ok(bytes) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(bytes),
        Err(e) => {
            tracing::error!(error = %e, dist = %root.display(), "index.html is missing: build the frontend with trunk");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("画面ファイルが見つかりません（管理者向け: trunk build --release を実行してください）。")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_trunk_hashes() {
        assert!(is_hashed(Path::new("frontend-3f2a9c0d1e2b4a5c.js")));
        assert!(is_hashed(Path::new("frontend-3f2a9c0d1e2b4a5c_bg.wasm")));
        assert!(!is_hashed(Path::new("index.html")));
        assert!(!is_hashed(Path::new("nowasm.js")));
    }

    #[test]
    fn refuses_path_traversal() {
        let root = Path::new("/srv/dist");
        assert_eq!(resolve(root, "/app.js"), Some(PathBuf::from("/srv/dist/app.js")));
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/a/../../x"), None);
    }
}
