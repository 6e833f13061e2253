//! Traceability codes and their QR images.

use std::collections::BTreeSet;

use chrono::DateTime;
use proptest::prelude::*;
use rust_decimal::Decimal;
use zonegate_cbec::documents::{Consignee, Order, OrderItem, OrderKey, Person};
use zonegate_cbec::gtin::Gtin;
use zonegate_cbec::identity::ResidentId;
use zonegate_cbec::trace::{
    codes_for, is_serial, item_code, line_of_serial, parse_code, prefix_of_serial, qr_matrix, qr_svg, serial,
    serial_prefix, unit_codes, PREFIX_LENGTH, SERIAL_LENGTH_MAX, UNIT_CODES_MAX,
};
use zonegate_domain::{CountryCode, HsCode, UnitCode, Uscc};

const BASE: &str = "https://trace.hengqin.zonegate.example";
const PLATFORM: &str = "91350100M000100Y43";

fn key(order_no: &str) -> OrderKey {
    OrderKey { platform: Uscc::parse(PLATFORM).unwrap(), order_no: order_no.to_string() }
}

fn gtin() -> Gtin {
    Gtin::parse("6901234567892").unwrap()
}

fn item(line: u32, quantity: &str, unit: &str) -> OrderItem {
    OrderItem {
        line,
        item_no: format!("SKU{line}"),
        gtin: gtin(),
        hs: HsCode::parse("0402210000").unwrap(),
        name: "milk powder".into(),
        origin: CountryCode::parse("AU").unwrap(),
        quantity: quantity.parse().unwrap(),
        unit: UnitCode::parse(unit).unwrap(),
        net_kg: None,
        price: Decimal::ONE,
        total: Decimal::ONE,
        indivisible: false,
    }
}

fn order(order_no: &str, items: Vec<OrderItem>) -> Order {
    let buyer = Person { name: "张三".into(), id: ResidentId::parse("11010519491231002X").unwrap(), phone: None };
    Order {
        key: key(order_no),
        enterprise: Uscc::parse(PLATFORM).unwrap(),
        zone: "hengqin".into(),
        ordered_at: DateTime::parse_from_rfc3339("2026-11-28T12:00:00+08:00").unwrap(),
        buyer,
        consignee: Consignee { name: "张三".into(), address: "珠海市横琴".into(), phone: "13800000000".into() },
        payment_company: Uscc::parse(PLATFORM).unwrap(),
        transaction_id: "T1".into(),
        goods_value: Decimal::ONE,
        freight: Decimal::ZERO,
        insurance: Decimal::ZERO,
        discount: Decimal::ZERO,
        tax_withheld: Decimal::ZERO,
        paid: Decimal::ONE,
        items,
    }
}

#[test]
fn a_code_is_a_digital_link_uri_whose_serial_names_order_line_and_unit() {
    let key = key("EO-2026-11-28-000000000000000000000001");
    assert!(key.order_no.len() > SERIAL_LENGTH_MAX, "order numbers can be longer than a serial");
    let uri = item_code(BASE, &gtin(), &key, 2, 17);
    let prefix = serial_prefix(&key);
    assert_eq!(prefix.len(), PREFIX_LENGTH);
    assert_eq!(uri, format!("{BASE}/01/06901234567892/21/{prefix}.2.H"));
    assert_eq!(item_code(&format!("{BASE}/"), &gtin(), &key, 2, 17), uri, "a trailing slash on the base is dropped");
    let path = uri.strip_prefix(BASE).unwrap();
    let (parsed_gtin, parsed) = parse_code(path).unwrap();
    assert_eq!(parsed_gtin, gtin());
    assert_eq!(prefix_of_serial(&parsed), Some(prefix.as_str()));
    assert_eq!(line_of_serial(&parsed), Some((2, 17)));
    // The largest numbers that keep the readable form, and what follows.
    let longest = serial(&key, 46_655, 46_655);
    assert_eq!(longest.len(), SERIAL_LENGTH_MAX);
    assert_eq!(line_of_serial(&longest), Some((46_655, 46_655)));
    let hashed = serial(&key, 46_656, 1);
    assert_eq!((hashed.len(), hashed.as_bytes()[PREFIX_LENGTH]), (SERIAL_LENGTH_MAX, b'-'));
    assert_eq!(prefix_of_serial(&hashed), Some(prefix.as_str()));
    assert_eq!(line_of_serial(&hashed), None);
    assert_ne!(serial(&key, u32::MAX, 1), serial(&key, u32::MAX, 2));
}

#[test]
fn the_resolver_reads_paths_with_escapes_and_refuses_others() {
    let g = "06901234567892";
    assert_eq!(parse_code(&format!("/01/{g}/21/ABC")), Some((gtin(), "ABC".into())));
    assert_eq!(parse_code("/01/6901234567892/21/ABC"), Some((gtin(), "ABC".into())), "GTIN-13 padded");
    assert_eq!(parse_code(&format!("/resolver/01/{g}/21/A%2FB%25?x=1#f")), Some((gtin(), "A/B%".into())));
    assert_eq!(parse_code(&format!("/01/{g}/21/ABC/")), Some((gtin(), "ABC".into())));
    assert_eq!(parse_code("/01/06901234567891/21/ABC"), None, "check digit");
    assert_eq!(parse_code(&format!("/01/{g}/21/")), None, "empty serial");
    assert_eq!(parse_code(&format!("/01/{g}/21/{}", "A".repeat(21))), None, "too long");
    assert_eq!(parse_code(&format!("/01/{g}/21/A%7EB")), None, "`~` is outside AI 82");
    assert_eq!(parse_code(&format!("/01/{g}/21/A%ZZ")), None, "bad escape");
    assert_eq!(parse_code(&format!("/01/{g}/10/ABC")), None, "a batch, not a serial");
    assert_eq!(parse_code("/21/ABC"), None);
}

