//! Measures 4 and 5: goods needing an import licence or the herb import approval at the first line, the
//! whitelist that waives them, and the second-line constraint on whitelisted goods.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;
use zonegate_domain::{
    CountryCode, CreditClass, CurrencyCode, Declaration, Document, FieldErrors, Flow, HsCode, Item, Party, Purpose,
    Reference, UnitCode, Uscc, ValueBasis, ZoneId,
};
use zonegate_policy::defaults::shipped_rows;
use zonegate_policy::{assess, Assessment, PolicyBook, Treatment, WhitelistEntry};
use zonegate_tariff::import;

const IMPORTER: &str = "91440400MA4UJ0J57H";
const OTHER: &str = "91440400MA55H0P10R";
const PORK: &str = "02031110";
const HERB: &str = "12119039";

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn parties() -> Vec<Party> {
    [IMPORTER, OTHER]
        .iter()
        .map(|uscc| Party {
            uscc: Uscc::parse(uscc).unwrap(),
            name: "test".into(),
            zone_registered: true,
            lists: Vec::new(),
            credit_class: CreditClass::Ordinary,
        })
        .collect()
}

/// The shipped data plus one illustrative chapter-12 line (the shipped subset has none).
fn book() -> PolicyBook {
    let mut book = shipped_rows().expect("the shipped data parses").to_book();
    let csv = "hs8,chapter,ex_line,name_zh,mfn_rate_pct,general_rate_pct,provisional_rate_pct,source_offset\n\
               12119039,12,false,---其他,6,20,,0\n";
    for row in import::tariff_lines(csv, date("2026-01-01")).expect("the test line parses") {
        book.tariff.lines.insert(row);
    }
    book
}

fn item(hs: &str, documents: &[&str]) -> Item {
    Item {
        hs: HsCode::parse(hs).unwrap(),
        description: "goods".into(),
        quantity: d("100"),
        unit: UnitCode::parse("KGM").unwrap(),
        value: d("10000.00"),
        origin: Some(CountryCode::parse("PT").unwrap()),
        attributes: BTreeMap::new(),
        processing: None,
        documents: documents.iter().map(|kind| Document { kind: (*kind).into(), id: "DOC-1".into() }).collect(),
    }
}

fn declaration(flow: Flow, on: &str, items: Vec<Item>) -> Declaration {
    Declaration {
        reference: Reference::parse("W-1").unwrap(),
        zone: ZoneId("hengqin".into()),
        flow,
        declared_on: date(on),
        declarant: Uscc::parse(IMPORTER).unwrap(),
        importer: Uscc::parse(IMPORTER).unwrap(),
        purpose: Purpose::Resale,
        currency: CurrencyCode::parse("CNY").unwrap(),
        exchange_rate: None,
        value_basis: ValueBasis::Cif,
        freight: Decimal::ZERO,
        insurance: Decimal::ZERO,
        items,
    }
}

fn run(book: &PolicyBook, declaration: &Declaration) -> Result<Assessment, FieldErrors> {
    let all = parties();
    let find = |uscc: &Uscc| all.iter().find(|p| &p.uscc == uscc);
    assess(book, declaration, find(&declaration.declarant), find(&declaration.importer))
}

fn entry(category: &str, product: &str, from: &str, to: Option<&str>, active: bool) -> WhitelistEntry {
    WhitelistEntry {
        zone: "hengqin".into(),
        enterprise: IMPORTER.into(),
        product: product.into(),
        category: category.into(),
        valid_from: date(from),
        valid_to: to.map(date),
        active,
        note: String::new(),
    }
}

fn codes(errors: &FieldErrors) -> Vec<(&str, &str)> {
    errors.iter().map(|e| (e.code, e.field.as_str())).collect()
}

