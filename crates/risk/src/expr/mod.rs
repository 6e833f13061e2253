//! Rule conditions: CEL expressions over the [fact model](crate::facts),
//! parsed by the `cel` crate, type-checked against the fact schema when a rule
//! is saved, and compiled into a typed evaluation plan that runs without
//! allocating (field accessors resolved, literal lists pre-built, strings
//! compared in place). The `cel` interpreter stays the reference semantics:
//! the differential tests check the plan against it.
//!
//! # Supported CEL
//!
//! - literals: `int`, `uint` (read as `int`), `double`, `string`, `bool`, and
//!   lists of one of those;
//! - the identifiers `decl`, `items`, `declarant`, `importer`, `credit`,
//!   `history`, and field selection on them and on item variables;
//! - `==` `!=` `<` `<=` `>` `>=` (an `int` and a `double` compare numerically,
//!   as the `cel` interpreter does), `&&` `||` `!` (with CEL's commutative
//!   error semantics), `a ? b : c`;
//! - `+ - * / %` on ints (checked: overflow and division by zero are errors),
//!   `+ - * /` on doubles, `+` on strings, unary `-`;
//! - `x in list` (a list literal or a list field);
//! - `size(x)` / `x.size()` on strings (code points) and lists;
//!   `s.startsWith(t)`, `s.endsWith(t)`, `s.contains(t)`;
//! - `list.exists(v, p)`, `list.all(v, p)`, `list.exists_one(v, p)` and
//!   `list.filter(v, p).size()`, over `items`, a list field or a literal list
//!   of constants;
//! - `int(x)` and `double(x)` between ints and doubles.
//!
//! Anything else (`matches`, `has`, maps, indexing, `map`, …) is rejected at
//! compile time with an [`ExprError`] pointing at it.
//!
//! # Known divergences from the `cel` interpreter
//!
//! - Ill-typed expressions (e.g. `decl.value_cny == 'x'`, which CEL evaluates
//!   to `false`, or `1 + 1.0`, a runtime error there) are compile errors here.
//! - A `uint` literal is an `int`: `decl.items_count + 1u` compiles, while the
//!   interpreter fails at run time (no `int + uint` overload).
//! - Which error is reported when several could be differs; only the
//!   presence of an error is guaranteed to match.

mod compile;
mod plan;
mod schema;

use std::fmt;

use serde::Serialize;

use crate::facts::Facts;

/// A compiled rule condition: its CEL source and its evaluation plan.
#[derive(Clone, Debug)]
pub struct Condition {
    source: String,
    plan: plan::BoolN,
}

impl Condition {
    /// Parses, type-checks against the fact model, compiles. Every problem at once.
    pub fn compile(source: &str) -> Result<Condition, Vec<ExprError>> {
        let program = cel::Program::compile(source).map_err(|errors| {
            errors
                .errors
                .iter()
                .map(|e| {
                    let line = u32::try_from(e.pos.0.max(1)).unwrap_or(1);
                    let column = u32::try_from(e.pos.1.max(1)).unwrap_or(1);
                    ExprError::at_line_column(source, line, column, e.msg.clone())
                })
                .collect::<Vec<_>>()
        })?;
        let plan = compile::compile(source, program.source_info(), program.expression())?;
        Ok(Condition { source: source.to_string(), plan })
    }

    /// The CEL source the condition was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates on facts. A runtime error (e.g. division by zero, overflow) is an Err, never a panic.
    pub fn eval(&self, facts: &Facts) -> Result<bool, EvalError> {
        let mut cx = plan::Cx::new(facts);
        self.plan.eval(&mut cx)
    }
}

/// A problem found compiling a condition, at a place in its source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExprError {
    /// The line, 1-based.
    pub line: u32,
    /// The column in characters, 1-based, of the offending token.
    pub column: u32,
    /// What is wrong.
    pub message: String,
    /// The text of the source line, for showing the error in context.
    pub snippet: String,
}

impl ExprError {
    /// An error at a byte offset of `src`.
    fn at(src: &str, byte_offset: usize, message: String) -> ExprError {
        let mut at = byte_offset.min(src.len());
        while !src.is_char_boundary(at) {
            at -= 1;
        }
        let before = &src[..at];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = src[line_start..at].chars().count() + 1;
        ExprError::at_line_column(
            src,
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(column).unwrap_or(u32::MAX),
            message,
        )
    }

    fn at_line_column(src: &str, line: u32, column: u32, message: String) -> ExprError {
        let snippet = src.lines().nth(line.saturating_sub(1) as usize).unwrap_or("").to_string();
        ExprError { line, column, message, snippet }
    }
}

impl fmt::Display for ExprError {
    /// `line:column: message`, then the source line and a caret under the column.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)?;
        if !self.snippet.is_empty() {
            let pad: String = self
                .snippet
                .chars()
                .take(self.column.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n | {}\n | {pad}^", self.snippet)?;
        }
        Ok(())
    }
}

impl std::error::Error for ExprError {}

/// A failure evaluating a condition on given facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// An int division by zero.
    #[error("division by zero")]
    DivisionByZero,
    /// An int remainder by zero.
    #[error("remainder by zero")]
    RemainderByZero,
    /// An int operation overflowed: `+`, `-`, `*`, `/`, `%`, or `#` for a size.
    #[error("integer overflow in `{0}`")]
    Overflow(char),
    /// A NaN was ordered (`<`, `<=`, `>`, `>=`).
    #[error("a NaN cannot be ordered")]
    NotComparable,
    /// `int()` of a double outside the int range (or NaN).
    #[error("int() of a double out of the int range")]
    ConversionOutOfRange,
}
