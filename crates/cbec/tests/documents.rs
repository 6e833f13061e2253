//! Parsing of the three documents, batches and the canonical hash.

use chrono::DateTime;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::str::FromStr;
use zonegate_cbec::documents::{
    canonical_json, canonical_sha256, parse_batch, parse_document, parse_order, parse_payment, parse_waybill,
    split_batch, Consignee, DocKind, Document, Order, OrderItem, OrderKey, Payment, Person, Waybill, BATCH_MAX,
    PROBLEMS_MAX,
};
use zonegate_cbec::gtin::Gtin;
use zonegate_cbec::identity::ResidentId;
use zonegate_domain::{CountryCode, FieldErrors, HsCode, UnitCode, Uscc};

const PLATFORM: &str = "91440400MA4UJ0J57H";
const ENTERPRISE: &str = "91440400MA55H0P10R";
const PAYER: &str = "91350100M000100Y43";
const CARRIER: &str = "91440300MA5520010X";

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn uscc(text: &str) -> Uscc {
    Uscc::parse(text).unwrap()
}

fn order_json() -> Value {
    json!({
        "platform": PLATFORM, "order_no": "SO2026112800001", "enterprise": ENTERPRISE, "zone": "hengqin",
        "ordered_at": "2026-11-28T10:15:00+08:00",
        "buyer": {"name": " 张三 ", "id_type": "resident_id", "id_number": "11010519491231002x", "phone": "13800138000"},
        "consignee": {"name": "张三", "address": "广东省珠海市香洲区人民东路1号", "phone": "+86 138-0013-8000"},
        "payment_company": PAYER, "transaction_id": "PAY0001",
        "goods_value": "3000.00", "freight": "0.00", "insurance": "0.00", "discount": "0.00",
        "tax_withheld": "273.00", "paid": "3273.00",
        "items": [{"line": 1, "item_no": "SKU-1", "gtin": "06901234567892", "hs": "0402210000", "name": "全脂奶粉",
                   "origin": "NZ", "quantity": "2", "unit": "KGM", "net_kg": "2", "price": "1500.00", "total": "3000.00",
                   "indivisible": false}]
    })
}

fn payment_json() -> Value {
    json!({
        "payment_company": PAYER, "transaction_id": "PAY0001", "platform": PLATFORM, "order_no": "SO2026112800001",
        "payer": {"name": "张三", "id_type": "resident_id", "id_number": "11010519491231002X"},
        "amount": "3273.00", "paid_at": "2026-11-28T10:16:00+08:00"
    })
}

fn waybill_json() -> Value {
    json!({
        "logistics_company": CARRIER, "waybill_no": "YT0001", "platform": PLATFORM, "order_no": "SO2026112800001",
        "consignee": {"name": "张三", "address": "广东省珠海市香洲区人民东路1号", "phone": "13800138000"},
        "freight": "0.00", "insurance": "0.00", "weight_kg": "2.3", "packages": 1
    })
}

fn key() -> OrderKey {
    OrderKey { platform: uscc(PLATFORM), order_no: "SO2026112800001".into() }
}

fn codes_at(errors: &FieldErrors) -> Vec<(String, &'static str)> {
    errors.iter().map(|e| (e.field.clone(), e.code)).collect()
}

fn has(errors: &FieldErrors, field: &str, code: &str) -> bool {
    errors.iter().any(|e| e.field == field && e.code == code)
}

