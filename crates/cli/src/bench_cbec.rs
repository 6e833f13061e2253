//! `zonegate bench-cbec`: cross-border e-commerce clearance throughput and latency (issue 6, point 6).
//!
//! * Batch ingestion: `--orders` synthetic orders (three documents each, the order of the three shuffled),
//!   sent as NDJSON batches of `--batch-orders` orders through `App::cbec_batch` — the code behind
//!   `POST /v1/cbec/batches` — with `--in-flight` batches at a time. Every order is parsed, matched (the
//!   seven checks and the positive list), quota-checked, taxed, risk-decided (the shipped rule set) and its
//!   records durably committed (SQLite WAL `synchronous=FULL`, or PostgreSQL) before its batch is
//!   answered. Figures: complete orders per second from the first batch sent to the last answered.
//! * Per-message HTTP: the server on 127.0.0.1 in this process, a load generator here too (the same 2 cores),
//!   `--http-connections` keep-alive connections. Orders arrive open loop at each rate of `--http-rates`
//!   for `--http-seconds`; each order's waybill, payment and order are posted one after the other by the
//!   three companies' tokens, and the latency of the last one (its answer carries the stored decision) is
//!   recorded. A rate is sustained when p99 ≤ 50 ms and the orders completed keep up with the offer.
//!
//! A benchmark, not a test: it prints figures, and fails only when an order is not released.

use anyhow::{bail, ensure, Context};
use axum::body::Bytes;
use chrono::Utc;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zonegate_app::auth::Principal;
use zonegate_app::cbec::BatchEntry;
use zonegate_app::{App, SystemClock};
use zonegate_cbec::synthetic::{self, Rng, Trio};
use zonegate_store::Store;

#[derive(clap::Args)]
pub struct BenchCbecArgs {
    /// Orders of each batch-ingestion run.
    #[arg(long, default_value_t = 200_000)]
    orders: u64,
    /// Orders per batch (three documents each).
    #[arg(long, default_value_t = 2_000)]
    batch_orders: u64,
    /// Batches sent at a time.
    #[arg(long, default_value_t = 2)]
    in_flight: usize,
    /// Buyers the orders are spread over (0: one per 10 orders).
    #[arg(long, default_value_t = 0)]
    buyers: u32,
    /// Measure PostgreSQL at this URL too (a fresh schema, dropped after).
    #[arg(long)]
    postgres: Option<String>,
    /// Offered rates of the HTTP run, orders per second, comma-separated (empty: skip the HTTP run).
    #[arg(long, default_value = "2000,3000,4000")]
    http_rates: String,
    /// Seconds each HTTP rate is offered.
    #[arg(long, default_value_t = 10)]
    http_seconds: u64,
    /// Keep-alive connections of the HTTP load generator.
    #[arg(long, default_value_t = 256)]
    http_connections: usize,
    /// Skip the batch-ingestion runs.
    #[arg(long)]
    no_batch: bool,
    /// SQLite durability of the batch and HTTP runs: `full` (the fsync inside each group commit) or
    /// `pipelined` (the same promise: a batch is answered only after its WAL `fdatasync`, which runs on its
    /// own thread while the writer executes the next batch).
    #[arg(long, default_value = "full", value_parser = ["full", "pipelined"])]
    sqlite_durability: String,
    /// Seed of the traffic.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Folder for the SQLite databases (default: a fresh folder under the system temp dir, removed after).
    #[arg(long)]
    dir: Option<PathBuf>,
}

fn sqlite_options(args: &BenchCbecArgs) -> zonegate_store_sqlite::SqliteOptions {
    zonegate_store_sqlite::SqliteOptions {
        durability: crate::durability(&args.sqlite_durability),
        ..zonegate_store_sqlite::SqliteOptions::default()
    }
}

fn open_sqlite(path: &std::path::Path, args: &BenchCbecArgs) -> anyhow::Result<zonegate_store_sqlite::SqliteStore> {
    zonegate_store_sqlite::SqliteStore::open_with(path, sqlite_options(args)).context("open SQLite")
}

fn operator() -> Principal {
    Principal::platform("zonegate-bench")
}

/// Registers the synthetic companies (zone lists, enterprises) and a guarantee for every order's tax.
async fn prepare(app: &App) -> anyhow::Result<()> {
    crate::cbec::register(app, &operator()).await
}