#[test]
fn lines_get_a_code_per_unit_only_for_whole_counts_up_to_the_cap() {
    assert_eq!(unit_codes("3".parse().unwrap(), "C62"), 3);
    assert_eq!(unit_codes("3.00".parse().unwrap(), "PCE"), 3);
    assert_eq!(unit_codes("2.5".parse().unwrap(), "C62"), 0);
    assert_eq!(unit_codes("3".parse().unwrap(), "KGM"), 0);
    assert_eq!(unit_codes(Decimal::from(UNIT_CODES_MAX), "C62"), UNIT_CODES_MAX);
    assert_eq!(unit_codes(Decimal::from(UNIT_CODES_MAX + 1), "C62"), 0);
    assert_eq!(unit_codes(Decimal::ZERO, "C62"), 0);

    let order = order("A1", vec![item(1, "3", "C62"), item(2, "1.5", "KGM"), item(5, "1001", "C62")]);
    let codes = codes_for(BASE, &order);
    let shape: Vec<(u32, u32)> = codes.iter().map(|code| (code.line, code.unit_index)).collect();
    assert_eq!(shape, vec![(1, 1), (1, 2), (1, 3), (2, 0), (5, 0)]);
    assert_eq!(codes_for(BASE, &order), codes, "deterministic");
    let uris: BTreeSet<&str> = codes.iter().map(|code| code.uri.as_str()).collect();
    assert_eq!(uris.len(), codes.len(), "distinct within an order");
    for code in &codes {
        let (_, serial) = parse_code(code.uri.strip_prefix(BASE).unwrap()).unwrap();
        assert_eq!(line_of_serial(&serial), Some((code.line, code.unit_index)));
    }
    let other = codes_for(BASE, &self::order("A2", vec![item(1, "3", "C62")]));
    assert!(other.iter().all(|code| !uris.contains(code.uri.as_str())), "distinct across orders");
    let json = serde_json::to_value(&codes[0]).unwrap();
    assert_eq!(json["unit_index"], 1);
}

#[test]
fn qr_images_are_svg_and_differ_by_uri() {
    let first = item_code(BASE, &gtin(), &key("A1"), 1, 1);
    let second = item_code(BASE, &gtin(), &key("A1"), 1, 2);
    let svg = qr_svg(&first);
    assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"));
    assert!(svg.contains("<svg") && svg.ends_with("</svg>"));
    assert_ne!(svg, qr_svg(&second));
    assert_eq!(svg, qr_svg(&first));

    // The URI is 38 + 14 + 4 + 20-odd bytes: version 5 holds 84 bytes at level M (version 4: 62).
    let (version, width, modules) = qr_matrix(&first).unwrap();
    assert!(first.len() > 62 && first.len() <= 84, "{}", first.len());
    assert_eq!((version, width), (5, 37));
    assert_eq!(modules.len(), width * width);
    // Finder pattern: the top-left corner's 7×7 ring is dark.
    assert!((0..7).all(|i| modules[i] && modules[6 * width + i] && modules[i * width] && modules[i * width + 6]));
    // 4-pixel modules and a 4-module quiet zone on each side.
    let side = (width + 8) * 4;
    assert!(svg.contains(&format!(r#"width="{side}" height="{side}""#)), "{}", &svg[..200]);
}

proptest! {
    #[test]
    fn serials_are_short_valid_and_distinct(
        order_no in "[ -~\\p{Han}]{1,80}",
        line in 1u32..=999,
        unit in 0u32..=1_000,
        big_line in any::<u32>(),
    ) {
        let key = key(&order_no);
        for (line, unit) in [(line, unit), (big_line, unit), (big_line, u32::MAX)] {
            let text = serial(&key, line, unit);
            prop_assert!(text.len() <= SERIAL_LENGTH_MAX, "{}", text);
            prop_assert!(is_serial(&text), "{}", text);
            let uri = item_code(BASE, &gtin(), &key, line, unit);
            let (_, parsed) = parse_code(uri.strip_prefix(BASE).unwrap()).unwrap();
            prop_assert_eq!(&parsed, &text);
            let prefix = serial_prefix(&key);
            prop_assert_eq!(prefix_of_serial(&text), Some(prefix.as_str()));
        }
        prop_assert_ne!(serial(&key, line, unit), serial(&key, line, unit + 1));
        prop_assert_ne!(serial(&key, line, unit), serial(&key, line + 1, unit));
        let other = self::key(&format!("{order_no}x"));
        prop_assert_ne!(serial(&key, line, unit), serial(&other, line, unit));
    }
}
