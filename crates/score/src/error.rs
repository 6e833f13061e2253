//! The errors of reading data, training and loading models.

/// Everything that can go wrong in this crate; messages name the file, line and column where there is one.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    /// A CSV file could not be read or parsed.
    #[error("{file}: {message}")]
    Csv {
        /// The file (or source name) being read.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// A required column is absent from a CSV header.
    #[error("{file}: missing column `{column}`")]
    MissingColumn {
        /// The file (or source name) being read.
        file: String,
        /// The absent column.
        column: String,
    },
    /// A cell could not be parsed.
    #[error("{file}, line {line}, column `{column}`: {message}")]
    Field {
        /// The file (or source name) being read.
        file: String,
        /// The 1-based line in the file (the header is line 1).
        line: u64,
        /// The column of the cell.
        column: String,
        /// What went wrong.
        message: String,
    },
    /// A row does not have as many values as the schema has columns.
    #[error("row {row}: expected {expected_categories} categorical and {expected_numbers} numeric values, got {categories} and {numbers}")]
    RowShape {
        /// The 0-based row index.
        row: usize,
        /// Categorical columns in the schema.
        expected_categories: usize,
        /// Numeric columns in the schema.
        expected_numbers: usize,
        /// Categorical values in the row.
        categories: usize,
        /// Numeric values in the row.
        numbers: usize,
    },
    /// The training data cannot be used (no rows, one class only, labels not matching rows, bad options).
    #[error("cannot train: {0}")]
    Training(String),
    /// A model file is not valid JSON of the expected shape.
    #[error("invalid model file: {0}")]
    ModelFormat(String),
    /// A model file was written by an incompatible version.
    #[error("unsupported model format version {found} (this build reads version {expected})")]
    ModelVersion {
        /// The version in the file.
        found: u32,
        /// The version this build reads and writes.
        expected: u32,
    },
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
