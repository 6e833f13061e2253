//! Measures compiled rule conditions against the `cel` interpreter: 50
//! typical rules on a 10-item declaration.
//!
//! `cargo run --release -p zonegate-risk --example expr_speed`

use std::hint::black_box;
use std::time::Instant;

use zonegate_risk::expr::Condition;
use zonegate_risk::facts::Facts;

/// 50 rules in the mix of the five typical shapes, with varied constants.
fn rules() -> Vec<String> {
    let mut rules = Vec::new();
    for k in 0..10 {
        rules.push(format!(
            "items.exists(i, i.hs.startsWith('84{:02}') && i.value_cny > {}.0)",
            70 + k,
            10_000 + 1_000 * k
        ));
        rules.push(format!(
            "decl.flow == '{}' && decl.value_cny > {}.0",
            ["second_line_out", "first_line_in"][k % 2],
            50_000 + 5_000 * k
        ));
        rules.push(format!("items.exists(i, i.origin in ['KP', 'IR', 'S{}'])", char::from(b'A' + k as u8)));
        rules.push(format!("credit == '{}'", ["dishonest", "ordinary", "advanced"][k % 3]));
        rules.push(format!("items.exists(i, i.unit_value_cny < {}.0 && i.net_kg > {}.0)", 5 + k, 100 + 10 * k));
    }
    rules
}

fn facts() -> Facts {
    let mut facts = Facts::example();
    let template = facts.items.clone();
    facts.items = (0..10)
        .map(|n| {
            let mut item = template[n % 2].clone();
            item.line = n as i64 + 1;
            item.origin = ["CN", "VN", "US", "DE", "JP"][n % 5].to_string();
            item.value_cny += n as f64;
            item
        })
        .collect();
    facts.decl.items_count = 10;
    facts
}

fn per_iteration(iterations: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..iterations / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(iterations)
}

fn main() {
    let facts = facts();
    let sources = rules();
    let conditions: Vec<Condition> = sources.iter().map(|s| Condition::compile(s).expect("rules compile")).collect();
    let programs: Vec<cel::Program> = sources.iter().map(|s| cel::Program::compile(s).expect("rules parse")).collect();

    let compiled = per_iteration(100_000, || {
        let mut hits = 0;
        for c in &conditions {
            hits += usize::from(c.eval(black_box(&facts)) == Ok(true));
        }
        black_box(hits);
    });

    let build_context = || {
        let mut ctx = cel::Context::default();
        let f = black_box(&facts);
        ctx.add_variable_from_value("decl", cel::to_value(&f.decl).unwrap());
        ctx.add_variable_from_value("items", cel::to_value(&f.items).unwrap());
        ctx.add_variable_from_value("declarant", cel::to_value(&f.declarant).unwrap());
        ctx.add_variable_from_value("importer", cel::to_value(&f.importer).unwrap());
        ctx.add_variable_from_value("credit", cel::to_value(&f.credit).unwrap());
        ctx.add_variable_from_value("history", cel::to_value(&f.history).unwrap());
        ctx
    };
    let context_only = per_iteration(2_000, || {
        black_box(build_context());
    });
    let ctx = build_context();
    let interpreted = per_iteration(2_000, || {
        let mut hits = 0;
        for p in &programs {
            hits += usize::from(p.execute(&ctx) == Ok(cel::Value::Bool(true)));
        }
        black_box(hits);
    });
    // Same answers, for the record.
    for (c, p) in conditions.iter().zip(&programs) {
        assert_eq!(c.eval(&facts).ok().map(cel::Value::Bool), p.execute(&ctx).ok());
    }
    let compile = per_iteration(200, || {
        for s in &sources {
            black_box(Condition::compile(s).unwrap());
        }
    });

    println!("50 rules x 10 items, per decision:");
    println!("  compiled plan:            {compiled:8.2} us");
    println!("  cel interpreter:          {interpreted:8.2} us (+ {context_only:.2} us building the Context)");
    println!("  compiling the 50 rules:   {compile:8.2} us (once, at save time)");
}
