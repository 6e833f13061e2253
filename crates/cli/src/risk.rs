//! `zonegate risk`: train, score and evaluate the learned risk score on declarations in the KCS CSV layout.

use anyhow::{bail, Context};
use clap::Subcommand;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use zonegate_score::kcs::{self, KcsData};
use zonegate_score::{metrics, Model, TrainOptions};

#[derive(Subcommand)]
pub enum RiskCommand {
    /// Train a model on labelled declarations (KCS CSV layout) and write it as JSON.
    Train {
        /// Training CSV files (concatenated in order); repeat the flag or list several.
        #[arg(long, required = true, num_args = 1..)]
        csv: Vec<PathBuf>,
        /// The 0/1 label column.
        #[arg(long, default_value = "Fraud")]
        label: String,
        /// Where to write the model.
        #[arg(long)]
        out: PathBuf,
        /// A labelled CSV for early stopping (keeps the trees up to its best AUC).
        #[arg(long)]
        valid: Option<PathBuf>,
        /// Seed of the folds and the row/column sampling.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Print `Declaration ID,score` for each row of a CSV, in input order.
    Score {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        csv: PathBuf,
    },
    /// Print precision and recall at inspection rates 1, 2, 5, 10 % and the AUC on a labelled CSV.
    Evaluate {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        csv: PathBuf,
        /// The 0/1 label column.
        #[arg(long, default_value = "Fraud")]
        label: String,
    },
    /// The risk engine on the platform's own data: back-test a draft, train the learned score, benchmark.
    #[command(flatten)]
    Platform(crate::risk_platform::PlatformRiskCommand),
}

fn read_csv(path: &Path, label: Option<&str>) -> anyhow::Result<KcsData> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(kcs::read(file, &path.display().to_string(), label)?)
}

fn labels_of(data: &KcsData, path: &Path) -> anyhow::Result<Vec<bool>> {
    match &data.labels {
        Some(labels) => Ok(labels.clone()),
        None => bail!("{}: no labels read", path.display()),
    }
}

fn load_model(path: &Path) -> anyhow::Result<Model> {
    let file = File::open(path).with_context(|| format!("cannot open the model {}", path.display()))?;
    Model::load(file).with_context(|| format!("cannot load the model {}", path.display()))
}

fn scores(model: &Model, data: &KcsData, path: &Path) -> anyhow::Result<Vec<f64>> {
    data.rows
        .iter()
        .enumerate()
        .map(|(i, row)| model.score_row(row).with_context(|| format!("{}: data row {}", path.display(), i + 1)))
        .collect()
}

/// Runs a `zonegate risk` command.
pub async fn run(command: RiskCommand) -> anyhow::Result<()> {
    match command {
        RiskCommand::Platform(command) => crate::risk_platform::run(command).await?,
        RiskCommand::Train { csv, label, out, valid, seed } => {
            let mut data = KcsData::default();
            for path in &csv {
                let part = read_csv(path, Some(&label))?;
                data.extend(part);
            }
            let labels = labels_of(&data, &csv[0])?;
            let valid = match &valid {
                Some(path) => {
                    let v = read_csv(path, Some(&label))?;
                    let l = labels_of(&v, path)?;
                    Some((v, l))
                }
                None => None,
            };
            let options = TrainOptions { seed, ..TrainOptions::default() };
            let started = Instant::now();
            let (model, report) = Model::train(
                &kcs::schema(),
                &data.rows,
                &labels,
                valid.as_ref().map(|(v, l)| (v.rows.as_slice(), l.as_slice())),
                &options,
            )?;
            let seconds = started.elapsed().as_secs_f64();
            let file = File::create(&out).with_context(|| format!("cannot create {}", out.display()))?;
            model.save(file).with_context(|| format!("cannot write {}", out.display()))?;
            println!(
                "trained on {} rows ({} positive), {} features: {} trees (of {} grown), {} nodes, in {seconds:.1} s",
                report.rows,
                labels.iter().filter(|&&l| l).count(),
                report.features,
                report.trees,
                report.trees_grown,
                model.node_count()
            );
            if let Some(auc) = report.valid_auc {
                println!("valid AUC {auc:.4} (early stopping)");
            }
            println!("model written to {}", out.display());
        }
        RiskCommand::Score { model, csv } => {
            let model = load_model(&model)?;
            let data = read_csv(&csv, None)?;
            let scores = scores(&model, &data, &csv)?;
            let written = (|| -> std::io::Result<()> {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                writeln!(out, "{},score", kcs::ID)?;
                for (id, score) in data.ids.iter().zip(scores) {
                    writeln!(out, "{id},{score:.6}")?;
                }
                out.flush()
            })();
            match written {
                // A reader that stops early (`| head`) is not an error.
                Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other.context("cannot write the scores")?,
            }
        }
        RiskCommand::Evaluate { model, csv, label } => {
            let model = load_model(&model)?;
            let data = read_csv(&csv, Some(&label))?;
            let labels = labels_of(&data, &csv)?;
            let scores = scores(&model, &data, &csv)?;
            println!("{}: {} rows, model of {} trees", csv.display(), data.rows.len(), model.tree_count());
            print!("{}", metrics::report(&scores, &labels));
        }
    }
    Ok(())
}
