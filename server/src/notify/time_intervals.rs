//! Alertmanager's `time_intervals` (UTC): named sets of times of day, weekdays, days of the
//! month and months, checked with the field named, and whether any of them holds at a time
//! (a route's `mute_time_intervals`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A named set of times (Alertmanager's `time_intervals`, UTC): `times` of day, `weekdays`,
/// `days_of_month` and `months`; every one given must hold.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeInterval {
    pub name: String,
    #[serde(default)]
    pub time_intervals: Vec<TimeSpec>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub times: Vec<TimeRange>,
    /// `monday`, or an inclusive range `monday:friday`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<String>,
    /// `1`, `1:5`, negative from the month's end (`-1` the last day, `-3:-1`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_of_month: Vec<String>,
    /// `january`, `1`, or an inclusive range (`may:august`, `1:3`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub months: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRange {
    pub start_time: String,
    pub end_time: String,
}

fn parse_time(field: &str, t: &str) -> Result<u32, Error> {
    let (h, m) = t
        .split_once(':')
        .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
        .filter(|(h, m)| *h <= 24 && *m < 60 && (*h < 24 || *m == 0))
        .ok_or_else(|| Error::invalid(field, format!("`{t}` is not HH:MM")))?;
    Ok(h * 60 + m)
}

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Monday = 0.
fn weekday(s: &str) -> Option<i32> {
    let s = s.trim();
    WEEKDAYS
        .iter()
        .position(|w| w.eq_ignore_ascii_case(s))
        .map(|i| i as i32)
}

/// January = 1; a name or a number.
fn month(s: &str) -> Option<i32> {
    let s = s.trim();
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(s))
        .map(|i| i as i32 + 1)
        .or_else(|| s.parse().ok().filter(|m| (1..=12).contains(m)))
}

/// 1..=31, or -31..=-1 counted from the month's end.
fn day_of_month(s: &str) -> Option<i32> {
    s.trim()
        .parse()
        .ok()
        .filter(|d: &i32| *d != 0 && (-31..=31).contains(d))
}

/// `a` or the inclusive range `a:b`, each end read by `one`.
fn range(s: &str, one: fn(&str) -> Option<i32>) -> Option<(i32, i32)> {
    match s.split_once(':') {
        Some((a, b)) => Some((one(a)?, one(b)?)),
        None => one(s).map(|v| (v, v)),
    }
}

/// One list of a time spec checked: every entry a value or an ordered range.
fn check_ranges(
    field: &str,
    items: &[String],
    one: fn(&str) -> Option<i32>,
    what: &str,
) -> Result<(), Error> {
    for (k, item) in items.iter().enumerate() {
        let ordered = match range(item, one) {
            // Days of month may run from a positive day to one counted from the end.
            Some((a, b)) => a <= b || (a > 0 && b < 0),
            None => false,
        };
        if !ordered {
            return Err(Error::invalid(
                format!("{field}[{k}]"),
                format!("`{item}` is not {what}"),
            ));
        }
    }
    Ok(())
}

/// Whether `value` lies in one of `items` (empty: always); `resolve` turns a day counted
/// from the month's end into the day.
fn in_ranges(
    items: &[String],
    one: fn(&str) -> Option<i32>,
    value: i32,
    resolve: impl Fn(i32) -> i32,
) -> bool {
    items.is_empty()
        || items.iter().any(|item| {
            range(item, one).is_some_and(|(a, b)| (resolve(a)..=resolve(b)).contains(&value))
        })
}

/// Checks every interval (the field named on the first problem) and answers their names.
pub fn validate(intervals: &[TimeInterval]) -> Result<BTreeSet<String>, Error> {
    let mut names = BTreeSet::new();
    for (i, ti) in intervals.iter().enumerate() {
        let path = format!("time_intervals[{i}]");
        if ti.name.trim().is_empty() || !names.insert(ti.name.clone()) {
            return Err(Error::invalid(
                format!("{path}.name"),
                "a unique, non-empty name",
            ));
        }
        for (j, spec) in ti.time_intervals.iter().enumerate() {
            for (k, r) in spec.times.iter().enumerate() {
                let f = format!("{path}.time_intervals[{j}].times[{k}]");
                let (s, e) = (
                    parse_time(&format!("{f}.start_time"), &r.start_time)?,
                    parse_time(&format!("{f}.end_time"), &r.end_time)?,
                );
                if s >= e {
                    return Err(Error::invalid(
                        format!("{f}.end_time"),
                        "must be after start_time",
                    ));
                }
            }
            let f = format!("{path}.time_intervals[{j}]");
            check_ranges(
                &format!("{f}.weekdays"),
                &spec.weekdays,
                weekday,
                "a weekday or range like monday:friday",
            )?;
            check_ranges(
                &format!("{f}.days_of_month"),
                &spec.days_of_month,
                day_of_month,
                "a day of the month (1 to 31, -1 the last) or range like 1:7",
            )?;
            check_ranges(
                &format!("{f}.months"),
                &spec.months,
                month,
                "a month (name or 1 to 12) or range like may:august",
            )?;
        }
    }
    Ok(names)
}

