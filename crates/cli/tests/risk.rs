//! `zonegate risk` as a user runs it: train on a slice of the KCS data, score, evaluate, and clear errors.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn zonegate() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zonegate"));
    command.env("ZONEGATE_LOG", "warn");
    command
}

fn kcs(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/kcs").join(file)
}

/// The header and data rows `skip..skip + rows` of a KCS file, written to `dir/name`.
fn slice(source: &str, skip: usize, rows: usize, dir: &Path, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(kcs(source)).unwrap();
    let path = dir.join(name);
    let mut out = std::fs::File::create(&path).unwrap();
    let mut lines = text.lines();
    writeln!(out, "{}", lines.next().unwrap()).unwrap();
    for line in lines.skip(skip).take(rows) {
        writeln!(out, "{line}").unwrap();
    }
    path
}

fn head(source: &str, rows: usize, dir: &Path, name: &str) -> PathBuf {
    slice(source, 0, rows, dir, name)
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn train_score_evaluate_on_a_slice_of_kcs() {
    let dir = tempfile::tempdir().unwrap();
    // Two disjoint slices, concatenated by `train` (every third month of 2020 is enough to learn from).
    let train_a = slice("df_syn_train_eng.csv", 0, 4000, dir.path(), "train_a.csv");
    let train_b = slice("df_syn_train_eng.csv", 20_000, 6000, dir.path(), "train_b.csv");
    let valid = head("df_syn_valid_eng.csv", 1500, dir.path(), "valid.csv");
    let model = dir.path().join("model.json");
    let out = stdout(
        &zonegate()
            .args(["risk", "train", "--label", "Fraud", "--seed", "7", "--csv"])
            .arg(&train_a)
            .arg(&train_b)
            .arg("--valid")
            .arg(&valid)
            .arg("--out")
            .arg(&model)
            .output()
            .unwrap(),
    );
    assert!(out.contains("trained on 10000 rows"), "{out}");
    assert!(out.contains("valid AUC"), "{out}");

    let scores =
        stdout(&zonegate().args(["risk", "score", "--model"]).arg(&model).arg("--csv").arg(&valid).output().unwrap());
    let lines: Vec<&str> = scores.lines().collect();
    assert_eq!(lines[0], "Declaration ID,score");
    assert_eq!(lines.len(), 1501, "one row per input row");
    let first_id =
        std::fs::read_to_string(&valid).unwrap().lines().nth(1).unwrap().split(',').next().unwrap().to_owned();
    assert!(lines[1].starts_with(&format!("{first_id},")), "input order: {}", lines[1]);
    for line in &lines[1..] {
        let score: f64 = line.split(',').nth(1).unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&score), "{line}");
    }

    let table = stdout(
        &zonegate().args(["risk", "evaluate", "--model"]).arg(&model).arg("--csv").arg(&valid).output().unwrap(),
    );
    for rate in ["1%", "2%", "5%", "10%"] {
        assert!(table.contains(rate), "{table}");
    }
    let auc: f64 = table
        .lines()
        .find_map(|l| l.strip_prefix("AUC "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no AUC in {table}"));
    assert!(auc > 0.7, "valid AUC {auc}\n{table}");
}

#[test]
fn errors_name_the_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    let output = zonegate()
        .args(["risk", "train", "--csv"])
        .arg(&missing)
        .arg("--out")
        .arg(dir.path().join("m.json"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot open") && stderr.contains("nope.csv"), "{stderr}");

    let bad = head("df_syn_train_eng.csv", 5, dir.path(), "bad.csv");
    let text = std::fs::read_to_string(&bad).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut cells: Vec<String> = lines[3].split(',').map(str::to_owned).collect();
    cells[18] = "heavy".into(); // Net Mass
    lines[3] = cells.join(",");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let output = zonegate()
        .args(["risk", "train", "--csv"])
        .arg(&bad)
        .arg("--out")
        .arg(dir.path().join("m.json"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.csv, line 4, column `Net Mass`: `heavy` is not a number"), "{stderr}");

    let no_label = dir.path().join("no_label.csv");
    std::fs::write(&no_label, text.replace(",Fraud,Critical Fraud", ",Outcome,Critical Fraud")).unwrap();
    let output = zonegate()
        .args(["risk", "train", "--csv"])
        .arg(&no_label)
        .arg("--out")
        .arg(dir.path().join("m.json"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("missing column `Fraud`"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