#[test]
fn the_shipped_lists_name_licence_and_approval_goods() {
    let book = book();
    let on = date("2026-03-02");
    assert_eq!(
        book.goods_on_list("hengqin", "licence_required", &HsCode::parse(PORK).unwrap(), on).as_deref(),
        Some("0203")
    );
    assert_eq!(
        book.goods_on_list("hengqin", "tcm_approval_required", &HsCode::parse(HERB).unwrap(), on).as_deref(),
        Some("1211")
    );
    // The goods of the examples and the golden cases stay off both lists.
    for hs in ["84713000", "33049900", "22083000", "22042100", "02013000", "87034011", "25232900"] {
        let hs = HsCode::parse(hs).unwrap();
        assert_eq!(book.goods_on_list("hengqin", "licence_required", &hs, on), None, "{hs}");
        assert_eq!(book.goods_on_list("hengqin", "tcm_approval_required", &hs, on), None, "{hs}");
    }
}

#[test]
fn licence_goods_without_a_licence_are_refused() {
    let errors = run(&book(), &declaration(Flow::FirstLineIn, "2026-03-02", vec![item(PORK, &[])])).unwrap_err();
    assert_eq!(codes(&errors), [("licence_missing", "items[0].documents")]);
    let message = &errors.0[0].message;
    assert!(message.contains("`0203`") && message.contains("`licence_required`"), "{message}");
}

#[test]
fn a_licence_document_is_enough() {
    let assessment = run(&book(), &declaration(Flow::FirstLineIn, "2026-03-02", vec![item(PORK, &["licence"])]))
        .expect("a licence is enough");
    assert_eq!(assessment.items[0].treatment, Treatment::Bonded);
    assert!(!assessment.items[0].basis.iter().any(|id| id.ends_with("_waived_whitelist")));
}

#[test]
fn a_whitelisted_importer_needs_no_licence() {
    let mut book = book();
    book.add_whitelist_entry(entry("macao_brand", "0203", "2026-02-01", Some("2026-12-31"), true));
    let assessment =
        run(&book, &declaration(Flow::FirstLineIn, "2026-03-02", vec![item(PORK, &[])])).expect("whitelisted");
    let basis = &assessment.items[0].basis;
    assert_eq!(assessment.items[0].treatment, Treatment::Bonded);
    // Treatment ids first, then the waiver (bonded goods owe no taxes, so no rate ids follow).
    assert_eq!(basis[..], ["first_line.importer_not_exempt", "first_line.bonded", "licence_waived_whitelist"]);
    assert!(assessment.items[0].trace.iter().any(|line| line.contains("whitelisted (macao_brand)")));
    // The last day of validity still counts.
    assert!(run(&book, &declaration(Flow::FirstLineIn, "2026-12-31", vec![item(PORK, &[])])).is_ok());
    // Before it starts it does not.
    let early = run(&book, &declaration(Flow::FirstLineIn, "2026-01-31", vec![item(PORK, &[])])).unwrap_err();
    assert_eq!(codes(&early), [("licence_missing", "items[0].documents")]);
}

#[test]
fn a_whitelist_of_the_wrong_category_or_enterprise_waives_nothing() {
    let mut book = book();
    book.add_whitelist_entry(entry("tcm_material", "0203", "2026-01-01", None, true));
    book.add_whitelist_entry(WhitelistEntry {
        enterprise: OTHER.into(),
        ..entry("macao_brand", "0203", "2026-01-01", None, true)
    });
    let errors = run(&book, &declaration(Flow::FirstLineIn, "2026-03-02", vec![item(PORK, &[])])).unwrap_err();
    assert_eq!(codes(&errors), [("licence_missing", "items[0].documents")]);
}

#[test]
fn an_expired_whitelist_entry_waives_nothing() {
    let mut book = book();
    book.add_whitelist_entry(entry("macao_brand", "0203", "2026-01-01", Some("2026-03-01"), true));
    let errors = run(&book, &declaration(Flow::FirstLineIn, "2026-03-02", vec![item(PORK, &[])])).unwrap_err();
    assert_eq!(codes(&errors), [("licence_missing", "items[0].documents")]);
    assert!(book.whitelisted("hengqin", IMPORTER, &HsCode::parse(PORK).unwrap(), date("2026-03-02")).is_none());
    assert!(book.whitelisted("hengqin", IMPORTER, &HsCode::parse(PORK).unwrap(), date("2026-03-01")).is_some());
}