/// NDJSON batches of the run's orders, the three documents of each in a seeded order.
fn batches(run: &str, orders: u64, per_batch: u64, buyers: u32, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let now = Utc::now();
    let mut out = Vec::new();
    let mut text = String::new();
    for n in 0..orders {
        let trio = synthetic::trio(run, n, buyers, now, &mut rng);
        let mut entries = trio.entries().to_vec();
        let rotate = rng.below(3) as usize;
        entries.rotate_left(rotate);
        for entry in entries {
            text.push_str(&entry.to_string());
            text.push('\n');
        }
        if (n + 1) % per_batch == 0 || n + 1 == orders {
            out.push(std::mem::take(&mut text));
        }
    }
    out
}

struct BatchRun {
    system: &'static str,
    orders: u64,
    seconds: f64,
    /// User + system CPU seconds of the whole process during the run (Linux), both cores together.
    cpu_seconds: Option<f64>,
    /// Share of the machine's CPU time left idle (or waiting for I/O) during the run (Linux).
    idle_share: Option<f64>,
    /// Orders by status at the end (held: the risk engine's random or rule selections; refused: over a limit).
    outcome: Value,
}

async fn batch_run(
    system: &'static str,
    prefix: &str,
    store: Arc<dyn Store>,
    args: &BenchCbecArgs,
    buyers: u32,
) -> anyhow::Result<BatchRun> {
    let app = Arc::new(App::open(store, Arc::new(SystemClock)).await.context("open the platform")?);
    prepare(&app).await?;
    let texts = batches(prefix, args.orders, args.batch_orders, buyers, args.seed);
    let queue = Arc::new(std::sync::Mutex::new(texts.into_iter().rev().collect::<Vec<_>>()));
    let started = Instant::now();
    let cpu_before = process_cpu_seconds();
    let machine_before = machine_ticks();
    let mut workers = Vec::new();
    for _ in 0..args.in_flight.max(1) {
        let (app, queue) = (app.clone(), queue.clone());
        workers.push(tokio::spawn(async move {
            let mut recorded = 0u64;
            loop {
                let next = queue.lock().map_err(|_| anyhow::anyhow!("queue lock"))?.pop();
                let Some(text) = next else { break };
                let answer = app.cbec_batch(&operator(), &text).await?;
                if answer.refused != 0 {
                    let refused: Vec<&BatchEntry> =
                        answer.results.iter().filter(|r| matches!(r, BatchEntry::Refused { .. })).take(3).collect();
                    bail!("{} entries refused, the first: {refused:?}", answer.refused);
                }
                recorded += answer.recorded;
            }
            anyhow::Ok(recorded)
        }));
    }
    let mut recorded = 0;
    for worker in workers {
        recorded += worker.await??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = process_cpu_seconds().zip(cpu_before).map(|(after, before)| after - before);
    let idle_share = machine_ticks().zip(machine_before).and_then(|((busy, idle), (busy0, idle0))| {
        let (busy, idle) = (busy - busy0, idle - idle0);
        (busy + idle > 0).then(|| idle as f64 / (busy + idle) as f64)
    });
    ensure!(recorded == 3 * args.orders, "{recorded} documents recorded, expected {}", 3 * args.orders);
    let overview = app.cbec_overview(&operator())?;
    let count = |status: &str| overview["orders"][status].as_u64().unwrap_or(0);
    let decided: u64 = ["released", "held", "refused", "awaiting_tax"].iter().map(|s| count(s)).sum();
    ensure!(
        decided == args.orders && count("incomplete") == 0,
        "{decided} of {} orders decided: {overview}",
        args.orders
    );
    Ok(BatchRun { system, orders: args.orders, seconds, cpu_seconds, idle_share, outcome: overview["orders"].clone() })
}

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    sender: http1::SendRequest<Full<Bytes>>,
}

impl Connection {
    async fn open(address: std::net::SocketAddr) -> anyhow::Result<Connection> {
        let stream = tokio::net::TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Connection { sender })
    }

    /// Posts a body written beforehand; returns the status and the answer's bytes (the generator does not
    /// parse answers: it shares the server's two cores).
    async fn post(&mut self, path: &str, authorization: &str, body: &Bytes) -> anyhow::Result<(u16, Bytes)> {
        self.sender.ready().await?;
        let request = Request::post(path)
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .header("authorization", authorization)
            .body(Full::new(body.clone()))?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }
}

/// The three companies' `Authorization` header values.
struct Tokens {
    platform: String,
    payment: String,
    logistics: String,
}

