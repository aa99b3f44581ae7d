//! The SPA's files as a browser and a cache meet them: the variant the build precompressed
//! (`scripts/precompress`, run here on a directory of our own) that `Accept-Encoding` prefers,
//! brotli first, with its length, `Vary` and ETag; never a file compressed per request; 304 for
//! a conditional GET or HEAD that names the variant's ETag; HEAD without a body.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::{Method, Response, StatusCode};

use crate::helpers::{Options, TestApp, TestDb, spawn};

const BROWSER: &str = "gzip, deflate, br, zstd";
const SCRIPT: &str = "app-0123456789abcdef.js";

fn precompress(dist: &Path) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/precompress");
    let out = Command::new("bash").arg(script).arg(dist).output().unwrap();
    assert!(out.status.success(), "scripts/precompress: {}", String::from_utf8_lossy(&out.stderr));
}

fn page(n: usize) -> String {
    let rows: String = (0..200).map(|i| format!("<p>行 {i}: ろうきん賃金控除事務支援システム</p>\n")).collect();
    format!("<!doctype html><html><head><script type=\"module\">start({n})</script></head><body>{rows}</body></html>")
}

fn brotli_decode(bytes: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.br");
    std::fs::write(&file, bytes).unwrap();
    let out = Command::new("brotli").args(["-d", "-c"]).arg(&file).output().unwrap();
    assert!(out.status.success());
    out.stdout
}

fn gzip_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

async fn dist_app() -> (TestApp, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), page(1)).unwrap();
    let script: String = (0..500).map(|i| format!("export function f{i}(x) {{ return x * {i}; }}\n")).collect();
    std::fs::write(dist.join(SCRIPT), script).unwrap();
    std::fs::write(dist.join("tiny-0123456789abcdef.js"), "1").unwrap();
    // The staff bundle (frontend/admin/index.html → dist/admin/).
    std::fs::create_dir_all(dist.join("admin")).unwrap();
    std::fs::write(dist.join("admin/index.html"), page(9)).unwrap();
    std::fs::write(dist.join("admin/staff-0123456789abcdef.js"), "export const staff = 1;\n".repeat(50)).unwrap();
    precompress(&dist);
    // Written after the build's step: no variants, as a file copied in by hand would be.
    std::fs::write(dist.join("plain-0123456789abcdef.css"), "body { color: black; }\n".repeat(100)).unwrap();
    let app = spawn(&TestDb::Sqlite, Options { dist_dir: Some(dist.clone()), ..Options::default() }).await;
    (app, dist, dir)
}