#[test]
fn a_withdrawn_whitelist_entry_waives_nothing_from_the_withdrawal_on() {
    let mut book = book();
    book.add_whitelist_entry(entry("macao_brand", "0203", "2026-01-01", None, true));
    book.add_whitelist_entry(entry("macao_brand", "0203", "2026-03-01", None, false));
    let before = run(&book, &declaration(Flow::FirstLineIn, "2026-02-28", vec![item(PORK, &[])])).expect("in force");
    assert!(before.items[0].basis.iter().any(|id| id == "licence_waived_whitelist"));
    let errors = run(&book, &declaration(Flow::FirstLineIn, "2026-03-02", vec![item(PORK, &[])])).unwrap_err();
    assert_eq!(codes(&errors), [("licence_missing", "items[0].documents")]);
    assert!(book.whitelist("hengqin", date("2026-03-02")).is_empty());
    assert_eq!(book.whitelist("hengqin", date("2026-02-28")).len(), 1);
}

#[test]
fn the_longest_product_prefix_wins() {
    let mut book = book();
    book.add_whitelist_entry(entry("macao_brand", "02", "2026-01-01", None, true));
    book.add_whitelist_entry(entry("macao_brand", "020311", "2026-01-01", None, true));
    book.add_whitelist_entry(entry("macao_brand", "0204", "2026-01-01", None, true));
    let found = book.whitelisted("hengqin", IMPORTER, &HsCode::parse(PORK).unwrap(), date("2026-03-02")).unwrap();
    assert_eq!(found.product, "020311");
    assert_eq!(found.key(), format!("hengqin/{IMPORTER}/macao_brand/020311"));
    assert!(book.whitelisted("hainan", IMPORTER, &HsCode::parse(PORK).unwrap(), date("2026-03-02")).is_none());
}

#[test]
fn whitelisted_goods_may_not_leave_over_the_second_line() {
    let mut book = book();
    let laptops = item("84713000", &[]);
    // Not whitelisted: an ordinary second-line import.
    let plain = run(&book, &declaration(Flow::SecondLineOut, "2026-03-02", vec![item(PORK, &[]), laptops.clone()]))
        .expect("not whitelisted");
    assert_eq!(plain.items[0].treatment, Treatment::Taxed);
    book.add_whitelist_entry(entry("macao_brand", "0203", "2026-01-01", None, true));
    book.add_whitelist_entry(entry("tcm_material", "8471", "2026-01-01", None, true));
    let errors = run(&book, &declaration(Flow::SecondLineOut, "2026-03-02", vec![item(PORK, &["licence"]), laptops]))
        .unwrap_err();
    assert_eq!(codes(&errors), [("whitelist_second_line", "items[0].hs"), ("whitelist_second_line", "items[1].hs")]);
    assert!(errors.0[0].message.contains("may circulate in the zone and to Macao but not leave over the second line"));
}

#[test]
fn first_line_out_and_zone_transfer_are_unaffected() {
    let mut book = book();
    book.add_whitelist_entry(entry("macao_brand", "0203", "2026-01-01", None, true));
    for flow in [Flow::FirstLineOut, Flow::ZoneTransfer, Flow::SecondLineIn] {
        let assessment = run(&book, &declaration(flow, "2026-03-02", vec![item(PORK, &[]), item(HERB, &[])]))
            .unwrap_or_else(|e| panic!("{flow:?}: {e}"));
        assert!(assessment.items.iter().all(|item| !item.basis.iter().any(|id| id.ends_with("_waived_whitelist"))));
    }
}

