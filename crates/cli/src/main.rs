//! `zonegate`: the one binary. It parses the command line, sets up logging, opens the store the user picked
//! (embedded SQLite by default, PostgreSQL for scale) and hands over to the app, the server or the bench.

mod bench;
mod bench_cbec;
mod bench_ledger;
mod bench_reads;
mod bench_risk;
mod cbec;
mod ledger;
mod offline;
mod risk;
mod risk_platform;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use zonegate_app::auth::Principal;
use zonegate_app::{App, SystemClock};
use zonegate_store::Store;

/// mimalloc instead of the system allocator: the request path allocates many small strings, and glibc's
/// malloc showed as the largest single cost in profiles of `zonegate bench`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The embedded database used when none is named.
const DEFAULT_DATABASE: &str = "zonegate-data/zonegate.db";

#[derive(Parser)]
#[command(name = "zonegate", version, about = "Customs supervision for special zones under separated-line management")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct DatabaseArgs {
    /// A SQLite file path, or a `postgres://` URL.
    #[arg(long, env = "ZONEGATE_DATABASE", default_value = DEFAULT_DATABASE)]
    database: String,
    /// SQLite only: `full` (default: the fsync is inside each group commit) or `pipelined` (the same
    /// promise to writers, the fsync on its own thread; readers may see a commit a few ms before it is on disk).
    #[arg(long, env = "ZONEGATE_SQLITE_DURABILITY", default_value = "full", value_parser = ["full", "pipelined"])]
    sqlite_durability: String,
    /// The learned risk model the engine scores declarations with (`zonegate risk learn` writes one);
    /// without it, rules, alerts, credit and the random draw decide.
    #[arg(long, env = "ZONEGATE_RISK_MODEL")]
    risk_model: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API.
    Serve {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Address to listen on.
        #[arg(long, env = "ZONEGATE_ADDR", default_value = "127.0.0.1:8080")]
        addr: String,
        /// Also load the demo enterprises, lists, exchange rates and accounts.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        http: HttpArgs,
    },
    /// Run the HTTP API on the embedded database with the Hengqin profile and demo data loaded.
    Demo {
        #[command(flatten)]
        database: DatabaseArgs,
        #[arg(long, env = "ZONEGATE_ADDR", default_value = "127.0.0.1:8080")]
        addr: String,
        #[command(flatten)]
        http: HttpArgs,
    },
    /// Manage accounts from the host (the platform operator): bootstrap the first supervisor of a new
    /// deployment, who then manages the others through the API or the console.
    Account {
        #[command(subcommand)]
        what: AccountCommand,
    },
    /// Assess a declaration offline on the shipped data and print the assessment JSON (exit 2 if invalid).
    Assess {
        /// The declaration JSON file, or `-` for standard input.
        file: String,
        /// Parties the data does not know, as a JSON array (interchange.md §1.1).
        #[arg(long)]
        parties: Option<PathBuf>,
    },
    /// Import policy data into the store.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Recompute the event hash chain and report whether it is intact (exit 1 if not).
    Verify {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Measure assessment and durable submission throughput.
    Bench(bench::BenchArgs),
    /// Benchmark durable ledger postings: zonegate (engine + SQLite / PostgreSQL store) against the same
    /// double-entry transaction in PostgreSQL, batched and one per commit.
    BenchLedger(bench_ledger::BenchLedgerArgs),
    /// Cross-border e-commerce clearance: batch ingestion (SQLite, optionally PostgreSQL) and the
    /// per-message HTTP API's latency at offered rates.
    BenchCbec(bench_cbec::BenchCbecArgs),
    /// Bonded ledgers: record documents (items, lists, gate passes, processing, exhibitions, leases, stock
    /// counts) and read balances, the data patrol and the write-off statement.
    Ledger {
        #[command(subcommand)]
        what: ledger::LedgerCommand,
    },
    /// Cross-border e-commerce, bonded retail import (1210): ingest order, payment and waybill batches, read
    /// orders, quotas and the incomplete report; generate synthetic traffic and register its companies.
    Cbec {
        #[command(subcommand)]
        what: cbec::CbecCommand,
    },
    /// Train, score and evaluate the learned risk score.
    Risk {
        #[command(subcommand)]
        what: risk::RiskCommand,
    },
}

