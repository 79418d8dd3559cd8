//! `/d/{uid}`: the view (time picker, variables, refresh, zoom, full-screen panel); the
//! URL holds the view, and the editor is fetched when `?edit` is set.

use std::cell::Cell;
use std::rc::Rc;

use leptos::ev::{Event, MouseEvent};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos::wasm_bindgen::JsCast;
use leptos::web_sys::Element;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_router::params::ParamsMap;
use serde_json::Value;

use super::editor::editor_view;
use super::panel::{from_module, panel_box};
use crate::api_client::call;
use crate::components::chart_model::encode_pairs;
use crate::components::form::{encode, escape_html as esc};
use crate::components::time_range::{preset_of, PRESETS};
use crate::dashboards::model::{DashboardRequest, DashboardView, VariableView};
use crate::dto::Role;
use crate::fetch::Fetcher;
use crate::session;

const PAGE_WIDTH: u32 = 1200;

/// The refresh picker's choices ("" is off).
const REFRESH_CHOICES: [&str; 5] = ["", "10s", "30s", "1m", "5m"];

/// The query-string pairs of the current URL, with `changes` applied (`None` removes).
fn url_with(uid: &str, current: &ParamsMap, changes: &[(&str, Option<String>)]) -> String {
    let mut pairs: Vec<(String, String)> = current
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_owned()))
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .collect();
    for (k, v) in changes {
        if let Some(v) = v {
            pairs.push(((*k).to_owned(), v.clone()));
        }
    }
    let refs: Vec<(&str, String)> = pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let qs = encode_pairs(&refs);
    if qs.is_empty() {
        format!("/d/{uid}")
    } else {
        format!("/d/{uid}?{qs}")
    }
}

/// The URL with row `id`'s fold flipped: `toggle` lists the rows this view shows the other
/// way round from the saved dashboard.
fn toggle_url(uid: &str, current: &ParamsMap, id: u32) -> String {
    let id = id.to_string();
    let mut pairs: Vec<(String, String)> = current
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_owned()))
        .collect();
    let before = pairs.len();
    pairs.retain(|(k, v)| !(k == "toggle" && *v == id));
    if pairs.len() == before {
        pairs.push(("toggle".into(), id));
    }
    let refs: Vec<(&str, String)> = pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    format!("/d/{uid}?{}", encode_pairs(&refs))
}

fn request_of(uid: String, q: &ParamsMap, width: u32) -> DashboardRequest {
    let mut vars: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in q {
        if let Some(name) = k.strip_prefix("var-") {
            match vars.iter_mut().find(|(n, _)| n == name) {
                Some((_, vals)) => vals.push(v.to_owned()),
                None => vars.push((name.to_owned(), vec![v.to_owned()])),
            }
        }
    }
    DashboardRequest {
        uid,
        from: q.get("from").filter(|v| !v.is_empty()),
        to: q.get("to").filter(|v| !v.is_empty()),
        vars,
        width,
        panel: q.get("panel").and_then(|p| p.parse().ok()),
        toggle: q
            .get_all("toggle")
            .unwrap_or_default()
            .iter()
            .filter_map(|t| t.parse().ok())
            .collect(),
    }
}

/// `/d/{uid}`.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let uid = Memo::new(move |_| params.read().get("uid").unwrap_or_default());
    let request = Memo::new(move |_| request_of(uid.get(), &query.read(), PAGE_WIDTH));
    let editing = Memo::new(move |_| query.read().get("edit").is_some());
    let fetcher = Fetcher::new();
    let view = Resource::new(
        move || request.get(),
        move |r| {
            let f = fetcher.clone();
            async move { f.dashboard(r).await }
        },
    );
    let navigate = use_navigate();
    let go = Callback::new(move |url: String| navigate(&url, Default::default()));
    let refresh = Callback::new(move |_: ()| view.refetch());
    // Effects run only in the browser, after hydration.
    let in_browser = RwSignal::new(false);
    Effect::new(move |_| in_browser.set(true));
    view! {
        <Transition fallback=|| view! { <p>"Loading the dashboard…"</p> }>
            {move || view.get().map(|r| match r {
                Err(e) => view! {
                    <Title text="Dashboard" />
                    <h1>"Dashboard"</h1>
                    <p class="form-error" role="alert">{e.to_string()}</p>
                }.into_any(),
                Ok(d) => view! { <Board d=d query=query go=go editing=editing refresh=refresh /> }.into_any(),
            })}
        </Transition>
        // Outside the transition: re-rendering the board after a save keeps the editor's state.
        // The editor is a module of its own, fetched the first time a user edits; it is
        // rendered in the browser only (after hydration), never by the server. Keyed on the
        // uid: after "Duplicate" the editor must edit the copy.
        // The same closure keeps the board's "Edit" button saying what it does (the board is
        // drawn once per load, the URL's `edit` changes under it).
        {move || {
            let editing = editing.get();
            if in_browser.get() {
                if let Ok(Some(button)) = document().query_selector("#edit-dashboard") {
                    button.set_text_content(Some(if editing { "Close editor" } else { "Edit" }));
                }
            }
            (editing && in_browser.get()).then(|| from_module(Box::pin(editor_view(uid.get(), refresh))))
        }}
    }
}

