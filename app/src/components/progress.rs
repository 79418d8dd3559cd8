//! A progress bar with "done / applicable (percent)".

use leptos::prelude::*;
use serde_json::Value;

pub fn progress_text(p: &Value) -> String {
    format!("{} / {} ({}%)", p["done"], p["applicable"], p["percent"])
}

#[component]
pub fn ProgressBar(progress: Value, id: Option<&'static str>) -> impl IntoView {
    let percent = progress["percent"].as_f64().unwrap_or(0.0);
    view! {
        <div class="progress" id=id role="progressbar" aria-valuenow=percent aria-valuemin="0" aria-valuemax="100">
            <div class="progress-fill" style=format!("width: {percent}%")></div>
            <span class="progress-text">{progress_text(&progress)}</span>
        </div>
    }
}