#[test]
fn a_valid_order_parses_into_the_exact_values() {
    let order = parse_order(&order_json()).unwrap();
    let expected = Order {
        key: key(),
        enterprise: uscc(ENTERPRISE),
        zone: "hengqin".into(),
        ordered_at: DateTime::parse_from_rfc3339("2026-11-28T02:15:00Z").unwrap().fixed_offset(),
        buyer: Person {
            name: "张三".into(),
            id: ResidentId::parse("11010519491231002X").unwrap(),
            phone: Some("13800138000".into()),
        },
        consignee: Consignee {
            name: "张三".into(),
            address: "广东省珠海市香洲区人民东路1号".into(),
            phone: "+86 138-0013-8000".into(),
        },
        payment_company: uscc(PAYER),
        transaction_id: "PAY0001".into(),
        goods_value: d("3000.00"),
        freight: d("0"),
        insurance: d("0"),
        discount: d("0"),
        tax_withheld: d("273"),
        paid: d("3273"),
        items: vec![OrderItem {
            line: 1,
            item_no: "SKU-1".into(),
            gtin: Gtin::parse("06901234567892").unwrap(),
            hs: HsCode::parse("04022100").unwrap(),
            name: "全脂奶粉".into(),
            origin: CountryCode::parse("NZ").unwrap(),
            quantity: d("2"),
            unit: UnitCode::parse("KGM").unwrap(),
            net_kg: Some(d("2")),
            price: d("1500"),
            total: d("3000"),
            indivisible: false,
        }],
    };
    assert_eq!(order, expected);
    assert_eq!(order.ordered_at.offset().local_minus_utc(), 8 * 3600);
    assert_eq!(order.transaction_value(), d("3000"));
    assert_eq!(order.buyer.id.as_str(), "11010519491231002X");

    // Optional fields may be left out.
    let mut value = order_json();
    value["items"][0].as_object_mut().unwrap().remove("net_kg");
    value["items"][0].as_object_mut().unwrap().remove("indivisible");
    let order = parse_order(&value).unwrap();
    assert_eq!(order.items[0].net_kg, None);
    assert!(!order.items[0].indivisible);
}

#[test]
fn a_valid_payment_and_waybill_parse_into_the_exact_values() {
    let payment = parse_payment(&payment_json()).unwrap();
    assert_eq!(
        payment,
        Payment {
            payment_company: uscc(PAYER),
            transaction_id: "PAY0001".into(),
            order: key(),
            payer: Person { name: "张三".into(), id: ResidentId::parse("11010519491231002X").unwrap(), phone: None },
            amount: d("3273.00"),
            paid_at: DateTime::parse_from_rfc3339("2026-11-28T10:16:00+08:00").unwrap(),
        }
    );
    let waybill = parse_waybill(&waybill_json()).unwrap();
    assert_eq!(
        waybill,
        Waybill {
            logistics_company: uscc(CARRIER),
            waybill_no: "YT0001".into(),
            order: key(),
            consignee: Consignee {
                name: "张三".into(),
                address: "广东省珠海市香洲区人民东路1号".into(),
                phone: "13800138000".into()
            },
            freight: d("0"),
            insurance: d("0"),
            weight_kg: d("2.3"),
            packages: 1,
        }
    );
    let document = parse_document(DocKind::Waybill, &waybill_json()).unwrap();
    assert_eq!(document.kind(), DocKind::Waybill);
    assert_eq!(document.key(), format!("{CARRIER}/YT0001"));
    assert_eq!(document.order_key(), &key());
    assert!(matches!(parse_document(DocKind::Order, &order_json()), Ok(Document::Order(_))));
}

#[test]
fn an_order_with_several_problems_reports_all_of_them() {
    let mut value = order_json();
    value["buyer"]["id_number"] = json!("110105194912310021");
    value["items"][0]["gtin"] = json!("06901234567893");
    value["items"][0]["total"] = json!("2999.00");
    value["freight"] = json!(0);
    value["ordr_no"] = json!("typo");
    value["consignee"]["phone"] = json!("call me");
    let errors = parse_order(&value).unwrap_err();
    let found = codes_at(&errors);
    for (field, code) in [
        ("buyer.id_number", "id_number_check_digit"),
        ("items[0].gtin", "gtin_check_digit"),
        ("items[0].total", "total_mismatch"),
        ("freight", "amount_not_string"),
        ("ordr_no", "unknown_field"),
        ("consignee.phone", "phone_format"),
    ] {
        assert!(has(&errors, field, code), "missing {code} at {field} in {found:?}");
    }
    assert_eq!(errors.len(), 6, "{found:?}");
    let id = errors.iter().find(|e| e.field == "buyer.id_number").unwrap();
    assert!(id.message.contains("`X`"), "{}", id.message);
    // Messages are lowercase sentences.
    for error in errors.iter() {
        assert!(!error.message.starts_with(char::is_uppercase), "{error}");
    }
}

