//! `zonegate risk backtest|learn|bench`: the risk engine on the platform's own data.

use std::path::PathBuf;

use anyhow::Context as _;
use zonegate_app::auth::Principal;

use crate::{open_app, DatabaseArgs};

#[derive(clap::Subcommand)]
pub enum PlatformRiskCommand {
    /// Replay recorded declarations against a draft rule set (JSON, as POST /v1/risk/rulesets takes) and
    /// print how many it selects and its hit rate on the inspected ones, before it goes live.
    Backtest {
        /// The draft rule set.
        #[arg(long)]
        rules: PathBuf,
        /// Replay the last N recorded declarations.
        #[arg(long, default_value_t = 10_000)]
        limit: u32,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Train the learned score on recorded declarations with inspection results, for `--risk-model`.
    Learn {
        /// Where to write the model.
        #[arg(long)]
        out: PathBuf,
        /// The model's version, shown with every decision it scores.
        #[arg(long)]
        version: Option<String>,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Time a full risk decision (50 rules and the score, 10-item declarations) beside Cedar.
    Bench(crate::bench_risk::RiskBenchArgs),
}

pub async fn run(command: PlatformRiskCommand) -> anyhow::Result<()> {
    let operator = Principal::platform("zonegate-cli");
    match command {
        PlatformRiskCommand::Backtest { rules, limit, database } => {
            let text = std::fs::read_to_string(&rules).with_context(|| format!("cannot read {}", rules.display()))?;
            let body: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{} is not JSON", rules.display()))?;
            let app = open_app(&database).await?;
            match app.backtest_draft(&operator, &body, Some(limit)).await {
                Ok(report) => println!("{}", serde_json::to_string_pretty(&report)?),
                Err(zonegate_app::AppError::Invalid(errors)) => {
                    crate::print_errors(&errors);
                    anyhow::bail!("{} problems in {}", errors.len(), rules.display());
                }
                Err(error) => return Err(error.into()),
            }
        }
        PlatformRiskCommand::Learn { out, version, seed, database } => {
            let app = open_app(&database).await?;
            let examples = app.training_examples(&operator).await?;
            let findings = examples.iter().filter(|(_, f)| *f).count();
            if findings == 0 || findings == examples.len() {
                anyhow::bail!(
                    "{} inspected declarations, {findings} with findings: training needs both outcomes",
                    examples.len()
                );
            }
            // The last fifth (in recording order) tunes the number of trees and sets the budget's cutoffs.
            let split = examples.len() - examples.len() / 5;
            let (train, valid) = examples.split_at(split);
            let options = zonegate_score::TrainOptions { seed, ..zonegate_score::TrainOptions::fast() };
            let version =
                version.unwrap_or_else(|| format!("platform-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")));
            let valid = (!valid.is_empty()).then_some(valid);
            let (model, report) = zonegate_risk::learned::LearnedModel::train(train, valid, &options, version.clone())?;
            let file = std::fs::File::create(&out).with_context(|| format!("cannot create {}", out.display()))?;
            model.save(file)?;
            println!(
                "model {version}: {} declarations ({findings} with findings), {} trees, valid AUC {} → {}",
                examples.len(),
                report.trees,
                report.valid_auc.map_or("n/a".to_owned(), |a| format!("{a:.3}")),
                out.display()
            );
        }
        PlatformRiskCommand::Bench(args) => crate::bench_risk::run(args)?,
    }
    Ok(())
}
