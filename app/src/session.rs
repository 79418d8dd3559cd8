//! The signed-in user, known to every page. The server renders it into
//! `<script type="application/json" id="keiko-session">` (data, never executed); the browser
//! reads the same element, so both sides render the same markup.

use leptos::prelude::*;

use crate::dto::{Role, SessionUser};

pub const ELEMENT_ID: &str = "keiko-session";

/// The user of this request (server) or of this page (browser).
pub fn load() -> Option<SessionUser> {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<SessionUser>().cloned())
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        document()
            .get_element_by_id(ELEMENT_ID)
            .and_then(|el| el.text_content())
            .and_then(|text| serde_json::from_str(&text).ok())
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        None
    }
}

/// The JSON for the data element, safe inside `<script>`: `<` is escaped so no `</script>`
/// can end it early.
pub fn to_json(user: &Option<SessionUser>) -> String {
    serde_json::to_string(user)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c")
}

pub fn current() -> Option<SessionUser> {
    use_context::<Option<SessionUser>>().flatten()
}

pub fn has_role(role: Role) -> bool {
    current().is_some_and(|u| u.role >= role)
}
