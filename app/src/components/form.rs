//! Small pieces every form page shares: field messages beside their field, the message of a
//! failure that names no field, and percent-encoding for query strings and path segments.

use leptos::prelude::*;

use crate::api_client::ApiFailure;

/// The message for one field of the last failure, rendered beside that field.
pub fn field_error(failure: RwSignal<Option<ApiFailure>>, field: &'static str) -> impl IntoView {
    move || {
        failure.get().and_then(|f| f.for_field(field)).map(|m| {
            view! {
                <span class="field-error" data-field=field>
                    {m}
                </span>
            }
        })
    }
}

/// The message of the last failure about `field` or a part of it (`matchers[1]`,
/// `route.routes[0].receiver`), beside the field; the part is named in the message.
pub fn field_error_under(
    failure: RwSignal<Option<ApiFailure>>,
    field: &'static str,
) -> impl IntoView {
    move || {
        failure
            .get()
            .filter(|f| {
                f.field.as_deref().is_some_and(|k| {
                    k == field
                        || k.strip_prefix(field)
                            .is_some_and(|rest| rest.starts_with(['[', '.']))
                })
            })
            .map(|f| {
                view! {
                    <span class="field-error" data-field=field>
                        {f.to_string()}
                    </span>
                }
            })
    }
}

/// A labelled input bound to `signal` (`kind`: `text`, `url`, `password`, …), with the last
/// failure's message for `field` beside it.
pub fn text_field(
    failure: RwSignal<Option<ApiFailure>>,
    id: &'static str,
    label: &'static str,
    signal: RwSignal<String>,
    field: &'static str,
    kind: &'static str,
) -> impl IntoView {
    view! {
        <label for=id>{label}</label>
        <input id=id type=kind prop:value=move || signal.get() on:input=move |ev| signal.set(event_target_value(&ev)) />
        {field_error(failure, field)}
    }
}

/// A failure that names no field, shown above the form.
pub fn form_error(failure: RwSignal<Option<ApiFailure>>) -> impl IntoView {
    move || {
        failure.get().filter(|f| f.field.is_none()).map(|f| {
            view! {
                <p class="form-error" role="alert">
                    {f.message}
                </p>
            }
        })
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Text for the inside of a `<textarea>` (or `<title>`) rendered on the server. Leptos writes
/// the children of those elements unescaped (they are raw text to it, like `<script>`), so a
/// value holding `</textarea>` would end the element and inject markup. In the browser the
/// text is set as a DOM text node and needs nothing.
pub fn raw_text(s: String) -> String {
    if cfg!(feature = "ssr") {
        escape_html(&s)
    } else {
        s
    }
}

/// `&`, `<`, `>`, `"` and `'` as character references.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