async fn fetch(app: &TestApp, method: Method, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = app.client.request(method, app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn header(r: &Response, name: &str) -> Option<String> {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn each_request_gets_the_precompressed_variant_it_prefers() {
    let (app, dist, _dir) = dist_app().await;
    let original = std::fs::read(dist.join(SCRIPT)).unwrap();
    for (accept, encoding, suffix) in
        [(Some(BROWSER), Some("br"), ".br"), (Some("gzip"), Some("gzip"), ".gz"), (None, None, "")]
    {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("accept-encoding", a)).into_iter().collect();
        let r = fetch(&app, Method::GET, &format!("/{SCRIPT}"), &headers).await;
        assert_eq!(r.status(), 200, "{accept:?}");
        assert_eq!(header(&r, "content-encoding").as_deref(), encoding, "{accept:?}");
        assert_eq!(header(&r, "vary").as_deref(), Some("Accept-Encoding"));
        assert_eq!(header(&r, "cache-control").as_deref(), Some("public, max-age=31536000, immutable"));
        assert!(header(&r, "content-type").unwrap().starts_with("text/javascript"));
        let etag = header(&r, "etag").unwrap();
        let on_disk = std::fs::read(dist.join(format!("{SCRIPT}{suffix}"))).unwrap();
        assert_eq!(header(&r, "content-length"), Some(on_disk.len().to_string()), "{accept:?}");
        let body = r.bytes().await.unwrap();
        assert_eq!(body, on_disk, "{accept:?}: the file the build wrote, byte for byte");
        let decoded = match encoding {
            Some("br") => brotli_decode(&body),
            Some("gzip") => gzip_decode(&body),
            _ => body.to_vec(),
        };
        assert_eq!(decoded, original, "{accept:?}");
        assert!(on_disk.len() < original.len() || encoding.is_none());
        // Each representation has a tag of its own.
        assert_eq!(etag.ends_with("-br\""), encoding == Some("br"), "{etag}");
    }
}

#[tokio::test]
async fn nothing_is_compressed_per_request() {
    let (app, _dist, _dir) = dist_app().await;
    // No variant on disk (copied in after the build), or none smaller than the file: the file
    // as it is, whatever the request accepts.
    for path in ["/plain-0123456789abcdef.css", "/tiny-0123456789abcdef.js"] {
        let r = fetch(&app, Method::GET, path, &[("accept-encoding", BROWSER)]).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(header(&r, "content-encoding"), None, "{path}");
        assert_eq!(header(&r, "vary").as_deref(), Some("Accept-Encoding"), "{path}");
    }
    // The JSON API is still compressed as it answers.
    let r = fetch(&app, Method::GET, "/api/openapi.json", &[("accept-encoding", "gzip")]).await;
    assert_eq!(header(&r, "content-encoding").as_deref(), Some("gzip"));
}

#[tokio::test]
async fn head_and_conditional_requests() {
    let (app, dist, _dir) = dist_app().await;
    let path = format!("/{SCRIPT}");
    let br_len = std::fs::metadata(dist.join(format!("{SCRIPT}.br"))).unwrap().len();
    // HEAD: the GET's headers, no body.
    let r = fetch(&app, Method::HEAD, &path, &[("accept-encoding", BROWSER)]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-encoding").as_deref(), Some("br"));
    assert_eq!(header(&r, "content-length"), Some(br_len.to_string()));
    let br_tag = header(&r, "etag").unwrap();
    assert!(r.bytes().await.unwrap().is_empty());
    // If-None-Match with the variant's tag: 304, no body, the validators and Vary kept.
    for method in [Method::GET, Method::HEAD] {
        for tag in [br_tag.clone(), format!("W/{br_tag}"), format!("\"other\", {br_tag}"), "*".to_owned()] {
            let r = fetch(&app, method.clone(), &path, &[("accept-encoding", BROWSER), ("if-none-match", &tag)]).await;
            assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{method} {tag}");
            assert_eq!(header(&r, "etag"), Some(br_tag.clone()));
            assert_eq!(header(&r, "vary").as_deref(), Some("Accept-Encoding"));
            assert!(header(&r, "cache-control").unwrap().contains("immutable"));
            assert_eq!(header(&r, "content-encoding"), None);
            assert!(r.bytes().await.unwrap().is_empty());
        }
    }
    // The brotli variant's tag does not validate the gzip one a gzip-only request gets.
    let r = fetch(&app, Method::GET, &path, &[("accept-encoding", "gzip"), ("if-none-match", &br_tag)]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-encoding").as_deref(), Some("gzip"));
    // Only GET and HEAD.
    let r = fetch(&app, Method::POST, &path, &[]).await;
    assert_eq!(r.status(), 405);
    assert_eq!(header(&r, "allow").as_deref(), Some("GET, HEAD"));
    let r = fetch(&app, Method::DELETE, "/issuance/auth", &[]).await;
    assert_eq!(r.status(), 405);
}

#[tokio::test]
async fn the_page_is_revalidated_and_a_redeploy_is_served_at_once() {
    let (app, dist, _dir) = dist_app().await;
    let mut tags = Vec::new();
    for path in ["/", "/issuance/auth", "/index.html"] {
        let r = fetch(&app, Method::GET, path, &[("accept-encoding", BROWSER)]).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(header(&r, "cache-control").as_deref(), Some("no-cache"), "{path}");
        assert_eq!(header(&r, "content-encoding").as_deref(), Some("br"), "{path}");
        assert!(header(&r, "content-type").unwrap().starts_with("text/html"));
        let csp = header(&r, "content-security-policy").unwrap();
        assert_eq!(csp, backend::api::spa::page_csp(&page(1)), "{path}: the page's own policy");
        tags.push(header(&r, "etag").unwrap());
        assert_eq!(brotli_decode(&r.bytes().await.unwrap()), page(1).as_bytes());
    }
    assert!(tags.windows(2).all(|w| w[0] == w[1]), "{tags:?}");
    let r =
        fetch(&app, Method::GET, "/issuance/auth", &[("accept-encoding", BROWSER), ("if-none-match", &tags[0])]).await;
    assert_eq!(r.status(), 304);
    assert!(header(&r, "content-security-policy").is_some());
    // A redeploy: the new page and its variants, a new tag; the old tag no longer validates.
    std::fs::write(dist.join("index.html"), page(2)).unwrap();
    precompress(&dist);
    let r = fetch(&app, Method::GET, "/", &[("accept-encoding", BROWSER), ("if-none-match", &tags[0])]).await;
    assert_eq!(r.status(), 200);
    assert_ne!(header(&r, "etag").as_ref(), Some(&tags[0]));
    assert_eq!(header(&r, "content-security-policy").unwrap(), backend::api::spa::page_csp(&page(2)));
    assert_eq!(brotli_decode(&r.bytes().await.unwrap()), page(2).as_bytes());
}

#[tokio::test]
async fn the_staff_bundle_is_served_for_admin_and_only_there() {
    let (app, _dist, _dir) = dist_app().await;
    for (path, n) in [("/admin", 9), ("/admin/", 9), ("/admin/deeper", 9), ("/home", 1), ("/administration", 1)] {
        let r = fetch(&app, Method::GET, path, &[("accept-encoding", "gzip")]).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(header(&r, "cache-control").as_deref(), Some("no-cache"), "{path}");
        assert_eq!(header(&r, "content-security-policy").unwrap(), backend::api::spa::page_csp(&page(n)), "{path}");
        assert_eq!(gzip_decode(&r.bytes().await.unwrap()), page(n).as_bytes(), "{path}");
    }
    let r = fetch(&app, Method::GET, "/admin/staff-0123456789abcdef.js", &[("accept-encoding", BROWSER)]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-encoding").as_deref(), Some("br"));
    assert!(header(&r, "cache-control").unwrap().contains("immutable"));
}

#[tokio::test]
async fn every_spelling_of_a_path_is_the_same_file_and_header_lines_are_joined() {
    let (app, _dist, _dir) = dist_app().await;
    let plain = fetch(&app, Method::GET, &format!("/{SCRIPT}"), &[("accept-encoding", BROWSER)]).await;
    let tag = header(&plain, "etag").unwrap();
    for spelling in [format!("//{SCRIPT}"), format!("/./{SCRIPT}"), format!("/.//./{SCRIPT}")] {
        let r = fetch(&app, Method::GET, &spelling, &[("accept-encoding", BROWSER)]).await;
        assert_eq!(r.status(), 200, "{spelling}");
        assert_eq!(header(&r, "etag").as_ref(), Some(&tag), "{spelling}");
    }
    // Accept-Encoding on two lines is one list: brotli is accepted.
    let r =
        fetch(&app, Method::GET, &format!("/{SCRIPT}"), &[("accept-encoding", "identity"), ("accept-encoding", "br")])
            .await;
    assert_eq!(header(&r, "content-encoding").as_deref(), Some("br"));
    let r = fetch(
        &app,
        Method::GET,
        &format!("/{SCRIPT}"),
        &[("accept-encoding", BROWSER), ("if-none-match", "\"x\""), ("if-none-match", &tag)],
    )
    .await;
    assert_eq!(r.status(), 304);
}
