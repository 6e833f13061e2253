//! One golden case per flow and treatment on the shipped data, as an officer would check them: the
//! treatment, the exact taxes and the ids of the rules behind them.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;
use zonegate_domain::{
    CountryCode, CreditClass, CurrencyCode, Declaration, Flow, HsCode, Item, Party, Processing, Purpose, Reference,
    UnitCode, Uscc, ValueBasis, ZoneId,
};
use zonegate_policy::defaults::shipped_rows;
use zonegate_policy::{assess, Assessment, ListEntry, PolicyBook, Treatment};

const EXEMPT_IMPORTER: &str = "91440400MA4UJ0J57H";
const ZONE_SHOP: &str = "91440400MA55H0P10R";
const MAINLAND: &str = "91440300MA5520010X";
const HAINAN_ENTITY: &str = "91460000MA5HN0010G";

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn party(uscc: &str, zone_registered: bool, lists: &[&str], credit_class: CreditClass) -> Party {
    Party {
        uscc: Uscc::parse(uscc).unwrap(),
        name: "test".into(),
        zone_registered,
        lists: lists.iter().map(|l| (*l).to_owned()).collect(),
        credit_class,
    }
}

fn parties() -> Vec<Party> {
    vec![
        party(EXEMPT_IMPORTER, true, &["exempt_importer"], CreditClass::Ordinary),
        party(ZONE_SHOP, true, &[], CreditClass::Ordinary),
        party(MAINLAND, false, &[], CreditClass::Ordinary),
        party(HAINAN_ENTITY, true, &["zero_tariff_entity"], CreditClass::Dishonest),
    ]
}

fn book() -> PolicyBook {
    shipped_rows().expect("the shipped data parses").to_book()
}

fn item(hs: &str, quantity: &str, unit: &str, value: &str) -> Item {
    Item {
        hs: HsCode::parse(hs).unwrap(),
        description: "goods".into(),
        quantity: d(quantity),
        unit: UnitCode::parse(unit).unwrap(),
        value: d(value),
        origin: Some(CountryCode::parse("PT").unwrap()),
        attributes: BTreeMap::new(),
        processing: None,
        documents: Vec::new(),
    }
}

fn declaration(zone: &str, flow: Flow, purpose: Purpose, party: &str, items: Vec<Item>) -> Declaration {
    Declaration {
        reference: Reference::parse("G-1").unwrap(),
        zone: ZoneId(zone.into()),
        flow,
        declared_on: date("2026-03-02"),
        declarant: Uscc::parse(party).unwrap(),
        importer: Uscc::parse(party).unwrap(),
        purpose,
        currency: CurrencyCode::parse("CNY").unwrap(),
        exchange_rate: None,
        value_basis: ValueBasis::Cif,
        freight: Decimal::ZERO,
        insurance: Decimal::ZERO,
        items,
    }
}

fn run(book: &PolicyBook, declaration: &Declaration) -> Assessment {
    let all = parties();
    let find = |uscc: &Uscc| all.iter().find(|p| &p.uscc == uscc).cloned();
    assess(book, declaration, find(&declaration.declarant).as_ref(), find(&declaration.importer).as_ref())
        .unwrap_or_else(|e| panic!("assessment failed: {e}"))
}

fn one(book: &PolicyBook, declaration: &Declaration) -> (Treatment, Vec<String>, [Decimal; 3]) {
    let assessment = run(book, declaration);
    let item = &assessment.items[0];
    (item.treatment, item.basis.clone(), [item.taxes.duty_cny, item.taxes.consumption_tax_cny, item.taxes.vat_cny])
}

const ZERO: [Decimal; 3] = [Decimal::ZERO, Decimal::ZERO, Decimal::ZERO];

#[test]
fn first_line_exempt_equipment_for_own_use() {
    let decl = declaration(
        "hengqin",
        Flow::FirstLineIn,
        Purpose::OwnUse,
        EXEMPT_IMPORTER,
        vec![item("84713000", "20", "C62", "160000.00")],
    );
    let (treatment, basis, taxes) = one(&book(), &decl);
    assert_eq!(treatment, Treatment::Exempt);
    assert_eq!(basis, vec!["first_line.exempt_equipment"]);
    assert_eq!(taxes, ZERO);
}

#[test]
fn first_line_infrastructure_material_is_exempt_only_for_infrastructure() {
    let cement = item("25232900", "400", "TNE", "120000.00");
    let book = book();
    let (treatment, basis, _) = one(
        &book,
        &declaration("hengqin", Flow::FirstLineIn, Purpose::Infrastructure, EXEMPT_IMPORTER, vec![cement.clone()]),
    );
    assert_eq!((treatment, basis[0].as_str()), (Treatment::Exempt, "first_line.exempt_infrastructure"));
    let (treatment, basis, _) =
        one(&book, &declaration("hengqin", Flow::FirstLineIn, Purpose::OwnUse, EXEMPT_IMPORTER, vec![cement]));
    assert_eq!(treatment, Treatment::Bonded);
    assert_eq!(basis, vec!["first_line.goods_out_of_scope", "first_line.bonded"]);
}