#[test]
fn missing_wrong_typed_and_out_of_range_fields_are_named() {
    let mut value = order_json();
    let object = value.as_object_mut().unwrap();
    object.remove("zone");
    object.insert("ordered_at".into(), json!("2026-11-28 10:15:00"));
    object.insert("goods_value".into(), json!("2999.995"));
    object.insert("discount".into(), json!("-1"));
    object.insert("tax_withheld".into(), json!("1000000000.00"));
    object.insert("transaction_id".into(), json!("PAY 0001"));
    value["buyer"]["id_type"] = json!("passport");
    value["items"][0]["quantity"] = json!("0");
    value["items"][0]["line"] = json!("1");
    value["items"][0]["indivisible"] = json!("no");
    value["items"][0]["hs"] = json!("04022");
    value["items"][0]["origin"] = json!("XX");
    let errors = parse_order(&value).unwrap_err();
    let found = codes_at(&errors);
    for (field, code) in [
        ("zone", "required"),
        ("ordered_at", "timestamp"),
        ("goods_value", "scale"),
        ("discount", "negative"),
        ("tax_withheld", "too_large"),
        ("transaction_id", "number_format"),
        ("buyer.id_type", "id_type_unsupported"),
        ("items[0].quantity", "zero"),
        ("items[0].line", "type"),
        ("items[0].indivisible", "type"),
        ("items[0].hs", "hs_format"),
        ("items[0].origin", "country_unknown"),
    ] {
        assert!(has(&errors, field, code), "missing {code} at {field} in {found:?}");
    }
    assert_eq!(errors.len(), 12, "{found:?}");
}

#[test]
fn sums_lines_and_discount_are_checked() {
    let mut value = order_json();
    let line = value["items"][0].clone();
    let mut second = line.clone();
    second["line"] = json!(1);
    second["price"] = json!("0.333");
    let mut third = line.clone();
    third["line"] = json!(2);
    third["quantity"] = json!("3");
    third["price"] = json!("0.335");
    third["total"] = json!("1.01");
    value["items"] = json!([line, second, third]);
    value["discount"] = json!("5000.00");
    let errors = parse_order(&value).unwrap_err();
    let found = codes_at(&errors);
    assert!(has(&errors, "items[1].line", "line_duplicate"), "{found:?}");
    assert!(has(&errors, "items[1].price", "scale"), "{found:?}");
    assert!(has(&errors, "discount", "discount_too_large"), "{found:?}");

    // 0.335 × 3 = 1.005 rounds half-up to 1.01; goods value must be the sum of the totals.
    let mut value = order_json();
    let mut item = value["items"][0].clone();
    item["line"] = json!(2);
    item["quantity"] = json!("3");
    item["price"] = json!("0.34");
    item["total"] = json!("1.02");
    value["items"].as_array_mut().unwrap().push(item);
    let errors = parse_order(&value).unwrap_err();
    assert_eq!(codes_at(&errors), vec![("goods_value".to_owned(), "goods_value_mismatch")]);
    value["goods_value"] = json!("3001.02");
    assert_eq!(parse_order(&value).unwrap().items.len(), 2);

    let mut value = order_json();
    value["items"][0]["quantity"] = json!("1.5");
    value["items"][0]["price"] = json!("0.67");
    value["items"][0]["total"] = json!("1.01");
    value["goods_value"] = json!("1.01");
    value["discount"] = json!("1.01");
    assert_eq!(parse_order(&value).unwrap().items[0].total, d("1.01"));

    let mut value = order_json();
    value["items"] = json!([]);
    assert!(has(&parse_order(&value).unwrap_err(), "items", "required"));
    let mut value = order_json();
    value["items"] = json!(vec![value["items"][0].clone(); 101]);
    assert!(has(&parse_order(&value).unwrap_err(), "items", "too_many"));
}

#[test]
fn the_error_list_is_capped() {
    let mut value = order_json();
    let object = value.as_object_mut().unwrap();
    for index in 0..150 {
        object.insert(format!("extra{index:03}"), json!(1));
    }
    let errors = parse_order(&value).unwrap_err();
    assert_eq!(errors.len(), PROBLEMS_MAX + 1);
    assert_eq!(errors.0.last().unwrap().code, "too_many_problems");
    assert!(errors.0.last().unwrap().message.contains("50 more"));
}