async fn tokens(app: &App) -> anyhow::Result<Tokens> {
    let mut made = Vec::new();
    for (name, party) in [
        ("platform", synthetic::PLATFORM),
        ("payment", synthetic::PAYMENT_COMPANY),
        ("logistics", synthetic::LOGISTICS_COMPANY),
    ] {
        let user_id = format!("bench-{name}");
        let input = zonegate_app::accounts::AccountInput {
            user_id: Some(user_id.clone()),
            party: Some(party.into()),
            party_kind: Some("enterprise".into()),
            roles: Some(vec!["declarant".into()]),
            ..Default::default()
        };
        app.create_account(&operator(), input).await?;
        let token = zonegate_app::accounts::TokenInput {
            user_id: Some(user_id),
            name: Some("bench".into()),
            ..Default::default()
        };
        made.push(format!("Bearer {}", app.issue_token(&operator(), token).await?.1));
    }
    let logistics = made.pop().context("token")?;
    let payment = made.pop().context("token")?;
    let platform = made.pop().context("token")?;
    Ok(Tokens { platform, payment, logistics })
}

struct HttpRun {
    offered: u64,
    completed: u64,
    achieved: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    errors: u64,
}

/// Whether an answer to the last document carries the stored decision (`"decision":{` at the top level:
/// no nested object of an answer has a field of that name).
fn decided(body: &[u8]) -> bool {
    body.windows(12).any(|w| w == b"\"decision\":{")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

#[allow(clippy::too_many_arguments)]
async fn http_rate(
    address: std::net::SocketAddr,
    tokens: &Arc<Tokens>,
    rate: u64,
    seconds: u64,
    connections: usize,
    run: &str,
    buyers: u32,
    seed: u64,
) -> anyhow::Result<HttpRun> {
    let total = rate * seconds;
    let mut rng = Rng::new(seed);
    let now = Utc::now();
    // Every body is written before the clock starts.
    let trios: Vec<[Bytes; 3]> = (0..total)
        .map(|n| {
            let trio: Trio = synthetic::trio(run, n, buyers, now, &mut rng);
            [&trio.waybill, &trio.payment, &trio.order].map(|body| Bytes::from(body.to_string()))
        })
        .collect();
    let (send, receive) = tokio::sync::mpsc::unbounded_channel::<[Bytes; 3]>();
    let receive = Arc::new(tokio::sync::Mutex::new(receive));
    let mut workers = Vec::new();
    for _ in 0..connections {
        let (receive, tokens) = (receive.clone(), tokens.clone());
        let mut connection = Connection::open(address).await?;
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            let mut last = Instant::now();
            loop {
                let next = receive.lock().await.recv().await;
                let Some([waybill, payment, order]) = next else { break };
                let ok_w = connection.post("/v1/cbec/waybills", &tokens.logistics, &waybill).await;
                let ok_p = connection.post("/v1/cbec/payments", &tokens.payment, &payment).await;
                let sent = Instant::now();
                let ok_o = connection.post("/v1/cbec/orders", &tokens.platform, &order).await;
                last = Instant::now();
                match (ok_w, ok_p, ok_o) {
                    // Decided: released, or held by the risk engine's draw (both stored decisions).
                    (Ok((201, _)), Ok((201, _)), Ok((201, body))) if decided(&body) => {
                        latencies.push(sent.elapsed().as_secs_f64() * 1000.0)
                    }
                    _ => errors += 1,
                }
            }
            anyhow::Ok((latencies, errors, last))
        }));
    }
    // Open loop: order n is offered at n / rate seconds, whether or not earlier ones are done.
    let started = Instant::now();
    for (n, trio) in trios.into_iter().enumerate() {
        let due = started + Duration::from_secs_f64(n as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        if send.send(trio).is_err() {
            bail!("the load generator's workers stopped");
        }
    }
    drop(send);
    let (mut latencies, mut errors, mut finished) = (Vec::new(), 0, started);
    for worker in workers {
        let (mut l, e, last) = worker.await??;
        latencies.append(&mut l);
        errors += e;
        finished = finished.max(last);
    }
    latencies.sort_by(f64::total_cmp);
    let elapsed = finished.duration_since(started).as_secs_f64();
    Ok(HttpRun {
        offered: rate,
        completed: latencies.len() as u64,
        achieved: latencies.len() as f64 / elapsed,
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
        max_ms: latencies.last().copied().unwrap_or(f64::NAN),
        errors,
    })
}

