//! Import-tax arithmetic (interchange.md §3 rules 1–6, domain-rules.md §2).
//!
//! Order per item: customs value (CNY, rounded) → duty (rounded) → consumption tax on value + duty
//! (rounded) → VAT on value + duty + consumption tax (rounded). Per declaration, a tax type whose total is
//! at most the waiver threshold is waived. Every figure carries the ids of the rules and rows behind it.

use crate::rates::{DutyRate, QuantityBasis};
use crate::tables::{CtRow, Measure, TariffBook, TariffLine};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use zonegate_domain::{round_fen, Declaration, FieldError, FieldErrors, Item, ValueBasis};

/// Which taxes the item's treatment makes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxesDue {
    pub duty: bool,
    pub consumption_tax_and_vat: bool,
}

impl TaxesDue {
    pub const NONE: TaxesDue = TaxesDue { duty: false, consumption_tax_and_vat: false };
    pub const ALL: TaxesDue = TaxesDue { duty: true, consumption_tax_and_vat: true };
    /// The 30 % value-added rule: duty exempt, VAT and consumption tax due.
    pub const NO_DUTY: TaxesDue = TaxesDue { duty: false, consumption_tax_and_vat: true };
}

/// Whether [`compute_item_with`] writes each step's text into [`ItemTaxes::trace`]. The figures and basis ids
/// are the same either way; a caller that stores only the figures (and renders the text again on read) skips
/// the formatting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trace {
    Written,
    Skipped,
}

impl Trace {
    /// Appends a step's text to `steps` when the trace is written; `text` is not called otherwise.
    pub fn push(self, steps: &mut Vec<String>, text: impl FnOnce() -> String) {
        if self == Trace::Written {
            steps.push(text());
        }
    }
}

/// Error kinds raised while computing; turned into `FieldError`s naming the item's field.
pub type TaxError = FieldError;

/// One item to compute.
#[derive(Debug, Clone, Copy)]
pub struct ItemTaxInput<'a> {
    /// Zero-based position, for field names (`items[0].hs`).
    pub index: usize,
    pub item: &'a Item,
    pub customs_value_cny: Decimal,
}

/// The taxes of one item, each rounded to the fen.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemTaxes {
    pub duty_rate: DutyRate,
    pub duty_cny: Decimal,
    pub consumption_tax_rate: DutyRate,
    pub consumption_tax_cny: Decimal,
    pub vat_rate_pct: Decimal,
    pub vat_cny: Decimal,
    /// Stable ids of the rules and rows that decided the figures.
    pub basis: Vec<String>,
    /// Each step of the calculation, readable by an officer.
    pub trace: Vec<String>,
}

impl ItemTaxes {
    fn zero() -> ItemTaxes {
        ItemTaxes {
            duty_rate: DutyRate::default(),
            duty_cny: Decimal::ZERO,
            consumption_tax_rate: DutyRate::default(),
            consumption_tax_cny: Decimal::ZERO,
            vat_rate_pct: Decimal::ZERO,
            vat_cny: Decimal::ZERO,
            basis: Vec::new(),
            trace: Vec::new(),
        }
    }
}

fn item_field(index: usize, name: &str) -> String {
    format!("items[{index}].{name}")
}

/// Splits `total_fen` over `weights` in proportion, exactly: floor shares first, then the remaining fen to
/// the largest remainders (earlier items first on ties). Returns shares in fen that sum to `total_fen`.
pub fn apportion_fen(total_fen: i64, weights: &[Decimal]) -> Vec<i64> {
    let weight_sum: Decimal = weights.iter().copied().sum();
    if weights.is_empty() || weight_sum.is_zero() {
        let mut shares = vec![0; weights.len()];
        if let Some(first) = shares.first_mut() {
            *first = total_fen;
        }
        return shares;
    }
    let total = Decimal::from(total_fen);
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (index, weight) in weights.iter().enumerate() {
        let exact = total * weight / weight_sum;
        let floor = exact.floor();
        shares.push(i64::try_from(floor.mantissa() / 10i128.pow(floor.scale())).unwrap_or(0));
        remainders.push((exact - floor, index));
    }
    let assigned: i64 = shares.iter().sum();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, index) in remainders.iter().take(usize::try_from(total_fen - assigned).unwrap_or(0)) {
        if let Some(share) = shares.get_mut(*index) {
            *share += 1;
        }
    }
    shares
}

