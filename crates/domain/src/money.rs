//! Exact money. Amounts are `rust_decimal::Decimal`; CNY amounts are rounded to the fen (0.01) half-up,
//! as interchange.md §3 rules 1 and 5 require. Floats never appear.

pub use rust_decimal::Decimal;
use rust_decimal::RoundingStrategy;

/// Rounds to 0.01 with ties away from zero; for the non-negative amounts of an assessment that is half-up.
pub fn round_fen(amount: Decimal) -> Decimal {
    let mut rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(2);
    rounded
}

/// Formats an amount with exactly two decimals, as the wire format wants (`"1234.50"`).
pub fn fen_string(amount: Decimal) -> String {
    round_fen(amount).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn half_up_at_the_half_fen() {
        assert_eq!(round_fen(d("0.005")), d("0.01"));
        assert_eq!(round_fen(d("0.004999")), d("0.00"));
        assert_eq!(round_fen(d("11944.7055")), d("11944.71"));
        assert_eq!(round_fen(d("2.675")), d("2.68"));
        assert_eq!(fen_string(d("7")), "7.00");
        assert_eq!(fen_string(d("1234.5")), "1234.50");
    }
}
