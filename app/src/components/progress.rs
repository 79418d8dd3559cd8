//! A progress bar with "done / applicable (percent)".

use leptos::prelude::*;
use wire::checklist::Progress;

pub fn progress_text(p: &Progress) -> String {
    // One decimal always (`50.0%`): the server rounds to one.
    format!("{} / {} ({:.1}%)", p.done, p.applicable, p.percent)
}

#[component]
pub fn ProgressBar(progress: Progress, id: Option<&'static str>) -> impl IntoView {
    let percent = progress.percent;
    view! {
        <div class="progress" id=id role="progressbar" aria-valuenow=percent aria-valuemin="0" aria-valuemax="100">
            <div class="progress-fill" style=format!("width: {percent}%")></div>
            <span class="progress-text">{progress_text(&progress)}</span>
        </div>
    }
}
