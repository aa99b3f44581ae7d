//! Serves the Trunk-built SPA from `dist/`: files as they are (hashed assets cached for a year,
//! immutable), and `index.html` (never cached) for every client-side route, so deep links work.
//!
//! `index.html` carries the page's Content-Security-Policy: scripts only from this origin plus
//! the SHA-256 hashes of the inline scripts Trunk writes into the page (its WASM loader), so no
//! `'unsafe-inline'` for scripts; `'wasm-unsafe-eval'` lets the WASM compile. Every other
//! response keeps the default `default-src 'none'` of [`crate::startup`].

use std::path::{Component, Path, PathBuf};

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use common::{ErrorBody, ErrorCode};

use crate::state::AppState;

/// Unknown `/api/...` paths: a JSON 404, never the SPA.
pub async fn api_not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .insert_header(("Cache-Control", "no-store"))
        .json(ErrorBody::new(ErrorCode::NotFound, "指定されたAPIは存在しません。"))
}

/// A known `/api/...` path called with a method it does not have: 405 with `Allow` (RFC 9110).
pub async fn method_not_allowed(allow: &'static str) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header(("Allow", allow))
        .insert_header(("Cache-Control", "no-store"))
        .json(ErrorBody::new(ErrorCode::MethodNotAllowed, "このAPIはこの方法では呼び出せません。"))
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

/// The SHA-256 of every inline `<script>` body of `html`, base64, as CSP sources.
fn inline_script_hashes(html: &str) -> Vec<String> {
    use sha2::{Digest, Sha256};
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else { break };
        let tag = &after[..tag_end];
        let body_and_rest = &after[tag_end + 1..];
        let Some(close) = body_and_rest.find("</script>") else { break };
        if !tag.contains(" src=") {
            let digest = Sha256::digest(&body_and_rest.as_bytes()[..close]);
            hashes.push(format!(
                "'sha256-{}'",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, digest)
            ));
        }
        rest = &body_and_rest[close..];
    }
    hashes
}

/// The Content-Security-Policy of the page `html`.
pub fn page_csp(html: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'{}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'",
        inline_script_hashes(html).iter().map(|h| format!(" {h}")).collect::<String>()
    )
}

/// An HTML page and its CSP, kept until the file changes: a page load costs one `stat` instead of
/// a read and a hash, and a redeployed `dist/` is still picked up. "Changes" is judged by inode,
/// change time (which no copy tool preserves, unlike the modification time) and length.
#[derive(Clone)]
struct Page {
    stamp: (u64, i64, i64, u64),
    bytes: web::Bytes,
    csp: std::sync::Arc<str>,
}

static PAGES: std::sync::Mutex<Vec<(PathBuf, Page)>> = std::sync::Mutex::new(Vec::new());

async fn html_page(file: &Path) -> std::io::Result<HttpResponse> {
    use std::os::unix::fs::MetadataExt;
    let meta = tokio::fs::metadata(file).await?;
    let stamp = (meta.ino(), meta.ctime(), meta.ctime_nsec(), meta.len());
    let cached = PAGES.lock().ok().and_then(|pages| {
        pages.iter().find(|(p, page)| p == file && page.stamp == stamp).map(|(_, page)| page.clone())
    });
    let page = match cached {
        Some(page) => page,
        None => {
            let bytes = web::Bytes::from(tokio::fs::read(file).await?);
            let csp = page_csp(&String::from_utf8_lossy(&bytes)).into();
            let page = Page { stamp, bytes, csp };
            if let Ok(mut pages) = PAGES.lock() {
                pages.retain(|(p, _)| p != file);
                pages.push((file.to_owned(), page.clone()));
            }
            page
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, &*page.csp))
        .body(page.bytes))
}

pub async fn serve(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let root = &state.config.dist_dir;
    if let Some(file) = resolve(root, req.path()).filter(|p| p.is_file()) {
        if file.extension().is_some_and(|e| e == "html") {
            if let Ok(page) = html_page(&file).await {
                return page;
            }
        } else if let Ok(bytes) = tokio::fs::read(&file).await {
            let cache = if is_hashed(&file) { "public, max-age=31536000, immutable" } else { "no-cache" };
            return HttpResponse::Ok()
                .insert_header((header::CONTENT_TYPE, content_type(&file)))
                .insert_header((header::CACHE_CONTROL, cache))
                .body(bytes);
        }
    }
    // A missing asset (a path with an extension) is a real 404; anything else is a client route.
    let last = req.path().rsplit('/').next().unwrap_or("");
    if last.contains('.') {
        return HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("見つかりません");
    }
    match html_page(&root.join("index.html")).await {
        Ok(page) => page,
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
    fn csp_hashes_inline_scripts_only() {
        let html = "<head><script src=\"/a.js\"></script><script type=\"module\">alert(1)</script></head>";
        let csp = page_csp(html);
        // echo -n 'alert(1)' | openssl dgst -sha256 -binary | base64
        assert!(csp.contains("'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"), "{csp}");
        assert_eq!(csp.matches("'sha256-").count(), 1, "{csp}");
        let script_src = csp.split(';').find(|d| d.trim_start().starts_with("script-src")).unwrap();
        assert!(!script_src.contains("unsafe-inline"), "{script_src}");
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"));
    }

    #[tokio::test]
    async fn pages_are_cached_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("index.html");
        let csp_of =
            |r: HttpResponse| r.headers().get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap().to_owned();
        std::fs::write(&file, "<script>a()</script>").unwrap();
        let first = csp_of(html_page(&file).await.unwrap());
        assert_eq!(first, csp_of(html_page(&file).await.unwrap()));
        // A redeploy (other content and length) is served at once with its own hash.
        std::fs::write(&file, "<script>bb()</script>").unwrap();
        let second = csp_of(html_page(&file).await.unwrap());
        assert_ne!(first, second);
        assert_eq!(second, page_csp("<script>bb()</script>"));
        // Same length and the old modification time restored (as `cp -p` or `rsync -a` do): the
        // change time still tells.
        let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
        std::fs::write(&file, "<script>cc()</script>").unwrap();
        std::fs::File::options().write(true).open(&file).unwrap().set_modified(mtime).unwrap();
        assert_eq!(csp_of(html_page(&file).await.unwrap()), page_csp("<script>cc()</script>"));
    }

    #[test]
    fn refuses_path_traversal() {
        let root = Path::new("/srv/dist");
        assert_eq!(resolve(root, "/app.js"), Some(PathBuf::from("/srv/dist/app.js")));
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/a/../../x"), None);
    }
}
