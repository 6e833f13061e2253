//! The rule set shipped for the Hengqin profile (data in `data/risk/default_rules.json`).

use crate::rules::RuleSetDef;

pub const DEFAULT_RULES_JSON: &str = include_str!("../../../data/risk/default_rules.json");

/// The shipped rule set, parsed.
pub fn default_rules() -> Result<RuleSetDef, serde_json::Error> {
    serde_json::from_str(DEFAULT_RULES_JSON)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    #[test]
    fn the_shipped_rules_compile() {
        let def = default_rules().expect("the shipped rules parse");
        let set = RuleSet::compile(&def, Some(1)).unwrap_or_else(|e| panic!("the shipped rules are invalid: {e}"));
        assert!(set.get("prohibited.solid_waste").is_some_and(|r| r.def.hard_stop));
    }
}
