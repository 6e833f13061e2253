//! The tax arithmetic against the worked examples of domain-rules.md §2.5, the rounding and waiver edges
//! of interchange.md §3, rate selection and effective dates, and property tests.

use chrono::NaiveDate;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;
use zonegate_domain::{
    CountryCode, CurrencyCode, Declaration, HsCode, Item, Purpose, Reference, UnitCode, Uscc, ValueBasis, ZoneId,
};
use zonegate_tariff::{
    apportion_fen, compute_item, customs_values, DeclarationTotals, DutyRate, ExchangeRateRow, ItemTaxInput, ItemTaxes,
    TariffBook, TariffLine, TaxesDue, VatRow, Versioned, Waiver,
};

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn rate(text: &str) -> Option<DutyRate> {
    Some(DutyRate::from_str(text).unwrap())
}

fn line(hs: &str, mfn: &str, general: &str, provisional: Option<&str>) -> TariffLine {
    TariffLine {
        hs8: hs.into(),
        name: "test line".into(),
        mfn: rate(mfn),
        general: rate(general),
        provisional: provisional.and_then(rate),
        ex_line: false,
    }
}

/// A small book with the rates of the worked examples (illustrative, as the examples say).
fn book() -> TariffBook {
    let mut book = TariffBook::default();
    let from = date("2026-01-01");
    let lines = [
        line("33049900", "10", "150", None),
        line("22083000", "2/LTR", "8/LTR", None),
        line("84713000", "1", "70", None),
        line("02071411", "10+2/KGM", "30+5/KGM", None),
        line("22042100", "14", "180", Some("5")),
    ];
    for l in lines {
        book.lines.insert(Versioned { key: l.hs8.clone(), effective_from: from, value: Some(l) });
    }
    for (id, from_hs, to_hs, pct) in [("vat.standard", "", "", "13"), ("vat.reduced", "01", "03", "9")] {
        book.vat.insert(Versioned {
            key: id.into(),
            effective_from: from,
            value: Some(VatRow { id: id.into(), hs_from: from_hs.into(), hs_to: to_hs.into(), rate_pct: d(pct) }),
        });
    }
    let ct = zonegate_tariff::import::consumption_tax_rows(
        "id,hs_from,hs_to,measure,lower,upper,ad_valorem_pct,specific_cny,specific_per,suspended,effective_from\n\
         ct.cosmetics,3303,3304,,,,15,,,,2026-01-01\n\
         ct.spirits,2208,2208,,,,20,1.00,LTR,,2026-01-01\n",
    )
    .unwrap();
    for row in ct {
        book.consumption_tax.insert(row);
    }
    book
}

fn item(hs: &str, quantity: &str, unit: &str, value: &str, origin: Option<&str>) -> Item {
    Item {
        hs: HsCode::parse(hs).unwrap(),
        description: String::new(),
        quantity: d(quantity),
        unit: UnitCode::parse(unit).unwrap(),
        value: d(value),
        origin: origin.map(|o| CountryCode::parse(o).unwrap()),
        attributes: BTreeMap::new(),
        processing: None,
        documents: Vec::new(),
    }
}

fn taxes(book: &TariffBook, item: &Item, value_cny: &str, on: &str) -> ItemTaxes {
    compute_item(book, date(on), ItemTaxInput { index: 0, item, customs_value_cny: d(value_cny) }, TaxesDue::ALL)
        .unwrap()
}

fn declaration(currency: &str, rate: Option<&str>, basis: ValueBasis, items: Vec<Item>) -> Declaration {
    let uscc = Uscc::parse("91440400MA4UJ0J57H").unwrap();
    Declaration {
        reference: Reference::parse("T-1").unwrap(),
        zone: ZoneId("hengqin".into()),
        flow: zonegate_domain::Flow::SecondLineOut,
        declared_on: date("2026-03-02"),
        declarant: uscc.clone(),
        importer: uscc,
        purpose: Purpose::Resale,
        currency: CurrencyCode::parse(currency).unwrap(),
        exchange_rate: rate.map(d),
        value_basis: basis,
        freight: d("0"),
        insurance: d("0"),
        items,
    }
}

