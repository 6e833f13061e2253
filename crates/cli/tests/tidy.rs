//! Mechanical rules of the code base, checked on every `cargo test`: every Rust file opens with a `//!`
//! comment saying why it exists, and no file keeps a todo or dbg macro, nor an ignore or should_panic attribute.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && path.file_name().is_some_and(|name| name != "target") {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_file_explains_itself_and_nothing_is_left_unfinished() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    rust_files(&crates, &mut files);
    assert!(files.len() > 40, "found only {} files under {}", files.len(), crates.display());
    let banned = [concat!("todo", "!("), concat!("dbg", "!("), concat!("#[", "ignore"), concat!("#[", "should_panic")];
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if !text.starts_with("//!") {
            problems.push(format!("{}: does not start with a `//!` comment", file.display()));
        }
        for needle in banned {
            if text.contains(needle) {
                problems.push(format!("{}: contains `{needle}`", file.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
