//! Property tests: the parsers never panic, whatever the bytes, and what the text
//! parser reads back from a rendered sample is what was rendered.

use proptest::prelude::*;
use scrape::{parse_with, Limits, ParseOptions};

fn options() -> ParseOptions {
    ParseOptions {
        limits: Limits {
            max_line_bytes: 512,
            max_labels: 8,
            max_samples: 64,
            ..Limits::default()
        },
        ..ParseOptions::default()
    }
}

/// Bytes biased toward the exposition formats' punctuation so the parsers get deep.
fn exposition_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"=".to_vec()),
        Just(b",".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"# ".to_vec()),
        Just(b"# EOF".to_vec()),
        Just(b"# TYPE ".to_vec()),
        Just(b"# HELP ".to_vec()),
        Just(b"# UNIT ".to_vec()),
        Just(b"metric_total".to_vec()),
        Just(b"1.5e3".to_vec()),
        Just(b"NaN".to_vec()),
        Just(b"-Inf".to_vec()),
        Just(vec![0xff, 0xc3]),
        "[a-z_]{1,4}".prop_map(String::into_bytes),
        any::<u8>().prop_map(|b| vec![b]),
    ];
    prop::collection::vec(piece, 0..64).prop_map(|pieces| pieces.concat())
}

fn label_value() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just('\\'),
            Just('"'),
            Just('\n'),
            Just('é'),
            Just('#'),
            any::<char>()
        ],
        1..16,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

proptest! {
    #[test]
    fn text_parser_never_panics(body in exposition_bytes()) {
        let _ = parse_with(Some("text/plain"), &body, &options());
    }

    #[test]
    fn openmetrics_parser_never_panics(body in exposition_bytes()) {
        let _ = parse_with(Some("application/openmetrics-text"), &body, &options());
    }

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_with(Some("text/plain"), &body, &options());
        let _ = parse_with(Some("application/openmetrics-text"), &body, &options());
    }

    #[test]
    fn label_values_round_trip(value in label_value(), v in any::<f64>(), ts in any::<i64>()) {
        let body = format!("m{{l=\"{}\"}} {v:?} {ts}\n", escape(&value));
        let parsed = parse_with(None, body.as_bytes(), &ParseOptions::default()).unwrap();
        let sample = &parsed.samples[0];
        prop_assert_eq!(&sample.name_labels[1], &("l".to_string(), value));
        prop_assert_eq!(sample.value.to_bits(), v.to_bits());
        prop_assert_eq!(sample.timestamp_ms, Some(ts));
    }
}