#[test]
fn example_a_ad_valorem_duty_consumption_tax_and_vat() {
    let book = book();
    let goods = item("33049900", "100", "KGM", "10000.00", Some("FR"));
    let decl = declaration("USD", Some("7.1000"), ValueBasis::Cif, vec![goods.clone()]);
    let values = customs_values(&decl, &book).unwrap();
    assert_eq!(values[0].0, d("71000.00"));
    let t = taxes(&book, &goods, "71000.00", "2026-03-02");
    assert_eq!((t.duty_cny, t.consumption_tax_cny, t.vat_cny), (d("7100.00"), d("13782.35"), d("11944.71")));
    assert_eq!(t.basis, vec!["rate.mfn", "ct.cosmetics", "vat.standard"]);
    let totals = DeclarationTotals::from_items([&t], d("50"));
    assert_eq!(totals.payable_cny, d("32827.06"));
    assert!(totals.waived.is_empty());
}

#[test]
fn example_b_specific_duty_and_compound_consumption_tax() {
    let book = book();
    let spirits = item("22083000", "1000", "LTR", "50000.00", Some("GB"));
    let t = taxes(&book, &spirits, "50000.00", "2026-03-02");
    assert_eq!(t.duty_cny, d("2000.00"));
    assert_eq!(t.consumption_tax_cny, d("14250.00"));
    assert_eq!(t.vat_cny, d("8612.50"));
    assert_eq!(t.duty_rate.to_string(), "2/LTR");
    assert_eq!(t.consumption_tax_rate.to_string(), "20+1/LTR");
}

#[test]
fn specific_rates_per_litre_from_bottles_and_volume() {
    let book = book();
    let mut bottles = item("22083000", "1000", "C62", "50000.00", Some("GB"));
    // Without a volume the litres are unknown: a clear error, not a silent zero.
    let error = compute_item(
        &book,
        date("2026-03-02"),
        ItemTaxInput { index: 3, item: &bottles, customs_value_cny: d("50000.00") },
        TaxesDue::ALL,
    )
    .unwrap_err();
    assert_eq!(error.0[0].code, "quantity_basis");
    assert_eq!(error.0[0].field, "items[3].unit");
    bottles.attributes.insert("volume_l".into(), d("1"));
    let t = taxes(&book, &bottles, "50000.00", "2026-03-02");
    assert_eq!((t.duty_cny, t.consumption_tax_cny), (d("2000.00"), d("14250.00")));
}

#[test]
fn example_c_duty_under_threshold_is_waived() {
    let book = book();
    let goods = item("84713000", "1", "C62", "4500.00", Some("PT"));
    let t = taxes(&book, &goods, "4500.00", "2026-03-02");
    assert_eq!(t.duty_cny, d("45.00"));
    assert_eq!(t.vat_cny, d("590.85"));
    let totals = DeclarationTotals::from_items([&t], d("50"));
    assert_eq!(totals.waived, vec![Waiver::DutyUnderThreshold]);
    assert_eq!(totals.duty_cny, d("45.00"));
    assert_eq!(totals.payable_cny, d("590.85"));
}

#[test]
fn waiver_edges_at_fifty_yuan() {
    let book = book();
    // 1 % duty: 5000.00 → 50.00 (waived), 5001.00 → 50.01 (payable).
    let at = taxes(&book, &item("84713000", "1", "C62", "5000.00", Some("PT")), "5000.00", "2026-03-02");
    let above = taxes(&book, &item("84713000", "1", "C62", "5001.00", Some("PT")), "5001.00", "2026-03-02");
    assert_eq!(at.duty_cny, d("50.00"));
    assert_eq!(above.duty_cny, d("50.01"));
    assert_eq!(DeclarationTotals::from_items([&at], d("50")).waived, vec![Waiver::DutyUnderThreshold]);
    assert!(DeclarationTotals::from_items([&above], d("50")).waived.is_empty());
    // The test is per declaration: two items of 30.00 each make 60.00, which is payable.
    let small = taxes(&book, &item("84713000", "1", "C62", "3000.00", Some("PT")), "3000.00", "2026-03-02");
    let totals = DeclarationTotals::from_items([&small, &small], d("50"));
    assert_eq!(totals.duty_cny, d("60.00"));
    assert!(!totals.waived.contains(&Waiver::DutyUnderThreshold));
    // VAT and consumption tax are tested separately.
    let tiny = taxes(&book, &item("84713000", "1", "C62", "300.00", Some("PT")), "300.00", "2026-03-02");
    let totals = DeclarationTotals::from_items([&tiny], d("50"));
    assert_eq!(totals.waived, vec![Waiver::DutyUnderThreshold, Waiver::VatUnderThreshold]);
    assert_eq!(totals.payable_cny, d("0.00"));
}

