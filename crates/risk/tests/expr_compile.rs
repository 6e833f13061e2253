//! Compile-time checks of rule conditions: positions and messages of errors,
//! several errors at once, and what the supported subset accepts.

use zonegate_risk::expr::{Condition, ExprError};

fn errors(source: &str) -> Vec<ExprError> {
    match Condition::compile(source) {
        Ok(_) => panic!("`{source}` compiled, but should not"),
        Err(errors) => errors,
    }
}

fn single(source: &str) -> ExprError {
    let errors = errors(source);
    assert_eq!(errors.len(), 1, "one error for `{source}`: {errors:#?}");
    errors.into_iter().next().unwrap()
}

fn assert_error(source: &str, line: u32, column: u32, message_part: &str) {
    let e = single(source);
    assert_eq!((e.line, e.column), (line, column), "position for `{source}`: {e}");
    assert!(e.message.contains(message_part), "`{source}`: expected `{message_part}` in `{}`", e.message);
}

#[test]
fn syntax_error_has_line_and_column() {
    let e = single("decl.value_cny > 1.0 &&\n  decl.flow == 'x' )");
    assert_eq!((e.line, e.column), (2, 20), "{e}");
    assert!(e.message.starts_with("Syntax error"), "{e}");
    assert_eq!(e.snippet, "  decl.flow == 'x' )");
}

#[test]
fn syntax_error_column_counts_characters_not_bytes() {
    let e = single("decl.purpose == '自用' )");
    assert_eq!((e.line, e.column), (1, 22), "{e}");
}

#[test]
fn unknown_identifier() {
    assert_error("decls.flow == 'x'", 1, 1, "unknown identifier `decls`; did you mean `decl`?");
    assert_error("foo == 1", 1, 1, "unknown identifier `foo`");
    // An iteration variable is only in scope inside its comprehension.
    assert_error("items.exists(i, i.hs == '1') && i.hs == '2'", 1, 33, "unknown identifier `i`");
}

#[test]
fn unknown_field_with_suggestion() {
    assert_error("items.exists(i, i.orgin == 'KP')", 1, 19, "unknown field `orgin` on item; did you mean `origin`?");
    assert_error("decl.flw == 'x'", 1, 6, "unknown field `flw` on decl; did you mean `flow`?");
    assert_error("declarant.credt == 'dishonest'", 1, 11, "unknown field `credt` on party; did you mean `credit`?");
    assert_error("history.zzzzzzzz > 1", 1, 9, "unknown field `zzzzzzzz` on history");
    let e = single("history.zzzzzzzz > 1");
    assert!(!e.message.contains("did you mean"), "{e}");
}

#[test]
fn field_on_a_scalar() {
    assert_error("decl.flow.kind == 'x'", 1, 11, "cannot select field `kind` on a string");
}

#[test]
fn type_mismatches() {
    assert_error("decl.value_cny == 'x'", 1, 16, "`==` cannot be applied to double and string");
    assert_error("decl.flow > 3", 1, 11, "`>` cannot be applied to string and int");
    assert_error("decl.value_cny + 1 > 2.0", 1, 16, "`+` cannot mix double and int");
    assert_error("decl.value_cny % 2.0 == 0.0", 1, 16, "`%` cannot be applied to double and double");
    assert_error("!decl.flow", 1, 1, "`!` needs a bool");
    assert_error("decl.flow && true", 1, 11, "`&&` cannot be applied to string and bool");
    assert_error("decl.flow in [1, 2]", 1, 11, "`in` cannot look for a string in a list(int)");
    assert_error("decl.flow in ['a', 1]", 1, 20, "list elements must all have the same type");
    assert_error("(credit == 'a' ? 1 : 'b') == 1", 1, 16, "both branches of `? :`");
    assert_error("decl.flow.startsWith(1)", 1, 11, "`startsWith` is called on a string with a string");
    assert_error("size(decl.value_cny) > 1", 1, 1, "`size` needs a string or a list");
    assert_error("int(decl.flow) > 1", 1, 1, "`int()` converts an int or a double");
    assert_error("items.exists(i, i.value_cny)", 1, 17, "the condition of `exists` must be a bool, not a double");
    assert_error("decl == decl", 1, 6, "`==` cannot be applied to decl and decl");
}

#[test]
fn non_bool_result_points_at_the_whole_expression() {
    assert_error("decl.value_cny * 2.0", 1, 1, "a condition must be a bool, but this expression is a double");
    assert_error("  decl.flow", 1, 3, "this expression is a string");
    assert_error("items", 1, 1, "this expression is a list(item)");
    assert_error("items.filter(i, true)", 1, 1, "this expression is a list(item)");
}

