//! Dark/light theme: rendered by the server from the `keiko_theme` cookie, switched in the
//! browser without a reload, and remembered in that cookie for a year.

use leptos::prelude::*;

pub const COOKIE: &str = "keiko_theme";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Theme {
    #[default]
    Light,
    Dark,
}

impl Theme {
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn parse(s: &str) -> Option<Theme> {
        match s {
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            _ => None,
        }
    }

    pub fn toggled(self) -> Theme {
        match self {
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::Light,
        }
    }

    /// Finds the theme in a `Cookie:` header value such as `a=1; keiko_theme=dark`.
    pub fn from_cookie_header(header: &str) -> Option<Theme> {
        header.split(';').find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| Theme::parse(value)).flatten()
        })
    }
}

/// The theme the page was rendered with: on the server, the `<html data-theme>` the shell
/// wrote; in the browser, the attribute it finds, so hydration sees the same markup.
pub fn initial_theme() -> Theme {
    #[cfg(feature = "hydrate")]
    {
        document()
            .document_element()
            .and_then(|el| el.get_attribute("data-theme"))
            .and_then(|t| Theme::parse(&t))
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        #[cfg(feature = "ssr")]
        {
            use_context::<http::request::Parts>()
                .and_then(|parts| {
                    parts
                        .headers
                        .get_all(http::header::COOKIE)
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .find_map(Theme::from_cookie_header)
                })
                .unwrap_or_default()
        }
        #[cfg(not(feature = "ssr"))]
        Theme::default()
    }
}

#[component]
pub fn ThemeToggle() -> impl IntoView {
    let theme = RwSignal::new(initial_theme());
    let label = move || match theme.get() {
        Theme::Light => "Dark mode",
        Theme::Dark => "Light mode",
    };
    view! {
        <button
            type="button"
            class="theme-toggle"
            id="theme-toggle"
            aria-pressed=move || (theme.get() == Theme::Dark).to_string()
            on:click=move |_| {
                let next = theme.get_untracked().toggled();
                theme.set(next);
                apply(next);
            }
        >
            {label}
        </button>
    }
}

#[cfg(feature = "hydrate")]
fn apply(theme: Theme) {
    use wasm_bindgen::JsCast;
    let doc = document();
    if let Some(root) = doc.document_element() {
        let _ = root.set_attribute("data-theme", theme.as_str());
    }
    if let Ok(html) = doc.dyn_into::<web_sys::HtmlDocument>() {
        let _ = html.set_cookie(&format!(
            "{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            theme.as_str()
        ));
    }
}

#[cfg(not(feature = "hydrate"))]
fn apply(_theme: Theme) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theme_is_read_from_the_cookie_header() {
        assert_eq!(
            Theme::from_cookie_header("a=1; keiko_theme=dark; b=2"),
            Some(Theme::Dark)
        );
        assert_eq!(
            Theme::from_cookie_header("keiko_theme=light"),
            Some(Theme::Light)
        );
        assert_eq!(Theme::from_cookie_header("keiko_theme=purple"), None);
        assert_eq!(Theme::from_cookie_header("other=dark"), None);
    }
}
