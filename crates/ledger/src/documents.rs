//! What the document planners share: the problems they report.

use serde::{Deserialize, Serialize};

/// One problem with a ledger document: a stable snake_case code, the field it concerns (a path into the
/// request, e.g. `lines[2].quantity`) and a message for people. Planners report every problem at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub code: &'static str,
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem { code, field: field.into(), message: message.into() }
    }
}

/// The planner's result, with problems found before it (a document's head, its parsing) reported first:
/// the transfers only when there are no problems at all, else every problem at once.
pub fn with_problems<T>(mut problems: Vec<Problem>, planned: Result<T, Vec<Problem>>) -> Result<T, Vec<Problem>> {
    match planned {
        Ok(planned) if problems.is_empty() => Ok(planned),
        Ok(_) => Err(problems),
        Err(more) => {
            problems.extend(more);
            Err(problems)
        }
    }
}