fn fen_to_cny(fen: i64) -> Decimal {
    Decimal::new(fen, 2)
}

fn cny_to_fen(amount: Decimal) -> i64 {
    let rounded = round_fen(amount);
    i64::try_from(rounded.mantissa()).unwrap_or(i64::MAX)
}

/// Customs value in CNY of every item (rule 1), with a trace line each. FOB values get freight and
/// insurance added, converted once and apportioned by item value to the fen.
pub fn customs_values(declaration: &Declaration, book: &TariffBook) -> Result<Vec<(Decimal, String)>, FieldErrors> {
    let rate = match declaration.exchange_rate {
        Some(rate) => rate,
        None => book.exchange_rate(&declaration.currency, declaration.declared_on).ok_or_else(|| {
            FieldErrors::from(FieldError::new(
                "exchange_rate_missing",
                "exchange_rate",
                format!(
                    "no exchange rate was given and the rate table has none for `{}` in {}",
                    declaration.currency,
                    declaration.declared_on.format("%Y-%m")
                ),
            ))
        })?,
    };
    let currency = declaration.currency.as_str();
    let mut values: Vec<(Decimal, String)> = declaration
        .items
        .iter()
        .map(|item| {
            let cny = round_fen(item.value * rate);
            (cny, format!("customs value: {} {currency} × {rate} = {cny} CNY", item.value))
        })
        .collect();
    if declaration.value_basis == ValueBasis::Fob {
        let addon = declaration.freight + declaration.insurance;
        let addon_fen = cny_to_fen(addon * rate);
        let weights: Vec<Decimal> = declaration.items.iter().map(|item| item.value).collect();
        for ((value, trace), share) in values.iter_mut().zip(apportion_fen(addon_fen, &weights)) {
            let share = fen_to_cny(share);
            *value += share;
            trace.push_str(&format!(
                "; FOB: plus {share} CNY of freight and insurance ({addon} {currency} in all, apportioned by value) = {value} CNY"
            ));
        }
    }
    Ok(values)
}

/// Picks the duty rate (rule 2): general for unknown or general-rate origins, else provisional, else MFN.
pub fn select_duty(
    book: &TariffBook,
    line: &TariffLine,
    item: &Item,
    date: NaiveDate,
) -> Result<(DutyRate, &'static str), String> {
    let missing =
        |which: &str| format!("tariff line `{}` has no {which} rate in the schedule in force on {date}", line.hs8);
    match &item.origin {
        None => line.general.map(|rate| (rate, "rate.general.origin_unknown")).ok_or_else(|| missing("general")),
        Some(origin) if book.pays_general_rate(origin, date) => {
            line.general.map(|rate| (rate, "rate.general")).ok_or_else(|| missing("general"))
        }
        Some(_) => match (line.provisional, line.mfn) {
            (Some(rate), _) if line.ex_line => Ok((rate, "rate.provisional.ex_line")),
            (Some(rate), _) => Ok((rate, "rate.provisional")),
            (None, Some(rate)) => Ok((rate, "rate.mfn")),
            (None, None) => Err(missing("MFN")),
        },
    }
}

fn basis_quantity(basis: QuantityBasis, input: &ItemTaxInput<'_>, purpose: &str) -> Result<Decimal, FieldError> {
    let item = input.item;
    basis.quantity(item.quantity, &item.unit, item.attributes.get("volume_l").copied()).ok_or_else(|| {
        let hint = match basis {
            QuantityBasis::Litre => "declare unit `LTR` or `MLT`, or attribute `volume_l` (litres per unit)",
            QuantityBasis::Kilogram | QuantityBasis::Tonne => "declare unit `KGM`, `GRM` or `TNE`",
            QuantityBasis::Piece => "declare unit `C62`",
        };
        FieldError::new(
            "quantity_basis",
            item_field(input.index, "unit"),
            format!(
                "the {purpose} of line `{}` is charged per `{}`, and unit `{}` does not say how many: {hint}",
                item.hs,
                basis.as_str(),
                item.unit
            ),
        )
    })
}

