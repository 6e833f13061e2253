//! The learned score on the platform's own rows: it learns planted risks, survives a save and load, turns a
//! budget into a cutoff, and refuses a model of another layout.

use zonegate_risk::engine::Scorer;
use zonegate_risk::learned::LearnedModel;
use zonegate_risk::synthetic;
use zonegate_score::TrainOptions;

fn trained() -> LearnedModel {
    let train = synthetic::traffic(1, 3_000, 4);
    let valid = synthetic::traffic(2, 1_000, 4);
    let options = TrainOptions { max_trees: 60, ..TrainOptions::fast() };
    let (model, report) = LearnedModel::train(&train, Some(&valid), &options, "test-1".into()).expect("trains");
    assert!(report.trees > 0);
    model
}

#[test]
fn the_model_ranks_planted_risks_above_the_rest() {
    let model = trained();
    let test = synthetic::traffic(3, 2_000, 4);
    let scores: Vec<f64> = test.iter().map(|(facts, _)| model.score(facts).score).collect();
    let labels: Vec<bool> = test.iter().map(|(_, finding)| *finding).collect();
    let auc = zonegate_score::metrics::auc(&scores, &labels).unwrap();
    assert!(auc > 0.7, "AUC {auc}");
    // The riskiest importer's declarations score higher than the others on average.
    let mean = |risky: bool| {
        let picked: Vec<f64> = test
            .iter()
            .zip(&scores)
            .filter(|((facts, _), _)| (facts.decl.importer.as_str() < "914404000000000010") == risky)
            .map(|(_, s)| *s)
            .collect();
        picked.iter().sum::<f64>() / picked.len() as f64
    };
    assert!(mean(true) > mean(false) + 0.2, "risky {} vs others {}", mean(true), mean(false));
    // Explanations name features, strongest first.
    let scored = model.score(&test[0].0);
    assert!(!scored.top_features.is_empty() && scored.top_features.len() <= 5);
    assert!(scored.top_features.windows(2).all(|w| w[0].value.abs() >= w[1].value.abs()));
}

#[test]
fn a_saved_model_scores_the_same_and_budgets_become_cutoffs() {
    let model = trained();
    let mut bytes = Vec::new();
    model.save(&mut bytes).unwrap();
    let loaded = LearnedModel::load(bytes.as_slice()).unwrap();
    assert_eq!(loaded.version(), "test-1");
    for (facts, _) in synthetic::traffic(4, 200, 6) {
        assert_eq!(model.score(&facts), loaded.score(&facts));
    }
    // A larger share means a lower cutoff; no share selects nothing.
    assert!(model.cutoff(0.01) >= model.cutoff(0.05) && model.cutoff(0.05) >= model.cutoff(0.2));
    assert_eq!(model.cutoff(0.0), f64::INFINITY);
    // About 5 % of reference-like traffic is at or above the 5 % cutoff.
    let test = synthetic::traffic(2, 1_000, 4);
    let over = test.iter().filter(|(facts, _)| model.score(facts).score >= model.cutoff(0.05)).count();
    assert!((30..=80).contains(&over), "{over} of 1000 over the 5 % cutoff");
}

#[test]
fn a_model_of_another_layout_is_refused() {
    let kcs = "Declaration ID,Date,Office ID,Process Type,Import Type,Import Use,Payment Type,Mode of Transport,Declarant ID,Importer ID,Seller ID,Courier ID,HS6 Code,Country of Departure,Country of Origin,Tax Rate,Tax Type,Country of Origin Indicator,Net Mass,Item Price,Fraud,Critical Fraud\n";
    let _ = kcs;
    assert!(LearnedModel::load(
        &b"{\"format\":\"something-else\",\"version\":\"x\",\"reference\":[],\"model\":{}}"[..]
    )
    .is_err());
    assert!(LearnedModel::load(&b"not json"[..]).is_err());
}
