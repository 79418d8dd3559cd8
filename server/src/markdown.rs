//! Notes are Markdown, rendered to HTML on the server. Raw HTML in a note is shown as text,
//! never passed through, and only http(s) and mailto links survive: safe to insert. The
//! portal's own pages (docs/LOG_QUERY.md) render the same way, with tables.

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag};

pub fn render(text: &str) -> String {
    render_with(text, Options::empty())
}

/// [`render`] with GitHub's tables, for the portal's own documentation pages.
pub fn render_page(text: &str) -> String {
    render_with(text, Options::ENABLE_TABLES)
}

fn render_with(text: &str, options: Options) -> String {
    let events = Parser::new_ext(text, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let lower = url.trim().to_ascii_lowercase();
    // `//host/…` is another host to a browser: written out as the external link it is.
    if lower.starts_with("//") && !lower.starts_with("///") {
        return CowStr::Boxed(format!("https:{}", url.trim()).into_boxed_str());
    }
    if lower.starts_with("http://")
        || lower.starts_with("https://")
        || lower.starts_with("mailto:")
        // A path on this portal; `//host` and `/\host` are other hosts to a browser.
        || (lower.starts_with('/') && !lower.starts_with("//") && !lower.starts_with("/\\"))
    {
        url
    } else {
        CowStr::Borrowed("#")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders_and_html_is_escaped() {
        let html =
            render("**done** see [runbook](https://wiki.example/rb)\n\n<script>alert(1)</script>");
        assert!(html.contains("<strong>done</strong>"));
        assert!(html.contains("href=\"https://wiki.example/rb\""));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(render("[x](javascript:alert(1))").contains("href=\"#\""));
        assert!(render("[x](//evil.example/a)").contains("href=\"https://evil.example/a\""));
        assert!(render("[x](///evil.example/a)").contains("href=\"#\""));
        assert!(render("[x](/\\evil.example/a)").contains("href=\"#\""));
        assert!(render("[x](/d/abc)").contains("href=\"/d/abc\""));
    }

    #[test]
    fn pages_render_tables_and_stay_escaped() {
        let html = render_page("| a | b |\n| --- | --- |\n| `x` | <i>y</i> |\n");
        assert!(
            html.contains("<table>") && html.contains("<code>x</code>"),
            "{html}"
        );
        assert!(html.contains("&lt;i&gt;"), "{html}");
        assert!(!render("| a |\n| --- |\n").contains("<table>"));
    }
}