#[test]
fn tcm_materials_need_the_approval_or_a_tcm_whitelist() {
    let mut book = book();
    let missing = run(&book, &declaration(Flow::FirstLineIn, "2026-03-02", vec![item(HERB, &[])])).unwrap_err();
    assert_eq!(codes(&missing), [("tcm_approval_missing", "items[0].documents")]);
    assert!(missing.0[0].message.contains("`1211`") && missing.0[0].message.contains("`tcm_approval_required`"));
    // A licence is not the approval.
    let wrong = run(&book, &declaration(Flow::FirstLineIn, "2026-03-02", vec![item(HERB, &["licence"])])).unwrap_err();
    assert_eq!(codes(&wrong), [("tcm_approval_missing", "items[0].documents")]);
    assert!(run(&book, &declaration(Flow::FirstLineIn, "2026-03-02", vec![item(HERB, &["tcm_approval"])])).is_ok());
    // A Macao-brand whitelist does not cover TCM materials; a tcm_material one does.
    book.add_whitelist_entry(entry("macao_brand", "1211", "2026-01-01", None, true));
    assert!(run(&book, &declaration(Flow::FirstLineIn, "2026-03-02", vec![item(HERB, &[])])).is_err());
    book.add_whitelist_entry(entry("tcm_material", "1211", "2026-01-01", Some("2026-06-30"), true));
    let waived = run(&book, &declaration(Flow::FirstLineIn, "2026-03-02", vec![item(HERB, &[])])).expect("whitelisted");
    assert!(waived.items[0].basis.iter().any(|id| id == "tcm_approval_waived_whitelist"));
    // Expired.
    let expired = run(&book, &declaration(Flow::FirstLineIn, "2026-07-01", vec![item(HERB, &[])])).unwrap_err();
    assert_eq!(codes(&expired), [("tcm_approval_missing", "items[0].documents")]);
    // Withdrawn.
    book.add_whitelist_entry(entry("tcm_material", "1211", "2026-04-01", None, false));
    let withdrawn = run(&book, &declaration(Flow::FirstLineIn, "2026-04-02", vec![item(HERB, &[])])).unwrap_err();
    assert_eq!(codes(&withdrawn), [("tcm_approval_missing", "items[0].documents")]);
    // Second line: whitelisted TCM materials stay in the zone.
    let out = run(&book, &declaration(Flow::SecondLineOut, "2026-03-02", vec![item(HERB, &[])])).unwrap_err();
    assert_eq!(codes(&out), [("whitelist_second_line", "items[0].hs")]);
}

#[test]
fn licence_problems_come_with_every_other_problem() {
    let book = book();
    let items = vec![item(PORK, &[]), item("99999999", &[]), item(HERB, &["licence"])];
    let errors = run(&book, &declaration(Flow::FirstLineIn, "2026-03-02", items.clone())).unwrap_err();
    let mut found = codes(&errors);
    found.sort();
    assert_eq!(
        found,
        [
            ("hs_unknown", "items[1].hs"),
            ("licence_missing", "items[0].documents"),
            ("tcm_approval_missing", "items[2].documents"),
        ]
    );
    // Also when the importer is unknown.
    let mut unknown = declaration(Flow::FirstLineIn, "2026-03-02", items);
    unknown.importer = Uscc::parse("91440300MA5520010X").unwrap();
    let errors = run(&book, &unknown).unwrap_err();
    let found = codes(&errors);
    assert!(found.contains(&("party_unknown", "importer")), "{found:?}");
    assert!(found.contains(&("licence_missing", "items[0].documents")), "{found:?}");
    assert!(found.contains(&("tcm_approval_missing", "items[2].documents")), "{found:?}");
}

#[test]
fn a_whitelist_entry_reports_every_problem_at_once() {
    let bad = WhitelistEntry {
        zone: String::new(),
        enterprise: "91440400MA4UJ0J57".into(),
        product: "12a".into(),
        category: "wine".into(),
        valid_from: date("2026-03-02"),
        valid_to: Some(date("2026-03-01")),
        active: true,
        note: String::new(),
    };
    let problems = bad.problems();
    let fields: Vec<(&str, &str)> = problems.iter().map(|(code, field, _)| (*code, *field)).collect();
    assert_eq!(
        fields,
        [
            ("zone_missing", "zone"),
            ("uscc_length", "enterprise"),
            ("hs_format", "product"),
            ("category_unknown", "category"),
            ("validity_range", "valid_to"),
        ]
    );
    assert!(problems[3].2.contains("macao_brand, tcm_material"));
    assert!(entry("macao_brand", "0203", "2026-01-01", None, true).problems().is_empty());
    assert!(entry("tcm_material", "1211903900", "2026-01-01", Some("2026-01-01"), true).problems().is_empty());
    for product in ["0", "12345678901", ""] {
        assert_eq!(entry("tcm_material", product, "2026-01-01", None, true).problems()[0].0, "hs_format");
    }
}
