//! The bodies Alertmanager 0.25 sends: the webhook's version "4" message, the Slack
//! notifier's default attachment, the default e-mail subject with text and HTML parts, and
//! `POST /api/v2/alerts` for forwarding. Template data as Alertmanager's `template.Data`:
//! alerts sorted by `job`, `instance`, then labels; common labels and annotations; firing
//! alerts show the zero `endsAt`.

use serde_json::{json, Value};

use super::matchers::{quote, Labels};
use super::PostedAlert;

/// Prometheus's label-set fingerprint (FNV-1a over sorted names and values).
pub fn fingerprint(labels: &Labels) -> u64 {
    let mut h: u64 = 14695981039346656037;
    let mut add = |b: &[u8]| {
        for x in b {
            h ^= u64::from(*x);
            h = h.wrapping_mul(1099511628211);
        }
    };
    for (k, v) in labels {
        add(k.as_bytes());
        add(&[0xff]);
        add(v.as_bytes());
        add(&[0xff]);
    }
    h
}

/// Go's RFC 3339 with trailing zeros of the fraction trimmed; the zero time for `None`.
pub fn go_time(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "0001-01-01T00:00:00Z".into();
    };
    let t = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let frac = format!("{:03}", ms.rem_euclid(1000));
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{base}Z")
    } else {
        format!("{base}.{frac}Z")
    }
}

