//! Settings → Scrape targets: what the embedded store scrapes, with each target's state,
//! last scrape and last error (a client of `/prometheus/api/v1/targets`), and a reload of
//! the scrape configuration for admins.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use serde_json::Value;

use crate::api_client::{call, ApiFailure};
use crate::dto::Role;
use crate::session;

#[component]
pub fn Targets() -> impl IntoView {
    let is_admin = session::has_role(Role::Admin);
    let targets = RwSignal::new(None::<Result<Value, ApiFailure>>);
    let reload = RwSignal::new(0u32);
    let status = RwSignal::new(String::new());
    Effect::new(move |_| {
        reload.track();
        spawn_local(async move {
            targets.set(Some(
                call::<Value>("GET", "/prometheus/api/v1/targets", None::<&()>).await,
            ));
        });
    });
    let reload_config = move |_| {
        status.set("Reloading…".into());
        spawn_local(async move {
            match call::<Value>("POST", "/api/v1/scrape-config/reload", None::<&()>).await {
                Ok(v) => status.set(format!("Reloaded: {} targets", v["targets"])),
                Err(e) => status.set(format!("Not reloaded: {}", e.message)),
            }
            reload.update(|n| *n += 1);
        });
    };
    view! {
        <Title text="Scrape targets" />
        <h1>"Scrape targets"</h1>
        <p class="lead">
            "What the embedded metrics store scrapes: the portal itself (job keiko-portal) and the \
             jobs of the scrape configuration file (scrape_config_file, Prometheus's scrape_configs)."
        </p>
        <div class="toolbar">
            <button type="button" id="targets-refresh" on:click=move |_| reload.update(|n| *n += 1)>"Refresh"</button>
            {is_admin.then(|| view! { <button type="button" id="targets-reload" on:click=reload_config>"Reload configuration"</button> })}
            <span id="targets-status" role="status">{move || status.get()}</span>
        </div>
        <table class="grid" id="targets-table">
            <thead>
                <tr><th>"Job"</th><th>"Endpoint"</th><th>"State"</th><th>"Labels"</th><th>"Last scrape"</th><th>"Duration"</th><th>"Error"</th></tr>
            </thead>
            <tbody>
                {move || match targets.get() {
                    None => view! { <tr><td colspan="7">"Loading…"</td></tr> }.into_any(),
                    Some(Err(e)) => view! { <tr><td colspan="7" class="form-error">{e.message}</td></tr> }.into_any(),
                    Some(Ok(data)) => {
                        let list = data["data"]["activeTargets"].as_array().cloned().unwrap_or_default();
                        if list.is_empty() {
                            return view! { <tr><td colspan="7">"No targets: the self-scrape is off and no scrape configuration is loaded."</td></tr> }.into_any();
                        }
                        list.into_iter().map(|t| {
                            let health = t["health"].as_str().unwrap_or("unknown").to_owned();
                            let labels = t["labels"].as_object().map(|m| m.iter().map(|(k, v)| format!("{k}=\"{}\"", v.as_str().unwrap_or(""))).collect::<Vec<_>>().join(", ")).unwrap_or_default();
                            view! {
                                <tr class="target-row" data-job=t["scrapePool"].as_str().unwrap_or("").to_owned() data-health=health.clone()>
                                    <td>{t["scrapePool"].as_str().unwrap_or("").to_owned()}</td>
                                    <td><code>{t["scrapeUrl"].as_str().unwrap_or("").to_owned()}</code></td>
                                    <td><span class=format!("badge target-{health}")>{health.clone()}</span></td>
                                    <td><code>{labels}</code></td>
                                    <td>{t["lastScrape"].as_str().unwrap_or("").to_owned()}</td>
                                    <td>{format!("{:.1} ms", t["lastScrapeDuration"].as_f64().unwrap_or(0.0) * 1000.0)}</td>
                                    <td class="target-error">{t["lastError"].as_str().unwrap_or("").to_owned()}</td>
                                </tr>
                            }
                        }).collect_view().into_any()
                    }
                }}
            </tbody>
        </table>
    }
}