#[test]
fn rounding_is_half_up_at_the_half_fen() {
    let book = book();
    // 1 % of 50.50 = 0.505 → 0.51 (banker's rounding would give 0.50).
    let t = taxes(&book, &item("84713000", "1", "C62", "50.50", Some("PT")), "50.50", "2026-03-02");
    assert_eq!(t.duty_cny, d("0.51"));
    // 1 % of 50.49 = 0.5049 → 0.50.
    let t = taxes(&book, &item("84713000", "1", "C62", "50.49", Some("PT")), "50.49", "2026-03-02");
    assert_eq!(t.duty_cny, d("0.50"));
    // Customs value: 1.005 MOP × 1 = 1.005 → 1.01.
    let decl = declaration("MOP", Some("1"), ValueBasis::Cif, vec![item("84713000", "1", "C62", "1.005", Some("PT"))]);
    assert_eq!(customs_values(&decl, &book).unwrap()[0].0, d("1.01"));
}

#[test]
fn compound_duty_adds_ad_valorem_and_specific_parts() {
    let book = book();
    // 10 % + 2 CNY/kg on 1,000 kg worth 20,000.00: 2,000.00 + 2,000.00.
    let t = taxes(&book, &item("02071411", "1000", "KGM", "20000.00", Some("BR")), "20000.00", "2026-03-02");
    assert_eq!(t.duty_cny, d("4000.00"));
    assert_eq!(t.duty_rate.to_string(), "10+2/KGM");
    // Chapter 02 pays the reduced VAT: 9 % of 24,000.00.
    assert_eq!(t.vat_cny, d("2160.00"));
    assert!(t.basis.contains(&"vat.reduced".to_owned()));
    // Tonnes convert to kilograms.
    let t = taxes(&book, &item("02071411", "1", "TNE", "20000.00", Some("BR")), "20000.00", "2026-03-02");
    assert_eq!(t.duty_cny, d("4000.00"));
}

#[test]
fn rate_selection_provisional_mfn_general() {
    let mut book = book();
    let wine = item("22042100", "100", "LTR", "10000.00", Some("FR"));
    let t = taxes(&book, &wine, "10000.00", "2026-03-02");
    assert_eq!((t.duty_cny, t.basis[0].as_str()), (d("500.00"), "rate.provisional"));
    let unknown_origin = item("22042100", "100", "LTR", "10000.00", None);
    let t = taxes(&book, &unknown_origin, "10000.00", "2026-03-02");
    assert_eq!((t.duty_cny, t.basis[0].as_str()), (d("18000.00"), "rate.general.origin_unknown"));
    book.general_rate_origins.insert(Versioned {
        key: "FR".into(),
        effective_from: date("2026-03-01"),
        value: Some(()),
    });
    let t = taxes(&book, &wine, "10000.00", "2026-03-02");
    assert_eq!((t.duty_cny, t.basis[0].as_str()), (d("18000.00"), "rate.general"));
    // Before the origin was listed, MFN/provisional applied.
    let t = taxes(&book, &wine, "10000.00", "2026-02-28");
    assert_eq!(t.duty_cny, d("500.00"));
}

#[test]
fn a_rate_change_applies_from_its_effective_date() {
    let mut book = book();
    let mut cheaper = line("84713000", "0", "70", None);
    cheaper.name = "after the cut".into();
    book.lines.insert(Versioned { key: "84713000".into(), effective_from: date("2026-07-01"), value: Some(cheaper) });
    let goods = item("84713000", "1", "C62", "10000.00", Some("PT"));
    assert_eq!(taxes(&book, &goods, "10000.00", "2026-06-30").duty_cny, d("100.00"));
    assert_eq!(taxes(&book, &goods, "10000.00", "2026-07-01").duty_cny, d("0.00"));
    // The VAT table is versioned the same way.
    book.vat.insert(Versioned {
        key: "vat.standard".into(),
        effective_from: date("2026-09-01"),
        value: Some(VatRow {
            id: "vat.standard".into(),
            hs_from: String::new(),
            hs_to: String::new(),
            rate_pct: d("12"),
        }),
    });
    assert_eq!(taxes(&book, &goods, "10000.00", "2026-08-31").vat_cny, d("1300.00"));
    assert_eq!(taxes(&book, &goods, "10000.00", "2026-09-01").vat_cny, d("1200.00"));
}

