//! Property tests for every parser of user text: PromQL, Go templates, rule files (YAML),
//! dashboards (native JSON), Grafana import, Markdown notes, span pushes (OTLP, Zipkin).
//! Whatever the input, each answers a value or an error: no panic, no stack overflow, error
//! places inside the text.
//!
//! A short run is part of `make test`; a long one: `PROPTEST_CASES=20000 cargo test -p
//! server --lib fuzz::` (see README).

use proptest::prelude::*;
use serde_json::Value;

use crate::dashboards;
use crate::dashboards::model::Dashboard;
use crate::markdown;
use crate::promql_syntax::PromQl;
use crate::rules::{self, template};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text made of PromQL's pieces, so that inputs get past the lexer and deep into the parser.
fn promql_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("("),
        Just(")"),
        Just("["),
        Just("]"),
        Just("{"),
        Just("}"),
        Just("rate"),
        Just("sum"),
        Just(" by "),
        Just(" without "),
        Just("up"),
        Just("x"),
        Just("5m"),
        Just(":1m"),
        Just(" offset "),
        Just(" @ "),
        Just("1"),
        Just("-"),
        Just("+"),
        Just("*"),
        Just("/"),
        Just("^"),
        Just(" and "),
        Just(" or "),
        Just(" unless "),
        Just("=="),
        Just("!="),
        Just(">"),
        Just("=~"),
        Just("\""),
        Just("'"),
        Just("`"),
        Just(","),
        Just(" "),
        Just("\n"),
        Just("§"),
        Just("histogram_quantile"),
        Just("0.9"),
        Just("bool"),
        Just("on"),
        Just("ignoring"),
        Just("group_left"),
        Just("topk"),
        Just("le"),
        Just("job=\"a\""),
        Just("#"),
        Just("\\"),
        Just("ü"),
        Just("Inf"),
    ];
    prop::collection::vec(piece, 0..200).prop_map(|p| p.concat())
}

