//! Differential tests: on random facts, every compiled condition of a corpus
//! covering each supported construct must give what the `cel` crate's
//! interpreter gives on the same facts (serialised with `cel::to_value`):
//! the same bool, or an error when the interpreter fails.

use proptest::prelude::*;
use zonegate_risk::expr::Condition;
use zonegate_risk::facts::{Decl, Facts, History, Item, Party};

/// Rules covering every supported construct, including ones that fail at run
/// time on some facts (division by zero, overflow, NaN ordering, conversion).
const CORPUS: &[&str] = &[
    // the typical hot-path shapes
    "items.exists(i, i.hs.startsWith('8471') && i.value_cny > 10000.0)",
    "decl.flow == 'second_line_out' && decl.value_cny > 50000.0",
    "items.exists(i, i.origin in ['KP', 'IR'])",
    "credit == 'dishonest'",
    "items.exists(i, i.unit_value_cny < 5.0 && i.net_kg > 100.0)",
    // fields of every object
    "decl.zone != 'hengqin' || decl.purpose == 'processing' || decl.currency == 'CNY'",
    "decl.declared_on >= '2026-03-01' && decl.declared_on < '2026-07-01'",
    "decl.declarant == importer.uscc || decl.importer == declarant.uscc",
    "decl.reference.startsWith('ZG') && decl.items_count >= 2",
    "declarant.credit == 'dishonest' || importer.credit != 'advanced'",
    "declarant.lists.exists(l, l == 'rd_enterprise')",
    "'watch' in importer.lists || !declarant.zone_registered",
    "importer.zone_registered == declarant.zone_registered",
    "history.finding_rate > 0.2 || history.findings >= 3",
    "history.inspections == 0 && history.declarations > 100",
    // comprehensions
    "items.all(i, i.documents.exists(d, d == 'invoice'))",
    "items.exists_one(i, i.chapter == '84')",
    "items.filter(i, i.value_cny > 1000.0).size() >= 2",
    "items.exists(i, i.documents.size() == 0 && i.treatment == 'bonded')",
    "['KP', 'IR', 'SY'].exists(c, items.exists(i, i.origin == c))",
    "[1, 2, 3].all(n, n <= decl.items_count)",
    "[0.5, 2.0].exists(r, history.finding_rate > r)",
    "items.all(i, i.line > 0 && i.hs.size() == 8 && i.hs.startsWith(i.hs4))",
    "items.exists(i, items.exists(j, i.line != j.line && i.hs == j.hs))",
    "items.exists(i, i.hs6.endsWith('00') || i.description.contains('bolt'))",
    "items.exists(i, size(i.description) > 20)",
    "items.exists(i, i.origin == '' && i.value_cny >= 500.5)",
    "items.exists(i, i.kg_value_cny > 1000.0 || i.net_kg == 0.0)",
    // arithmetic, conversions, mixed numeric comparisons
    "decl.value_fen % 100 == 0 && -decl.value_fen < 0",
    "double(decl.items_count) * 2.5 > decl.value_cny / 1000.0",
    "int(decl.value_cny) > 100000",
    "decl.value_cny == decl.value_fen / 100",
    "decl.value_cny > decl.value_fen",
    "decl.items_count == 2.0",
    "history.finding_rate < history.findings",
    "decl.items_count >= 2u",
    "decl.items_count in [0, 1, 2]",
    "decl.items_count in [1.0, 3.0]",
    "items.exists(i, i.quantity in [0, 1])",
    "items.exists(i, i.quantity in [0.0, 250.0])",
    "-decl.value_cny < -1000.0 && decl.value_cny - 1.0 < decl.value_cny + 1.0",
    "items.exists(i, i.value_fen * 3 - i.value_fen > 200000)",
    // strings, ternary, lists
    "decl.zone + '/' + decl.flow == 'hengqin/second_line_out'",
    "(decl.value_cny > 100000.0 ? 'big' : 'small') == 'big'",
    "(credit == 'advanced' ? 1 : 3) * decl.items_count > 4",
    "(credit == 'dishonest' ? history.finding_rate : 0.0) >= 0.0",
    "(declarant.zone_registered ? importer.zone_registered : true)",
    "decl.declarant in [importer.uscc, 'X']",
    "!(credit in ['advanced', 'ordinary'])",
    "size(['a', decl.zone]) == 2 && size([]) == 0 && size(decl.flow) > 5",
    "decl.flow in []",
    "true != false && !false",
    // runtime errors, alone and under && / || / comprehensions
    "history.findings / history.inspections > 0",
    "decl.value_fen % history.inspections == 0",
    "credit == 'dishonest' || history.findings / history.inspections > 0",
    "history.findings / history.inspections > 0 || credit == 'dishonest'",
    "history.findings / history.inspections > 0 && credit == 'dishonest'",
    "credit != 'dishonest' && history.findings / history.inspections > 0",
    "history.declarations * 4 > 10",
    "double(history.findings) / double(history.inspections) > 0.1",
    "items.exists(i, i.value_cny / i.quantity < 5.0)",
    "items.exists(i, 1000 / int(i.quantity) > 10)",
    "items.all(i, int(i.quantity) != 0 && 100 / int(i.quantity) > 1)",
    "items.all(i, 100 / int(i.quantity) > 1)",
    "items.exists_one(i, 10 / int(i.net_kg) > 0)",
    "items.filter(i, 10 / int(i.net_kg) > 0).size() > 0",
    "items.exists(i, int(i.value_cny * 1.0e16) > 0)",
    "size([1, 10 / history.inspections]) == 2",
    "(history.findings / history.inspections > 0 ? 'a' : 'b') == 'a'",
    "!(history.findings % history.inspections == 0)",
    "decl.value_fen + history.declarations > 0",
];