#[test]
fn a_line_without_a_rate_is_an_error_naming_the_item() {
    let mut book = book();
    let missing = TariffLine {
        hs8: "02071422".into(),
        name: "no MFN".into(),
        mfn: None,
        general: rate("0"),
        provisional: None,
        ex_line: false,
    };
    book.lines.insert(Versioned { key: "02071422".into(), effective_from: date("2026-01-01"), value: Some(missing) });
    let goods = item("02071422", "10", "KGM", "100.00", Some("BR"));
    let error = compute_item(
        &book,
        date("2026-03-02"),
        ItemTaxInput { index: 2, item: &goods, customs_value_cny: d("100.00") },
        TaxesDue::ALL,
    )
    .unwrap_err();
    assert_eq!((error.0[0].code, error.0[0].field.as_str()), ("rate_missing", "items[2].hs"));
    // When no duty is due the missing rate does not matter.
    assert!(compute_item(
        &book,
        date("2026-03-02"),
        ItemTaxInput { index: 2, item: &goods, customs_value_cny: d("100.00") },
        TaxesDue::NONE
    )
    .is_ok());
    // An unknown line is an error whatever is due.
    let unknown = item("99999999", "1", "C62", "1.00", Some("PT"));
    let error = compute_item(
        &book,
        date("2026-03-02"),
        ItemTaxInput { index: 0, item: &unknown, customs_value_cny: d("1.00") },
        TaxesDue::NONE,
    )
    .unwrap_err();
    assert_eq!(error.0[0].code, "hs_unknown");
}

#[test]
fn exchange_rates_come_from_the_month_of_the_declaration() {
    let mut book = book();
    book.exchange_rates.insert(Versioned {
        key: "USD".into(),
        effective_from: date("2026-03-01"),
        value: Some(ExchangeRateRow { currency: "USD".into(), cny_per_unit: d("7.1") }),
    });
    let decl = declaration("USD", None, ValueBasis::Cif, vec![item("84713000", "1", "C62", "100.00", Some("PT"))]);
    assert_eq!(customs_values(&decl, &book).unwrap()[0].0, d("710.00"));
    let mut april = decl.clone();
    april.declared_on = date("2026-04-02");
    let error = customs_values(&april, &book).unwrap_err();
    assert_eq!((error.0[0].code, error.0[0].field.as_str()), ("exchange_rate_missing", "exchange_rate"));
    let cny = declaration("CNY", None, ValueBasis::Cif, vec![item("84713000", "1", "C62", "100.00", Some("PT"))]);
    assert_eq!(customs_values(&cny, &book).unwrap()[0].0, d("100.00"));
}

#[test]
fn fob_adds_freight_and_insurance_apportioned_by_value() {
    let book = book();
    let mut decl = declaration(
        "MOP",
        Some("0.8812"),
        ValueBasis::Fob,
        vec![
            item("84713000", "1", "C62", "1000.00", Some("PT")),
            item("84713000", "1", "C62", "2000.00", Some("PT")),
            item("84713000", "1", "C62", "0.01", Some("PT")),
        ],
    );
    decl.freight = d("100.00");
    decl.insurance = d("0.01");
    let values = customs_values(&decl, &book).unwrap();
    let cif: Vec<Decimal> = decl.items.iter().map(|i| zonegate_domain::round_fen(i.value * d("0.8812"))).collect();
    let added: Decimal = values.iter().zip(&cif).map(|(v, c)| v.0 - c).sum();
    // 100.01 MOP × 0.8812 = 88.128812 → 88.13 CNY, split exactly.
    assert_eq!(added, d("88.13"));
    assert_eq!(values[0].0 - cif[0], d("29.38"));
    assert_eq!(values[1].0 - cif[1], d("58.75"));
}