#[test]
fn payment_and_waybill_problems() {
    let mut value = payment_json();
    value["payer"]["phone"] = json!("12");
    value["amount"] = json!(3273);
    value.as_object_mut().unwrap().remove("paid_at");
    let errors = parse_payment(&value).unwrap_err();
    assert_eq!(
        codes_at(&errors),
        vec![
            ("payer.phone".to_owned(), "phone_format"),
            ("amount".to_owned(), "amount_not_string"),
            ("paid_at".to_owned(), "required")
        ]
    );

    let mut value = waybill_json();
    value["packages"] = json!(1000);
    value["weight_kg"] = json!(2.3);
    value["platform"] = json!("91440400MA4UJ0J57X");
    value["consignee"]["address"] = json!("  ");
    let errors = parse_waybill(&value).unwrap_err();
    let found = codes_at(&errors);
    assert!(has(&errors, "packages", "range"), "{found:?}");
    assert!(has(&errors, "weight_kg", "number_not_string"), "{found:?}");
    assert!(has(&errors, "platform", "uscc_check_character"), "{found:?}");
    assert!(has(&errors, "consignee.address", "required"), "{found:?}");

    let errors = parse_waybill(&json!([1])).unwrap_err();
    assert_eq!(codes_at(&errors), vec![(String::new(), "type")]);
}

fn envelope(kind: &str, document: &Value) -> String {
    json!({"kind": kind, "document": document}).to_string()
}

#[test]
fn an_ndjson_batch_with_a_malformed_line_keeps_the_others() {
    let body = format!(
        "{}\n\n{{\"kind\": \"order\", \"document\": {{\r\n   \n{}\r\n{}\n",
        envelope("order", &order_json()),
        envelope("payment", &payment_json()),
        envelope("waybill", &waybill_json())
    );
    let entries = split_batch(&body);
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[0].as_ref().unwrap().kind, DocKind::Order);
    let errors = entries[1].as_ref().unwrap_err();
    assert_eq!(errors.len(), 1);
    let error = &errors.0[0];
    assert_eq!((error.field.as_str(), error.code), ("[1]", "json_malformed"));
    assert!(error.message.contains("line 3") && error.message.contains("column"), "{}", error.message);
    assert_eq!(entries[2].as_ref().unwrap().kind, DocKind::Payment);
    assert_eq!(entries[2].as_ref().unwrap().body, zonegate_cbec::json::Json::from(&payment_json()));
    assert_eq!(entries[3].as_ref().unwrap().kind, DocKind::Waybill);

    let documents = parse_batch(&body);
    assert!(matches!(documents[0], Ok(Document::Order(_))));
    assert!(documents[1].is_err());
    assert!(matches!(documents[2], Ok(Document::Payment(_))));
    assert!(matches!(documents[3], Ok(Document::Waybill(_))));
}