/// What the `cel` interpreter makes of `program` on `facts`: a bool, or an error.
fn interpret(program: &cel::Program, context: &cel::Context) -> Result<bool, String> {
    match program.execute(context) {
        Ok(cel::Value::Bool(b)) => Ok(b),
        Ok(other) => panic!("the interpreter returned a non-bool: {other:?}"),
        Err(e) => Err(e.to_string()),
    }
}

fn context(facts: &Facts) -> cel::Context<'static, 'static> {
    fn value<T: serde::Serialize>(v: &T) -> cel::Value {
        cel::to_value(v).expect("facts serialise to CEL values")
    }
    let mut context = cel::Context::default();
    context.add_variable_from_value("decl", value(&facts.decl));
    context.add_variable_from_value("items", value(&facts.items));
    context.add_variable_from_value("declarant", value(&facts.declarant));
    context.add_variable_from_value("importer", value(&facts.importer));
    context.add_variable_from_value("credit", value(&facts.credit));
    context.add_variable_from_value("history", value(&facts.history));
    context
}

struct Compiled {
    source: &'static str,
    condition: Condition,
    program: cel::Program,
}

fn corpus() -> Vec<Compiled> {
    CORPUS
        .iter()
        .map(|source| Compiled {
            source,
            condition: Condition::compile(source).unwrap_or_else(|e| panic!("`{source}` does not compile: {e:#?}")),
            program: cel::Program::compile(source).expect("cel parses the corpus"),
        })
        .collect()
}

fn check_all(rules: &[Compiled], facts: &Facts) -> Result<(), TestCaseError> {
    let context = context(facts);
    for rule in rules {
        let expected = interpret(&rule.program, &context);
        let actual = rule.condition.eval(facts);
        match (&expected, &actual) {
            (Ok(e), Ok(a)) if e == a => {}
            (Err(_), Err(_)) => {}
            _ => {
                return Err(TestCaseError::fail(format!(
                    "`{}`: interpreter {expected:?}, compiled {actual:?}",
                    rule.source
                )))
            }
        }
    }
    Ok(())
}

const HS: &[&str] = &["84713000", "84714100", "73181500", "61091000", "85171200", "30049090", "27101991", "93020000"];
const ORIGINS: &[&str] = &["", "CN", "KP", "IR", "VN", "US", "SY"];
const DOCUMENTS: &[&str] = &["invoice", "packing_list", "certificate_of_origin", "license"];
const TREATMENTS: &[&str] = &["bonded", "taxed", "exempt"];
const DESCRIPTIONS: &[&str] =
    &["Portable laptop computer", "Steel hex bolts M8", "笔记本电脑", "钢制六角螺栓，带螺母和垫圈", ""];
const CREDITS: &[&str] = &["advanced", "ordinary", "dishonest"];
const LISTS: &[&str] = &["rd_enterprise", "watch", "aeo"];
const FLOWS: &[&str] = &["first_line_in", "first_line_out", "second_line_out", "second_line_in", "zone_transfer"];

fn pick(pool: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(pool).prop_map(str::to_string)
}

fn subset(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    prop::sample::subsequence(pool, 0..=pool.len()).prop_map(|v| v.into_iter().map(str::to_string).collect())
}

fn quantity() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), Just(1.0), Just(0.5), Just(250.0), (1u32..5000).prop_map(f64::from)]
}

fn item() -> impl Strategy<Value = Item> {
    (
        pick(HS),
        pick(ORIGINS),
        pick(DESCRIPTIONS),
        quantity(),
        quantity(),
        prop_oneof![Just(0i64), Just(50_050), 0i64..20_000_000],
        pick(TREATMENTS),
        subset(DOCUMENTS),
    )
        .prop_map(|(hs, origin, description, quantity, net_kg, value_fen, treatment, documents)| {
            let value_cny = value_fen as f64 / 100.0;
            Item {
                line: 0,
                hs6: hs[..6].to_string(),
                hs4: hs[..4].to_string(),
                chapter: hs[..2].to_string(),
                hs,
                description,
                origin,
                unit: "C62".into(),
                quantity,
                net_kg,
                value_cny,
                value_fen,
                unit_value_cny: if quantity == 0.0 { 0.0 } else { value_cny / quantity },
                kg_value_cny: if net_kg == 0.0 { 0.0 } else { value_cny / net_kg },
                treatment,
                documents,
            }
        })
}

