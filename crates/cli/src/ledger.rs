//! `zonegate ledger record|show|item|documents|patrol|writeoff`: the bonded ledgers from the host, as the
//! local operator, on the same use cases as `/v1/ledgers/{uscc}/…`.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::Context as _;
use chrono::NaiveDate;
use serde_json::Value;
use zonegate_app::auth::Principal;
use zonegate_app::ledger::LedgerRecorded;

use crate::{open_app, DatabaseArgs};

#[derive(clap::Subcommand)]
pub enum LedgerCommand {
    /// Record a ledger document of KIND (items, lists, list-cancellations, gate-passes, boms,
    /// processing-runs, exhibitions, exhibition-returns, exhibition-sales, patrols, leases,
    /// lease-instalments, lease-returns, stocktakes, corrections) from FILE (JSON, `-` for standard input), as
    /// `POST /v1/ledgers/{uscc}/{kind}` takes it. Prints the document and its result.
    Record {
        /// The enterprise (USCC).
        uscc: String,
        kind: String,
        file: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Every item of the enterprise's ledger with its balances.
    Show {
        uscc: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// One item: balances, goods made in the zone, every transfer.
    Item {
        uscc: String,
        item_no: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// The data-patrol report on a day (default today).
    Patrol {
        uscc: String,
        #[arg(long)]
        on: Option<NaiveDate>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// The write-off (核销) statement for the days FROM..=TO, as JSON or CSV.
    Writeoff {
        uscc: String,
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
        #[arg(long)]
        csv: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

fn print(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub async fn run(command: LedgerCommand) -> anyhow::Result<()> {
    let operator = Principal::platform("cli");
    match command {
        LedgerCommand::Record { uscc, kind, file, database } => {
            let mut text = String::new();
            if file.as_os_str() == "-" {
                std::io::stdin().read_to_string(&mut text).context("cannot read standard input")?;
            } else {
                text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            }
            let body: Value = serde_json::from_str(&text).context("the document is not JSON")?;
            let app = open_app(&database).await?;
            match app.record_ledger(&operator, &uscc, &kind, &body).await {
                Ok(LedgerRecorded::Created(v)) => print(&v)?,
                Ok(LedgerRecorded::Repeat(v)) => {
                    eprintln!("recorded before with the same content: the first result");
                    print(&v)?
                }
                Err(zonegate_app::AppError::Invalid(errors)) => {
                    for e in &errors.0 {
                        eprintln!("{}: {} ({})", e.field, e.message, e.code);
                    }
                    anyhow::bail!("the document has {} problem(s); nothing was recorded", errors.0.len());
                }
                Err(e) => return Err(e.into()),
            }
        }
        LedgerCommand::Show { uscc, database } => {
            print(&open_app(&database).await?.ledger_overview(&operator, &uscc)?)?
        }
        LedgerCommand::Item { uscc, item_no, database } => {
            print(&open_app(&database).await?.ledger_item(&operator, &uscc, &item_no)?)?
        }
        LedgerCommand::Patrol { uscc, on, database } => {
            let app = open_app(&database).await?;
            let on = on.unwrap_or_else(|| app.now().date_naive());
            print(&app.ledger_patrol(&operator, &uscc, on)?)?
        }
        LedgerCommand::Writeoff { uscc, from, to, csv, database } => {
            let (report, text) = open_app(&database).await?.ledger_write_off(&operator, &uscc, from, to)?;
            if csv {
                print!("{text}");
            } else {
                print(&report)?;
            }
        }
    }
    Ok(())
}
