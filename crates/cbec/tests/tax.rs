//! The e-commerce tax against the shipped tariff book: the worked examples of domain-rules.md §3, the
//! apportionment of the transaction value, the full goods rate for an indivisible item, and errors.

use chrono::{DateTime, NaiveDate};
use rust_decimal::Decimal;
use std::str::FromStr;
use zonegate_cbec::documents::{Consignee, Order, OrderItem, OrderKey, Person};
use zonegate_cbec::gtin::Gtin;
use zonegate_cbec::identity::ResidentId;
use zonegate_cbec::tax::{
    ecommerce_rate_pct, limits_on, order_figures, order_taxes, shipped_limits, OrderTax, TaxMode, ANNUAL_LIMIT_FEN,
    SINGLE_LIMIT_FEN,
};
use zonegate_domain::{CountryCode, HsCode, UnitCode, Uscc};
use zonegate_tariff::TariffBook;

fn book() -> TariffBook {
    zonegate_policy::defaults::shipped_rows().expect("shipped policy data is valid").to_book().tariff
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

fn cny(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn line(line: u32, hs: &str, name: &str, origin: &str, quantity: &str, unit: &str, total: &str) -> OrderItem {
    OrderItem {
        line,
        item_no: format!("SKU-{line}"),
        gtin: Gtin::parse("4006381333931").unwrap(),
        hs: HsCode::parse(hs).unwrap(),
        name: name.into(),
        origin: CountryCode::parse(origin).unwrap(),
        quantity: cny(quantity),
        unit: UnitCode::parse(unit).unwrap(),
        net_kg: None,
        price: cny(total) / cny(quantity),
        total: cny(total),
        indivisible: false,
    }
}

fn order(items: Vec<OrderItem>, freight: &str, insurance: &str, discount: &str) -> Order {
    let platform = Uscc::parse("91440400MA4UJ0J57H").unwrap();
    let buyer = Person { name: "张三".into(), id: ResidentId::parse("11010519491231002X").unwrap(), phone: None };
    Order {
        key: OrderKey { platform: platform.clone(), order_no: "A-1".into() },
        enterprise: Uscc::parse("91440400MA5RD0010U").unwrap(),
        zone: "hengqin".into(),
        ordered_at: DateTime::parse_from_rfc3339("2026-03-02T10:00:00+08:00").unwrap(),
        buyer,
        consignee: Consignee { name: "张三".into(), address: "珠海市横琴".into(), phone: "13800000000".into() },
        payment_company: Uscc::parse("91440400MA55H0P10R").unwrap(),
        transaction_id: "P-1".into(),
        goods_value: items.iter().map(|item| item.total).sum(),
        freight: cny(freight),
        insurance: cny(insurance),
        discount: cny(discount),
        tax_withheld: Decimal::ZERO,
        paid: Decimal::ZERO,
        items,
    }
}

fn taxes(order: &Order, mode: TaxMode) -> OrderTax {
    order_taxes(&book(), order, day(), mode).unwrap_or_else(|errors| panic!("{errors}"))
}

#[test]
fn milk_powder_of_3000_pays_273_of_vat() {
    let order = order(vec![line(1, "04021000", "婴儿奶粉", "AU", "4", "C62", "3000.00")], "0", "0", "0");
    let tax = taxes(&order, TaxMode::Ecommerce);
    assert_eq!((tax.duty_fen, tax.consumption_tax_fen, tax.vat_fen, tax.total_fen), (0, 0, 27_300, 27_300));
    assert_eq!(tax.lines[0].value_fen, 300_000);
    assert_eq!(tax.basis.first().map(String::as_str), Some("cbec.rate_70pct"));
    assert!(tax.basis.iter().any(|id| id == "vat.standard"), "{:?}", tax.basis);
    assert!(tax.lines[0].trace.iter().any(|step| step.contains("70%")), "{:?}", tax.lines[0].trace);
}

#[test]
fn cosmetics_of_1000_with_15pct_consumption_tax_pay_230_59() {
    let order = order(vec![line(1, "33049900", "精华液", "FR", "2", "C62", "1000.00")], "0", "0", "0");
    let tax = taxes(&order, TaxMode::Ecommerce);
    // Statutory: CT 1000 × 15 / 85 = 176.47, VAT (1000 + 176.47) × 13 % = 152.94; at 70 %: 123.53 + 107.06.
    assert_eq!((tax.duty_fen, tax.consumption_tax_fen, tax.vat_fen), (0, 12_353, 10_706));
    assert_eq!(tax.total_fen, 23_059);
    assert!(tax.basis.iter().any(|id| id == "ct.cosmetics"), "{:?}", tax.basis);
}

#[test]
fn freight_insurance_and_discount_are_apportioned_exactly() {
    let order = order(
        vec![
            line(1, "04021000", "奶粉", "AU", "3", "C62", "1000.00"),
            line(2, "33049900", "面霜", "FR", "1", "C62", "333.33"),
        ],
        "20.01",
        "3.00",
        "10.00",
    );
    let tax = taxes(&order, TaxMode::Ecommerce);
    let values: Vec<i64> = tax.lines.iter().map(|line| line.value_fen).collect();
    assert_eq!(values.iter().sum::<i64>(), 134_634, "goods 1333.33 + freight 20.01 + insurance 3 − discount 10");
    // 1346.34 × 1000 / 1333.33 = 1009.7575… and 1346.34 × 333.33 / 1333.33 = 336.5824…
    assert_eq!(values, [100_976, 33_658]);
    assert_eq!(tax.lines.iter().map(|line| line.line).collect::<Vec<_>>(), [1, 2]);
    let line_sum = |pick: fn(&zonegate_cbec::tax::LineTax) -> i64| tax.lines.iter().map(pick).sum::<i64>();
    assert_eq!(tax.vat_fen, line_sum(|line| line.vat_fen));
    assert_eq!(tax.consumption_tax_fen, line_sum(|line| line.consumption_tax_fen));
    assert_eq!(tax.total_fen, tax.duty_fen + tax.consumption_tax_fen + tax.vat_fen);
    assert_eq!(tax.duty_fen, 0);
}

#[test]
fn an_indivisible_watch_over_the_single_limit_pays_the_full_goods_rates() {
    let mut watch = line(1, "91011100", "机械腕表", "CH", "1", "C62", "6000.00");
    watch.indivisible = true;
    let order = order(vec![watch], "0", "0", "0");
    let tax = taxes(&order, TaxMode::FullGoodsRate);
    // Duty 8 % = 480.00; no consumption tax under 10,000 CNY a watch; VAT (6000 + 480) × 13 % = 842.40.
    assert_eq!((tax.duty_fen, tax.consumption_tax_fen, tax.vat_fen, tax.total_fen), (48_000, 0, 84_240, 132_240));
    assert_eq!(tax.basis.first().map(String::as_str), Some("cbec.indivisible_full_rate"));
    assert!(tax.basis.iter().any(|id| id == "rate.mfn"), "{:?}", tax.basis);
    // The same order at the e-commerce rate: no duty, 70 % of 6000 × 13 %.
    let reduced = taxes(&order, TaxMode::Ecommerce);
    assert_eq!((reduced.duty_fen, reduced.vat_fen), (0, 54_600));
}

#[test]
fn an_unknown_tariff_line_is_reported_by_its_field() {
    let order = order(
        vec![
            line(1, "04021000", "奶粉", "AU", "1", "C62", "100.00"),
            line(2, "99999999", "?", "AU", "1", "C62", "1.00"),
        ],
        "0",
        "0",
        "0",
    );
    let errors = order_taxes(&book(), &order, day(), TaxMode::Ecommerce).unwrap_err();
    assert_eq!(errors.iter().map(|error| error.field.as_str()).collect::<Vec<_>>(), ["items[1].hs"]);
}

#[test]
fn the_stored_figures_are_the_explained_ones_without_their_texts() {
    let mut watch = line(1, "91011100", "机械腕表", "CH", "1", "C62", "12000.00");
    watch.indivisible = true;
    let orders = [
        order(vec![line(1, "04021000", "奶粉", "AU", "4", "C62", "3000.00")], "0", "0", "0"),
        order(
            vec![
                line(1, "33049900", "精华液", "FR", "2", "C62", "1000.00"),
                line(2, "04021000", "奶粉", "AU", "3", "C62", "333.33"),
                line(3, "22042100", "葡萄酒", "FR", "2", "C62", "417.50"),
            ],
            "20.01",
            "3.00",
            "10.00",
        ),
        order(vec![watch], "35.00", "0", "0"),
        order(vec![line(1, "04021000", "奶粉", "AU", "1", "C62", "100.001")], "0", "0", "0"),
        order(vec![line(1, "99999999", "?", "AU", "1", "C62", "1.00")], "0", "0", "0"),
    ];
    for order in &orders {
        for mode in [TaxMode::Ecommerce, TaxMode::FullGoodsRate] {
            let explained = order_taxes(&book(), order, day(), mode);
            let figures = order_figures(&book(), order, day(), mode);
            match (explained, figures) {
                (Ok(explained), Ok(figures)) => {
                    assert!(explained.lines.iter().all(|line| !line.trace.is_empty()), "{explained:?}");
                    assert!(figures.lines.iter().all(|line| line.trace.is_empty()), "{figures:?}");
                    assert!(explained.explains(&figures));
                    assert_eq!(explained.without_trace(), figures);
                }
                (Err(explained), Err(figures)) => assert_eq!(explained.to_string(), figures.to_string()),
                (explained, figures) => panic!("{explained:?} against {figures:?}"),
            }
        }
    }
}

#[test]
fn fractions_of_a_fen_and_negative_values_are_refused() {
    let fraction = order(vec![line(1, "04021000", "奶粉", "AU", "1", "C62", "100.001")], "0", "0", "0");
    let errors = order_taxes(&book(), &fraction, day(), TaxMode::Ecommerce).unwrap_err();
    assert!(errors.iter().any(|error| error.field == "items[0].total"), "{errors}");
    let negative = order(vec![line(1, "04021000", "奶粉", "AU", "1", "C62", "100.00")], "0", "0", "200.00");
    let errors = order_taxes(&book(), &negative, day(), TaxMode::Ecommerce).unwrap_err();
    assert_eq!(errors.iter().next().map(|error| error.code), Some("transaction_value_negative"));
}

#[test]
fn the_limits_are_data_with_dates() {
    assert_eq!(ecommerce_rate_pct(), Decimal::from(70));
    let rows = shipped_limits();
    let now = limits_on(&rows, day()).unwrap();
    assert_eq!((now.single_fen, now.annual_fen), (SINGLE_LIMIT_FEN, ANNUAL_LIMIT_FEN));
    let then = limits_on(&rows, NaiveDate::from_ymd_opt(2018, 6, 1).unwrap()).unwrap();
    assert_eq!((then.single_fen, then.annual_fen), (200_000, 2_000_000));
}
