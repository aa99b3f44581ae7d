//! A labelled text/password input bound to a signal, with the manual's input hint under it, and
//! the plain fields of the list searches (text, date, a choice). Every field turns autocomplete off (R10)
//! and never lets the browser "correct" what is typed.

use leptos::prelude::*;

/// One required form field.
#[component]
pub fn FormField(
    /// The element id (also used to link label and hint).
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    testid: &'static str,
    /// `text`, `password` or `email`.
    #[prop(default = "text")]
    input_type: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    /// Disables typing (e.g. while a request is in flight).
    #[prop(optional, into)]
    disabled: Signal<bool>,
) -> impl IntoView {
    let hint_id = hint.map(|_| format!("{id}-hint"));
    view! {
        <div class="field">
            <label for=id>
                {label} <span class="required">"必須"</span>
            </label>
            <input
                id=id
                name=id
                type=input_type
                autocomplete="off"
                autocapitalize="off"
                spellcheck="false"
                aria-describedby=hint_id.clone()
                data-testid=testid
                disabled=move || disabled.get()
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            {hint.map(|text| view! { <p id=hint_id class="hint">{text}</p> })}
        </div>
    }
}

/// A plain search field (optional; no R1 check: a part of an ID may be searched).
#[component]
pub fn SearchField(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    #[prop(optional)] testid: Option<&'static str>,
    /// `text` or `date`.
    #[prop(default = "text")]
    input_type: &'static str,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input
                id=id
                type=input_type
                autocomplete="off"
                autocapitalize="off"
                spellcheck="false"
                data-testid=testid
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        </div>
    }
}

/// A search's choice: 「すべて」 (the empty value, no filter), then `options` as (value, label).
#[component]
pub fn SelectField(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    options: Vec<(&'static str, &'static str)>,
) -> impl IntoView {
    let options =
        options.into_iter().map(|(value, label)| view! { <option value=value>{label}</option> }).collect_view();
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <select id=id prop:value=move || value.get() on:change=move |ev| value.set(event_target_value(&ev))>
                <option value="">"すべて"</option>
                {options}
            </select>
        </div>
    }
}

/// A checkbox with its words beside it (not a text field's box).
#[component]
pub fn CheckField(label: &'static str, value: RwSignal<bool>, testid: &'static str) -> impl IntoView {
    view! {
        <div class="field field-check">
            <label>
                <input type="checkbox" data-testid=testid prop:checked=move || value.get() on:change=move |ev| value.set(event_target_checked(&ev)) />
                " "
                {label}
            </label>
        </div>
    }
}
