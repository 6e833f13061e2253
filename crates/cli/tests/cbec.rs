//! `zonegate cbec …` as a user runs it: register the synthetic companies, generate traffic, ingest it
//! (every order released), ingest it again (every entry a repeat), and read a buyer's quota and an order.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn zonegate() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zonegate"));
    command.env("ZONEGATE_LOG", "warn").env_remove("ZONEGATE_DATABASE");
    command
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&output.stdout)))
}

fn ok(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn cbec(database: &Path, args: &[&str]) -> Output {
    zonegate().arg("cbec").args(args).args(["--database", database.to_str().unwrap()]).output().unwrap()
}

#[test]
fn synthetic_orders_are_ingested_released_and_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("zonegate.db");

    let output = cbec(&database, &["register"]);
    ok(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("4 list entries added") && stdout.contains("4 enterprises added"), "{stdout}");
    // Twice is harmless: nothing is appended the second time.
    let output = cbec(&database, &["register"]);
    ok(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("0 list entries added")
            && stdout.contains("0 enterprises added")
            && stdout.contains("already lodged"),
        "{stdout}"
    );

    let output =
        zonegate().args(["cbec", "generate", "--orders", "50", "--seed", "3", "--run", "CLI"]).output().unwrap();
    ok(&output);
    let batch = dir.path().join("batch.ndjson");
    std::fs::write(&batch, &output.stdout).unwrap();
    let entries: Vec<Value> =
        String::from_utf8_lossy(&output.stdout).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(entries.len(), 150);
    // The three of an order are shuffled: not every order starts with its order document.
    assert!(entries.chunks(3).any(|trio| trio[0]["kind"] != "order"));
    // Deterministic for a seed (but for the time of the orders).
    let again =
        zonegate().args(["cbec", "generate", "--orders", "50", "--seed", "3", "--run", "CLI"]).output().unwrap();
    let kinds = |text: &[u8]| {
        String::from_utf8_lossy(text)
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap()["kind"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(kinds(&again.stdout), kinds(&output.stdout));

    let output = cbec(&database, &["ingest", batch.to_str().unwrap()]);
    ok(&output);
    let result = json(&output);
    assert_eq!(result["recorded"], 150, "{result:#}");
    assert_eq!(result["refused"], 0);
    let results = result["results"].as_array().unwrap();
    let released: Vec<&Value> = results.iter().filter(|r| r["status"] == "released").collect();
    assert_eq!(
        results.iter().filter(|r| r["decision"].is_object()).count(),
        50,
        "every order decided once, by its third document"
    );
    assert!(
        results.iter().filter(|r| r["decision"].is_object()).all(|r| r["status"] == "released"),
        "every order released: {:#}",
        results.iter().filter(|r| r["decision"].is_object() && r["status"] != "released").collect::<Vec<_>>()[..]
            .first()
            .cloned()
            .cloned()
            .unwrap_or(Value::Null)
    );
    assert!(released.len() >= 50);

    let output = cbec(&database, &["ingest", batch.to_str().unwrap()]);
    ok(&output);
    let result = json(&output);
    assert_eq!((result["recorded"].as_u64(), result["repeated"].as_u64()), (Some(0), Some(150)), "{result:#}");

    // A refused entry makes the exit code non-zero.
    let bad = dir.path().join("bad.ndjson");
    std::fs::write(&bad, "{\"kind\": \"order\", \"document\": {}}\n").unwrap();
    let output = cbec(&database, &["ingest", bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json(&output)["refused"], 1);

    let order = entries.iter().find(|e| e["kind"] == "order").unwrap();
    let buyer = order["document"]["buyer"]["id_number"].as_str().unwrap();
    let output = cbec(&database, &["quota", buyer]);
    ok(&output);
    let quota = json(&output);
    assert!(quota["quota"]["posted_fen"].as_i64().unwrap() > 0, "{quota:#}");
    assert!(!quota.to_string().contains(buyer), "the ID number is not printed back");

    let platform = order["document"]["platform"].as_str().unwrap();
    let order_no = order["document"]["order_no"].as_str().unwrap();
    let output = cbec(&database, &["order", platform, order_no]);
    ok(&output);
    let shown = json(&output);
    assert_eq!(shown["records"].as_array().unwrap().len(), 4, "{shown:#}");
    assert_eq!(shown["order"]["status"], "released");

    let output = cbec(&database, &["incomplete"]);
    ok(&output);
    assert_eq!(json(&output)["orders"], serde_json::json!([]));

    let output = zonegate().args(["verify", "--database", database.to_str().unwrap()]).output().unwrap();
    ok(&output);
}
