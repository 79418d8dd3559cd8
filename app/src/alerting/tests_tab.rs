//! The editor's "Tests" tab: rule unit tests in promtool's format run with
//! `POST /api/v1/rules/test`. The rules in the editor (saved or not) go with the file as its
//! `groups:` unless the file names stored groups itself; per test group pass or fail with
//! promtool's messages beside the file; a refusal (a YAML error names its line) beside it.

use leptos::prelude::*;
use serde_json::Value;

use super::backtest_tab::run_call;
use super::draft::GroupDraft;
use crate::api_client::{call_raw, ApiFailure};

/// A first test for the group's first alerting rule: an input series that stays at 1 and
/// the rule expected to fire after 5 minutes (to be adapted to the rule).
fn skeleton(draft: &GroupDraft) -> String {
    let alert = draft
        .rules
        .iter()
        .find(|r| r.alert)
        .map(|r| r.name.clone())
        .unwrap_or_else(|| "MyAlert".into());
    format!(
        "evaluation_interval: 1m\ntests:\n  - name: {alert} fires\n    interval: 1m\n    input_series:\n      - series: 'up{{job=\"example\"}}'\n        values: '1x10'\n    alert_rule_test:\n      - eval_time: 5m\n        alertname: {alert}\n        exp_alerts: []\n"
    )
}

/// The file as sent: the user's text, plus the editor's group as `groups:` (JSON is YAML)
/// unless the text has its own `groups:` or `rule_files:` or the choice is off.
pub(super) fn with_editor_group(text: &str, group: &Value, add: bool) -> String {
    let own = text
        .lines()
        .any(|l| l.starts_with("groups:") || l.starts_with("rule_files:"));
    if !add || own {
        return text.to_owned();
    }
    let mut out = text.trim_end().to_owned();
    out.push_str("\ngroups: [");
    out.push_str(&group.to_string());
    out.push_str("]\n");
    out
}

#[component]
pub(super) fn TestsTab(draft: RwSignal<GroupDraft>) -> impl IntoView {
    let text = RwSignal::new(draft.with_untracked(skeleton));
    let use_editor = RwSignal::new(true);
    let failure = RwSignal::new(None::<ApiFailure>);
    let result = RwSignal::new(None::<Value>);
    let running = RwSignal::new(false);
    let run = move |_| {
        let group =
            serde_json::to_value(draft.with_untracked(GroupDraft::to_spec)).unwrap_or(Value::Null);
        let body = with_editor_group(&text.get_untracked(), &group, use_editor.get_untracked());
        run_call(
            async move { call_raw("POST", "/api/v1/rules/test", "application/yaml", body).await },
            result,
            failure,
            running,
        );
    };
    view! {
        <div id="rule-tests" class="side-by-side">
            <div class="form">
                <p class="muted">"A unit-test file in promtool's format (input_series, alert_rule_test, promql_expr_test); the same file gives the same verdicts as promtool test rules."</p>
                <div class="field">
                    <label for="tests-text">"Test file (YAML)"</label>
                    <textarea id="tests-text" rows="18" spellcheck="false" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                    {move || failure.get().map(|f| {
                        let field = f.field.clone().unwrap_or_else(|| "file".into());
                        view! { <span class="field-error" data-field=field id="tests-error">{f.to_string()}</span> }
                    })}
                </div>
                <label class="checkbox">
                    <input type="checkbox" id="tests-use-editor" prop:checked=move || use_editor.get()
                        on:change=move |ev| use_editor.set(event_target_checked(&ev)) />
                    " Test the rules in the editor (unsaved changes too) unless the file names its own rule_files or groups"
                </label>
                <button type="button" class="primary" id="run-tests" disabled=move || running.get() on:click=run>
                    {move || if running.get() { "Running…" } else { "Run tests" }}
                </button>
            </div>
            <div class="tests-result">
                {move || result.get().map(|r| {
                    let verdict = r["result"].as_str().unwrap_or_default().to_owned();
                    let tests = r["tests"].as_array().cloned().unwrap_or_default();
                    view! {
                        <div id="tests-result" data-result=verdict.clone()>
                            <h3 class=format!("verdict verdict-{verdict}")>{if verdict == "pass" { "All tests pass" } else { "Tests fail" }}</h3>
                            <ul class="test-results">
                                {tests.into_iter().map(|t| {
                                    let res = t["result"].as_str().unwrap_or_default().to_owned();
                                    let name = t["name"].as_str().filter(|n| !n.is_empty()).map(str::to_owned)
                                        .unwrap_or_else(|| format!("test group {}", t["index"]));
                                    let errors: Vec<String> = t["errors"].as_array().into_iter().flatten()
                                        .map(|e| e.as_str().unwrap_or_default().to_owned()).collect();
                                    view! {
                                        <li class="test-result" data-result=res.clone()>
                                            <span class=format!("badge result-{res}")>{res.clone()}</span>" "{name}
                                            {(!errors.is_empty()).then(|| view! { <pre class="test-errors">{errors.join("\n\n")}</pre> })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        </div>
                    }
                })}
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_editor_group_goes_with_the_file_unless_it_names_its_own() {
        let g = json!({"name": "g", "rules": []});
        let sent = with_editor_group("tests: []\n", &g, true);
        assert_eq!(sent, "tests: []\ngroups: [{\"name\":\"g\",\"rules\":[]}]\n");
        assert_eq!(
            with_editor_group("rule_files: [ns]\ntests: []", &g, true),
            "rule_files: [ns]\ntests: []"
        );
        assert_eq!(with_editor_group("tests: []", &g, false), "tests: []");
    }
}