#[test]
fn first_line_bonded_for_resale_cars_and_importers_not_listed() {
    let book = book();
    let laptops = item("84713000", "20", "C62", "160000.00");
    let (treatment, basis, taxes) =
        one(&book, &declaration("hengqin", Flow::FirstLineIn, Purpose::Resale, EXEMPT_IMPORTER, vec![laptops.clone()]));
    assert_eq!((treatment, basis[0].as_str(), taxes), (Treatment::Bonded, "first_line.purpose_not_exempt", ZERO));
    let (treatment, basis, _) =
        one(&book, &declaration("hengqin", Flow::FirstLineIn, Purpose::OwnUse, ZONE_SHOP, vec![laptops]));
    assert_eq!((treatment, basis[0].as_str()), (Treatment::Bonded, "first_line.importer_not_exempt"));
    let mut car = item("87034011", "1", "C62", "300000.00");
    car.attributes.insert("engine_cc".into(), d("1998"));
    let (treatment, _, _) =
        one(&book, &declaration("hengqin", Flow::FirstLineIn, Purpose::OwnUse, EXEMPT_IMPORTER, vec![car]));
    assert_eq!(treatment, Treatment::Bonded);
}

#[test]
fn first_line_lists_take_effect_on_their_dates() {
    let mut book = book();
    let entry = |list: &str, item: &str, from: &str| ListEntry {
        zone: "hengqin".into(),
        list: list.into(),
        item: item.into(),
        effective_from: date(from),
        active: true,
        note: String::new(),
    };
    book.add_list_entry(entry("not_exempt", "847130", "2026-03-01"));
    book.add_list_entry(entry("not_exempt_or_bonded", "2402", "2026-04-01"));
    let laptops = declaration(
        "hengqin",
        Flow::FirstLineIn,
        Purpose::OwnUse,
        EXEMPT_IMPORTER,
        vec![item("84713000", "20", "C62", "160000.00")],
    );
    let (treatment, basis, _) = one(&book, &laptops);
    assert_eq!((treatment, basis[0].as_str()), (Treatment::Bonded, "first_line.not_exempt_list"));
    let mut cigarettes = declaration(
        "hengqin",
        Flow::FirstLineIn,
        Purpose::Resale,
        ZONE_SHOP,
        vec![item("24022000", "20000", "C62", "36000.00")],
    );
    let (treatment, _, _) = one(&book, &cigarettes);
    assert_eq!(treatment, Treatment::Bonded, "the list takes effect on 2026-04-01");
    cigarettes.declared_on = date("2026-04-01");
    let (treatment, basis, taxes) = one(&book, &cigarettes);
    assert_eq!((treatment, basis[0].as_str()), (Treatment::Taxed, "first_line.not_exempt_or_bonded"));
    // 25 % duty = 9,000.00; 36,000 per 20,000 sticks = 360 per 200 ≥ 70: 56 % + 0.003 per stick.
    // CT = (36,000 + 9,000 + 60) × 56 / 44 + 60 = 57,409.09; VAT = (45,000 + 57,409.09) × 13 % = 13,313.18.
    assert_eq!(taxes, [d("9000.00"), d("57409.09"), d("13313.18")]);
    assert!(basis.contains(&"ct.cigarettes".to_owned()));
}

#[test]
fn first_line_importer_outside_the_zone_pays() {
    let (treatment, basis, taxes) = one(
        &book(),
        &declaration(
            "hengqin",
            Flow::FirstLineIn,
            Purpose::OwnUse,
            MAINLAND,
            vec![item("84713000", "1", "C62", "10000.00")],
        ),
    );
    assert_eq!((treatment, basis[0].as_str()), (Treatment::Taxed, "first_line.importer_not_in_zone"));
    // MFN 0 % on laptops (supplement data): no duty; VAT 13 %.
    assert_eq!(taxes, [d("0.00"), Decimal::ZERO, d("1300.00")]);
}

fn processed(sale: &str) -> Item {
    let mut goods = item("33049900", "1000", "KGM", sale);
    goods.processing = Some(Processing {
        imported_materials_cny: d("100000.00"),
        domestic_materials_cny: d("20000.00"),
        sale_price_cny: d(sale),
    });
    goods
}