#[test]
fn a_json_array_batch_and_its_entry_problems() {
    let mut bad = order_json();
    bad["items"][0]["gtin"] = json!("123");
    let body = json!([
        {"kind": "payment", "document": payment_json()},
        {"kind": "invoice", "document": {}},
        {"document": waybill_json()},
        {"kind": "order"},
        {"kind": "order", "document": bad},
        7
    ])
    .to_string();
    let padded = format!("  \n{body}");
    let entries = split_batch(&padded);
    assert_eq!(entries.len(), 6);
    assert_eq!(entries[0].as_ref().unwrap().kind, DocKind::Payment);
    assert!(has(entries[1].as_ref().unwrap_err(), "[1].kind", "kind_unknown"));
    assert!(has(entries[2].as_ref().unwrap_err(), "[2].kind", "required"));
    assert!(has(entries[3].as_ref().unwrap_err(), "[3].document", "required"));
    assert!(entries[4].is_ok());
    assert!(has(entries[5].as_ref().unwrap_err(), "[5]", "type"));

    let documents = parse_batch(&body);
    assert!(matches!(documents[0], Ok(Document::Payment(_))));
    assert!(has(documents[4].as_ref().unwrap_err(), "[4].document.items[0].gtin", "gtin_format"));

    let errors = parse_batch(r#"[{"kind":"order","document":[]}]"#);
    assert!(has(errors[0].as_ref().unwrap_err(), "[0].document", "type"));
    let errors = parse_batch(r#"[{"kind":"order","document":{}}]"#);
    assert!(has(errors[0].as_ref().unwrap_err(), "[0].document.platform", "required"));

    let malformed = split_batch(r#"[{"kind":"order","document":{}},"#);
    assert_eq!(malformed.len(), 1);
    let error = &malformed[0].as_ref().unwrap_err().0[0];
    assert_eq!((error.field.as_str(), error.code), ("", "json_malformed"));
    assert!(error.message.contains("line 1"), "{}", error.message);
    assert!(split_batch("").is_empty());
    assert!(split_batch("[]").is_empty());
}

#[test]
fn too_many_entries_is_one_error() {
    let line = r#"{"kind":"order","document":{}}"#;
    let body = vec![line; BATCH_MAX + 1].join("\n");
    let entries = split_batch(&body);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].as_ref().unwrap_err().0[0].code, "batch_too_large");
    let array = format!("[{}]", vec![line; BATCH_MAX + 1].join(","));
    assert_eq!(split_batch(&array)[0].as_ref().unwrap_err().0[0].code, "batch_too_large");
    assert_eq!(split_batch(&vec![line; BATCH_MAX].join("\n")).len(), BATCH_MAX);
}

#[test]
fn the_canonical_hash_ignores_key_order_and_spacing() {
    let mut inner = Map::new();
    inner.insert("z".into(), json!(1));
    inner.insert("a".into(), json!("x\"y中"));
    let mut first = Map::new();
    first.insert("items".into(), json!([Value::Object(inner.clone()), 2.5, null, true]));
    first.insert("B".into(), json!({}));
    let mut reversed_inner = Map::new();
    reversed_inner.insert("a".into(), json!("x\"y中"));
    reversed_inner.insert("z".into(), json!(1));
    let mut second = Map::new();
    second.insert("B".into(), json!({}));
    second.insert("items".into(), json!([Value::Object(reversed_inner), 2.5, null, true]));
    let (first, second) = (Value::Object(first), Value::Object(second));
    assert_eq!(canonical_json(&first), r#"{"B":{},"items":[{"a":"x\"y中","z":1},2.5,null,true]}"#);
    assert_eq!(canonical_sha256(&first), canonical_sha256(&second));
    let spaced: Value =
        serde_json::from_str("{ \"items\" : [ {\"z\":1, \"a\":\"x\\\"y中\"}, 2.5, null, true ], \"B\": {} }").unwrap();
    assert_eq!(canonical_sha256(&spaced), canonical_sha256(&first));
    assert_eq!(canonical_sha256(&first).len(), 64);
    assert_ne!(canonical_sha256(&first), canonical_sha256(&json!({"B": {}})));
    // The known digest of a known text.
    assert_eq!(
        canonical_sha256(&json!({"b": 1, "a": [true]})),
        "708747538ba81fd60b5aac8c646370de5e24abf70ab1872f67458a5a4f3af05d"
    );
}

proptest::proptest! {
    #[test]
    fn any_batch_text_splits_without_panicking(body in "[\\[\\]{}\":,a-z0-9 \\n.-]{0,200}") {
        let entries = split_batch(&body);
        for entry in entries.iter().filter_map(|entry| entry.as_ref().err()) {
            proptest::prop_assert!(!entry.is_empty());
        }
    }

    #[test]
    fn any_value_in_any_order_field_gives_a_result_or_named_errors(
        field in proptest::sample::select(vec![
            "platform", "order_no", "zone", "ordered_at", "goods_value", "freight", "discount", "paid", "items",
        ]),
        text in "[-0-9.A-Za-z:+ ]{0,30}",
    ) {
        let mut value = order_json();
        value[field] = json!(text);
        match parse_order(&value) {
            Ok(order) => proptest::prop_assert_eq!(order.items.len(), 1),
            Err(errors) => {
                proptest::prop_assert!(!errors.is_empty());
                proptest::prop_assert!(errors.iter().all(|e| e.code != "internal"), "{}", errors);
            }
        }
    }
}
