//! Focus handling shared by the modal dialogs (software keyboard, revocation): the focus moves
//! into a dialog when it opens and Tab / Shift+Tab cannot leave it while it is open.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, KeyboardEvent};

/// What Tab can reach inside a dialog.
const FOCUSABLE: &str = "button:not([disabled]), select:not([disabled]), input:not([disabled]), a[href]";

/// Moves the focus to `element` (logging, not failing, if the browser refuses).
pub fn focus(element: &HtmlElement) {
    if let Err(e) = element.focus() {
        leptos::logging::error!("moving the focus failed: {e:?}");
    }
}

/// Wraps Tab / Shift+Tab around the dialog's controls so the focus cannot leave the modal.
pub fn keep_focus_inside(dialog: &HtmlElement, ev: &KeyboardEvent) {
    let controls = match dialog.query_selector_all(FOCUSABLE) {
        Ok(list) => list,
        Err(e) => {
            leptos::logging::error!("listing the dialog's controls failed: {e:?}");
            return;
        }
    };
    let (Some(first), Some(last)) = (controls.item(0), controls.item(controls.length().saturating_sub(1))) else {
        return;
    };
    let active = document().active_element();
    let at = |node: &web_sys::Node| active.as_ref().is_some_and(|a| a.is_same_node(Some(node)));
    let on_dialog = active.as_ref().is_some_and(|a| a.is_same_node(Some(dialog)));
    let target = if ev.shift_key() && (at(&first) || on_dialog) {
        Some(last)
    } else if !ev.shift_key() && at(&last) {
        Some(first)
    } else {
        None
    };
    if let Some(target) = target.and_then(|node| node.dyn_into::<HtmlElement>().ok()) {
        ev.prevent_default();
        focus(&target);
    }
}
