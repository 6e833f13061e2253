//! The `zonegate` binary as a user runs it: offline assessment with its exit codes, imports, and `verify`
//! catching a tampered event, and `bench-cbec` deciding every order it sends.

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn zonegate() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zonegate"));
    command.env("ZONEGATE_LOG", "warn").env_remove("ZONEGATE_DATABASE");
    command
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&output.stdout)))
}

#[test]
fn assess_prints_the_assessment_and_exits_zero() {
    let output = zonegate().arg("assess").arg(examples().join("second_line_out.json")).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let body = json(&output);
    assert_eq!(body["reference"], "HQ-2026-000200");
    assert_eq!(body["items"][0]["treatment"], "zero_value_added_duty");
    assert_eq!(body["items"][0]["duty_cny"], "0.00");
    assert_eq!(body["items"][0]["consumption_tax_cny"], "28235.29");
    assert_eq!(body["items"][1]["treatment"], "taxed");
    assert_eq!(body["items"][1]["consumption_tax_cny"], "18157.89");
    // 28,235.29 + 24,470.59 + 45,000.00 + 18,157.89 + 47,210.53
    assert_eq!(body["totals"]["payable_cny"], "163074.30");
    assert_eq!(body["waived"], serde_json::json!([]));
}

#[test]
fn assess_reads_standard_input() {
    let document = std::fs::read(examples().join("first_line_in.json")).unwrap();
    let mut child = zonegate().args(["assess", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(&document).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let body = json(&output);
    assert_eq!(body["items"][0]["treatment"], "exempt");
    assert_eq!(body["items"][1]["treatment"], "bonded");
}

#[test]
fn invalid_input_prints_every_error_and_exits_two() {
    let output = zonegate().arg("assess").arg(examples().join("invalid.json")).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let body = json(&output);
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    for field in ["reference", "declared_on", "declarant", "items[0].hs", "items[0].value", "items[0].origin"] {
        assert!(fields.contains(&field), "{field} missing from {fields:?}");
    }
    let output =
        zonegate().args(["assess", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().and_then(|mut child| {
            child.stdin.take().unwrap().write_all(b"{ not json").unwrap();
            child.wait_with_output()
        });
    let output = output.unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(json(&output)["errors"][0]["code"], "json");
}

#[test]
fn unknown_parties_need_a_parties_file() {
    let mut document: Value =
        serde_json::from_slice(&std::fs::read(examples().join("first_line_in.json")).unwrap()).unwrap();
    document["declarant"] = "91350100M000100Y43".into();
    document["importer"] = "91350100M000100Y43".into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stranger.json");
    std::fs::write(&path, document.to_string()).unwrap();
    let output = zonegate().arg("assess").arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(json(&output)["errors"][0]["code"], "party_unknown");
    let output =
        zonegate().arg("assess").arg(&path).arg("--parties").arg(examples().join("parties.json")).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stdout));
    // Not registered in the zone: its first-line goods are taxed.
    assert_eq!(json(&output)["items"][0]["treatment"], "taxed");
}

#[test]
fn verify_detects_a_tampered_event() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("zonegate.db");
    let database = database.to_str().unwrap();
    let lists = dir.path().join("lists.csv");
    std::fs::write(&lists, "zone,list,item,effective_from,active,note\nhengqin,not_exempt,8471,2026-05-01,true,test\n")
        .unwrap();
    let output = zonegate().args(["import", "lists"]).arg(&lists).args(["--database", database]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output = zonegate()
        .args(["import", "parties"])
        .arg(examples().join("parties.json"))
        .args(["--database", database])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output = zonegate().args(["verify", "--database", database]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("chain intact"));
    // The same file opened with the pipelined durability reads the same chain.
    let output =
        zonegate().args(["verify", "--sqlite-durability", "pipelined", "--database", database]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let output =
        zonegate().args(["verify", "--sqlite-durability", "sometimes", "--database", database]).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "clap refuses an unknown durability");
    // Someone edits a recorded event behind the platform's back.
    let connection = rusqlite::Connection::open(database).unwrap();
    let seq: i64 = connection
        .query_row("SELECT min(seq) FROM events WHERE payload_json LIKE '%8471%'", [], |row| row.get(0))
        .unwrap();
    connection
        .execute_batch(&format!(
            "DROP TRIGGER events_no_update; UPDATE events SET payload_json = replace(payload_json, '8471', '8472') WHERE seq = {seq};"
        ))
        .unwrap();
    drop(connection);
    let output = zonegate().args(["verify", "--database", database]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("seq {seq}")), "{stderr}");
}

fn import_tariff(dir: &Path, rows: &str) -> Output {
    let tariff = dir.join("tariff.csv");
    let header = "hs8,chapter,ex_line,name_zh,mfn_rate_pct,general_rate_pct,provisional_rate_pct\n";
    std::fs::write(&tariff, format!("{header}{rows}")).unwrap();
    let database = dir.join("zonegate.db");
    zonegate()
        .args(["import", "tariff"])
        .arg(&tariff)
        .args(["--effective-from", "2026-07-01", "--database", database.to_str().unwrap()])
        .output()
        .unwrap()
}

/// Tariff-line rows recorded in the store, and how many of them take effect on 2026-07-01.
fn tariff_rows(dir: &Path) -> (i64, i64) {
    let connection = rusqlite::Connection::open(dir.join("zonegate.db")).unwrap();
    let count = |sql: &str| connection.query_row(sql, [], |row| row.get::<_, i64>(0)).unwrap();
    let july = chrono::NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
    let days = (july - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days();
    (
        count("SELECT count(*) FROM policy_rows WHERE kind = 'tariff_line'"),
        count(&format!("SELECT count(*) FROM policy_rows WHERE kind = 'tariff_line' AND effective_from_days = {days}")),
    )
}

#[test]
fn a_bad_import_file_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    // Malformed rows: every problem reported, the database not even opened.
    let output = import_tariff(dir.path(), "8471300,84,false,x,5,30,\n84713000,84,false,x,five,30,\n");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json(&output)["errors"].as_array().unwrap().len(), 2);
    assert!(!dir.path().join("zonegate.db").exists());
    // Well-formed, but 9999.99 is no HS 2022 subheading: refused, and nothing is appended.
    let output = import_tariff(dir.path(), "84713000,84,false,x,0,70,\n99999999,99,false,x,5,30,\n");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("99999999"), "{stderr}");
    let (seeded, july) = tariff_rows(dir.path());
    assert_eq!(july, 0);
    // A valid file is appended as new rows taking effect on their date; the seeded rows stay.
    let output = import_tariff(dir.path(), "84713000,84,false,x,2,70,\n");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("imported 1 rows"));
    assert_eq!(tariff_rows(dir.path()), (seeded + 1, 1));
}

