//! Invalid PromQL: the message and position of the error, case by case.
//! Cases follow the behaviour of Prometheus's `parse_test.go`.

use promlite_promql::parser::{parse, parse_with, ParserOptions};

/// (input, byte offset where the error starts, message)
const CASES: &[(&str, usize, &str)] = &[
    // Empty input and lexical errors.
    ("", 0, "no expression found in input"),
    ("# just a comment\n\n", 0, "no expression found in input"),
    ("1+", 2, "unexpected end of input"),
    ("1 /", 3, "unexpected end of input"),
    (".", 0, "unexpected character: '.'"),
    ("2.5.", 0, "bad number or duration syntax: \"2.5.\""),
    ("100..4", 0, "bad number or duration syntax: \"100..\""),
    ("0deadbeef", 0, "bad number or duration syntax: \"0de\""),
    ("*1", 0, "unexpected <op:*>"),
    ("*test", 0, "unexpected <op:*>"),
    ("@@", 0, "unexpected <op:@>"),
    ("-=", 1, "unexpected \"=\""),
    ("++-++-+-+-<", 10, "unexpected <op:<>"),
    ("e-+=/(0)", 3, "unexpected \"=\""),
    ("(1))", 4, "unexpected right parenthesis ')'"),
    ("((1)", 4, "unclosed left parenthesis"),
    ("(", 1, "unclosed left parenthesis"),
    ("sum(", 4, "unclosed left parenthesis"),
    ("sum(rate(", 9, "unclosed left parenthesis"),
    ("1 !~ 1", 2, "unexpected character after '!': '~'"),
    ("1 =~ 1", 2, "unexpected character after '=': '~'"),
    ("}", 0, "unexpected character: '}'"),
    ("some}", 4, "unexpected character: '}'"),
    ("{", 1, "unexpected end of input inside braces"),
    ("some{", 5, "unexpected end of input inside braces"),
    ("foo[5m", 6, "unclosed left bracket"),
    ("foo bar", 4, "unexpected identifier \"bar\""),
    ("a\n  b", 4, "unexpected identifier \"b\""),
    // Strings.
    ("`\\``", 3, "unterminated raw string"),
    ("\"\\", 0, "escape sequence not terminated"),
    ("\"\\c\"", 0, "unknown escape sequence U+0063 'c'"),
    ("\"\\x.\"", 0, "illegal character U+002E '.' in escape sequence"),
    ("\"abc", 0, "unterminated quoted string"),
    ("'\\\"'", 0, "unknown escape sequence U+0022 '\"'"),
    ("\"\\uD800\"", 0, "escape sequence is an invalid Unicode code point"),
    ("sum by (\"foo)(some_metric{})", 8, "unterminated quoted string"),
    // Go reads `\xNN` as a byte, and the bytes need not be UTF-8. A grouping
    // label must be a valid name (Prometheus's message); a selector's names
    // and values are text in promlite (Prometheus accepts them: no stored
    // label has such a name or value).
    ("sum by (\"a\\xc5z\") (foo)", 8, "invalid label name for grouping: \"a\\xc5z\""),
    ("foo{\"a\\xc5z\"=\"x\"}", 4, "invalid UTF-8 in label name \"a\\xc5z\""),
    ("foo{job=~\"\\377\"}", 9, "invalid UTF-8 in label matcher value \"\\xff\""),
    ("{\"\\xc5\"}", 1, "invalid UTF-8 in label name \"\\xc5\""),
    // Numbers.
    (
        "999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999",
        0,
        "error parsing number: strconv.ParseFloat: parsing \"999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999\": value out of range",
    ),
    ("0s", 0, "duration must be greater than 0"),
    // Operators.
    ("1 and 1", 0, "set operator \"and\" not allowed in binary scalar expression"),
    ("1 or 1", 0, "set operator \"or\" not allowed in binary scalar expression"),
    ("1 unless 1", 0, "set operator \"unless\" not allowed in binary scalar expression"),
    ("foo and 1", 0, "set operator \"and\" not allowed in binary scalar expression"),
    ("1 unless foo", 0, "set operator \"unless\" not allowed in binary scalar expression"),
    ("1 == 1", 2, "comparisons between scalars must use BOOL modifier"),
    ("1 or on(bar) foo", 0, "vector matching only allowed between instant vectors"),
    ("foo == on(bar) 10", 0, "vector matching only allowed between instant vectors"),
    ("a - on(b) ignoring(c) d", 10, "unexpected <ignoring>"),
    ("foo + group_left(baz) bar", 6, "unexpected <group_left>"),
    ("foo and on(bar) group_left(baz) bar", 0, "no grouping allowed for \"and\" operation"),
    ("foo or on(bar) group_right(baz) bar", 0, "no grouping allowed for \"or\" operation"),
    ("foo unless on(bar) group_left(baz) bar", 0, "no grouping allowed for \"unless\" operation"),
    (
        "http_requests{group=\"production\"} + on(instance) group_left(job,instance) cpu_count{type=\"smp\"}",
        34,
        "label \"instance\" must not occur in ON and GROUP clause at once",
    ),
    ("foo + bool bar", 4, "bool modifier can only be used on comparison operators"),
    ("foo + bool 10", 4, "bool modifier can only be used on comparison operators"),
    ("foo and bool 10", 4, "bool modifier can only be used on comparison operators"),
    ("1 + \"a\"", 4, "binary expression must contain only scalar and instant vector types"),
    ("foo[5m] + 1", 0, "binary expression must contain only scalar and instant vector types"),
    ("-\"string\"", 0, "unary expression only allowed on expressions of type scalar or instant vector, got \"string\""),
    ("-test[5m]", 0, "unary expression only allowed on expressions of type scalar or instant vector, got \"range vector\""),
    // Selectors.
    ("on", 0, "unexpected <on>"),
    ("bool", 0, "unexpected <bool>"),
    ("some_metric{a=b}", 14, "unexpected identifier \"b\" in label matching, expected string"),
    ("some_metric{a:b=\"b\"}", 13, "unexpected character inside braces: ':'"),
    ("foo{a*\"b\"}", 5, "unexpected character inside braces: '*'"),
    ("foo{a>=\"b\"}", 5, "unexpected character inside braces: '>'"),
    ("foo{gibberish}", 13, "unexpected \"}\" in label matching, expected label matching operator"),
    ("foo{1}", 4, "unexpected character inside braces: '1'"),
    ("foo{__name__= =}", 14, "unexpected \"=\" in label matching, expected string"),
    ("foo{,}", 4, "unexpected \",\" in label matching, expected identifier or \"}\""),
    ("foo{__name__ == \"bar\"}", 14, "unexpected \"=\" in label matching, expected string"),
    ("foo{__name__=\"bar\" lol}", 19, "unexpected identifier \"lol\" in label matching, expected \",\" or \"}\""),
    ("foo{\"a\"=}", 8, "unexpected \"}\" in label matching, expected string"),
    ("{}", 0, "vector selector must contain at least one non-empty matcher"),
    ("{x=\"\"}", 0, "vector selector must contain at least one non-empty matcher"),
    ("{x=~\".*\"}", 0, "vector selector must contain at least one non-empty matcher"),
    ("{x!~\".+\"}", 0, "vector selector must contain at least one non-empty matcher"),
    ("{x!=\"a\"}", 0, "vector selector must contain at least one non-empty matcher"),
    ("foo{__name__=\"bar\"}", 0, "metric name must not be set twice: \"foo\" or \"bar\""),
    ("foo{a=~\"(\"}", 4, "invalid regular expression \"(\": error: unclosed group"),
    // Ranges, offsets, @.
    ("foo[5mm]", 4, "bad number or duration syntax: \"5mm\""),
    ("foo[5m1]", 4, "bad number or duration syntax: \"5m1\""),
    ("foo[5m:1m1]", 7, "bad number or duration syntax: \"1m1\""),
    ("foo[5m1h]", 4, "not a valid duration string: \"5m1h\""),
    ("foo[5m1m]", 4, "not a valid duration string: \"5m1m\""),
    ("foo[0m]", 4, "duration must be greater than 0"),
    // A zero range written as a number fails like `[0s]` (Prometheus 3.x).
    ("foo[0]", 4, "duration must be greater than 0"),
    ("foo[0.0]", 4, "duration must be greater than 0"),
    ("foo[5m:0]", 7, "duration must be greater than 0"),
    ("foo[0:1m]", 4, "duration must be greater than 0"),
    ("foo[]", 4, "unexpected \"]\" in subquery or range selector, expected number or duration"),
    ("foo[5m:1m:]", 9, "unexpected \":\" in subquery selector, expected \"]\""),
    ("foo[5m 1m]", 7, "unexpected duration \"1m\" in subquery or range, expected \":\" or \"]\""),
    ("some_metric[5m] OFFSET 1mm", 23, "bad number or duration syntax: \"1mm\""),
    ("some_metric[5m] OFFSET", 22, "unexpected end of input in offset, expected number or duration"),
    ("some_metric OFFSET 1m[5m]", 21, "no offset modifiers allowed before range"),
    ("some_metric[5m] @", 17, "unexpected end of input in @, expected timestamp"),
    ("some_metric @ 1234 [5m]", 19, "no @ modifiers allowed before range"),
    ("some_metric @ start() [5m]", 22, "no @ modifiers allowed before range"),
    ("some_metric @ end()[5m]", 19, "no @ modifiers allowed before range"),
    ("(foo + bar)[5m]", 11, "ranges only allowed for vector selectors"),
    ("rate(food[1m])[1h] offset 1h", 14, "ranges only allowed for vector selectors"),
    ("1 offset 1d", 0, "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"),
    ("foo offset 1s offset 2s", 0, "offset may not be set multiple times"),
    ("foo @ 1 @ 2", 0, "@ <timestamp> may not be set multiple times"),
    ("foo @ start() @ end()", 0, "@ <timestamp> may not be set multiple times"),
    ("rate(some_metric[5m]) @ 1234", 0, "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery"),
    ("foo @ +Inf", 0, "timestamp out of bounds for @ modifier: +Inf"),
    ("foo @ -Inf", 0, "timestamp out of bounds for @ modifier: -Inf"),
    ("foo @ NaN", 0, "timestamp out of bounds for @ modifier: NaN"),
    ("foo offset 9.5e10", 11, "duration out of range"),
    ("foo[9.5e10]", 4, "duration out of range"),
    ("test[5d] OFFSET 10s [10m:5s]", 0, "subquery is only allowed on instant vector, got matrix instead"),
    ("(foo + bar{nm=\"val\"})[5m:][10m:5s]", 0, "subquery is only allowed on instant vector, got matrix instead"),
    ("foo @ bar", 6, "unexpected identifier \"bar\" in @, expected timestamp"),
    // Aggregations.
    ("sum without(==)(some_metric)", 12, "unexpected <op:==> in grouping opts, expected label"),
    ("sum without(,)(some_metric)", 12, "unexpected \",\" in grouping opts, expected label"),
    ("sum without(foo,,)(some_metric)", 16, "unexpected \",\" in grouping opts, expected label"),
    ("sum some_metric by (test)", 4, "unexpected identifier \"some_metric\""),
    ("sum (some_metric) by test", 21, "unexpected identifier \"test\" in grouping opts, expected \"(\""),
    ("sum () by (test)", 0, "no arguments for aggregate expression provided"),
    ("MIN keep_common (some_metric)", 4, "unexpected identifier \"keep_common\""),
    ("MIN (some_metric) keep_common", 18, "unexpected identifier \"keep_common\""),
    ("sum (some_metric) without (test) by (test)", 33, "unexpected <by>"),
    ("sum without (test) (some_metric) by (test)", 33, "unexpected <by>"),
    ("topk(some_metric)", 0, "wrong number of arguments for aggregate expression provided, expected 2, got 1"),
    ("sum(1, x)", 0, "wrong number of arguments for aggregate expression provided, expected 1, got 2"),
    ("topk(some_metric,)", 16, "trailing commas not allowed in function call args"),
    ("topk(some_metric, other_metric)", 5, "expected type scalar in aggregation parameter, got instant vector"),
    ("count_values(5, other_metric)", 13, "expected type string in aggregation parameter, got scalar"),
    ("sum(foo[5m])", 4, "expected type instant vector in aggregation expression, got range vector"),
    ("limitk(1, foo)", 0, "limitk() is experimental and must be enabled with --enable-feature=promql-experimental-functions"),
    // Function calls.
    ("floor()", 0, "expected 1 argument(s) in call to \"floor\", got 0"),
    ("floor(some_metric, other_metric)", 0, "expected 1 argument(s) in call to \"floor\", got 2"),
    ("floor(1)", 6, "expected type instant vector in call to function \"floor\", got scalar"),
    ("hour(some_metric, some_metric, some_metric)", 0, "expected at most 1 argument(s) in call to \"hour\", got 3"),
    ("label_join(a, \"b\")", 0, "expected at least 3 argument(s) in call to \"label_join\", got 2"),
    ("time(some_metric)", 0, "expected 0 argument(s) in call to \"time\", got 1"),
    ("non_existent_function_far_bar()", 0, "unknown function with name \"non_existent_function_far_bar\""),
    ("a>b()", 2, "unknown function with name \"b\""),
    ("RATE(foo[5m])", 0, "unknown function with name \"RATE\""),
    ("rate(some_metric)", 5, "expected type range vector in call to function \"rate\", got instant vector"),
    ("rate(avg)", 5, "expected type range vector in call to function \"rate\", got instant vector"),
    ("sort_by_label(foo, \"a\")", 0, "function \"sort_by_label\" is not enabled"),
    ("abs(1,)", 5, "trailing commas not allowed in function call args"),
    // Extended range selectors (the span is the modified expression's).
    ("foo[5m:1m] anchored", 0, "anchored modifier is not supported for subqueries"),
    ("foo[5m:] smoothed", 0, "smoothed modifier is not supported for subqueries"),
    ("foo anchored smoothed", 0, "anchored and smoothed modifiers cannot be used together"),
    ("foo[5m] smoothed anchored", 0, "anchored and smoothed modifiers cannot be used together"),
    ("rate(foo[5m]) anchored", 0, "anchored modifier not implemented"),
    ("1 + (foo) smoothed", 4, "smoothed modifier not implemented"),
];

