//! `zonegate cbec ingest|order|quota|incomplete|generate|register`: cross-border e-commerce (1210) from the
//! host, as the local operator, on the same use cases as `/v1/cbec/…`; and seeded synthetic traffic with the
//! registrations it needs, for trying the platform and for load tests.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{Datelike as _, NaiveDate, Utc};
use serde_json::{json, Value};
use zonegate_app::auth::Principal;
use zonegate_app::App;
use zonegate_cbec::documents::BATCH_MAX;
use zonegate_cbec::synthetic::{self, Rng};
use zonegate_domain::{CreditClass, Party, Uscc};
use zonegate_policy::ListEntry;

use crate::{open_app, DatabaseArgs};

/// The guarantee `register` lodges for the synthetic platform: large enough that synthetic orders release.
pub const SYNTHETIC_GUARANTEE: &str = "100000000.00";

/// The synthetic companies as enterprises (name, USCC); one already known (the demo's) is left as it is.
const SYNTHETIC_PARTIES: [(&str, &str); 4] = [
    ("合成跨境电商平台 (synthetic platform)", synthetic::PLATFORM),
    ("合成区内电商企业 (synthetic enterprise)", synthetic::ENTERPRISE),
    ("合成支付企业 (synthetic payment company)", synthetic::PAYMENT_COMPANY),
    ("合成物流企业 (synthetic logistics company)", synthetic::LOGISTICS_COMPANY),
];

