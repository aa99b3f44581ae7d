//! パスワード用ソフトウェアキーボード: a modal dialog to type the password by mouse, so a key
//! logger sees nothing (manual 別紙3).
//!
//! Every key is a real `<button>` (usable with Tab/Enter/Space too) whose testid is
//! `key-<char>`. The order of the digits and of the letters is shuffled each time the dialog opens
//! (with `crypto.getRandomValues`). The display shows one ● per character, never the text. Escape
//! or 閉じる closes it; focus moves into the dialog on open, stays inside while it is open, and
//! returns to the button that opened it.

use common::{credentials::MAX_LEN, testids};
use leptos::{html, prelude::*};

use crate::components::modal::{Modal, focus};

/// The keyboard, shown while `open` is true; it edits `password` directly.
#[component]
pub fn SoftwareKeyboard(
    open: RwSignal<bool>,
    password: RwSignal<String>,
    /// Gets the focus back when the dialog closes.
    return_focus: NodeRef<html::Button>,
) -> impl IntoView {
    view! {
        <Show when=move || open.get()>
            <KeyboardDialog open password return_focus />
        </Show>
    }
}

#[component]
fn KeyboardDialog(
    open: RwSignal<bool>,
    password: RwSignal<String>,
    return_focus: NodeRef<html::Button>,
) -> impl IntoView {
    // A fresh order every time the dialog is mounted, i.e. every time it opens.
    let digits = shuffled(('0'..='9').collect());
    let letters = shuffled(('a'..='z').collect());
    let shift = RwSignal::new(false);

    let close = move || {
        open.set(false);
        if let Some(button) = return_focus.get_untracked() {
            focus(&button);
        }
    };
    let length = move || password.with(|p| p.chars().count());
    let full = move || length() >= MAX_LEN;
    let press = move |c: char| {
        if !full() {
            password.update(|p| p.push(c));
        }
    };

    let digit_keys = digits
        .into_iter()
        .map(|c| {
            view! {
                <button
                    type="button"
                    class="key"
                    data-testid=format!("{}{c}", testids::KEYBOARD_KEY_PREFIX)
                    aria-label=format!("数字 {c}")
                    aria-disabled=move || full().then_some("true")
                    on:click=move |_| press(c)
                >
                    {c.to_string()}
                </button>
            }
        })
        .collect_view();
    let letter_keys = letters
        .into_iter()
        .map(|lower| {
            let upper = lower.to_ascii_uppercase();
            let current = move || if shift.get() { upper } else { lower };
            view! {
                <button
                    type="button"
                    class="key"
                    data-testid=move || format!("{}{}", testids::KEYBOARD_KEY_PREFIX, current())
                    aria-label=move || {
                        if shift.get() { format!("英大文字 {upper}") } else { format!("英小文字 {lower}") }
                    }
                    aria-disabled=move || full().then_some("true")
                    on:click=move |_| press(current())
                >
                    {move || current().to_string()}
                </button>
            }
        })
        .collect_view();

    view! {
        <Modal
            class="modal keyboard"
            labelledby="keyboard-title"
            describedby="keyboard-help"
            testid=testids::KEYBOARD
            focus_self=true
            on_close=close
        >
            <h2 id="keyboard-title">"パスワード用ソフトウェアキーボード"</h2>
            <p id="keyboard-help" class="hint">
                "画面上のキーをマウスで押してパスワードを入力します。キーの並びは開くたびに変わります。"
            </p>
            <div class="keyboard-display-row">
                <div
                    class="keyboard-display"
                    data-testid=testids::KEYBOARD_DISPLAY
                    aria-live="polite"
                    aria-label=move || format!("パスワード {} 文字入力済み", length())
                >
                    {move || {
                        let n = length();
                        if n == 0 { "（未入力）".to_owned() } else { "●".repeat(n) }
                    }}
                </div>
                <span class="keyboard-count">{move || format!("{} / {MAX_LEN} 文字", length())}</span>
            </div>
            <Show when=full>
                <p class="hint keyboard-full">{format!("パスワードは{MAX_LEN}文字まで入力できます。")}</p>
            </Show>
            <div class="keyboard-keys keyboard-digits" role="group" aria-label="数字">
                {digit_keys}
            </div>
            <div class="keyboard-keys keyboard-letters" role="group" aria-label="英字">
                {letter_keys}
            </div>
            <div class="keyboard-controls">
                <button
                    type="button"
                    class="button button-secondary"
                    data-testid=testids::KEYBOARD_SHIFT
                    aria-pressed=move || if shift.get() { "true" } else { "false" }
                    on:click=move |_| shift.update(|s| *s = !*s)
                >
                    {move || if shift.get() { "小文字に切替" } else { "大文字に切替" }}
                </button>
                <button
                    type="button"
                    class="button button-secondary"
                    data-testid=testids::KEYBOARD_BACKSPACE
                    aria-label="1文字削除"
                    on:click=move |_| {
                        password.update(|p| {
                            p.pop();
                        })
                    }
                >
                    "← 1文字削除"
                </button>
                <button
                    type="button"
                    class="button button-secondary"
                    data-testid=testids::KEYBOARD_CLEAR
                    on:click=move |_| password.set(String::new())
                >
                    "全て消去"
                </button>
                <button
                    type="button"
                    class="button button-primary"
                    data-testid=testids::KEYBOARD_CLOSE
                    on:click=move |_| close()
                >
                    "閉じる"
                </button>
            </div>
        </Modal>
    }
}

/// `items` in a uniformly random order (Fisher–Yates on `crypto.getRandomValues`).
fn shuffled<T>(mut items: Vec<T>) -> Vec<T> {
    for i in (1..items.len()).rev() {
        let j = random_below(i + 1);
        items.swap(i, j);
    }
    items
}

/// A random number in `0..bound` (`bound` ≥ 1), without modulo bias.
fn random_below(bound: usize) -> usize {
    let bound = u32::try_from(bound).unwrap_or(u32::MAX);
    let zone = u32::MAX - u32::MAX % bound;
    loop {
        let r = random_u32();
        if r < zone {
            return (r % bound) as usize;
        }
    }
}

fn random_u32() -> u32 {
    let mut bytes = [0u8; 4];
    let crypto = window().crypto();
    match crypto.and_then(|c| c.get_random_values_with_u8_array(&mut bytes)) {
        Ok(_) => u32::from_le_bytes(bytes),
        Err(e) => {
            // Only the key order depends on this; fall back rather than show no keyboard.
            leptos::logging::error!("crypto.getRandomValues failed, using Math.random: {e:?}");
            (js_sys::Math::random() * f64::from(u32::MAX)) as u32
        }
    }
}
