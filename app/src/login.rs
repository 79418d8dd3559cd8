//! The sign-in page: a plain form posted to `/login`, so it works before (and without)
//! hydration. A failed attempt comes back here with `?error=`, shown beside the field.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn Login() -> impl IntoView {
    let query = use_query_map();
    let q = move |k: &str| query.with(|m| m.get(k).unwrap_or_default());
    let error = move || match q("error").as_str() {
        "invalid" => Some("Wrong login or password.".to_owned()),
        "busy" => Some("The portal is busy signing others in; try again in a moment.".to_owned()),
        "locked" => Some(format!(
            "Too many failed attempts: this login is locked for {} more seconds.",
            q("retry")
        )),
        _ => None,
    };
    view! {
        <Title text="Sign in" />
        <div class="login-card">
            <h1>"Sign in"</h1>
            <form method="post" action="/login" class="form" id="login-form">
                <input type="hidden" name="next" value=move || q("next") />
                <label for="login">"Login"</label>
                <input
                    id="login"
                    name="login"
                    autocomplete="username"
                    required
                    value=move || q("login")
                />
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                />
                {move || {
                    error()
                        .map(|e| {
                            view! {
                                <p class="field-error" id="login-error" role="alert">
                                    {e}
                                </p>
                            }
                        })
                }}
                <button type="submit" class="primary">
                    "Sign in"
                </button>
            </form>
        </div>
    }
}