#[test]
fn errors_have_prometheus_messages_and_positions() {
    let mut failures = Vec::new();
    for &(input, start, message) in CASES {
        match parse(input) {
            Ok(e) => failures.push(format!("{input:?}: parsed as {e}")),
            Err(err) if err.message != message || err.start != start => failures.push(format!(
                "{input:?}: got {}:{:?}, want {start}:{message:?}",
                err.start, err.message
            )),
            Err(_) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn line_and_column_are_reported() {
    let err = parse("sum(\n  rate(foo)\n)").unwrap_err();
    assert_eq!((err.line, err.column), (2, 8));
    assert_eq!(err.to_string(), "2:8: parse error: expected type range vector in call to function \"rate\", got instant vector");
    let err = parse("foo{a=\"é\"} +\n\n  ]").unwrap_err();
    assert_eq!((err.line, err.column), (3, 3));
}

#[test]
fn syntax_errors_win_over_type_errors() {
    // Prometheus type-checks only a syntactically valid tree.
    assert_eq!(
        parse("rate(foo) +").unwrap_err().message,
        "unexpected end of input"
    );
}

#[test]
fn experimental_features_need_the_option() {
    let on = ParserOptions {
        enable_experimental_functions: true,
        ..ParserOptions::default()
    };
    for q in [
        "limitk(1, foo)",
        "limit_ratio(0.5, foo)",
        "sort_by_label(foo, \"a\")",
        "mad_over_time(foo[5m])",
    ] {
        assert!(parse(q).is_err(), "{q}");
        assert!(parse_with(q, &on).is_ok(), "{q}");
    }
    let err = parse_with("info(foo, bar{a=\"b\"})", &on).unwrap_err();
    assert_eq!(
        err.message,
        "expected label selectors only, got vector selector instead"
    );
    assert!(parse_with("info(foo, {a=\"b\"})", &on).is_ok());
    // info's second argument may select everything.
    assert!(parse_with("info(foo, {})", &on).is_ok());
    assert!(parse_with("info(foo)", &on).is_ok());
}

#[test]
fn overlong_queries_are_rejected() {
    let q = "a+".repeat(600_000) + "a";
    let err = parse(&q).unwrap_err();
    assert!(err.message.starts_with("query too long"), "{}", err.message);
}
