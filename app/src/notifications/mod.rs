//! Notification pages: contact points with "send test" and the notification log
//! (`contact_points.rs`, `log.rs`), the routing tree and inhibition rules (`policies.rs`),
//! silences (`silences.rs`), escalation policies (`escalation.rs`) and notification
//! templates with their preview (`templates.rs`, on the contact points page). Clients of
//! `/api/v1/contact-points`, `/api/v1/notification-policies`, `/api/v1/silences`,
//! `/api/v1/escalation-policies` and `/api/v1/notifications`.

mod contact_points;
mod escalation;
mod log;
mod policies;
mod silences;
mod templates;

pub use contact_points::ContactPoints;
pub use escalation::Escalation;
pub use policies::Policies;
pub use silences::Silences;

/// Fills `names` with the contact points' names (for the receiver fields' suggestions).
fn load_contact_point_names(names: leptos::prelude::RwSignal<Vec<String>>) {
    use leptos::prelude::Set;
    leptos::task::spawn_local(async move {
        let path = "/api/v1/contact-points";
        if let Ok(list) =
            crate::api_client::call::<Vec<serde_json::Value>>("GET", path, None::<&()>).await
        {
            names.set(
                list.iter()
                    .filter_map(|c| c["name"].as_str().map(str::to_owned))
                    .collect(),
            );
        }
    });
}

/// A matcher in Alertmanager's text form, `name="value"` (quotes and backslashes escaped).
pub(crate) fn matcher_text(name: &str, value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("{name}=\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    #[test]
    fn matcher_values_are_quoted_and_escaped() {
        assert_eq!(super::matcher_text("job", "a\"b\\"), r#"job="a\"b\\""#);
    }
}
