//! Serves the Trunk-built SPA from `dist/`: files as they are (hashed assets cached for a year,
//! immutable), and `index.html` (revalidated every time) for every client-side route, so deep
//! links work.
//!
//! Delivery: the build (`scripts/precompress`, Trunk's post-build hook) writes `<file>.br` and
//! `<file>.gz` beside each file at the best compression. A request gets the variant its
//! `Accept-Encoding` prefers (brotli first), with `Vary: Accept-Encoding`, the variant's own
//! ETag and its length; `If-None-Match` with that ETag gets a 304 without a body, and HEAD the
//! headers alone. Nothing here compresses a file: each file and its variants are read once into
//! memory and kept until one of them changes on disk.
//!
//! `index.html` carries the page's Content-Security-Policy: scripts only from this origin plus
//! the SHA-256 hashes of the inline scripts Trunk writes into the page (its WASM loader), so no
//! `'unsafe-inline'` for scripts; `'wasm-unsafe-eval'` lets the WASM compile. Every other
//! response keeps the default `default-src 'none'` of [`crate::startup`].

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use actix_web::{HttpRequest, HttpResponse, http::Method, http::header, web};
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
/// The result is rebuilt from the path's segments, so every spelling of a file (`/a//b`,
/// `/a/./b`) is the same path: one entry of the file cache, not one per spelling.
fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let mut file = root.to_path_buf();
    for component in Path::new(url_path.trim_start_matches('/')).components() {
        let Component::Normal(segment) = component else { return None };
        file.push(segment);
    }
    Some(file)
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

/// A content coding of a file: the two the build writes beside it, and the file as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    Brotli,
    Gzip,
    Identity,
}

impl Coding {
    /// The codings the build writes, most preferred first (brotli is the smaller at its best).
    const PRECOMPRESSED: [Coding; 2] = [Coding::Brotli, Coding::Gzip];

    /// Its `Content-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
            Coding::Identity => "identity",
        }
    }

    /// `file` + the suffix the build gives this coding's variant.
    fn variant_of(self, file: &Path) -> PathBuf {
        let mut name = file.as_os_str().to_owned();
        name.push(match self {
            Coding::Brotli => ".br",
            Coding::Gzip => ".gz",
            Coding::Identity => "",
        });
        PathBuf::from(name)
    }

    fn is_named(self, name: &str) -> bool {
        name.eq_ignore_ascii_case(self.token()) || (self == Coding::Gzip && name.eq_ignore_ascii_case("x-gzip"))
    }
}

/// The q-value an `Accept-Encoding` value gives `coding` (RFC 9110 §12.5.3): its own entry, else
/// that of `*`, else none (`None`). A q-value that does not parse, or is out of range, is 0.
fn quality(accept: &str, coding: Coding) -> Option<f32> {
    let mut star = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(1.0, |(_, v)| v.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)).unwrap_or(0.0));
        if coding.is_named(name) {
            return Some(q);
        }
        if name == "*" {
            star = Some(q);
        }
    }
    star
}

/// The coding to send for a request's `Accept-Encoding`, among the variants `available` on disk
/// (most preferred first): the highest q-value wins and a tie goes to the earlier (smaller)
/// variant. The file as it is (identity) is the fallback: with no header, when nothing is
/// acceptable, and when the header ranks it above every variant; left unnamed, it ranks below
/// any variant the request accepts.
pub fn negotiate(accept: Option<&str>, available: &[Coding]) -> Coding {
    let Some(accept) = accept else { return Coding::Identity };
    let mut best = (Coding::Identity, quality(accept, Coding::Identity).unwrap_or(0.001));
    for &coding in available.iter().rev() {
        let q = quality(accept, coding).unwrap_or(0.0);
        if q > 0.0 && q >= best.1 {
            best = (coding, q);
        }
    }
    best.0
}

/// Whether an `If-None-Match` value names `etag` (weak comparison, RFC 9110 §13.1.2), or is `*`.
fn none_match(if_none_match: &str, etag: &str) -> bool {
    let weak = |t: &str| t.strip_prefix("W/").unwrap_or(t).to_owned();
    let etag = weak(etag);
    if_none_match.split(',').map(str::trim).any(|t| t == "*" || weak(t) == etag)
}

/// What identifies a file's version on disk: inode, change time (which no copy tool preserves,
/// unlike the modification time) and length; `None` when it is not a regular file.
type Stamp = Option<(u64, i64, i64, u64)>;