/// Whether one of the intervals named in `names` holds at `now`.
pub fn holds(
    intervals: &[TimeInterval],
    names: &[String],
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    use chrono::{Datelike, NaiveDate, Timelike};
    let minute = now.hour() * 60 + now.minute();
    let weekday_now = now.weekday().num_days_from_monday() as i32;
    let (year, month_now, day) = (now.year(), now.month(), now.day() as i32);
    let next = if month_now == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month_now + 1, 1)
    };
    let days_in_month = next
        .and_then(|n| n.pred_opt())
        .map_or(31, |d| d.day() as i32);
    let from_end = |d: i32| if d < 0 { days_in_month + 1 + d } else { d };
    intervals
        .iter()
        .filter(|t| names.contains(&t.name))
        .any(|t| {
            t.time_intervals.iter().any(|spec| {
                let in_time = spec.times.is_empty()
                    || spec.times.iter().any(|r| {
                        let s = parse_time("", &r.start_time).unwrap_or(0);
                        let e = parse_time("", &r.end_time).unwrap_or(0);
                        (s..e).contains(&minute)
                    });
                in_time
                    && in_ranges(&spec.weekdays, weekday, weekday_now, |d| d)
                    && in_ranges(&spec.days_of_month, day_of_month, day, from_end)
                    && in_ranges(&spec.months, month, month_now as i32, |m| m)
            })
        })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{json, Value};

    use crate::notify::policy::{validate, PolicyDoc};

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    fn receivers() -> BTreeSet<String> {
        ["a", "b", "c"].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn mute_time_intervals_hold_on_their_days_and_times_in_utc() {
        let doc: PolicyDoc = serde_json::from_value(json!({
            "route": {"receiver": "a", "mute_time_intervals": ["nights"]},
            "time_intervals": [{"name": "nights", "time_intervals": [
                {"times": [{"start_time": "22:00", "end_time": "24:00"}], "weekdays": ["monday:friday"]}
            ]}]
        }))
        .unwrap();
        let p = validate(&doc, &receivers()).unwrap();
        let mute = vec!["nights".to_owned()];
        assert!(p.muted(&mute, at("2026-12-07T22:30:00Z")), "a Monday night");
        assert!(!p.muted(&mute, at("2026-12-07T21:59:00Z")));
        assert!(!p.muted(&mute, at("2026-12-06T23:00:00Z")), "a Sunday");
        let bad = |v: Value| {
            validate(&serde_json::from_value(v).unwrap(), &receivers())
                .unwrap_err()
                .field()
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            bad(
                json!({"route": {"receiver": "a"}, "time_intervals": [{"name": "n", "time_intervals": [{"times": [{"start_time": "25:00", "end_time": "26:00"}]}]}]})
            ),
            "time_intervals[0].time_intervals[0].times[0].start_time"
        );
        assert_eq!(
            bad(
                json!({"route": {"receiver": "a"}, "time_intervals": [{"name": "n", "time_intervals": [{"weekdays": ["funday"]}]}]})
            ),
            "time_intervals[0].time_intervals[0].weekdays[0]"
        );
        assert_eq!(
            bad(
                json!({"route": {"receiver": "a"}, "time_intervals": [{"name": "n", "time_intervals": [{"days_of_month": ["1:5", "0"]}]}]})
            ),
            "time_intervals[0].time_intervals[0].days_of_month[1]"
        );
        assert_eq!(
            bad(
                json!({"route": {"receiver": "a"}, "time_intervals": [{"name": "n", "time_intervals": [{"months": ["august:may"]}]}]})
            ),
            "time_intervals[0].time_intervals[0].months[0]"
        );
    }

    #[test]
    fn days_of_month_count_from_the_end_and_months_take_names_or_numbers() {
        let doc: PolicyDoc = serde_json::from_value(json!({
            "route": {"receiver": "a"},
            "time_intervals": [
                {"name": "month-end", "time_intervals": [{"days_of_month": ["-2:-1"], "months": ["november:december"]}]},
                {"name": "first-week", "time_intervals": [{"days_of_month": ["1:7"], "months": ["2"], "weekdays": ["saturday:sunday"]}]}
            ]
        }))
        .unwrap();
        let p = validate(&doc, &receivers()).unwrap();
        let end = vec!["month-end".to_owned()];
        assert!(
            p.muted(&end, at("2026-11-29T10:00:00Z")),
            "November has 30 days"
        );
        assert!(!p.muted(&end, at("2026-11-28T10:00:00Z")));
        assert!(p.muted(&end, at("2026-12-31T10:00:00Z")));
        assert!(!p.muted(&end, at("2026-10-31T10:00:00Z")), "not in October");
        let week = vec!["first-week".to_owned()];
        assert!(p.muted(&week, at("2027-02-06T10:00:00Z")), "a Saturday");
        assert!(!p.muted(&week, at("2027-02-05T10:00:00Z")), "a Friday");
        assert!(
            !p.muted(&week, at("2027-02-13T10:00:00Z")),
            "the second week"
        );
    }
}
