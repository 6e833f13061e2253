//! `zonegate assess`: an assessment without a server or a database, on the data shipped in the binary.

use anyhow::Context;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use zonegate_domain::{FieldError, FieldErrors, Party};
use zonegate_policy::defaults;
use zonegate_wire::assessment::AssessmentJson;

fn invalid(errors: &FieldErrors) -> ExitCode {
    println!("{}", zonegate_wire::errors::envelope(errors));
    ExitCode::from(2)
}

fn parse_json(text: &str, what: &str) -> Result<serde_json::Value, FieldErrors> {
    serde_json::from_str(text).map_err(|e| FieldError::new("json", "", format!("{what} is not valid JSON: {e}")).into())
}

/// Assesses the declaration in `file` (`-` = stdin). Exit 0 with the assessment, 2 with `{"errors":[…]}`.
pub fn assess(file: &str, parties_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let text = if file == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("cannot read standard input")?;
        text
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?
    };
    let document = match parse_json(&text, "the declaration") {
        Ok(document) => document,
        Err(errors) => return Ok(invalid(&errors)),
    };
    // The shipped data knows the demo enterprises; others come from --parties.
    let mut parties: HashMap<String, Party> = HashMap::new();
    let demo: serde_json::Value = serde_json::from_str(defaults::DEMO_PARTIES).context("shipped demo parties")?;
    for party in
        zonegate_wire::parties::parse_parties(&demo).map_err(|e| anyhow::anyhow!("shipped demo parties: {e}"))?
    {
        parties.insert(party.uscc.to_string(), party);
    }
    if let Some(path) = parties_file {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let value = match parse_json(&text, "the parties file") {
            Ok(value) => value,
            Err(errors) => return Ok(invalid(&errors)),
        };
        match zonegate_wire::parties::parse_parties(&value) {
            Ok(list) => parties.extend(list.into_iter().map(|p| (p.uscc.to_string(), p))),
            Err(errors) => {
                let prefixed = FieldErrors(
                    errors
                        .0
                        .into_iter()
                        .map(|e| FieldError::new(e.code, format!("parties{}", e.field), e.message))
                        .collect(),
                );
                return Ok(invalid(&prefixed));
            }
        }
    }
    let book = defaults::shipped_rows().map_err(|e| anyhow::anyhow!("shipped data: {e}"))?.to_book();
    let declaration = match zonegate_app::parse_declaration(&book, &document) {
        Ok(declaration) => declaration,
        Err(errors) => return Ok(invalid(&errors)),
    };
    let declarant = parties.get(declaration.declarant.as_str());
    let importer = parties.get(declaration.importer.as_str());
    match zonegate_policy::assess(&book, &declaration, declarant, importer) {
        Ok(assessment) => {
            let (Some(declarant), Some(importer)) = (declarant, importer) else {
                anyhow::bail!("an assessed declaration has known parties");
            };
            let secret = crate::draw_secret()?;
            let decision = zonegate_app::risk::offline_decision(
                &book,
                &declaration,
                &assessment,
                (declarant, importer),
                &secret,
                chrono::Utc::now(),
            )?;
            let json = serde_json::to_string_pretty(&AssessmentJson::new(&declaration, &assessment, &decision))?;
            println!("{json}");
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => Ok(invalid(&errors)),
    }
}