fn party() -> impl Strategy<Value = Party> {
    (
        prop_oneof![Just("91440400MA4UJ0J57H".to_string()), Just("91440400MA55H0P10R".to_string())],
        pick(CREDITS),
        subset(LISTS),
        any::<bool>(),
    )
        .prop_map(|(uscc, credit, lists, zone_registered)| Party { uscc, credit, lists, zone_registered })
}

fn count() -> impl Strategy<Value = i64> {
    prop_oneof![Just(0i64), 0i64..20, 0i64..5000, Just(i64::MAX / 3)]
}

fn facts() -> impl Strategy<Value = Facts> {
    (
        prop::collection::vec(item(), 0..6),
        party(),
        party(),
        pick(FLOWS),
        prop_oneof![Just("hengqin".to_string()), Just("hainan".to_string())],
        prop_oneof![Just("2026-01-15".to_string()), Just("2026-03-14".to_string()), Just("2026-08-30".to_string())],
        (count(), count(), count()),
    )
        .prop_map(
            |(mut items, declarant, importer, flow, zone, declared_on, (declarations, inspections, findings))| {
                for (n, item) in items.iter_mut().enumerate() {
                    item.line = n as i64 + 1;
                }
                let value_fen: i64 = items.iter().map(|i| i.value_fen).sum();
                let rank = |c: &str| CREDITS.iter().position(|x| *x == c).unwrap();
                let credit = if rank(&declarant.credit) >= rank(&importer.credit) {
                    declarant.credit.clone()
                } else {
                    importer.credit.clone()
                };
                Facts {
                    decl: Decl {
                        reference: "ZG2026000123".into(),
                        zone,
                        flow,
                        purpose: "resale".into(),
                        declared_on,
                        currency: "USD".into(),
                        declarant: declarant.uscc.clone(),
                        importer: importer.uscc.clone(),
                        value_cny: value_fen as f64 / 100.0,
                        value_fen,
                        items_count: items.len() as i64,
                    },
                    items,
                    declarant,
                    importer,
                    credit,
                    history: History {
                        declarations,
                        inspections,
                        findings,
                        finding_rate: if inspections == 0 { 0.0 } else { findings as f64 / inspections as f64 },
                    },
                }
            },
        )
}

#[test]
fn the_corpus_is_large_enough() {
    assert!(CORPUS.len() >= 40);
}

#[test]
fn compiled_matches_the_interpreter_on_the_example() {
    let rules = corpus();
    check_all(&rules, &Facts::example()).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn compiled_matches_the_interpreter(facts in facts()) {
        let rules = corpus();
        check_all(&rules, &facts)?;
    }
}

/// Guards against a vacuous differential test: on generated facts, the corpus
/// must reach true, false and error outcomes, and most rules more than one.
#[test]
fn the_generated_facts_exercise_the_corpus() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let rules = corpus();
    let mut runner = TestRunner::deterministic();
    // per rule: seen true, seen false, seen error
    let mut seen = vec![[false; 3]; rules.len()];
    for _ in 0..300 {
        let facts = facts().new_tree(&mut runner).unwrap().current();
        for (rule, seen) in rules.iter().zip(&mut seen) {
            match rule.condition.eval(&facts) {
                Ok(true) => seen[0] = true,
                Ok(false) => seen[1] = true,
                Err(_) => seen[2] = true,
            }
        }
    }
    let constant: Vec<&str> =
        rules.iter().zip(&seen).filter(|(_, s)| s.iter().filter(|x| **x).count() < 2).map(|(r, _)| r.source).collect();
    // Constant by construction: tautologies, or facts that are consistent.
    let expected_constant = [
        "items.all(i, i.line > 0 && i.hs.size() == 8 && i.hs.startsWith(i.hs4))",
        "decl.value_cny > decl.value_fen",
        "(credit == 'dishonest' ? history.finding_rate : 0.0) >= 0.0",
        "size(['a', decl.zone]) == 2 && size([]) == 0 && size(decl.flow) > 5",
        "decl.flow in []",
        "true != false && !false",
    ];
    assert!(
        constant.iter().all(|c| expected_constant.contains(c)),
        "rules with a single outcome on all generated facts: {constant:#?}"
    );
    let erring = seen.iter().filter(|s| s[2]).count();
    assert!(erring >= 15, "only {erring} rules ever failed at run time");
}