/// The board: title bar, toolbar and panels. What needs no code is markup written by plain
/// functions (escaped) and set as inner HTML, with one delegated handler per bar: the page's
/// code stays a few view types (issue #13's page weight).
#[component]
fn Board(
    d: DashboardView,
    query: Memo<ParamsMap>,
    go: Callback<String>,
    editing: Memo<bool>,
    refresh: Callback<()>,
) -> impl IntoView {
    let uid = StoredValue::new(d.uid.clone());
    let can_edit = session::has_role(Role::Editor);
    let change = move |changes: Vec<(&'static str, Option<String>)>| {
        go.run(url_with(&uid.get_value(), &query.get_untracked(), &changes));
    };
    let starred = Rc::new(Cell::new(d.starred));
    let on_head = move |ev: MouseEvent| {
        let target = event_target::<Element>(&ev);
        if let Ok(Some(button)) = target.closest("#star-dashboard") {
            let starred = starred.clone();
            let on = !starred.get();
            spawn_local(async move {
                let path = format!("/api/v1/dashboards/{}/star", encode(&uid.get_value()));
                if call::<Value>(if on { "POST" } else { "DELETE" }, &path, None::<&()>)
                    .await
                    .is_ok()
                {
                    starred.set(on);
                    let _ = button.set_attribute("aria-pressed", if on { "true" } else { "false" });
                    button.set_text_content(Some(star_text(on)));
                }
            });
        } else if target.closest("#edit-dashboard").ok().flatten().is_some() {
            change(vec![(
                "edit",
                (!editing.get_untracked()).then(|| "1".to_owned()),
            )]);
        }
    };
    // Auto-refresh from the URL (`refresh=30s`), else the dashboard's own setting.
    let default_refresh = d.refresh.clone();
    let refresh_choice = move || {
        query
            .read()
            .get("refresh")
            .unwrap_or_else(|| default_refresh.clone())
    };
    let choice_now = refresh_choice();
    // Runs again on any change of the URL (the timer starts over, harmlessly).
    Effect::new(move |_| {
        let choice = refresh_choice();
        // The picker shows what the URL says (after Back, too).
        if REFRESH_CHOICES.contains(&choice.as_str()) {
            set_value("#board-refresh", &choice);
        }
        let secs = parse_secs(&choice);
        // Cleared when the setting changes and when the page goes away (a page that
        // re-renders must not leave its timer running).
        if secs > 0 {
            if let Ok(h) = set_interval_with_handle(
                move || refresh.run(()),
                std::time::Duration::from_secs(secs),
            ) {
                on_cleanup(move || h.clear());
            }
        }
    });
    let on_toolbar_change = move |ev: Event| {
        let target = event_target::<Element>(&ev);
        let value = event_target_value(&ev);
        let id = target.id();
        match id.as_str() {
            "board-time" if value != "custom" => change(vec![
                ("from", Some(format!("now-{value}"))),
                ("to", Some("now".into())),
            ]),
            "board-refresh" => change(vec![("refresh", Some(value))]),
            _ => {
                // A variable's picker, `#var-NAME`: `var-NAME` repeats once per value.
                if !id.starts_with("var-") {
                    return;
                }
                let mut values = Vec::new();
                match target.dyn_ref::<leptos::web_sys::HtmlSelectElement>() {
                    Some(select) => {
                        let chosen = select.selected_options();
                        for i in 0..chosen.length() {
                            if let Some(v) = chosen.item(i).and_then(|o| o.get_attribute("value")) {
                                values.push(v);
                            }
                        }
                    }
                    None => values.push(value),
                }
                let mut q = query.get_untracked();
                q.remove(&id);
                for v in values {
                    q.insert(id.clone(), v);
                }
                go.run(url_with(&uid.get_value(), &q, &[]));
            }
        }
    };
    let on_toolbar_click = move |ev: MouseEvent| {
        let target = event_target::<Element>(&ev);
        if target.closest("#board-reload").ok().flatten().is_some() {
            refresh.run(());
        } else if target.closest("#exit-full").ok().flatten().is_some() {
            change(vec![("panel", None)]);
        }
    };
    let full_screen = query.get_untracked().get("panel").is_some();
    let top = head_html(&d, can_edit, editing.get_untracked());
    let controls = toolbar_html(&d, &choice_now, full_screen);
    // Explore links carry the dashboard's time range.
    let range = (d.from.clone(), d.to.clone());
    let on_panel = Callback::new(move |c: Vec<(&'static str, Option<String>)>| change(c));
    let panels = d
        .panels
        .into_iter()
        .map(|p| {
            let fold = toggle_url(&uid.get_value(), &query.get_untracked(), p.id);
            panel_box(p, full_screen, fold, range.clone(), on_panel)
        })
        .collect::<Vec<_>>();
    view! {
        <Title text=d.title />
        <div class="board-top" inner_html=top on:click=on_head></div>
        <div class="toolbar board-toolbar" on:change=on_toolbar_change on:click=on_toolbar_click>
            <span class="board-controls" inner_html=controls></span>
        </div>
        <div class="board-grid" class:full-screen=full_screen>{panels}</div>
    }
}

fn star_text(on: bool) -> &'static str {
    if on {
        "★ Starred"
    } else {
        "☆ Star"
    }
}

/// Sets the value of the `<select>` `selector` names, if it is on the page.
fn set_value(selector: &str, value: &str) {
    if let Ok(Some(el)) = document().query_selector(selector) {
        el.unchecked_into::<leptos::web_sys::HtmlSelectElement>()
            .set_value(value);
    }
}

/// The title bar (title, star, edit, export) and the provisioning notice, escaped.
fn head_html(d: &DashboardView, can_edit: bool, editing: bool) -> String {
    let mut out = format!(
        "<div class=\"board-head\"><h1 id=\"dashboard-title\">{}</h1>\
         <button type=\"button\" class=\"star\" id=\"star-dashboard\" aria-pressed=\"{}\">{}</button>",
        esc(&d.title),
        d.starred,
        star_text(d.starred)
    );
    if can_edit {
        out.push_str(&format!(
            "<button type=\"button\" id=\"edit-dashboard\">{}</button>",
            if editing { "Close editor" } else { "Edit" }
        ));
    }
    out.push_str(&format!(
        "<a class=\"button\" href=\"/api/v1/dashboards/{}/export\" download=\"\">Export JSON</a></div>",
        esc(&encode(&d.uid))
    ));
    if let Some(file) = &d.provisioned_from {
        out.push_str(&format!(
            "<p class=\"notice\" role=\"status\">Provisioned from {}. You may edit it here; the file \
             replaces it on the next start unless you unlink it in the editor.</p>",
            esc(file)
        ));
    }
    out
}

/// The toolbar: time and refresh pickers, reload button, the variables' pickers, and the
/// "Back to the dashboard" button of a full-screen panel.
fn toolbar_html(d: &DashboardView, refresh: &str, full_screen: bool) -> String {
    let preset = preset_of(&d.from, &d.to);
    let option = |value: &str, label: &str, selected: bool| {
        format!(
            "<option value=\"{value}\"{}>{label}</option>",
            if selected { " selected" } else { "" }
        )
    };
    let mut out = String::from("<label>Time <select id=\"board-time\">");
    for (k, label) in PRESETS {
        out.push_str(&option(k, label, preset == *k));
    }
    out.push_str(&option("custom", "Zoomed / absolute", preset == "custom"));
    out.push_str("</select></label><label>Refresh <select id=\"board-refresh\">");
    for r in REFRESH_CHOICES {
        out.push_str(&option(
            r,
            if r.is_empty() { "off" } else { r },
            refresh == r,
        ));
    }
    out.push_str("</select></label><button type=\"button\" id=\"board-reload\">↻ Refresh</button>");
    for v in &d.variables {
        out.push_str(&variable_html(v));
    }
    if full_screen {
        out.push_str("<button type=\"button\" id=\"exit-full\">Back to the dashboard</button>");
    }
    out
}

/// A variable's picker, `#var-NAME`: a text field, or a list of its options (`All` first
/// when it has one), with the error that kept its options from loading.
fn variable_html(v: &VariableView) -> String {
    let id = esc(&format!("var-{}", v.name));
    let label = esc(&v.label);
    if v.kind == "text" {
        let value = esc(v.current.first().map_or("", String::as_str));
        return format!("<label>{label} <input id=\"{id}\" value=\"{value}\"></label>");
    }
    let mut out = format!(
        "<label class=\"variable\">{label} <select id=\"{id}\"{}>",
        if v.multi { " multiple" } else { "" }
    );
    let all = v.include_all.then_some(("$__all", "All"));
    for (value, text) in all
        .into_iter()
        .chain(v.options.iter().map(|o| (o.as_str(), o.as_str())))
    {
        out.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            esc(value),
            if v.current.iter().any(|c| c == value) {
                " selected"
            } else {
                ""
            },
            esc(text)
        ));
    }
    out.push_str("</select>");
    if let Some(e) = &v.error {
        out.push_str(&format!("<span class=\"field-error\">{}</span>", esc(e)));
    }
    out.push_str("</label>");
    out
}