fn stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok().filter(std::fs::Metadata::is_file)?;
    Some((meta.ino(), meta.ctime(), meta.ctime_nsec(), meta.len()))
}

/// The stamps of a file and of each variant the build may have written beside it.
fn stamps(file: &Path) -> [Stamp; 3] {
    let [first, second] = Coding::PRECOMPRESSED.map(|coding| stamp(&coding.variant_of(file)));
    [stamp(file), first, second]
}

/// One coding of a file, as sent.
struct Variant {
    coding: Coding,
    bytes: web::Bytes,
    etag: String,
}

/// A file of `dist/` as served, in every coding the build wrote for it.
struct Asset {
    /// Of the file and its variants when they were read.
    stamps: [Stamp; 3],
    content_type: &'static str,
    cache_control: &'static str,
    /// The page's policy (HTML only).
    csp: Option<Arc<str>>,
    /// The file itself first, then its variants in [`Coding::PRECOMPRESSED`] order.
    variants: Vec<Variant>,
}

impl Asset {
    /// Reads `file` and its variants (blocking). Each representation's ETag is the SHA-256 of its
    /// own bytes (first 8), so a variant left over from an older build never passes for the new
    /// one; the coding is appended to tell them apart in logs.
    fn read(root: &Path, file: &Path, stamps: [Stamp; 3]) -> std::io::Result<Self> {
        let tag = |bytes: &[u8], coding: Coding| {
            use sha2::{Digest, Sha256};
            let hash = hex::encode(&Sha256::digest(bytes)[..8]);
            if coding == Coding::Identity { format!("\"{hash}\"") } else { format!("\"{hash}-{}\"", coding.token()) }
        };
        let bytes = std::fs::read(file)?;
        let html = file.extension().is_some_and(|e| e == "html");
        let csp = html.then(|| page_csp(&String::from_utf8_lossy(&bytes)).into());
        let etag = tag(&bytes, Coding::Identity);
        let mut variants = vec![Variant { coding: Coding::Identity, bytes: bytes.into(), etag }];
        for coding in Coding::PRECOMPRESSED {
            let variant = coding.variant_of(file);
            if !inside(root, &variant) {
                continue; // absent, or a link out of `dist/`
            }
            match std::fs::read(variant) {
                Ok(bytes) => variants.push(Variant { coding, etag: tag(&bytes, coding), bytes: bytes.into() }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        let cache_control = if !html && is_hashed(file) { "public, max-age=31536000, immutable" } else { "no-cache" };
        Ok(Self { stamps, content_type: content_type(file), cache_control, csp, variants })
    }
}

/// Every file served so far, by path: a request costs three `stat`s instead of reads (and, for
/// a page, a hash), and a redeployed `dist/` is picked up at once. Only files still on disk are
/// kept (checked whenever one is read).
static ASSETS: LazyLock<Mutex<HashMap<PathBuf, Arc<Asset>>>> = LazyLock::new(Default::default);

/// Whether `path` resolves, symlinks followed, to a place inside `root`. What resolves outside
/// (a link in `dist/` to `/etc`, or to a key in the data directory) is served as if it were not
/// there: checked whenever a file is read, since a changed link changes the file's stamp.
fn inside(root: &Path, path: &Path) -> bool {
    match (root.canonicalize(), path.canonicalize()) {
        (Ok(root), Ok(path)) => path.starts_with(root),
        _ => false,
    }
}

/// `file` (under `root`) as served: from memory while it and its variants are unchanged on disk,
/// else read again (blocking). `None` when it is not a regular file inside `root`.
fn cached(root: &Path, file: &Path) -> std::io::Result<Option<Arc<Asset>>> {
    let now = stamps(file);
    if now[0].is_none() {
        return Ok(None);
    }
    let kept = ASSETS.lock().ok().and_then(|assets| assets.get(file).filter(|a| a.stamps == now).cloned());
    if let Some(asset) = kept {
        return Ok(Some(asset));
    }
    if !inside(root, file) {
        return Ok(None);
    }
    let asset = match Asset::read(root, file, now) {
        Ok(asset) => Arc::new(asset),
        // Removed since the `stat` (a redeploy): as if it had never been there.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if let Ok(mut assets) = ASSETS.lock() {
        assets.retain(|path, a| stamp(path) == a.stamps[0]);
        assets.insert(file.to_owned(), asset.clone());
    }
    Ok(Some(asset))
}

/// What answers a path of the SPA.
enum Lookup {
    /// A file of `dist/`, or the page of a client route's bundle.
    Found(Arc<Asset>),
    /// A missing asset (a path with an extension): a real 404.
    NotFound,
    /// A client route, but its bundle's `index.html` is not there (the SPA is not built).
    NoPage,
}

/// What answers `url_path` (blocking, so it all runs in one trip to the blocking pool): the file
/// it names, else for a client route the page of the bundle it belongs to. An error names the
/// file that could not be read.
fn lookup(root: &Path, url_path: &str) -> Result<Lookup, (std::io::Error, PathBuf)> {
    let read = |file: PathBuf| cached(root, &file).map_err(|e| (e, file));
    if let Some(file) = resolve(root, url_path)
        && let Some(asset) = read(file)?
    {
        return Ok(Lookup::Found(asset));
    }
    if url_path.rsplit('/').next().unwrap_or("").contains('.') {
        return Ok(Lookup::NotFound);
    }
    Ok(read(page_for(root, url_path))?.map_or(Lookup::NoPage, Lookup::Found))
}

/// The answer to `req` with `asset`: the variant its `Accept-Encoding` prefers, or 304 when its
/// `If-None-Match` names that variant's ETag.
fn respond(req: &HttpRequest, asset: &Asset) -> HttpResponse {
    // A header sent on several lines is one comma-separated list (RFC 9110 §5.3).
    let header = |name| {
        let lines: Vec<&str> = req.headers().get_all(name).filter_map(|v| v.to_str().ok()).collect();
        (!lines.is_empty()).then(|| lines.join(", "))
    };
    let on_disk: Vec<Coding> = asset.variants.iter().skip(1).map(|v| v.coding).collect();
    let coding = negotiate(header(header::ACCEPT_ENCODING).as_deref(), &on_disk);
    let variant = asset.variants.iter().find(|v| v.coding == coding).unwrap_or(&asset.variants[0]);
    let unchanged = header(header::IF_NONE_MATCH).is_some_and(|h| none_match(&h, &variant.etag));
    let mut response = if unchanged { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response
        .insert_header((header::ETAG, variant.etag.as_str()))
        .insert_header((header::CACHE_CONTROL, asset.cache_control))
        .insert_header((header::VARY, "Accept-Encoding"));
    if let Some(csp) = &asset.csp {
        response.insert_header((header::CONTENT_SECURITY_POLICY, &**csp));
    }
    if unchanged {
        return response.finish();
    }
    response.insert_header((header::CONTENT_TYPE, asset.content_type));
    if coding != Coding::Identity {
        response.insert_header((header::CONTENT_ENCODING, coding.token()));
    }
    response.body(variant.bytes.clone())
}

fn text(mut response: actix_web::HttpResponseBuilder, body: &'static str) -> HttpResponse {
    response.insert_header((header::CACHE_CONTROL, "no-store")).content_type("text/plain; charset=utf-8").body(body)
}

/// The page of the bundle a client-side route belongs to: the `index.html` of the deepest
/// directory on its path that has one (`dist/admin/index.html` for `/admin` and below, the staff
/// bundle), else `dist/index.html`.
fn page_for(root: &Path, url_path: &str) -> PathBuf {
    let (mut dir, mut page) = (root.to_path_buf(), root.join("index.html"));
    for component in Path::new(url_path.trim_start_matches('/')).components() {
        let Component::Normal(segment) = component else { break };
        dir.push(segment);
        if !dir.is_dir() {
            break;
        }
        if dir.join("index.html").is_file() {
            page = dir.join("index.html");
        }
    }
    page
}

/// Every path outside `/api` and `/pki`: a file of `dist/`, else (a client-side route) the
/// `index.html` of its bundle. GET and HEAD only.
pub async fn serve(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        let mut response = HttpResponse::MethodNotAllowed();
        response.insert_header((header::ALLOW, "GET, HEAD"));
        return text(response, "この方法では取得できません。");
    }
    let (root, path) = (state.config.dist_dir.clone(), req.path().to_owned());
    let found = web::block(move || lookup(&root, &path))
        .await
        .unwrap_or_else(|e| Err((std::io::Error::other(e), state.config.dist_dir.clone())));
    match found {
        Ok(Lookup::Found(asset)) => respond(&req, &asset),
        Ok(Lookup::NotFound) => text(HttpResponse::NotFound(), "見つかりません"),
        Ok(Lookup::NoPage) => {
            tracing::error!(dist = %state.config.dist_dir.display(), "index.html is missing: build the frontend (scripts/build-frontend)");
            text(
                HttpResponse::ServiceUnavailable(),
                "画面ファイルが見つかりません（管理者向け: scripts/build-frontend を実行してください）。",
            )
        }
        Err((e, file)) => {
            tracing::error!(error = %e, file = %file.display(), "cannot read a file of the SPA");
            text(HttpResponse::InternalServerError(), "画面ファイルを読み込めませんでした。")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Coding::{Brotli, Gzip, Identity};

    const BOTH: &[Coding] = &[Brotli, Gzip];

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

    #[test]
    fn a_browser_gets_brotli_first() {
        // What Chromium and Firefox send over HTTPS.
        assert_eq!(negotiate(Some("gzip, deflate, br, zstd"), BOTH), Brotli);
        assert_eq!(negotiate(Some("gzip, deflate, br, zstd"), &[Gzip]), Gzip);
        assert_eq!(negotiate(Some("gzip, deflate, br, zstd"), &[]), Identity);
    }

    #[test]
    fn no_header_or_nothing_acceptable_gets_the_file_as_it_is() {
        assert_eq!(negotiate(None, BOTH), Identity);
        assert_eq!(negotiate(Some(""), BOTH), Identity);
        assert_eq!(negotiate(Some("deflate, zstd"), BOTH), Identity);
        assert_eq!(negotiate(Some("br;q=0, gzip;q=0"), BOTH), Identity);
        // Even when the request refuses identity too: no 406 for a file every browser can read.
        assert_eq!(negotiate(Some("identity;q=0, br;q=0"), &[Brotli]), Identity);
    }

    #[test]
    fn q_values_rank_and_exclude() {
        assert_eq!(negotiate(Some("br;q=0.5, gzip;q=0.8"), BOTH), Gzip);
        assert_eq!(negotiate(Some("br;q=0.8, gzip;q=0.8"), BOTH), Brotli, "a tie goes to the smaller");
        assert_eq!(negotiate(Some("br;q=0, gzip"), BOTH), Gzip);
        assert_eq!(negotiate(Some("BR;Q=1"), BOTH), Brotli, "case-insensitive");
        assert_eq!(negotiate(Some("x-gzip"), BOTH), Gzip);
        assert_eq!(negotiate(Some("br ; q=0.001"), BOTH), Brotli, "the smallest q still accepts");
        // An unnamed identity ranks below any accepted variant; a named one competes.
        assert_eq!(negotiate(Some("gzip;q=0.1"), BOTH), Gzip);
        assert_eq!(negotiate(Some("gzip;q=0.5, identity"), BOTH), Identity);
        assert_eq!(negotiate(Some("gzip, identity"), BOTH), Gzip);
    }

    #[test]
    fn the_star_covers_codings_not_named() {
        assert_eq!(negotiate(Some("*"), BOTH), Brotli);
        assert_eq!(negotiate(Some("br;q=0, *"), BOTH), Gzip);
        assert_eq!(negotiate(Some("*;q=0"), BOTH), Identity);
    }

    #[test]
    fn malformed_q_values_do_not_accept() {
        assert_eq!(negotiate(Some("br;q=abc, gzip"), BOTH), Gzip);
        assert_eq!(negotiate(Some("br;q=2"), BOTH), Identity);
        assert_eq!(negotiate(Some("br;q=-1"), BOTH), Identity);
        assert_eq!(negotiate(Some(",,;;br"), BOTH), Identity);
    }

    #[test]
    fn if_none_match_compares_weakly_and_knows_the_star() {
        assert!(none_match("\"abc-br\"", "\"abc-br\""));
        assert!(none_match("W/\"abc-br\"", "\"abc-br\""));
        assert!(none_match("\"x\", \"abc-br\"", "\"abc-br\""));
        assert!(none_match("*", "\"abc\""));
        // The gzip variant's tag does not validate the brotli variant (another representation).
        assert!(!none_match("\"abc-gzip\"", "\"abc-br\""));
        assert!(!none_match("\"abc\"", "\"abc-br\""));
        assert!(!none_match("", "\"abc\""));
    }

    #[test]
    fn assets_are_kept_until_the_file_or_a_variant_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("index.html");
        let csp_of = |a: &Asset| a.csp.as_deref().unwrap().to_owned();
        std::fs::write(&file, "<script>a()</script>").unwrap();
        let first = cached(dir.path(), &file).unwrap().unwrap();
        let again = cached(dir.path(), &file).unwrap().unwrap();
        assert!(Arc::ptr_eq(&first, &again), "read once");
        assert_eq!(first.variants.len(), 1);
        // A variant written beside it (the build's post-step) is picked up.
        std::fs::write(Brotli.variant_of(&file), b"brotli bytes").unwrap();
        let with_br = cached(dir.path(), &file).unwrap().unwrap();
        assert_eq!(with_br.variants.iter().map(|v| v.coding).collect::<Vec<_>>(), [Identity, Brotli]);
        // Its tag is its own bytes' (echo -n 'brotli bytes' | sha256sum | cut -c1-16).
        assert_eq!(with_br.variants[1].etag, "\"6934462b6ba2133a-br\"");
        assert_eq!(with_br.variants[0].etag, first.variants[0].etag);
        // A redeploy (other content and length) is served at once with its own hash.
        std::fs::write(&file, "<script>bb()</script>").unwrap();
        let second = cached(dir.path(), &file).unwrap().unwrap();
        assert_ne!(csp_of(&first), csp_of(&second));
        assert_eq!(csp_of(&second), page_csp("<script>bb()</script>"));
        assert_ne!(first.variants[0].etag, second.variants[0].etag);
        // Same length and the old modification time restored (as `cp -p` or `rsync -a` do): the
        // change time still tells.
        let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
        std::fs::write(&file, "<script>cc()</script>").unwrap();
        std::fs::File::options().write(true).open(&file).unwrap().set_modified(mtime).unwrap();
        let third = cached(dir.path(), &file).unwrap().unwrap();
        assert_eq!(csp_of(&third), page_csp("<script>cc()</script>"));
        // Gone from disk: not served, and not kept.
        std::fs::remove_file(&file).unwrap();
        assert!(cached(dir.path(), &file).unwrap().is_none());
        assert!(cached(dir.path(), dir.path()).unwrap().is_none(), "a directory is not a file");
    }

    /// Issue 29 §3: what resolves outside `dist/` through a symlink (a file, a directory, a
    /// precompressed variant) is not served; a link that stays inside is.
    #[test]
    fn symlinks_out_of_dist_are_not_served() {
        use std::os::unix::fs::symlink;
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("ca-key.pem"), "secret").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("app.js"), "ok").unwrap();
        symlink(outside.path().join("ca-key.pem"), root.join("key.txt")).unwrap();
        symlink(outside.path(), root.join("data")).unwrap();
        symlink(root.join("app.js"), root.join("alias.js")).unwrap();
        std::fs::write(root.join("page.js"), "page").unwrap();
        symlink(outside.path().join("ca-key.pem"), Gzip.variant_of(&root.join("page.js"))).unwrap();
        for path in ["/key.txt", "/data/ca-key.pem"] {
            assert!(matches!(lookup(root, path), Ok(Lookup::NotFound)), "{path}");
        }
        let Ok(Lookup::Found(alias)) = lookup(root, "/alias.js") else { panic!("a link inside dist/ is served") };
        assert_eq!(&alias.variants[0].bytes[..], b"ok");
        let Ok(Lookup::Found(page)) = lookup(root, "/page.js") else { panic!("page.js") };
        assert_eq!(page.variants.len(), 1, "the variant linking out of dist/ is left out");
    }

    #[test]
    fn a_client_route_gets_the_page_of_its_bundle() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("admin")).unwrap();
        std::fs::create_dir_all(root.join("snippets")).unwrap();
        std::fs::write(root.join("index.html"), "company").unwrap();
        std::fs::write(root.join("admin/index.html"), "staff").unwrap();
        for (path, page) in [
            ("/", "index.html"),
            ("/home", "index.html"),
            ("/issuance/auth", "index.html"),
            ("/snippets/x", "index.html"),
            ("/admin", "admin/index.html"),
            ("/admin/", "admin/index.html"),
            ("/admin/anything/below", "admin/index.html"),
            ("/administration", "index.html"),
            ("/../admin", "index.html"),
        ] {
            assert_eq!(page_for(root, path), root.join(page), "{path}");
        }
    }

    #[test]
    fn refuses_path_traversal() {
        let root = Path::new("/srv/dist");
        assert_eq!(resolve(root, "/app.js"), Some(PathBuf::from("/srv/dist/app.js")));
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/a/../../x"), None);
        // Every spelling of a file is one path (one cache entry).
        for spelling in ["/admin/x.js", "/admin//x.js", "/admin/./x.js", "//admin/.//./x.js", "/admin/x.js/"] {
            assert_eq!(resolve(root, spelling), Some(PathBuf::from("/srv/dist/admin/x.js")), "{spelling}");
        }
    }
}
