//! Evaluation of compiled conditions: results on the example facts, and
//! runtime errors returned as `Err`, never as a panic.

use zonegate_risk::expr::{Condition, EvalError};
use zonegate_risk::facts::Facts;

fn eval(source: &str, facts: &Facts) -> Result<bool, EvalError> {
    Condition::compile(source).unwrap_or_else(|e| panic!("`{source}` does not compile: {e:#?}")).eval(facts)
}

#[test]
fn typical_rules_on_the_example() {
    let facts = Facts::example();
    for (source, expected) in [
        ("items.exists(i, i.hs.startsWith('8471') && i.value_cny > 10000.0)", true),
        ("decl.flow == 'second_line_out' && decl.value_cny > 50000.0", true),
        ("items.exists(i, i.origin in ['KP', 'IR'])", false),
        ("credit == 'dishonest'", false),
        ("items.exists(i, i.unit_value_cny < 5.0 && i.net_kg > 100.0)", false),
        ("items.exists(i, i.unit_value_cny < 10.0 && i.net_kg > 100.0)", true),
        ("declarant.lists.exists(l, l == 'rd_enterprise')", true),
        ("items.all(i, 'invoice' in i.documents)", true),
        ("items.exists_one(i, i.chapter == '84')", true),
        ("items.filter(i, i.value_cny > 10000.0).size() == 1", true),
        ("decl.value_cny == 128460.50 && decl.value_fen == 12846050", true),
        ("items.exists(i, size(i.description) == 18)", true),
        // Shadowing: the inner `i` is a document, the outer one an item.
        ("items.exists(i, i.documents.exists(i, i == 'packing_list'))", true),
        ("history.finding_rate > 0.1 && history.finding_rate < 0.12", true),
    ] {
        assert_eq!(eval(source, &facts), Ok(expected), "{source}");
    }
}

#[test]
fn runtime_errors_are_errors_not_panics() {
    let mut facts = Facts::example();
    facts.history.inspections = 0;
    facts.history.declarations = i64::MAX;
    for (source, expected) in [
        ("history.findings / history.inspections > 0", EvalError::DivisionByZero),
        ("history.findings % history.inspections == 0", EvalError::RemainderByZero),
        ("history.declarations + 1 > 0", EvalError::Overflow('+')),
        ("history.declarations * 2 > 0", EvalError::Overflow('*')),
        ("-(-history.declarations - 1) > 0", EvalError::Overflow('-')),
        ("(-history.declarations - 1) / -1 > 0", EvalError::Overflow('/')),
        ("int(decl.value_cny * 1.0e20) > 0", EvalError::ConversionOutOfRange),
        ("double(history.findings) / double(history.inspections) * 0.0 < 1.0", EvalError::NotComparable),
        ("items.all(i, 1 / (i.line - 1) > 0)", EvalError::DivisionByZero),
        ("items.exists_one(i, 1 / (i.line - 2) > 0)", EvalError::DivisionByZero),
    ] {
        assert_eq!(eval(source, &facts), Err(expected), "{source}");
    }
}

#[test]
fn errors_are_absorbed_as_in_cel() {
    let mut facts = Facts::example();
    facts.history.inspections = 0;
    // `false && error` and `error && false` are false; `true || error` and `error || true` are true.
    assert_eq!(eval("credit == 'x' && 1 / history.inspections > 0", &facts), Ok(false));
    assert_eq!(eval("1 / history.inspections > 0 && credit == 'x'", &facts), Ok(false));
    assert_eq!(eval("1 / history.inspections > 0 || credit == 'ordinary'", &facts), Ok(true));
    assert_eq!(eval("1 / history.inspections > 0 && credit == 'ordinary'", &facts), Err(EvalError::DivisionByZero));
    // An `exists` with one true element is true even when another one fails.
    assert_eq!(eval("items.exists(i, 1 / (i.line - 1) > 0)", &facts), Ok(true));
    assert_eq!(eval("items.all(i, 1 / (i.line - 1) < 0)", &facts), Ok(false));
    // NaN equality is false, not an error.
    assert_eq!(eval("double(history.findings) / double(history.inspections) * 0.0 == 1.0", &facts), Ok(false));
}

#[test]
fn no_items_and_empty_strings() {
    let mut facts = Facts::example();
    facts.items.clear();
    facts.credit.clear();
    assert_eq!(eval("items.exists(i, true)", &facts), Ok(false));
    assert_eq!(eval("items.all(i, false)", &facts), Ok(true));
    assert_eq!(eval("size(items) == 0 && size(credit) == 0", &facts), Ok(true));
    assert_eq!(eval("credit.startsWith('') && credit in ['']", &facts), Ok(true));
}

#[test]
fn condition_is_send_and_sync() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug>() {}
    check::<Condition>();
}