fn account_add(database: &Path, user_id: &str, password: &str) -> Output {
    let mut child = zonegate()
        .args(["account", "add", user_id, "--party", "customs:hengqin", "--party-kind", "customs"])
        .args(["--role", "supervisor", "--database", database.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn the_first_supervisor_is_created_on_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("zonegate.db");
    let output = account_add(&database, "chan.supervisor", "a long enough password");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let account = json(&output);
    assert_eq!(account["roles"], serde_json::json!(["supervisor"]));
    assert_eq!(account["recorded_by"], "zonegate-cli");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("argon2"), "no hash is printed");
    // The password is stored as an Argon2id hash, never as typed.
    let connection = rusqlite::Connection::open(&database).unwrap();
    let hash: String = connection
        .query_row("SELECT password_hash FROM accounts WHERE user_id = 'chan.supervisor'", [], |row| row.get(0))
        .unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains("long enough"), "{hash}");
    // A second account under the same name is refused; a short password lists the problem.
    let again = account_add(&database, "chan.supervisor", "a long enough password");
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    let short = account_add(&database, "ho.supervisor", "short");
    assert_eq!(short.status.code(), Some(1));
    assert_eq!(json(&short)["errors"][0]["field"], "password");
}

#[test]
fn bench_cbec_decides_every_order_with_either_sqlite_durability() {
    for durability in ["full", "pipelined"] {
        let output = zonegate()
            .args(["bench-cbec", "--orders", "600", "--batch-orders", "200", "--http-rates", ""])
            .args(["--sqlite-durability", durability])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8_lossy(&output.stdout);
        let label = if durability == "full" { "synchronous=FULL" } else { "durability pipelined" };
        assert!(stdout.contains(label), "{stdout}");
        let outcome = stdout.lines().find_map(|line| line.trim().strip_prefix("outcome: ")).expect("an outcome line");
        let outcome: Value = serde_json::from_str(outcome).unwrap();
        let decided: u64 =
            ["released", "held", "refused", "awaiting_tax"].iter().map(|s| outcome[s].as_u64().unwrap_or(0)).sum();
        assert_eq!(decided, 600, "{outcome}");
        assert_eq!(outcome["incomplete"].as_u64().unwrap_or(0), 0, "{outcome}");
    }
}
