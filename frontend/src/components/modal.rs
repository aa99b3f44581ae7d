//! The modal dialogs (software keyboard, revocation): a backdrop, the focus moved into the dialog
//! when it opens, Tab / Shift+Tab kept inside while it is open, Escape to close.

use leptos::{html, prelude::*};
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

/// A modal dialog over a backdrop, named by its heading `labelledby`: Escape calls `on_close`
/// (not while `busy`) and Tab / Shift+Tab cannot leave it. On open the focus moves to the dialog
/// itself with `focus_self`; otherwise the caller focuses one of its controls.
#[component]
pub fn Modal(
    /// The dialog's classes (`modal …`).
    class: &'static str,
    labelledby: &'static str,
    #[prop(optional)] describedby: Option<&'static str>,
    #[prop(optional)] testid: Option<&'static str>,
    #[prop(optional)] focus_self: bool,
    /// While true (a request in flight) Escape does not close the dialog.
    #[prop(optional, into)]
    busy: Signal<bool>,
    on_close: impl Fn() + Copy + 'static,
    children: Children,
) -> impl IntoView {
    let dialog = NodeRef::<html::Div>::new();
    Effect::new(move |_| {
        if focus_self && let Some(element) = dialog.get() {
            focus(&element);
        }
    });
    let on_keydown = move |ev: KeyboardEvent| match ev.key().as_str() {
        "Escape" if !busy.get_untracked() => {
            ev.prevent_default();
            on_close();
        }
        "Tab" => {
            if let Some(element) = dialog.get_untracked() {
                keep_focus_inside(&element, &ev);
            }
        }
        _ => {}
    };
    view! {
        <div class="modal-backdrop">
            <div
                class=class
                role="dialog"
                aria-modal="true"
                aria-labelledby=labelledby
                aria-describedby=describedby
                tabindex="-1"
                node_ref=dialog
                data-testid=testid
                on:keydown=on_keydown
            >
                {children()}
            </div>
        </div>
    }
}

/// Wraps Tab / Shift+Tab around the dialog's controls so the focus cannot leave the modal.
fn keep_focus_inside(dialog: &HtmlElement, ev: &KeyboardEvent) {
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
