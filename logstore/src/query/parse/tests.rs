use super::*;

fn word(w: &str) -> Query {
    Query::Text(Text::Word {
        text: w.into(),
        wildcard: w.contains(['*', '?']),
    })
}

fn field(f: &str, v: &str) -> Query {
    Query::Field {
        field: f.into(),
        test: FieldTest::Equals(Text::Word {
            text: v.into(),
            wildcard: v.contains(['*', '?']),
        }),
    }
}

fn err(src: &str) -> ParseError {
    parse(src).expect_err(src)
}

#[test]
fn words_phrases_and_fields() {
    assert_eq!(parse("").unwrap(), Query::All);
    assert_eq!(parse("  * ").unwrap(), Query::All);
    assert_eq!(parse("timeout").unwrap(), word("timeout"));
    assert_eq!(
        parse(r#""connection \"refused\"""#).unwrap(),
        Query::Text(Text::Phrase(r#"connection "refused""#.into()))
    );
    assert_eq!(parse("service:api").unwrap(), field("service", "api"));
    assert_eq!(parse("serv*").unwrap(), word("serv*"));
    assert_eq!(
        parse(r#"logger:"keiko.request""#).unwrap(),
        Query::Field {
            field: "logger".into(),
            test: FieldTest::Equals(Text::Phrase("keiko.request".into())),
        }
    );
    // Colons after the field's own belong to the value.
    assert_eq!(
        parse("url:http://x:80").unwrap(),
        field("url", "http://x:80")
    );
    assert_eq!(parse(r"a\:b").unwrap(), word("a:b"));
    assert_eq!(
        parse("user_id:*").unwrap(),
        Query::Field {
            field: "user_id".into(),
            test: FieldTest::Exists
        }
    );
}

#[test]
fn ranges_and_severity_comparisons() {
    let range = |f: &str, op, v: &str| Query::Field {
        field: f.into(),
        test: FieldTest::Range(op, v.into()),
    };
    assert_eq!(
        parse("level:>=WARNING").unwrap(),
        range("level", Compare::Ge, "WARNING")
    );
    assert_eq!(parse("line:<10").unwrap(), range("line", Compare::Lt, "10"));
    assert_eq!(
        parse("line:> 10").unwrap(),
        range("line", Compare::Gt, "10")
    );
    assert_eq!(parse("d:<=2.5").unwrap(), range("d", Compare::Le, "2.5"));
}

#[test]
fn boolean_operators_bind_as_in_kql() {
    let q = parse("a OR b c").unwrap();
    assert_eq!(
        q,
        Query::Or(vec![word("a"), Query::And(vec![word("b"), word("c")])])
    );
    let q = parse("level:ERROR and not (x or y)").unwrap();
    assert_eq!(
        q,
        Query::And(vec![
            field("level", "ERROR"),
            Query::Not(Box::new(Query::Or(vec![word("x"), word("y")])))
        ])
    );
    let q = parse("level:(ERROR OR CRITICAL)").unwrap();
    assert_eq!(
        q,
        Query::Or(vec![field("level", "ERROR"), field("level", "CRITICAL")])
    );
    assert_eq!(
        parse(r#""and""#).unwrap(),
        Query::Text(Text::Phrase("and".into()))
    );
}

#[test]
fn errors_name_the_position_and_what_was_expected() {
    let e = err("level:");
    assert_eq!(e.position, 6);
    assert!(e.expected.contains("a value after `level:`"), "{e}");
    assert_eq!(e.found, "the end of the query");
    let e = err("(a OR b");
    assert_eq!((e.position, e.found.as_str()), (7, "the end of the query"));
    assert!(e.expected.contains("`)` to close the `(` at byte 0"), "{e}");
    let e = err(r#"message:"unterminated"#);
    assert_eq!(e.position, 21);
    assert!(e.expected.contains("opened at byte 8"), "{e}");
    let e = err("a AND");
    assert_eq!((e.position, e.found.as_str()), (5, "the end of the query"));
    let e = err("a )");
    assert_eq!((e.position, e.found.as_str()), (2, "`)`"));
    let e = err("line:>=");
    assert_eq!(e.position, 7);
    assert_eq!(
        e.to_string(),
        "at byte 7: expected a value to compare `line` with, found the end of the query"
    );
    let e = err("* x");
    assert_eq!(e.position, 2);
    let e = err("abc\\");
    assert_eq!(e.position, 3);
}

#[test]
fn size_and_depth_are_bounded() {
    let deep = format!(
        "{}a{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert!(err(&deep).expected.contains("levels"));
    let nots = "NOT ".repeat(MAX_DEPTH + 1) + "a";
    assert!(err(&nots).expected.contains("levels"));
    let long = "a ".repeat(MAX_QUERY_BYTES);
    assert_eq!(err(&long).position, MAX_QUERY_BYTES);
    let many = "a ".repeat(2000);
    assert!(err(&many).expected.contains("terms"));
}