#[test]
fn second_line_thirty_percent_rule_on_both_sides_of_the_threshold() {
    let book = book();
    // 40,000 / 120,000 = 33.3 % → duty exempt; CT 15 % and VAT due on value + 0.
    let (treatment, basis, taxes) = one(
        &book,
        &declaration("hengqin", Flow::SecondLineOut, Purpose::Resale, ZONE_SHOP, vec![processed("160000.00")]),
    );
    assert_eq!(treatment, Treatment::ZeroValueAddedDuty);
    assert_eq!(&basis[..2], ["second_line.import", "second_line.value_added"]);
    // CT = 160,000 × 15 / 85 = 28,235.29; VAT = 188,235.29 × 13 % = 24,470.59.
    assert_eq!(taxes, [Decimal::ZERO, d("28235.29"), d("24470.59")]);
    // Exactly 30 %: 36,000 / 120,000 → still exempt.
    let (treatment, _, _) = one(
        &book,
        &declaration("hengqin", Flow::SecondLineOut, Purpose::Resale, ZONE_SHOP, vec![processed("156000.00")]),
    );
    assert_eq!(treatment, Treatment::ZeroValueAddedDuty);
    // One fen below 30 %.
    let (treatment, basis, taxes) = one(
        &book,
        &declaration("hengqin", Flow::SecondLineOut, Purpose::Resale, ZONE_SHOP, vec![processed("155999.99")]),
    );
    assert_eq!(treatment, Treatment::Taxed);
    assert_eq!(basis[1], "second_line.value_added.below_threshold");
    // 25 %: full duty 1 % (supplement MFN for 33049900).
    assert_eq!(taxes[0], d("1560.00"));
    // A declarant outside the zone cannot use the rule.
    let (treatment, basis, _) = one(
        &book,
        &declaration("hengqin", Flow::SecondLineOut, Purpose::Resale, MAINLAND, vec![processed("160000.00")]),
    );
    assert_eq!((treatment, basis[1].as_str()), (Treatment::Taxed, "second_line.value_added.not_zone_enterprise"));
}

#[test]
fn second_line_out_without_processing_is_a_taxed_import_with_consumption_tax_by_engine() {
    let mut car = item("87034011", "1", "C62", "300000.00");
    car.attributes.insert("engine_cc".into(), d("1998"));
    let (treatment, basis, taxes) =
        one(&book(), &declaration("hengqin", Flow::SecondLineOut, Purpose::Resale, ZONE_SHOP, vec![car]));
    assert_eq!(treatment, Treatment::Taxed);
    assert_eq!(basis, vec!["second_line.import", "rate.mfn", "ct.cars.up_to_2000cc", "vat.standard"]);
    // Duty 15 % = 45,000; CT 5 %: 345,000 × 5 / 95 = 18,157.89; VAT (345,000 + 18,157.89) × 13 % = 47,210.53.
    assert_eq!(taxes, [d("45000.00"), d("18157.89"), d("47210.53")]);
}

#[test]
fn a_car_without_engine_size_is_reported_not_guessed() {
    let car = item("87034011", "1", "C62", "300000.00");
    let decl = declaration("hengqin", Flow::SecondLineOut, Purpose::Resale, ZONE_SHOP, vec![car]);
    let all = parties();
    let shop = all.iter().find(|p| p.uscc.as_str() == ZONE_SHOP);
    let errors = assess(&book(), &decl, shop, shop).unwrap_err();
    assert_eq!((errors.0[0].code, errors.0[0].field.as_str()), ("attribute_missing", "items[0].attributes.engine_cc"));
}

#[test]
fn exports_free_circulation_and_sale_to_individuals() {
    let book = book();
    let goods = || vec![item("94036000", "10", "C62", "20000.00")];
    let (treatment, basis, taxes) =
        one(&book, &declaration("hengqin", Flow::SecondLineIn, Purpose::Resale, ZONE_SHOP, goods()));
    assert_eq!((treatment, basis[0].as_str(), taxes), (Treatment::Export, "second_line_in.export", ZERO));
    let (treatment, basis, _) =
        one(&book, &declaration("hengqin", Flow::FirstLineOut, Purpose::Resale, ZONE_SHOP, goods()));
    assert_eq!((treatment, basis[0].as_str()), (Treatment::Export, "first_line_out.export"));
    let (treatment, basis, taxes) =
        one(&book, &declaration("hengqin", Flow::ZoneTransfer, Purpose::Resale, ZONE_SHOP, goods()));
    assert_eq!(
        (treatment, basis[0].as_str(), taxes),
        (Treatment::FreeCirculation, "zone_transfer.free_circulation", ZERO)
    );
    let (treatment, basis, taxes) =
        one(&book, &declaration("hengqin", Flow::ZoneTransfer, Purpose::SaleToIndividual, ZONE_SHOP, goods()));
    assert_eq!((treatment, basis[0].as_str()), (Treatment::Taxed, "zone_transfer.sale_to_individual"));
    assert_eq!(taxes, [d("0.00"), Decimal::ZERO, d("2600.00")]);
}