#[derive(clap::Args, Clone)]
struct HttpArgs {
    /// Send the session cookie without `Secure`, for plain HTTP on a trusted network that is not
    /// `localhost` (browsers keep `Secure` cookies of `http://localhost`).
    #[arg(long)]
    insecure_cookies: bool,
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account; the password is read from standard input (one line), or none with `--system`.
    Add {
        user_id: String,
        /// A USCC for an enterprise, or `customs:<office>`, `authority:<body>`, `bank:<code>`.
        #[arg(long)]
        party: String,
        #[arg(long, value_parser = ["enterprise", "customs", "authority", "bank"])]
        party_kind: String,
        /// A role of the party kind; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// A system account: no password, API tokens only (issue them with `POST /v1/tokens`).
        #[arg(long)]
        system: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// A tariff file of the `china_2026` layout; its rows take effect on `--effective-from`.
    Tariff {
        file: PathBuf,
        #[arg(long)]
        effective_from: chrono::NaiveDate,
        #[arg(long, default_value = "cli")]
        author: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Zone list entries (`zone, list, item, effective_from, active, note`).
    Lists {
        file: PathBuf,
        #[arg(long, default_value = "cli")]
        author: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// VAT rows, consumption-tax rows or monthly exchange rates (CSV; the header tells which).
    Rates {
        file: PathBuf,
        #[arg(long, default_value = "cli")]
        author: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Enterprises, as a JSON array (interchange.md §1.1).
    Parties {
        file: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ZONEGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = std::env::var("ZONEGATE_LOG_FORMAT").is_ok_and(|format| format == "json");
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The SQLite durability named on the command line.
pub fn durability(name: &str) -> zonegate_store_sqlite::Durability {
    match name {
        "pipelined" => zonegate_store_sqlite::Durability::Pipelined,
        _ => zonegate_store_sqlite::Durability::Full,
    }
}

/// Opens the store named by `database`: a `postgres://` URL or a SQLite file (its folder is created).
pub async fn open_store(database: &str, sqlite_durability: &str) -> anyhow::Result<Arc<dyn Store>> {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        let store = zonegate_store_pg::PgStore::connect(database).await.context("cannot open the PostgreSQL store")?;
        return Ok(Arc::new(store));
    }
    let path = Path::new(database.strip_prefix("sqlite://").unwrap_or(database));
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create folder {}", parent.display()))?;
    }
    let options = zonegate_store_sqlite::SqliteOptions {
        durability: durability(sqlite_durability),
        ..zonegate_store_sqlite::SqliteOptions::default()
    };
    let store = zonegate_store_sqlite::SqliteStore::open_with(path, options)
        .with_context(|| format!("cannot open the SQLite store {}", path.display()))?;
    Ok(Arc::new(store))
}

/// The secret behind the risk engine's random draws: `ZONEGATE_DRAW_SECRET` (at least 16 bytes), or the
/// public demo secret with a warning.
pub fn draw_secret() -> anyhow::Result<zonegate_risk::draw::DrawSecret> {
    match std::env::var("ZONEGATE_DRAW_SECRET") {
        Ok(secret) => zonegate_risk::draw::DrawSecret::new(secret.into_bytes())
            .map_err(|e| anyhow::anyhow!("ZONEGATE_DRAW_SECRET: {e}")),
        Err(_) => {
            tracing::warn!(
                "ZONEGATE_DRAW_SECRET is not set: random selection uses the public demo secret, so anyone can \
                 predict which declarations are drawn; set it in production"
            );
            Ok(zonegate_app::risk::RiskConfig::demo().secret)
        }
    }
}

async fn open_app(database: &DatabaseArgs) -> anyhow::Result<Arc<App>> {
    let store = open_store(&database.database, &database.sqlite_durability).await?;
    let scorer: Option<Arc<dyn zonegate_risk::Scorer>> = match &database.risk_model {
        Some(path) => {
            let file =
                std::fs::File::open(path).with_context(|| format!("cannot open the risk model {}", path.display()))?;
            let model = zonegate_risk::learned::LearnedModel::load(file)
                .with_context(|| format!("cannot load the risk model {}", path.display()))?;
            tracing::info!(model = zonegate_risk::Scorer::version(&model), "risk model loaded");
            Some(Arc::new(model))
        }
        None => None,
    };
    let config = zonegate_app::risk::RiskConfig { secret: draw_secret()?, scorer };
    Ok(Arc::new(App::open_with(store, Arc::new(SystemClock), config).await.context("cannot open the platform")?))
}

async fn serve(app: Arc<App>, addr: &str, http: &HttpArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    println!(
        "zonegate is listening on http://{local}/  (console at /console, API under /v1, OpenAPI at /openapi.json)"
    );
    let mut config = zonegate_server::ServerConfig::standard();
    config.secure_cookies = !http.insecure_cookies;
    zonegate_server::serve(app, config, listener).await?;
    Ok(())
}

/// Tells how to log in to the demo.
fn print_demo_logins(addr: &str) {
    // Browsers keep the Secure session cookie over plain HTTP for `localhost` only.
    let host = addr.strip_prefix("127.0.0.1:").map_or_else(|| addr.to_owned(), |port| format!("localhost:{port}"));
    println!("Log in at http://{host}/console as one of these demo users, password `{}`:", zonegate_app::DEMO_PASSWORD);
    for (user_id, party, _, role, _) in zonegate_app::DEMO_ACCOUNTS {
        println!("  {user_id:<16} {role:<17} {party}");
    }
}

async fn account(what: AccountCommand) -> anyhow::Result<()> {
    let AccountCommand::Add { user_id, party, party_kind, roles, system, database } = what;
    let password = if system {
        None
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("cannot read the password from standard input")?;
        Some(line.trim_end_matches(['\r', '\n']).to_owned())
    };
    let app = open_app(&database).await?;
    let input = zonegate_app::accounts::AccountInput {
        user_id: Some(user_id),
        party: Some(party),
        party_kind: Some(party_kind),
        roles: Some(roles),
        password,
        display_name: None,
        id_number: None,
    };
    match app.create_account(&Principal::platform("zonegate-cli"), input).await {
        Ok(account) => println!("{account}"),
        Err(zonegate_app::AppError::Invalid(errors)) => {
            print_errors(&errors);
            bail!("{} problems with the account", errors.len());
        }
        Err(error) => return Err(error.into()),
    }
    Ok(())
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { database, addr, demo, http } => {
            let app = open_app(&database).await?;
            if demo {
                app.load_demo().await?;
                print_demo_logins(&addr);
            }
            serve(app, &addr, &http).await?;
        }
        Command::Demo { database, addr, http } => {
            let app = open_app(&database).await?;
            let added = app.load_demo().await?;
            println!("demo data loaded into {} ({added} enterprises and accounts added)", database.database);
            print_demo_logins(&addr);
            serve(app, &addr, &http).await?;
        }
        Command::Account { what } => account(what).await?,
        Command::Assess { file, parties } => return offline::assess(&file, parties.as_deref()),
        Command::Import { what } => import(what).await?,
        Command::Verify { database } => {
            let app = open_app(&database).await?;
            match app.verify(&Principal::platform("zonegate-cli")).await {
                Ok(report) => println!("chain intact: {} events, head {}", report.events, report.head_hash),
                Err(error) => {
                    eprintln!("chain verification failed: {error}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
        Command::Bench(args) => bench::run(args).await?,
        Command::BenchLedger(args) => bench_ledger::run(args).await?,
        Command::BenchCbec(args) => bench_cbec::run(args).await?,
        Command::Risk { what } => risk::run(what).await?,
        Command::Ledger { what } => ledger::run(what).await?,
        Command::Cbec { what } => return cbec::run(what).await,
    }
    Ok(ExitCode::SUCCESS)
}

fn print_errors(errors: &zonegate_domain::FieldErrors) {
    println!("{}", zonegate_wire::errors::envelope(errors));
}

async fn import(what: ImportCommand) -> anyhow::Result<()> {
    use zonegate_policy::defaults::PolicyRows;
    let (count, database) = match what {
        ImportCommand::Tariff { file, effective_from, author, database } => {
            let rows = zonegate_tariff::import::tariff_lines(&read_text(&file)?, effective_from).map_err(|e| {
                print_errors(&e);
                anyhow::anyhow!("{} problems in {}", e.len(), file.display())
            })?;
            let app = open_app(&database).await?;
            let who = Principal::platform(&author);
            (app.append_policy(&who, PolicyRows { tariff_lines: rows, ..PolicyRows::default() }).await?, database)
        }
        ImportCommand::Lists { file, author, database } => {
            let entries = zonegate_policy::defaults::list_entries(&read_text(&file)?).map_err(|e| {
                print_errors(&e);
                anyhow::anyhow!("{} problems in {}", e.len(), file.display())
            })?;
            let app = open_app(&database).await?;
            (app.add_list_entries(&Principal::platform(&author), entries).await?, database)
        }
        ImportCommand::Rates { file, author, database } => {
            let text = read_text(&file)?;
            let header = text.lines().next().unwrap_or("");
            let fail = |e: zonegate_domain::FieldErrors| {
                print_errors(&e);
                anyhow::anyhow!("{} problems in {}", e.len(), file.display())
            };
            let rows = if header.contains("cny_per_unit") {
                PolicyRows {
                    exchange_rates: zonegate_tariff::import::exchange_rate_rows(&text).map_err(fail)?,
                    ..PolicyRows::default()
                }
            } else if header.contains("measure") {
                PolicyRows {
                    consumption_tax: zonegate_tariff::import::consumption_tax_rows(&text).map_err(fail)?,
                    ..PolicyRows::default()
                }
            } else if header.contains("rate_pct") {
                PolicyRows { vat: zonegate_tariff::import::vat_rows(&text).map_err(fail)?, ..PolicyRows::default() }
            } else {
                bail!("{}: the header is not that of a VAT, consumption-tax or exchange-rate file", file.display());
            };
            let app = open_app(&database).await?;
            (app.append_policy(&Principal::platform(&author), rows).await?, database)
        }
        ImportCommand::Parties { file, database } => {
            let value: serde_json::Value =
                serde_json::from_str(&read_text(&file)?).with_context(|| format!("{} is not JSON", file.display()))?;
            let parties = zonegate_wire::parties::parse_parties(&value).map_err(|e| {
                print_errors(&e);
                anyhow::anyhow!("{} problems in {}", e.len(), file.display())
            })?;
            let app = open_app(&database).await?;
            for party in &parties {
                app.put_party(&Principal::platform("zonegate-cli"), party).await?;
            }
            (parties.len(), database)
        }
    };
    println!("imported {count} rows into {}", database.database);
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("zonegate: cannot start the runtime: {error}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("zonegate: {error:#}");
            ExitCode::from(1)
        }
    }
}