/// `{a="1", b="2"}` as Go's `model.LabelSet.String()` prints it.
pub fn label_set(labels: &Labels) -> String {
    let parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", quote(v)))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// One alert of the template data.
#[derive(Clone, Debug)]
pub struct DataAlert {
    pub firing: bool,
    pub alert: PostedAlert,
}

/// Alertmanager's `template.Data`.
#[derive(Clone, Debug)]
pub struct Data {
    pub receiver: String,
    pub alerts: Vec<DataAlert>,
    pub group_labels: Labels,
    pub common_labels: Labels,
    pub common_annotations: Labels,
    pub external_url: String,
}

fn common(sets: &[&Labels]) -> Labels {
    let Some(first) = sets.first() else {
        return Labels::new();
    };
    first
        .iter()
        .filter(|(k, v)| sets.iter().all(|s| s.get(*k) == Some(*v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn sort_key(a: &PostedAlert, b: &PostedAlert) -> std::cmp::Ordering {
    for key in ["job", "instance"] {
        match (a.labels.get(key), b.labels.get(key)) {
            (None, None) => continue,
            (None, Some(_)) => return std::cmp::Ordering::Greater,
            (Some(_), None) => return std::cmp::Ordering::Less,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    a.labels.iter().cmp(b.labels.iter())
}

impl Data {
    pub fn new(
        receiver: &str,
        mut alerts: Vec<PostedAlert>,
        group_labels: &Labels,
        external_url: &str,
        now_ms: i64,
    ) -> Data {
        alerts.sort_by(sort_key);
        let labels: Vec<&Labels> = alerts.iter().map(|a| &a.labels).collect();
        let annotations: Vec<&Labels> = alerts.iter().map(|a| &a.annotations).collect();
        Data {
            receiver: receiver.to_owned(),
            common_labels: common(&labels),
            common_annotations: common(&annotations),
            group_labels: group_labels.clone(),
            external_url: external_url.trim_end_matches('/').to_owned(),
            alerts: alerts
                .into_iter()
                .map(|a| DataAlert {
                    firing: !a.resolved_at(now_ms),
                    alert: a,
                })
                .collect(),
        }
    }

    pub fn status(&self) -> &'static str {
        if self.alerts.iter().any(|a| a.firing) {
            "firing"
        } else {
            "resolved"
        }
    }

    pub fn firing(&self) -> usize {
        self.alerts.iter().filter(|a| a.firing).count()
    }

    /// Alertmanager's `__subject`: `[FIRING:n] group values (other common values)`.
    pub fn subject(&self) -> String {
        let mut s = format!("[{}", self.status().to_uppercase());
        if self.status() == "firing" {
            s.push_str(&format!(":{}", self.firing()));
        }
        s.push_str("] ");
        s.push_str(
            &self
                .group_labels
                .values()
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
        );
        s.push(' ');
        if self.common_labels.len() > self.group_labels.len() {
            let rest: Vec<String> = self
                .common_labels
                .iter()
                .filter(|(k, _)| !self.group_labels.contains_key(*k))
                .map(|(_, v)| v.clone())
                .collect();
            s.push_str(&format!("({})", rest.join(" ")));
        }
        s
    }

    /// `{{ .ExternalURL }}/#/alerts?receiver=…`.
    pub fn alerts_link(&self) -> String {
        let receiver: String =
            url::form_urlencoded::byte_serialize(self.receiver.as_bytes()).collect();
        format!("{}/#/alerts?receiver={receiver}", self.external_url)
    }

    fn alert_json(a: &DataAlert) -> Value {
        json!({
            "status": if a.firing { "firing" } else { "resolved" },
            "labels": a.alert.labels,
            "annotations": a.alert.annotations,
            "startsAt": go_time(Some(a.alert.starts_at)),
            "endsAt": go_time((!a.firing).then_some(a.alert.ends_at)),
            "generatorURL": a.alert.generator_url,
            "fingerprint": format!("{:016x}", fingerprint(&a.alert.labels)),
        })
    }
}

/// Alertmanager's webhook message, version "4".
pub fn webhook(data: &Data, group_key: &str) -> Value {
    json!({
        "receiver": data.receiver,
        "status": data.status(),
        "alerts": data.alerts.iter().map(Data::alert_json).collect::<Vec<_>>(),
        "groupLabels": data.group_labels,
        "commonLabels": data.common_labels,
        "commonAnnotations": data.common_annotations,
        "externalURL": data.external_url,
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
    })
}

fn truncate(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        return s;
    }
    let mut t: String = s.chars().take(max - 1).collect();
    t.push('…');
    t
}

/// Alertmanager's Slack notifier with its default templates.
pub fn slack(data: &Data, channel: &str) -> Value {
    let title = truncate(data.subject(), 1024);
    let link = data.alerts_link();
    let mut body = json!({
        "username": "Alertmanager",
        "attachments": [{
            "title": title,
            "title_link": link,
            "text": "",
            "fallback": format!("{title} | {link}"),
            "callback_id": "",
            "footer": "",
            "color": if data.status() == "firing" { "danger" } else { "good" },
            "mrkdwn_in": ["fallback", "pretext", "text"],
        }],
    });
    if !channel.is_empty() {
        body["channel"] = json!(channel);
    }
    body
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The e-mail: Alertmanager's default subject, a text part and an HTML part listing the
/// firing and resolved alerts with their labels and annotations.
pub fn email(data: &Data) -> (String, String, String) {
    let subject = data.subject();
    let mut text = format!("{subject}\n\nView in the portal: {}\n", data.alerts_link());
    let mut html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"UTF-8\"><title>{0}</title></head><body><h2 style=\"color:{1}\">{0}</h2><p><a href=\"{2}\">View in the portal</a></p>",
        escape_html(&subject),
        if data.status() == "firing" { "#e45959" } else { "#68b90f" },
        escape_html(&data.alerts_link())
    );
    for (heading, firing) in [("Firing", true), ("Resolved", false)] {
        let group: Vec<&DataAlert> = data.alerts.iter().filter(|a| a.firing == firing).collect();
        if group.is_empty() {
            continue;
        }
        text.push_str(&format!("\n[{}] {heading}\n", group.len()));
        html.push_str(&format!("<h3>[{}] {heading}</h3>", group.len()));
        for a in group {
            text.push_str("Labels:\n");
            html.push_str("<p><strong>Labels</strong><br>");
            for (k, v) in &a.alert.labels {
                text.push_str(&format!(" - {k} = {v}\n"));
                html.push_str(&format!("{} = {}<br>", escape_html(k), escape_html(v)));
            }
            text.push_str("Annotations:\n");
            html.push_str("<strong>Annotations</strong><br>");
            for (k, v) in &a.alert.annotations {
                text.push_str(&format!(" - {k} = {v}\n"));
                html.push_str(&format!("{} = {}<br>", escape_html(k), escape_html(v)));
            }
            text.push_str(&format!("Source: {}\n", a.alert.generator_url));
            html.push_str(&format!(
                "<a href=\"{0}\">Source</a></p>",
                escape_html(&a.alert.generator_url)
            ));
        }
    }
    html.push_str("</body></html>");
    (subject, text, html)
}

/// `POST /api/v2/alerts` of Alertmanager's API, as Prometheus sends it: firing alerts with
/// the time they hold until, resolved ones with the time they resolved.
pub fn alertmanager(data: &Data) -> Value {
    Value::Array(
        data.alerts
            .iter()
            .map(|a| {
                json!({
                    "labels": a.alert.labels,
                    "annotations": a.alert.annotations,
                    "startsAt": go_time(Some(a.alert.starts_at)),
                    "endsAt": go_time(Some(a.alert.ends_at)),
                    "generatorURL": a.alert.generator_url,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(name: &str, sev: &str, resolved: bool) -> PostedAlert {
        PostedAlert {
            labels: Labels::from([
                ("alertname".into(), name.into()),
                ("severity".into(), sev.into()),
            ]),
            annotations: Labels::from([("summary".into(), "s".into())]),
            starts_at: 1_700_000_000_120,
            ends_at: if resolved {
                1_700_000_060_000
            } else {
                1_800_000_000_000
            },
            generator_url: "http://x/graph".into(),
            active_at: 1_700_000_000_000,
        }
    }

    #[test]
    fn fingerprints_and_times_are_prometheus_s() {
        // `model.LabelSet{"alertname": "HighErrorRate"}.Fingerprint()` of Prometheus's model.
        assert_eq!(fingerprint(&Labels::new()), 0xcbf29ce484222325);
        assert_eq!(go_time(Some(1_700_000_000_120)), "2023-11-14T22:13:20.12Z");
        assert_eq!(go_time(Some(1_700_000_000_000)), "2023-11-14T22:13:20Z");
        assert_eq!(go_time(None), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn slack_title_and_webhook_follow_alertmanager() {
        let group = Labels::from([("alertname".into(), "HighErrorRate".into())]);
        let d = Data::new(
            "slack",
            vec![alert("HighErrorRate", "warning", false)],
            &group,
            "http://am:9093/",
            1_750_000_000_000,
        );
        assert_eq!(d.subject(), "[FIRING:1] HighErrorRate (warning)");
        let s = slack(&d, "#keiko-alerts");
        assert_eq!(s["attachments"][0]["color"], "danger");
        assert_eq!(
            s["attachments"][0]["title_link"],
            "http://am:9093/#/alerts?receiver=slack"
        );
        let w = webhook(&d, "{}:{alertname=\"HighErrorRate\"}");
        assert_eq!(w["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
        assert_eq!(w["commonAnnotations"]["summary"], "s");
        let d = Data::new(
            "slack",
            vec![alert("A", "warning", true), alert("A", "critical", true)],
            &Labels::new(),
            "",
            1_750_000_000_000,
        );
        assert_eq!(d.subject(), "[RESOLVED]  (A)");
        assert_eq!(slack(&d, "")["attachments"][0]["color"], "good");
    }
}