#[test]
fn unsupported_functions_and_constructs() {
    assert_error("decl.flow.matches('^x')", 1, 11, "`matches` is not supported in rules");
    assert_error("lowerAscii(decl.flow) == 'x'", 1, 1, "`lowerAscii` is not supported in rules");
    assert_error("has(decl.zone)", 1, 1, "`has` is not supported in rules");
    assert_error("items.map(i, i.hs).size() > 0", 1, 7, "`map` is not supported in rules");
    assert_error("items[0].hs == '1'", 1, 6, "indexing with `[...]` is not supported");
    assert_error("{'a': 1}.size() == 1", 1, 1, "map literals are not supported");
    assert_error("decl.zone == null", 1, 14, "`null` is not supported");
    assert_error(
        "[decl.zone].exists(z, z == 'x')",
        1,
        13,
        "`exists` can range over `items`, a list field or a list literal of constants",
    );
    assert_error("decl.zone in items.filter(i, true)", 1, 11, "the result of `filter` can only be used with `size()`");
    assert_error("decl.exists(x, true)", 1, 6, "`exists` needs a list, not a decl");
}

#[test]
fn several_problems_at_once() {
    let errors = errors(
        "decl.zone.matches('a') || foo == 1 || decl.flw == 'x'\n  || items.exists(i, i.orgin == 'KP') || decl.value_cny == 'x'",
    );
    let found: Vec<(u32, u32)> = errors.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(found, vec![(1, 11), (1, 27), (1, 44), (2, 24), (2, 57)], "{errors:#?}");
    assert!(errors[0].message.contains("`matches`"));
    assert!(errors[1].message.contains("`foo`"));
    assert!(errors[2].message.contains("`flw`"));
    assert!(errors[3].message.contains("`orgin`"));
    assert!(errors[4].message.contains("double and string"));
}

#[test]
fn an_unsupported_call_still_reports_problems_in_its_arguments() {
    let errors = errors("x.matches('a')");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].message.contains("unknown identifier `x`"));
    assert!(errors[1].message.contains("`matches`"));
}

#[test]
fn display_shows_the_line_and_a_caret() {
    let e = single("decl.value_cny > 1.0 &&\n   decl.flw == 'x'");
    assert_eq!(
        e.to_string(),
        "2:9: unknown field `flw` on decl; did you mean `flow`?\n |    decl.flw == 'x'\n |         ^"
    );
}

#[test]
fn accepts_the_supported_subset() {
    for source in [
        "decl.flow == 'second_line_out' && decl.value_cny > 50000.0",
        "items.exists(i, i.hs.startsWith('8471') && i.value_cny > 10000.0)",
        "items.exists(i, i.origin in ['KP', 'IR'])",
        "credit == 'dishonest'",
        "items.exists(i, i.unit_value_cny < 5.0 && i.net_kg > 100.0)",
        "declarant.lists.exists(l, l == 'rd_enterprise')",
        "items.all(i, i.documents.exists(d, d == 'invoice'))",
        "items.exists_one(i, i.chapter == '84')",
        "items.filter(i, i.value_cny > 1000.0).size() >= 2",
        "size(items) > 3 && items.size() > 3",
        "decl.items_count > 1u",
        "decl.value_fen % 100 == 0 && -decl.value_fen < 0",
        "double(decl.items_count) * 2.5 > decl.value_cny / 1000.0",
        "int(decl.value_cny) > 100",
        "decl.zone + '-' + decl.flow == 'hengqin-second_line_out'",
        "(decl.value_cny > 1.0 ? 'big' : 'small') == 'big'",
        "!(credit in ['advanced'])",
        "history.finding_rate > 0.1 || history.findings >= 3",
        "decl.value_cny == 128460",
        "[1, 2, 3].exists(n, n == decl.items_count)",
        "importer.zone_registered == false",
        "decl.flow in []",
    ] {
        if let Err(errors) = Condition::compile(source) {
            panic!("`{source}` does not compile: {errors:#?}");
        }
    }
}

#[test]
fn source_is_kept() {
    let source = "credit == 'dishonest'";
    assert_eq!(Condition::compile(source).unwrap().source(), source);
}

mod fuzz {
    use proptest::prelude::*;
    use zonegate_risk::expr::Condition;
    use zonegate_risk::facts::Facts;

    fn token() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "decl",
            "items",
            "credit",
            "history",
            "declarant",
            ".",
            "flow",
            "value_cny",
            "i",
            "x",
            "exists",
            "all",
            "filter",
            "size",
            "(",
            ")",
            "[",
            "]",
            ",",
            " ",
            "\n",
            "'a'",
            "'自用'",
            "1",
            "2.5",
            "0",
            "3u",
            "==",
            "<",
            ">=",
            "&&",
            "||",
            "!",
            "-",
            "+",
            "/",
            "%",
            "?",
            ":",
            "in",
            "true",
            "startsWith",
            "int",
            "double",
            "{",
            "}",
            "has",
            "matches",
            "\"",
            "é",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Whatever is typed, compiling reports errors and evaluating returns; neither panics.
        #[test]
        fn compile_and_eval_never_panic(tokens in prop::collection::vec(token(), 1..16)) {
            let source: String = tokens.concat();
            match Condition::compile(&source) {
                Ok(condition) => {
                    let _ = condition.eval(&Facts::example());
                }
                Err(errors) => {
                    prop_assert!(!errors.is_empty());
                    for e in &errors {
                        prop_assert!(e.line >= 1 && e.column >= 1, "{e:?}");
                        let _ = e.to_string();
                    }
                }
            }
        }
    }
}