fn parse_secs(r: &str) -> u64 {
    let r = r.trim();
    let (num, mult) = if let Some(n) = r.strip_suffix('s') {
        (n, 1)
    } else if let Some(n) = r.strip_suffix('m') {
        (n, 60)
    } else if let Some(n) = r.strip_suffix('h') {
        (n, 3600)
    } else {
        return 0;
    };
    num.parse::<u64>().map(|n| n * mult).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_other_state_and_repeat_variables() {
        let mut q = ParamsMap::new();
        q.insert("from", "now-6h".into());
        q.insert("var-endpoint", "/a".into());
        q.insert("var-endpoint", "/b".into());
        let url = url_with(
            "ops",
            &q,
            &[("from", Some("1000".into())), ("to", Some("2000".into()))],
        );
        assert_eq!(
            url,
            "/d/ops?var-endpoint=%2Fa&var-endpoint=%2Fb&from=1000&to=2000"
        );
        let r = request_of("ops".into(), &q, 1200);
        assert_eq!(
            r.vars,
            vec![(
                "endpoint".to_owned(),
                vec!["/a".to_owned(), "/b".to_owned()]
            )]
        );
        assert_eq!(parse_secs("30s"), 30);
        assert_eq!(parse_secs("5m"), 300);
        assert_eq!(parse_secs(""), 0);
    }

    #[test]
    fn the_board_markup_escapes_every_text() {
        let d = DashboardView {
            uid: "a b".into(),
            title: "<b>ops</b>".into(),
            provisioned_from: Some("x\"y.json".into()),
            variables: vec![
                VariableView {
                    name: "env".into(),
                    label: "<i>Env</i>".into(),
                    multi: true,
                    include_all: true,
                    options: vec!["prod\"".into(), "<dev>".into()],
                    current: vec!["<dev>".into()],
                    error: Some("<bad>".into()),
                    ..Default::default()
                },
                VariableView {
                    name: "q".into(),
                    label: "Q".into(),
                    kind: "text".into(),
                    current: vec!["\"><script>".into()],
                    ..Default::default()
                },
            ],
            folder: String::new(),
            tags: Vec::new(),
            version: 1,
            starred: false,
            from: "now-6h".into(),
            to: "now".into(),
            refresh: String::new(),
            panels: Vec::new(),
        };
        let head = head_html(&d, true, false);
        assert!(head.contains("&lt;b&gt;ops&lt;/b&gt;</h1>"), "{head}");
        assert!(head.contains("/api/v1/dashboards/a%20b/export"), "{head}");
        assert!(head.contains("x&quot;y.json"), "{head}");
        let bar = toolbar_html(&d, "30s", true);
        assert!(bar.contains("<option value=\"30s\" selected>"), "{bar}");
        assert!(
            bar.contains("&lt;i&gt;Env&lt;/i&gt; <select id=\"var-env\" multiple>"),
            "{bar}"
        );
        assert!(
            bar.contains("<option value=\"$__all\">All</option>"),
            "{bar}"
        );
        assert!(
            bar.contains("<option value=\"prod&quot;\">prod&quot;</option>"),
            "{bar}"
        );
        assert!(
            bar.contains("<option value=\"&lt;dev&gt;\" selected>&lt;dev&gt;</option>"),
            "{bar}"
        );
        assert!(bar.contains("&lt;bad&gt;"), "{bar}");
        assert!(bar.contains("value=\"&quot;&gt;&lt;script&gt;\""), "{bar}");
        assert!(
            bar.ends_with("id=\"exit-full\">Back to the dashboard</button>"),
            "{bar}"
        );
        for text in [&head, &bar] {
            assert!(!text.contains("<b>") && !text.contains("<i>") && !text.contains("<script>"));
        }
    }
}