#[test]
fn treatment_without_taxes_due_yields_zero() {
    let book = book();
    let goods = item("33049900", "1", "KGM", "71000.00", Some("FR"));
    let t = compute_item(
        &book,
        date("2026-03-02"),
        ItemTaxInput { index: 0, item: &goods, customs_value_cny: d("71000.00") },
        TaxesDue::NONE,
    )
    .unwrap();
    assert_eq!((t.duty_cny, t.consumption_tax_cny, t.vat_cny), (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO));
    // The 30 % rule: duty not due, consumption tax and VAT on value + 0 duty.
    let t = compute_item(
        &book,
        date("2026-03-02"),
        ItemTaxInput { index: 0, item: &goods, customs_value_cny: d("71000.00") },
        TaxesDue::NO_DUTY,
    )
    .unwrap();
    assert_eq!(t.duty_cny, Decimal::ZERO);
    assert_eq!(t.consumption_tax_cny, d("12529.41")); // 71000 × 15 / 85
    assert_eq!(t.vat_cny, d("10858.82")); // (71000 + 12529.41) × 13 %
}

fn cents() -> impl Strategy<Value = Decimal> {
    (0i64..10_000_000_000).prop_map(|fen| Decimal::new(fen, 2))
}

proptest! {
    #[test]
    fn ad_valorem_duty_is_the_rounded_product(value in cents(), pct in 0u32..=100) {
        let mut book = book();
        book.lines.insert(Versioned { key: "84713000".into(), effective_from: date("2026-01-01"), value: Some(line("84713000", &pct.to_string(), "70", None)) });
        let goods = item("84713000", "1", "C62", "1", Some("PT"));
        let t = compute_item(&book, date("2026-03-02"), ItemTaxInput { index: 0, item: &goods, customs_value_cny: value }, TaxesDue::ALL).unwrap();
        let exact = value * Decimal::from(pct) / Decimal::ONE_HUNDRED;
        prop_assert!((t.duty_cny - exact).abs() <= d("0.005"));
        prop_assert_eq!(t.duty_cny.scale(), 2);
        // VAT is 13 % of value + rounded duty, within half a fen.
        let vat_exact = (value + t.duty_cny) * d("0.13");
        prop_assert!((t.vat_cny - vat_exact).abs() <= d("0.005"));
    }

    #[test]
    fn consumption_tax_satisfies_its_defining_equation(value in cents()) {
        let book = book();
        let goods = item("33049900", "1", "KGM", "1", Some("FR"));
        let t = compute_item(&book, date("2026-03-02"), ItemTaxInput { index: 0, item: &goods, customs_value_cny: value }, TaxesDue::ALL).unwrap();
        // CT = 15 % of the composite price (value + duty + CT): within half a fen after rounding.
        let composite = value + t.duty_cny + t.consumption_tax_cny;
        prop_assert!((composite * d("0.15") - t.consumption_tax_cny).abs() <= d("0.0051"));
    }

    #[test]
    fn totals_are_sums_and_waivers_follow_the_threshold(duties in proptest::collection::vec(0i64..20_000, 1..12)) {
        let items: Vec<ItemTaxes> = duties.iter().map(|fen| {
            let mut t = compute_item(&book(), date("2026-03-02"), ItemTaxInput { index: 0, item: &item("84713000", "1", "C62", "1", Some("PT")), customs_value_cny: Decimal::ZERO }, TaxesDue::NONE).unwrap();
            t.duty_cny = Decimal::new(*fen, 2);
            t
        }).collect();
        let totals = DeclarationTotals::from_items(&items, d("50"));
        let sum: Decimal = items.iter().map(|t| t.duty_cny).sum();
        prop_assert_eq!(totals.duty_cny, sum);
        let waived = sum > Decimal::ZERO && sum <= d("50");
        prop_assert_eq!(totals.waived.contains(&Waiver::DutyUnderThreshold), waived);
        prop_assert_eq!(totals.payable_cny, if waived { Decimal::ZERO } else { sum });
    }

    #[test]
    fn apportioned_shares_sum_exactly(total in 0i64..10_000_000, weights in proptest::collection::vec(0i64..1_000_000, 1..20)) {
        let weights: Vec<Decimal> = weights.into_iter().map(|w| Decimal::new(w, 2)).collect();
        let shares = apportion_fen(total, &weights);
        prop_assert_eq!(shares.iter().sum::<i64>(), total);
        prop_assert!(shares.iter().all(|s| *s >= 0));
    }
}
