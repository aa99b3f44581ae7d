//! Hands a downloaded file to the browser's download manager: an object URL for the Blob, a
//! hidden `<a download>` clicked once, and the URL revoked shortly after.

use std::time::Duration;

use common::{ErrorBody, ErrorCode};
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, HtmlAnchorElement, Url};

/// How long the object URL stays valid after the click: long enough for the browser to start
/// reading it, short enough not to keep the file around.
const REVOKE_AFTER: Duration = Duration::from_secs(10);

/// Starts the browser download of `blob` as `filename`.
pub fn save(blob: &Blob, filename: &str) -> Result<(), ErrorBody> {
    let url = Url::create_object_url_with_blob(blob).map_err(failed)?;
    let clicked = click_link(&url, filename);
    set_timeout(
        move || {
            if let Err(e) = Url::revoke_object_url(&url) {
                leptos::logging::error!("revoking the download URL failed: {e:?}");
            }
        },
        REVOKE_AFTER,
    );
    clicked.map_err(failed)
}

fn click_link(url: &str, filename: &str) -> Result<(), JsValue> {
    let document = document();
    let body = document.body().ok_or_else(|| JsValue::from_str("no <body>"))?;
    let link: HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    link.set_href(url);
    link.set_download(filename);
    link.set_hidden(true);
    body.append_child(&link)?;
    link.click();
    link.remove();
    Ok(())
}

fn failed(error: JsValue) -> ErrorBody {
    leptos::logging::error!("starting the download failed: {error:?}");
    ErrorBody::new(ErrorCode::Internal, "電子証明書ファイルのダウンロードを開始できませんでした。")
}