/// Chooses the consumption-tax row for an item among the candidates, evaluating their conditions.
fn choose_ct_row<'b>(candidates: &[&'b CtRow], input: &ItemTaxInput<'_>) -> Result<Option<&'b CtRow>, FieldError> {
    for row in candidates {
        let Some(condition) = row.condition else { return Ok(Some(row)) };
        let measured = match condition.measure {
            Measure::EngineCc => *input.item.attributes.get("engine_cc").ok_or_else(|| {
                FieldError::new(
                    "attribute_missing",
                    item_field(input.index, "attributes.engine_cc"),
                    format!("line `{}` is taxed by engine capacity: give `engine_cc`", input.item.hs),
                )
            })?,
            Measure::UnitValueCny { per, basis } => {
                let quantity = basis_quantity(basis, input, "consumption tax")?;
                if quantity.is_zero() {
                    return Err(FieldError::new(
                        "quantity_zero",
                        item_field(input.index, "quantity"),
                        "quantity must be above zero",
                    ));
                }
                input.customs_value_cny / quantity * per
            }
        };
        if condition.holds(measured) {
            return Ok(Some(row));
        }
    }
    Ok(None)
}

/// Computes the taxes of one item (rules 2–5) for the taxes its treatment makes due, with the trace.
pub fn compute_item(
    book: &TariffBook,
    date: NaiveDate,
    input: ItemTaxInput<'_>,
    due: TaxesDue,
) -> Result<ItemTaxes, FieldErrors> {
    compute_item_with(book, date, input, due, Trace::Written)
}

/// [`compute_item`], writing the trace or not.
pub fn compute_item_with(
    book: &TariffBook,
    date: NaiveDate,
    input: ItemTaxInput<'_>,
    due: TaxesDue,
    trace: Trace,
) -> Result<ItemTaxes, FieldErrors> {
    let item = input.item;
    let value = input.customs_value_cny;
    let mut taxes = ItemTaxes::zero();
    let line = book.line(&item.hs, date).ok_or_else(|| {
        FieldError::new(
            "hs_unknown",
            item_field(input.index, "hs"),
            format!("tariff line `{}` is not in the schedule in force on {date}", item.hs),
        )
    })?;
    if !due.duty && !due.consumption_tax_and_vat {
        return Ok(taxes);
    }
    let mut errors = FieldErrors::default();
    let hundred = Decimal::ONE_HUNDRED;

    // Rule 2: duty.
    let mut duty = Decimal::ZERO;
    if due.duty {
        match select_duty(book, line, item, date) {
            Ok((rate, basis)) => {
                let mut exact = rate.ad_valorem_pct.map_or(Decimal::ZERO, |pct| value * pct / hundred);
                if let Some(specific) = rate.specific {
                    match basis_quantity(specific.per, &input, "duty") {
                        Ok(quantity) => exact += quantity * specific.amount_cny,
                        Err(error) => errors.push(error),
                    }
                }
                duty = round_fen(exact);
                taxes.duty_rate = rate;
                taxes.basis.push(basis.to_owned());
                trace.push(&mut taxes.trace, || format!("duty: rate {rate} ({basis}) on {value} CNY = {duty} CNY"));
            }
            Err(message) => errors.add("rate_missing", item_field(input.index, "hs"), message),
        }
    } else if let Some(Ok((rate, basis))) = (trace == Trace::Written).then(|| select_duty(book, line, item, date)) {
        taxes.trace.push(format!("duty: not due (would be {rate}, {basis})"));
    }
    taxes.duty_cny = duty;

    if due.consumption_tax_and_vat {
        // Rule 3: consumption tax on (value + duty).
        let candidates = book.ct_candidates(&item.hs, date);
        match choose_ct_row(&candidates, &input) {
            Ok(Some(row)) if !row.is_none() => {
                let mut specific_part = Decimal::ZERO;
                if let Some(specific) = row.specific {
                    match basis_quantity(specific.per, &input, "consumption tax") {
                        Ok(quantity) => specific_part = quantity * specific.amount_cny,
                        Err(error) => errors.push(error),
                    }
                }
                let pct = row.ad_valorem_pct;
                let ad_valorem_part = (value + duty + specific_part) * pct / (hundred - pct);
                let ct = round_fen(ad_valorem_part + specific_part);
                taxes.consumption_tax_cny = ct;
                taxes.consumption_tax_rate = row.rate();
                taxes.basis.push(row.id.clone());
                trace.push(&mut taxes.trace, || match (pct.is_zero(), specific_part.is_zero()) {
                    (false, true) => format!("consumption tax ({}): ({value} + {duty}) × {pct} / (100 − {pct}) = {ct} CNY", row.id),
                    (true, _) => format!("consumption tax ({}): {} on the declared quantity = {ct} CNY", row.id, row.rate()),
                    (false, false) => format!(
                        "consumption tax ({}): ({value} + {duty} + {specific}) × {pct} / (100 − {pct}) + {specific} = {ct} CNY",
                        row.id,
                        specific = specific_part.normalize()
                    ),
                });
            }
            Ok(Some(row)) => {
                taxes.basis.push(row.id.clone());
                trace.push(&mut taxes.trace, || {
                    format!(
                        "consumption tax: row {} sets none{}",
                        row.id,
                        if row.suspended { " (collection suspended)" } else { "" }
                    )
                });
            }
            Ok(None) => {}
            Err(error) => errors.push(error),
        }
        // Rule 4: VAT on value + duty + consumption tax, all rounded.
        match book.vat_row(&item.hs, date) {
            Some(row) => {
                let base = value + duty + taxes.consumption_tax_cny;
                taxes.vat_rate_pct = row.rate_pct;
                taxes.vat_cny = round_fen(base * row.rate_pct / hundred);
                taxes.basis.push(row.id.clone());
                let vat_cny = taxes.vat_cny;
                trace.push(&mut taxes.trace, || {
                    format!("VAT ({}): {base} × {}% = {vat_cny} CNY", row.id, row.rate_pct.normalize())
                });
            }
            None => errors.add(
                "rate_missing",
                item_field(input.index, "hs"),
                format!("no VAT row covers line `{}` on {date}", item.hs),
            ),
        }
    }
    errors.into_result(taxes)
}