pub async fn run(args: BenchCbecArgs) -> anyhow::Result<()> {
    let (dir, remove) = match &args.dir {
        Some(dir) => (dir.clone(), false),
        None => (std::env::temp_dir().join(format!("zonegate-bench-cbec-{}", std::process::id())), true),
    };
    std::fs::create_dir_all(&dir)?;
    let buyers = if args.buyers == 0 { (args.orders / 10).max(1) as u32 } else { args.buyers };
    println!(
        "bench-cbec: {} orders × 3 documents, {} per batch, {} batches in flight, {} buyers; {} cores",
        args.orders,
        args.batch_orders,
        args.in_flight,
        buyers,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut runs = Vec::new();
    if !args.no_batch {
        let path = dir.join("batch.db");
        let store = Arc::new(open_sqlite(&path, &args)?);
        let system = match sqlite_options(&args).durability {
            zonegate_store_sqlite::Durability::Pipelined => {
                "zonegate + SQLite (WAL, durability pipelined: synchronous=NORMAL, fdatasync before each answer)"
            }
            _ => "zonegate + SQLite (WAL, synchronous=FULL)",
        };
        runs.push(batch_run(system, "B", store, &args, buyers).await?);
        print_batch(runs.last().expect("a run"));
        if let Some(url) = &args.postgres {
            let schema = format!("zonegate_bench_cbec_{}", std::process::id());
            let store = Arc::new(zonegate_store_pg::PgStore::connect_with_schema(url, &schema).await?);
            let result = batch_run("zonegate + PostgreSQL (synchronous_commit=on)", "P", store, &args, buyers).await;
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            client
                .batch_execute(&format!("SET client_min_messages = warning; DROP SCHEMA \"{schema}\" CASCADE"))
                .await?;
            runs.push(result?);
            print_batch(runs.last().expect("a run"));
        }
    }
    let rates: Vec<u64> = args
        .http_rates
        .split(',')
        .filter(|r| !r.trim().is_empty())
        .map(|r| r.trim().parse())
        .collect::<Result<_, _>>()?;
    if !rates.is_empty() {
        let path = dir.join("http.db");
        let store = Arc::new(open_sqlite(&path, &args)?);
        let app = Arc::new(App::open(store, Arc::new(SystemClock)).await?);
        prepare(&app).await?;
        let tokens = Arc::new(tokens(&app).await?);
        let mut config = zonegate_server::ServerConfig::standard();
        config.token_requests_per_second = 1_000_000;
        let router = zonegate_server::router(app.clone(), config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, router).await });
        println!(
            "HTTP: {} connections, {} s per rate, server and load generator in one process",
            args.http_connections, args.http_seconds
        );
        println!(
            "| offered orders/s | completed | achieved orders/s | p50 ms | p99 ms | max ms | errors | sustained |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        for (index, rate) in rates.iter().enumerate() {
            let run = format!("H{index}");
            let result = http_rate(
                address,
                &tokens,
                *rate,
                args.http_seconds,
                args.http_connections,
                &run,
                buyers,
                args.seed + index as u64,
            )
            .await?;
            let sustained =
                result.p99_ms <= 50.0 && result.achieved >= 0.95 * result.offered as f64 && result.errors == 0;
            println!(
                "| {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {} |",
                result.offered,
                result.completed,
                result.achieved,
                result.p50_ms,
                result.p99_ms,
                result.max_ms,
                result.errors,
                if sustained { "yes" } else { "no" }
            );
        }
    }
    if remove {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// User + system CPU time of this process so far, from `/proc/self/stat` (None off Linux): the figure that
/// matters on a busy machine, where wall time also measures the neighbours.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at the state, field 3; utime and stime
    // are fields 14 and 15, in clock ticks of 1/100 s on Linux.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_ascii_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// The machine's (busy, idle + iowait) clock ticks so far, from the first line of `/proc/stat` (None off
/// Linux).
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> =
        stat.lines().next()?.split_ascii_whitespace().skip(1).filter_map(|t| t.parse().ok()).collect();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((ticks.iter().sum::<u64>() - idle, idle))
}

fn print_batch(run: &BatchRun) {
    println!(
        "{}: {} orders in {:.2} s = {:.0} complete orders/s ({:.0} documents/s)",
        run.system,
        run.orders,
        run.seconds,
        run.orders as f64 / run.seconds,
        3.0 * run.orders as f64 / run.seconds
    );
    if let Some(cpu) = run.cpu_seconds {
        println!(
            "  CPU (user + system, whole process): {:.2} s = {:.0} µs per order",
            cpu,
            cpu * 1e6 / run.orders as f64
        );
    }
    if let Some(idle) = run.idle_share {
        println!("  machine: {:.0} % of its CPU time idle or waiting for I/O during the run", idle * 100.0);
    }
    println!("  outcome: {}", run.outcome);
}