#[test]
fn hainan_is_configuration_zero_tariff_except_the_taxable_catalogue() {
    let mut book = book();
    book.add_list_entry(ListEntry {
        zone: "hainan".into(),
        list: "taxable_catalogue".into(),
        item: "2208".into(),
        effective_from: date("2025-12-18"),
        active: true,
        note: String::new(),
    });
    let mut whisky = item("22083000", "100", "LTR", "20000.00");
    whisky.attributes.insert("abv".into(), d("40"));
    let laptops = item("84713000", "20", "C62", "160000.00");
    let decl = declaration("hainan", Flow::FirstLineIn, Purpose::Resale, HAINAN_ENTITY, vec![laptops.clone(), whisky]);
    let assessment = run(&book, &decl);
    assert_eq!(assessment.items[0].treatment, Treatment::Exempt);
    assert_eq!(assessment.items[0].basis, vec!["first_line.zero_tariff"]);
    assert_eq!(assessment.items[1].treatment, Treatment::Taxed);
    assert_eq!(assessment.items[1].basis[0], "first_line.taxable_catalogue");
    // Whisky: duty 5 % = 1,000; CT 20 % + 1/L: (20,000 + 1,000 + 100) × 20/80 + 100 = 5,375; VAT (21,000 + 5,375) × 13 % = 3,428.75.
    let t = &assessment.items[1].taxes;
    assert_eq!([t.duty_cny, t.consumption_tax_cny, t.vat_cny], [d("1000.00"), d("5375.00"), d("3428.75")]);
    // A non-eligible importer pays in Hainan (fallback `taxed`), where Hengqin would bond.
    let (treatment, basis, _) =
        one(&book, &declaration("hainan", Flow::FirstLineIn, Purpose::Resale, ZONE_SHOP, vec![laptops.clone()]));
    assert_eq!(treatment, Treatment::Taxed);
    assert_eq!(basis[..2], ["first_line.importer_not_eligible", "first_line.fallback_taxed"]);
    // Before Hainan's closure date the profile is not in force.
    let mut early = declaration("hainan", Flow::FirstLineIn, Purpose::Resale, HAINAN_ENTITY, vec![laptops]);
    early.declared_on = date("2025-12-17");
    let all = parties();
    let entity = all.iter().find(|p| p.uscc.as_str() == HAINAN_ENTITY);
    let errors = assess(&book, &early, entity, entity).unwrap_err();
    assert_eq!(errors.0[0].code, "zone_unknown");
}

#[test]
fn every_problem_of_an_assessment_is_reported_at_once() {
    let decl = declaration(
        "hengqin",
        Flow::FirstLineIn,
        Purpose::OwnUse,
        "91350100M000100Y43",
        vec![item("99999999", "1", "C62", "1.00"), item("84713000", "1", "C62", "1.00")],
    );
    let errors = assess(&book(), &decl, None, None).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["declarant", "importer", "items[0].hs"]);
}

#[test]
fn waived_small_taxes_are_not_payable() {
    // 300.00 of furniture sold to an individual: VAT 39.00 ≤ 50 → waived, nothing payable.
    let assessment = run(
        &book(),
        &declaration(
            "hengqin",
            Flow::ZoneTransfer,
            Purpose::SaleToIndividual,
            ZONE_SHOP,
            vec![item("94036000", "1", "C62", "300.00")],
        ),
    );
    assert_eq!(assessment.totals.vat_cny, d("39.00"));
    assert_eq!(assessment.totals.payable_cny, d("0.00"));
    assert_eq!(assessment.totals.waived.iter().map(|w| w.as_str()).collect::<Vec<_>>(), vec!["vat_under_threshold"]);
}

#[test]
fn shipped_data_is_complete() {
    let rows = shipped_rows().unwrap();
    // 673 lines of the subset plus the supplement.
    assert!(rows.tariff_lines.len() >= 673 + 19, "{}", rows.tariff_lines.len());
    let book = rows.to_book();
    assert_eq!(book.zones(), vec!["hainan", "hengqin"]);
    // Every VAT reduced heading of interchange.md §4 resolves to 9 %.
    for hs in ["01012900", "02013000", "04012000", "04090000", "25010010", "49011000", "31021000"] {
        let row = book.tariff.vat_row(&HsCode::parse(hs).unwrap(), date("2026-03-02")).unwrap();
        assert_eq!(row.rate_pct, d("9"), "{hs}");
    }
    // Milk powder (0402) is not in the 9 % headings of the first approximation; laptops are standard.
    for hs in ["04021000", "84713000"] {
        let row = book.tariff.vat_row(&HsCode::parse(hs).unwrap(), date("2026-03-02")).unwrap();
        assert_eq!(row.rate_pct, d("13"), "{hs}");
    }
}