/// A per-declaration waiver (rule 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiver {
    DutyUnderThreshold,
    ConsumptionTaxUnderThreshold,
    VatUnderThreshold,
}

impl Waiver {
    pub fn as_str(self) -> &'static str {
        match self {
            Waiver::DutyUnderThreshold => "duty_under_threshold",
            Waiver::ConsumptionTaxUnderThreshold => "consumption_tax_under_threshold",
            Waiver::VatUnderThreshold => "vat_under_threshold",
        }
    }
}

/// Totals of a declaration: sums of item taxes, the waivers, and what is payable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclarationTotals {
    pub duty_cny: Decimal,
    pub consumption_tax_cny: Decimal,
    pub vat_cny: Decimal,
    pub payable_cny: Decimal,
    pub waived: Vec<Waiver>,
}

impl DeclarationTotals {
    /// The waived amount: the total of each waived tax type, as rounded to the fen.
    pub fn waived_cny(&self) -> Decimal {
        self.waived
            .iter()
            .map(|waiver| match waiver {
                Waiver::DutyUnderThreshold => self.duty_cny,
                Waiver::ConsumptionTaxUnderThreshold => self.consumption_tax_cny,
                Waiver::VatUnderThreshold => self.vat_cny,
            })
            .sum()
    }

    /// A tax type whose total is above zero and at most `threshold_cny` is waived and not payable.
    pub fn from_items<'a>(items: impl IntoIterator<Item = &'a ItemTaxes>, threshold_cny: Decimal) -> DeclarationTotals {
        let (mut duty, mut ct, mut vat) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        for item in items {
            duty += item.duty_cny;
            ct += item.consumption_tax_cny;
            vat += item.vat_cny;
        }
        let mut waived = Vec::new();
        let mut payable = Decimal::ZERO;
        for (total, waiver) in [
            (duty, Waiver::DutyUnderThreshold),
            (ct, Waiver::ConsumptionTaxUnderThreshold),
            (vat, Waiver::VatUnderThreshold),
        ] {
            if total > Decimal::ZERO && total <= threshold_cny {
                waived.push(waiver);
            } else {
                payable += total;
            }
        }
        DeclarationTotals {
            duty_cny: round_fen(duty),
            consumption_tax_cny: round_fen(ct),
            vat_cny: round_fen(vat),
            payable_cny: round_fen(payable),
            waived,
        }
    }
}
