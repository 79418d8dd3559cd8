//! Notes are Markdown, rendered to HTML on the server. Raw HTML in a note is shown as text,
//! never passed through, and only http(s) and mailto links survive: safe to insert.

use pulldown_cmark::{html, CowStr, Event, Parser, Tag};

pub fn render(text: &str) -> String {
    let events = Parser::new(text).map(|event| match event {
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
    if lower.starts_with("http://")
        || lower.starts_with("https://")
        || lower.starts_with("mailto:")
        || lower.starts_with('/')
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
    }
}