#[derive(clap::Subcommand)]
pub enum CbecCommand {
    /// Record a batch of documents from FILE (`-` for standard input): a JSON array or NDJSON of
    /// `{"kind", "document"}`, as `POST /v1/cbec/batches` takes it. Prints the result of every entry; exit 1
    /// if any entry was refused. NDJSON longer than one batch is sent in batches of the largest size.
    Ingest {
        file: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// An order's state and every record of it.
    Order {
        /// The platform (USCC).
        platform: String,
        order_no: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// A buyer's year: the annual limit, posted, pending and available (by resident ID number).
    Quota {
        id_number: String,
        /// The calendar year (default this year).
        #[arg(long)]
        year: Option<i32>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Orders whose documents have waited longer than the configured time.
    Incomplete {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Write N synthetic orders (order, payment and waybill each, shuffled per order) as NDJSON batch entries
    /// to standard output. Their companies must be registered first (`zonegate cbec register`).
    Generate {
        #[arg(long)]
        orders: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How many distinct buyers (default: one per 10 orders, at least 1, so that nobody nears the annual
        /// limit).
        #[arg(long)]
        buyers: Option<u32>,
        /// Prefix of the order numbers (`RUN-000000001`).
        #[arg(long, default_value = "SYN")]
        run: String,
    },
    /// Register the synthetic companies on the zone lists (from 2026-01-01) and as enterprises (so accounts
    /// and API tokens can be made for them), and lodge a guarantee for the synthetic platform, so synthetic
    /// orders release. Skips what is there already.
    Register {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

fn print(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn read_input(file: &PathBuf) -> anyhow::Result<String> {
    let mut text = String::new();
    if file.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).context("cannot read standard input")?;
    } else {
        text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    }
    Ok(text)
}

/// The text as batches `cbec_batch` takes: a JSON array whole, NDJSON in chunks of at most [`BATCH_MAX`]
/// non-empty lines.
fn chunks(text: &str) -> Vec<String> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if body.trim_start().starts_with('[') {
        return vec![body.to_owned()];
    }
    let lines: Vec<&str> = body.lines().filter(|line| !line.trim().is_empty()).collect();
    if lines.is_empty() {
        return Vec::new();
    }
    lines.chunks(BATCH_MAX).map(|chunk| chunk.join("\n")).collect()
}

async fn ingest(app: &App, operator: &Principal, text: &str) -> anyhow::Result<ExitCode> {
    let (mut recorded, mut repeated, mut refused) = (0u64, 0u64, 0u64);
    let mut results = Vec::new();
    for chunk in chunks(text) {
        let answer = app.cbec_batch(operator, &chunk).await?;
        recorded += answer.recorded;
        repeated += answer.repeated;
        refused += answer.refused;
        let offset = results.len();
        for mut result in answer.to_value()["results"].as_array().cloned().unwrap_or_default() {
            if let Some(index) = result["index"].as_u64() {
                result["index"] = json!(index + offset as u64);
            }
            results.push(result);
        }
    }
    print(&json!({"recorded": recorded, "repeated": repeated, "refused": refused, "results": results}))?;
    if refused > 0 {
        eprintln!("{refused} of {} entries were refused", results.len());
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the synthetic traffic: each order's three entries in an order drawn from the seeded generator.
fn generate(orders: u64, seed: u64, buyers: Option<u32>, run: &str) -> anyhow::Result<()> {
    let buyers = buyers.unwrap_or_else(|| u32::try_from(orders.div_ceil(10)).unwrap_or(u32::MAX).max(1));
    let mut rng = Rng::new(seed);
    let at = Utc::now();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for n in 1..=orders {
        let trio = synthetic::trio(run, n, buyers, at, &mut rng);
        let mut entries = trio.entries();
        for i in (1..entries.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            entries.swap(i, j);
        }
        for entry in &entries {
            writeln!(out, "{entry}")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The registrations and guarantee of the synthetic traffic; what is in place already is left alone.
pub(crate) async fn register(app: &App, operator: &Principal) -> anyhow::Result<()> {
    let from = NaiveDate::from_ymd_opt(2026, 1, 1).context("a date")?;
    let book = app.book();
    let entries: Vec<ListEntry> = zonegate_app::cbec::synthetic_registrations(from, "synthetic e-commerce traffic")
        .into_iter()
        .filter(|row| {
            !book.list_items(&row.zone, &row.list, from).iter().any(|entry| entry.item == row.item && entry.active)
        })
        .collect();
    let added = entries.len();
    if !entries.is_empty() {
        app.add_list_entries(operator, entries).await?;
    }
    // The companies as enterprises, so that accounts (and API tokens) can be made for them.
    let mut parties = 0;
    for (name, uscc) in SYNTHETIC_PARTIES {
        if app.get_party(operator, uscc).is_ok() {
            continue;
        }
        let party = Party {
            uscc: Uscc::parse(uscc).map_err(|e| anyhow::anyhow!("{uscc}: {}", e.message))?,
            name: name.to_owned(),
            zone_registered: false,
            lists: Vec::new(),
            credit_class: CreditClass::Ordinary,
        };
        app.put_party(operator, &party).await?;
        parties += 1;
    }
    let lodged = app
        .store()
        .policy_rows(zonegate_app::cbec::KIND_GUARANTEE)
        .await?
        .iter()
        .any(|row| row.key == synthetic::PLATFORM && row.effective_from <= from);
    if !lodged {
        let guarantee = json!({
            "amount": SYNTHETIC_GUARANTEE,
            "bank": "synthetic guarantee bank",
            "effective_from": from.to_string(),
            "note": "synthetic e-commerce traffic",
        });
        app.cbec_set_guarantee(operator, synthetic::PLATFORM, &guarantee).await?;
    }
    println!(
        "{added} list entries added ({} already in place); {parties} enterprises added; guarantee of {}: {}",
        synthetic::REGISTRATIONS.len() - added,
        synthetic::PLATFORM,
        if lodged { "already lodged".to_owned() } else { format!("{SYNTHETIC_GUARANTEE} CNY lodged") }
    );
    Ok(())
}

fn invalid(error: zonegate_app::AppError) -> anyhow::Error {
    if let zonegate_app::AppError::Invalid(errors) = &error {
        for e in &errors.0 {
            eprintln!("{}: {} ({})", e.field, e.message, e.code);
        }
    }
    error.into()
}

pub async fn run(command: CbecCommand) -> anyhow::Result<ExitCode> {
    let operator = Principal::platform("cli");
    match command {
        CbecCommand::Ingest { file, database } => {
            let text = read_input(&file)?;
            let app = open_app(&database).await?;
            return ingest(&app, &operator, &text).await;
        }
        CbecCommand::Order { platform, order_no, database } => {
            let app = open_app(&database).await?;
            print(&app.cbec_order(&operator, &platform, &order_no).await.map_err(invalid)?)?
        }
        CbecCommand::Quota { id_number, year, database } => {
            let app = open_app(&database).await?;
            let year = year.unwrap_or_else(|| zonegate_cbec::engine::china_day(app.now()).year());
            print(&app.cbec_quota(&operator, &id_number, year).map_err(invalid)?)?
        }
        CbecCommand::Incomplete { database } => print(&open_app(&database).await?.cbec_incomplete(&operator)?)?,
        CbecCommand::Generate { orders, seed, buyers, run } => generate(orders, seed, buyers, &run)?,
        CbecCommand::Register { database } => register(&*open_app(&database).await?, &operator).await?,
    }
    Ok(ExitCode::SUCCESS)
}