/// Any JSON value, nested up to 40 levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z_ ()\\[\\]{}$.0-9\u{0}\u{1b}<>\"]{0,20}".prop_map(Value::from),
        prop_oneof![
            Just("timeseries"),
            Just("stat"),
            Just("gauge"),
            Just("table"),
            Just("row"),
            Just("text"),
            Just("graph"),
            Just("singlestat"),
            Just("rate(x[5m])"),
            Just("$job"),
            Just("${DS}"),
            Just("query"),
            Just("custom"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(40, 400, 8, |inner| {
        let key = prop_oneof![
            Just("panels"),
            Just("title"),
            Just("uid"),
            Just("type"),
            Just("targets"),
            Just("expr"),
            Just("gridPos"),
            Just("x"),
            Just("y"),
            Just("w"),
            Just("h"),
            Just("rows"),
            Just("collapsed"),
            Just("schemaVersion"),
            Just("templating"),
            Just("list"),
            Just("dashboard"),
            Just("id"),
            Just("fieldConfig"),
            Just("defaults"),
            Just("unit"),
            Just("thresholds"),
            Just("steps"),
            Just("format"),
            Just("grid"),
            Just("variables"),
            Just("legendFormat"),
            Just("options"),
            Just("content"),
            Just("mappings"),
            Just("overrides"),
        ]
        .prop_map(str::to_owned);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(key, inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Deep nesting in every text format a user can send: an answer, never a stack overflow.
#[test]
fn deep_nesting_in_every_format_is_answered() {
    for depth in [1_000, 20_000] {
        let yaml_flow = format!("groups: {}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(rules::parse_file(&yaml_flow).is_err());
        let yaml_block: String = (0..depth.min(5_000))
            .map(|i| format!("{}- \n", " ".repeat(i)))
            .collect();
        assert!(rules::parse_file(&yaml_block).is_err());
        let json = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(serde_json::from_str::<Value>(&json).is_err());
        let template = format!("{}x{}", "{{if 1}}".repeat(depth), "{{end}}".repeat(depth));
        assert!(template::check(&template).is_err());
        let parens = format!("{{{{ {}1{} }}}}", "(".repeat(depth), ")".repeat(depth));
        assert!(template::check(&parens).is_err());
        for md in [
            format!("{}x", "> ".repeat(depth)),
            format!("{}x", "- ".repeat(depth)),
            format!("{}x{}", "[".repeat(depth), "](/a)".repeat(depth)),
            format!("{}x{}", "*".repeat(depth), "*".repeat(depth)),
            format!("{}x{}", "<a>".repeat(depth), "</a>".repeat(depth)),
        ] {
            let html = markdown::render(&md);
            assert!(!html.contains("<a>"));
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn promql_answers_every_text_with_a_place_inside_it(text in promql_text()) {
        if let Err(e) = PromQl::parse(&text) {
            prop_assert!(e.offset <= text.len());
            prop_assert!(text.is_char_boundary(e.offset));
            prop_assert!(e.line >= 1 && e.column >= 1);
        }
    }

    #[test]
    fn promql_survives_any_nesting(depth in 0usize..3000, open in "[(\\[{]", inner in promql_text()) {
        let close = match open.as_str() { "(" => ")", "[" => "]", _ => "}" };
        let text = format!("{}{inner}{}", open.repeat(depth), close.repeat(depth));
        let _ = PromQl::parse(&text);
    }

    #[test]
    fn templates_answer_every_text(text in "(\\{\\{|\\}\\}|[ a-z$.|()\"`'0-9-]|range|if|end|else|with|define|template|block|\\{\\{-|-\\}\\}){0,120}") {
        let _ = template::check(&text);
        let _ = template::referenced_labels(&text);
        // Whatever the validator accepts, the executor runs to an answer (text or error).
        if template::check(&text).is_ok() {
            let labels = std::collections::BTreeMap::from([("a".to_owned(), "b".to_owned())]);
            let data = crate::gotemplate::AlertData {
                labels: &labels,
                external_labels: &labels,
                external_url: "",
                value: 1.5,
            };
            let _ = crate::gotemplate::try_expand(
                &text,
                &data,
                &crate::gotemplate::NoQueries,
            );
        }
    }

    #[test]
    fn rule_files_answer_every_text(text in "(groups:|\n|  |- |name: |rules:|alert: |expr: |record: |for: |labels:|annotations:|\\{\\{|\\}\\}|[a-z0-9 ()\\[\\]{}:'\"&*!|>-]){0,150}") {
        let _ = rules::parse_file(&text);
    }

    #[test]
    fn dashboards_answer_every_json_value(v in json_value()) {
        if let Ok(d) = serde_json::from_value::<Dashboard>(v.clone()) {
            let _ = crate::dashboards::model::validate(&d);
        }
        let _ = dashboards::from_json(&v);
        let wrapped = serde_json::json!({ "dashboard": v });
        let _ = dashboards::from_json(&wrapped);
    }

    #[test]
    fn markdown_answers_every_text(text in "([>*_`#\\[\\]()!<-]|\n|  |http://|//|[a-z ]){0,300}") {
        let html = markdown::render(&text);
        prop_assert!(!html.contains("<script"));
    }

    #[test]
    fn span_pushes_answer_every_body(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        json in json_value(),
    ) {
        let (limits, spans) = (ingest::Limits::default(), ingest::SpanLimits::default());
        let _ = ingest::decode_otlp_traces(&bytes, None, None, &limits, &spans, 100);
        let _ = ingest::decode_zipkin_v2(&bytes, None, None, &limits, &spans, 100);
        let text = serde_json::to_vec(&json).unwrap_or_default();
        let otlp = Some("application/json");
        let _ = ingest::decode_otlp_traces(&text, otlp, None, &limits, &spans, 100);
        let listed = serde_json::to_vec(&serde_json::json!([json])).unwrap_or_default();
        let _ = ingest::decode_zipkin_v2(&listed, None, None, &limits, &spans, 100);
    }
}
