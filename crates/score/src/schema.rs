//! The tabular schema a model is trained on, and rows of raw values.

use crate::ScoreError;
use serde::{Deserialize, Serialize};

/// Named categorical and numeric columns. Rows give their values in this order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// Categorical columns (ids, codes): encoded by target rate and frequency.
    pub categorical: Vec<String>,
    /// Numeric columns: used as they are (missing allowed).
    pub numeric: Vec<String>,
}

impl Schema {
    /// A schema from column names.
    pub fn new<C, N>(categorical: C, numeric: N) -> Self
    where
        C: IntoIterator,
        C::Item: Into<String>,
        N: IntoIterator,
        N::Item: Into<String>,
    {
        Self {
            categorical: categorical.into_iter().map(Into::into).collect(),
            numeric: numeric.into_iter().map(Into::into).collect(),
        }
    }

    /// Checks that `row` (the `index`th) has one value per column.
    pub fn check(&self, index: usize, row: &Row) -> Result<(), ScoreError> {
        self.check_lengths(index, row.categories.len(), row.numbers.len())
    }

    pub(crate) fn check_lengths(&self, index: usize, categories: usize, numbers: usize) -> Result<(), ScoreError> {
        if categories == self.categorical.len() && numbers == self.numeric.len() {
            Ok(())
        } else {
            Err(ScoreError::RowShape {
                row: index,
                expected_categories: self.categorical.len(),
                expected_numbers: self.numeric.len(),
                categories,
                numbers,
            })
        }
    }
}

/// One row of raw values, in schema order. `None` is a missing value (an empty category is treated as missing too).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    /// One value per [`Schema::categorical`] column.
    pub categories: Vec<Option<String>>,
    /// One value per [`Schema::numeric`] column; `None` and NaN are missing.
    pub numbers: Vec<Option<f64>>,
}

impl Row {
    /// A row from its values.
    pub fn new(categories: Vec<Option<String>>, numbers: Vec<Option<f64>>) -> Self {
        Self { categories, numbers }
    }
}
