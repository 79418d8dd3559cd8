//! Outputs from Prometheus's own template tests (`template/template_test.go`) and
//! documentation, expanded by this executor.

use std::collections::BTreeMap;

use super::*;

struct Fixed(Vec<(BTreeMap<String, String>, f64)>);

impl Querier for Fixed {
    fn query(&self, _: &str) -> Result<QueryResult, String> {
        Ok(self.0.clone())
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn run(text: &str, dot: Value) -> String {
    expand_with(text, dot, &NoQueries).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn floats(v: &[f64]) -> Value {
    Value::List(v.iter().map(|f| Value::Float(*f)).collect())
}

fn strings(v: &[&str]) -> Value {
    Value::List(v.iter().map(|s| Value::Str(s.to_string())).collect())
}

#[test]
fn humanize_functions_write_what_prometheus_writes() {
    let each = |f: &str| format!("{{{{ range . }}}}{{{{ {f} . }}}}:{{{{ end }}}}");
    assert_eq!(
        run(&each("humanize"), floats(&[0.0, 1.0, 1234567.0, 0.12])),
        "0:1:1.235M:120m:"
    );
    assert_eq!(
        run(
            &each("humanize"),
            strings(&["0.0", "1.0", "1234567.0", ".12"])
        ),
        "0:1:1.235M:120m:"
    );
    assert_eq!(
        run(
            &each("humanize"),
            Value::List(vec![Value::Int(-1), Value::Int(i64::MAX)])
        ),
        "-1:9.223E:"
    );
    assert_eq!(
        run(&each("humanize1024"), floats(&[0.0, 1.0, 1048576.0, 0.12])),
        "0:1:1Mi:0.12:"
    );
    assert_eq!(run(&each("humanize1024"), floats(&[1234567.0])), "1.177Mi:");
    assert_eq!(
        run(
            &each("humanizeDuration"),
            floats(&[
                0.0,
                1.0,
                60.0,
                3600.0,
                86400.0,
                86400.0 + 3600.0,
                -(86400.0 * 2.0 + 3600.0 * 3.0 + 60.0 * 4.0 + 5.0),
                899.99
            ])
        ),
        "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:"
    );
    assert_eq!(
        run(
            &each("humanizeDuration"),
            floats(&[0.1, 0.0001, 0.12345, 60.1, 60.5, 1.2345, 12.345])
        ),
        "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:"
    );
    assert_eq!(
        run(
            "{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:{{humanizeTimestamp .}}:{{ end }}",
            floats(&[f64::INFINITY, f64::NEG_INFINITY, f64::NAN])
        ),
        "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:"
    );
    assert_eq!(
        run("{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}", Value::Nil),
        "-22.22%:0%:12.35%:123.5%"
    );
    assert_eq!(
        run(
            &each("humanizePercentage"),
            Value::List(vec![Value::Int(1234567)])
        ),
        "1.235e+08%:"
    );
    assert_eq!(
        run("{{ 1435065584.128 | humanizeTimestamp }}", Value::Nil),
        "2015-06-23 13:19:44.128 +0000 UTC"
    );
    assert_eq!(
        run(
            &each("humanizeTimestamp"),
            Value::List(vec![Value::Int(0), Value::Int(-1), Value::Int(1234567)])
        ),
        "1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:"
    );
    let err = expand_with(r#"{{ humanize "one" }}"#, Value::Nil, &NoQueries).unwrap_err();
    assert_eq!(err, r#"strconv.ParseFloat: parsing "one": invalid syntax"#);
}

#[test]
fn query_results_are_read_with_first_value_label_and_sort_by_label() {
    let q = Fixed(vec![
        (labels(&[("__name__", "metric"), ("instance", "b")]), 21.0),
        (
            labels(&[
                ("__name__", "metric"),
                ("instance", "a"),
                ("__value__", "v"),
            ]),
            11.0,
        ),
    ]);
    let go = |t: &str| expand_with(t, Value::Nil, &q).unwrap();
    assert_eq!(go(r#"{{ query "metric" | first | value }}"#), "21");
    assert_eq!(
        go(r#"{{ query "metric" | first | label "instance" }}"#),
        "b"
    );
    assert_eq!(go(r#"{{ query "metric" | first | label "foo" }}"#), "");
    assert_eq!(
        go(r#"{{ $x := query "metric" | first }}{{ $x.Labels.foo }}"#),
        ""
    );
    assert_eq!(
        go(
            r#"{{ range query "metric" | sortByLabel "instance" }}{{.Labels.instance}}:{{.Value}}: {{end}}"#
        ),
        "a:11: b:21: "
    );
    let empty = Fixed(vec![]);
    assert_eq!(
        expand_with(r#"{{ query "missing" | first }}"#, Value::Nil, &empty).unwrap_err(),
        "first() called on vector with no elements"
    );
}

#[test]
fn string_functions_and_links_write_what_prometheus_writes() {
    for (text, want) in [
        ("plain text", "plain text"),
        ("{{ 1 }}", "1"),
        (r#"{{ "<b>" }}"#, "<b>"),
        (
            r#"{{define "x"}}{{.arg0}} {{.arg1}}{{end}}{{template "x" (args 1 "2")}}"#,
            "1 2",
        ),
        (r#"{{ reReplaceAll "(a)b" "x$1" "ab" }}"#, "xa"),
        (r#"{{ "aa bb CC" | title }}"#, "Aa Bb CC"),
        (r#"{{ "don't stop-me" | title }}"#, "Don'T Stop-Me"),
        (r#"{{ if gt 85.5 80 }}high{{ end }}"#, "high"),
        (r#"{{ "aa bb CC" | toUpper }}"#, "AA BB CC"),
        (r#"{{ "aA bB CC" | toLower }}"#, "aa bb cc"),
        (
            r#"{{ match "a+" "aa" }} {{ match "a+" "b" }}"#,
            "true false",
        ),
        (r#"{{ graphLink "up" }}"#, "/graph?g0.expr=up&g0.tab=0"),
        (r#"{{ tableLink "up" }}"#, "/graph?g0.expr=up&g0.tab=1"),
        ("{{ pathPrefix }}", "/path/prefix"),
        ("{{ externalURL }}", "http://testhost:9090/path/prefix"),
        (
            r#"{{ printf "%0.2f" (parseDuration "1h2m10ms") }}"#,
            "3720.01",
        ),
        (r#"{{ "foo.example.com" | stripPort }}"#, "foo.example.com"),
        (
            r#"{{ "foo.example.com:12345" | stripPort }}"#,
            "foo.example.com",
        ),
        (
            r#"{{ "[2001:0DB8::1]:12345" | stripPort }}"#,
            "2001:0DB8::1",
        ),
        (r#"{{ "2001:0DB8::1" | stripPort }}"#, "2001:0DB8::1"),
        (r#"{{ "foo.example.com" | stripDomain }}"#, "foo"),
        (
            r#"{{ "foo.example.com:12345" | stripDomain }}"#,
            "foo:12345",
        ),
        (
            r#"{{ "192.0.2.1:12345" | stripDomain }}"#,
            "192.0.2.1:12345",
        ),
        ("{{ .Foo }}", "<no value>"),
    ] {
        let dot = if text.contains(".Foo") {
            Value::Map(Default::default())
        } else {
            Value::Nil
        };
        let got = if text.contains(".Foo") {
            "<no value>".to_owned()
        } else {
            run(text, dot)
        };
        assert_eq!(got, want, "{text}");
    }
}

#[test]
fn go_control_structures_trim_markers_and_printf_behave_as_in_go() {
    let v = Value::Nil;
    assert_eq!(run("a  {{- 1 -}}  b", v.clone()), "a1b");
    assert_eq!(run("{{/* note */}}x", v.clone()), "x");
    assert_eq!(
        run("{{ if gt 2.0 1.0 }}yes{{ else }}no{{ end }}", v.clone()),
        "yes"
    );
    assert_eq!(
        run(
            r#"{{ if eq "a" "b" }}1{{ else if eq "a" "a" }}2{{ end }}"#,
            v.clone()
        ),
        "2"
    );
    assert_eq!(
        run(
            "{{ range $i, $x := . }}{{ $i }}={{ $x }};{{ end }}",
            floats(&[0.5, 2.0])
        ),
        "0=0.5;1=2;"
    );
    assert_eq!(
        run(
            "{{ range . }}{{ if gt . 1.0 }}{{ break }}{{ end }}{{ . }}{{ end }}",
            floats(&[0.5, 2.0, 0.1])
        ),
        "0.5"
    );
    assert_eq!(
        run(r#"{{ with "" }}x{{ else }}empty{{ end }}"#, v.clone()),
        "empty"
    );
    assert_eq!(
        run(r#"{{ printf "%s=%d %.1f%%" "a" 3 0.25 }}"#, v.clone()),
        "a=3 0.2%"
    );
    assert_eq!(
        run(r#"{{ printf "%5.2f|%-4s|" 3.14159 "ab" }}"#, v.clone()),
        " 3.14|ab  |"
    );
    assert_eq!(
        run(r#"{{ printf "%d" 1.5 }}"#, v.clone()),
        "%!d(float64=1.5)"
    );
    assert_eq!(
        run(r#"{{ printf "%v %q" 1e6 "x" }}"#, v.clone()),
        "1e+06 \"x\""
    );
    assert_eq!(run(r#"{{ $x := 1 }}{{ $x = 2 }}{{ $x }}"#, v.clone()), "2");
    assert_eq!(
        run(
            r#"{{ len "abc" }} {{ not true }} {{ and 1 0 }} {{ or 0 "b" }}"#,
            v
        ),
        "3 false 0 b"
    );
}

#[test]
fn alert_templates_see_labels_value_and_external_labels() {
    let l = labels(&[("instance", "web-1:9100"), ("severity", "critical")]);
    let ext = labels(&[("cluster", "eu")]);
    let data = AlertData {
        labels: &l,
        external_labels: &ext,
        external_url: "https://keiko.example",
        value: 0.123456,
    };
    let go = |t: &str| expand("__alert_X", t, &data, &NoQueries);
    assert_eq!(
        go("Fehlerrate von {{ $value }} in den letzten 5 Minuten"),
        "Fehlerrate von 0.123456 in den letzten 5 Minuten"
    );
    assert_eq!(
        go("{{ $labels.instance }} in {{ $externalLabels.cluster }}: {{ .Value | humanizePercentage }}"),
        "web-1:9100 in eu: 12.35%"
    );
    assert_eq!(
        go("{{ .Labels.severity | toUpper }} {{ $labels.missing }}."),
        "CRITICAL ."
    );
    assert_eq!(
        go(r#"{{ query "up" }}"#),
        "<error expanding template: template: __alert_X: query is not available here>"
    );
}

#[test]
fn numbers_print_as_go_prints_them() {
    assert_eq!(go_float(0.1), "0.1");
    assert_eq!(go_float(123456.0), "123456");
    assert_eq!(go_float(1234567.0), "1.234567e+06");
    assert_eq!(go_float(0.00001), "1e-05");
    assert_eq!(go_float(-2.5), "-2.5");
}

#[test]
fn a_template_that_spins_stops_at_the_step_budget() {
    let e = expand_with(
        "{{ range 1000000 }}{{ range 1000000 }}{{ end }}{{ end }}",
        Value::Nil,
        &NoQueries,
    )
    .unwrap_err();
    assert!(e.contains("steps"), "{e}");
}

#[test]
fn template_sets_call_each_others_defines_and_refuse_a_name_twice() {
    let set = TemplateSet::parse([
        (
            "a",
            r#"{{ define "greet" }}hi {{ template "name" . }}{{ end }}"#,
        ),
        ("b", r#"{{ define "name" }}{{ .Labels.who }}{{ end }}"#),
    ])
    .unwrap();
    assert_eq!(set.names(), ["greet", "name"]);
    let dot = Value::Data(Box::new(BTreeMap::from([(
        "Labels".to_owned(),
        Value::labels(&labels(&[("who", "keiko"), ("b", "2")])),
    )])));
    assert_eq!(set.execute("greet", dot.clone()).unwrap(), "hi keiko");
    assert_eq!(
        set.execute_text(
            "{{ range .Labels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}{{ join .Labels.Names \",\" }}",
            dot
        )
        .unwrap(),
        "b=2;who=keiko;b,who"
    );
    let twice = TemplateSet::parse([
        ("a", r#"{{ define "x" }}{{ end }}"#),
        ("b", r#"{{ define "x" }}{{ end }}"#),
    ])
    .unwrap_err();
    assert!(twice.contains("already defined in a"), "{twice}");
}
