//! The checks across the three documents (三单对碰, GACC Ann. 2018 No. 194; domain-rules.md §3).
//!
//! Each check has a stable id that appears in the order's result, passed or not, so the reason trail shows
//! every check made. The limits (single transaction, annual total) and the positive list need the quota
//! book and the policy data; the engine runs them with the others ([`crate::engine`]).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use zonegate_domain::Uscc;

use crate::bills::fen_text;
use crate::documents::{Consignee, Order, Payment, Waybill};
use crate::tax::Limits;

/// (1) the three documents agree.
pub const DOCUMENTS_CONSISTENT: &str = "cbec.documents_consistent";
/// (2) platform, enterprise, payment and logistics companies are registered for e-commerce.
pub const PARTIES_REGISTERED: &str = "cbec.parties_registered";
/// (3) the buyer's name and resident ID number.
pub const BUYER_IDENTITY: &str = "cbec.buyer_identity";
/// (4) the buyer's annual total stays within the annual limit.
pub const ANNUAL_LIMIT: &str = "cbec.annual_limit";
/// (5) the transaction stays within the single-transaction limit.
pub const SINGLE_LIMIT: &str = "cbec.single_limit";
/// (6) goods price + freight + insurance − discount + tax = paid amount, within 5 %.
pub const PAID_MATCHES: &str = "cbec.paid_matches_price_and_tax";
/// (7) the payer is the buyer and paid what the order says.
pub const PAYER_IS_BUYER: &str = "cbec.payer_is_buyer";
/// Every line is on the positive list in force.
pub const POSITIVE_LIST: &str = "cbec.positive_list";
/// The buyer stays within the positive list's per-person annual caps.
pub const PER_PERSON_CAP: &str = "cbec.per_person_cap";

/// The tolerance of check (6): 5 % of the paid amount.
pub const PAID_TOLERANCE_PCT: u32 = 5;

/// The e-commerce roles a company registers for (zone party lists of the same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Platform,
    Enterprise,
    PaymentCompany,
    LogisticsCompany,
}

impl Role {
    /// The zone party list that registers the role.
    pub fn list(self) -> &'static str {
        match self {
            Role::Platform => "cbec_platform",
            Role::Enterprise => "cbec_enterprise",
            Role::PaymentCompany => "cbec_payment",
            Role::LogisticsCompany => "cbec_logistics",
        }
    }
}

/// One check's result.
///
/// A failed check carries every difference found. A passed check carries only its id: what it compared
/// follows from the stored documents and the policy data, and [`explain_pass`] says it when the order is
/// read, so a decision does not store (nor its writer format) a text per check for every order released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckOutcome {
    pub id: &'static str,
    pub passed: bool,
    /// Every difference found (a failed check); empty, and left out of the JSON, for a passed one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl CheckOutcome {
    pub fn pass(id: &'static str) -> CheckOutcome {
        CheckOutcome { id, passed: true, detail: String::new() }
    }
    pub fn fail(id: &'static str, detail: impl Into<String>) -> CheckOutcome {
        CheckOutcome { id, passed: false, detail: detail.into() }
    }
    fn of(id: &'static str, problems: Vec<String>) -> CheckOutcome {
        if problems.is_empty() {
            CheckOutcome::pass(id)
        } else {
            CheckOutcome::fail(id, problems.join("; "))
        }
    }
}

/// What [`explain_pass`] says a passed check compared: the stored order, the amount the decision counted
/// against the limits, and the limits in force on the decision's day as loaded now.
#[derive(Debug, Clone, Copy, Default)]
pub struct Explain<'a> {
    pub order: Option<&'a Order>,
    pub amount_fen: Option<i64>,
    pub limits: Option<&'a Limits>,
}

/// The text of a passed check, or `None` when it needs what `with` lacks (or the id is not a check).
///
/// The limit figures are those loaded now for the decision's day; if a correction since contradicts the
/// stored amount, the text says so rather than claim a comparison the decision did not make.
pub fn explain_pass(id: &str, with: &Explain) -> Option<String> {
    let corrected = |what: &str, limit_fen: i64, amount_fen: i64| {
        format!(
            "passed when decided; the {what} limit loaded now for the day is {} CNY, below the {} CNY counted",
            fen_text(limit_fen),
            fen_text(amount_fen)
        )
    };
    Some(match id {
        DOCUMENTS_CONSISTENT => "order, payment and waybill agree".into(),
        PARTIES_REGISTERED => "platform, enterprise, payment and logistics companies registered".into(),
        PAYER_IS_BUYER => "the payer is the buyer and paid the order's amount".into(),
        POSITIVE_LIST => "every line is on the positive list".into(),
        PER_PERSON_CAP => "within the per-person caps".into(),
        BUYER_IDENTITY => format!("buyer named, ID {} valid", with.order?.buyer.id.masked()),
        PAID_MATCHES => format!("{} against {} CNY paid", paid_sum(with.order?), with.order?.paid),
        SINGLE_LIMIT => {
            let (amount, limit) = (with.amount_fen?, with.limits?.single_fen);
            if amount <= limit {
                format!("{} CNY within the single limit of {} CNY", fen_text(amount), fen_text(limit))
            } else if with.order?.is_one_indivisible_item() {
                format!(
                    "{} CNY over the single limit of {} CNY, but one indivisible item alone: e-commerce at the full goods rate",
                    fen_text(amount),
                    fen_text(limit)
                )
            } else {
                corrected("single", limit, amount)
            }
        }
        ANNUAL_LIMIT => {
            let limit = with.limits?.annual_fen;
            match with.amount_fen {
                Some(amount) if amount > limit => corrected("annual", limit, amount),
                _ => format!("within the annual limit of {} CNY", fen_text(limit)),
            }
        }
        _ => return None,
    })
}

fn consignee_differences(order: &Consignee, waybill: &Consignee, problems: &mut Vec<String>) {
    let same = |a: &str, b: &str| a.split_whitespace().eq(b.split_whitespace());
    if !same(&order.name, &waybill.name) {
        problems.push(format!("the waybill's consignee `{}` is not the order's `{}`", waybill.name, order.name));
    }
    if !same(&order.address, &waybill.address) {
        problems.push("the waybill's delivery address differs from the order's".into());
    }
    if order.phone.trim() != waybill.phone.trim() {
        problems.push("the waybill's consignee phone differs from the order's".into());
    }
}

/// (1) The order, payment and waybill name each other and agree on amounts and consignee.
pub fn documents_consistent(order: &Order, payment: &Payment, waybill: &Waybill) -> CheckOutcome {
    let mut problems = Vec::new();
    if payment.order != order.key {
        problems.push(format!("the payment names order `{}`, not `{}`", payment.order, order.key));
    }
    if waybill.order != order.key {
        problems.push(format!("the waybill names order `{}`, not `{}`", waybill.order, order.key));
    }
    if order.payment_company != payment.payment_company || order.transaction_id != payment.transaction_id {
        problems.push(format!(
            "the order names payment `{}/{}`, the payment is `{}/{}`",
            order.payment_company, order.transaction_id, payment.payment_company, payment.transaction_id
        ));
    }
    if payment.amount != order.paid {
        problems.push(format!("the payment is {} CNY, the order says {} CNY paid", payment.amount, order.paid));
    }
    if waybill.freight != order.freight {
        problems.push(format!("the waybill's freight is {} CNY, the order's {} CNY", waybill.freight, order.freight));
    }
    if waybill.insurance != order.insurance {
        problems
            .push(format!("the waybill's insurance is {} CNY, the order's {} CNY", waybill.insurance, order.insurance));
    }
    consignee_differences(&order.consignee, &waybill.consignee, &mut problems);
    CheckOutcome::of(DOCUMENTS_CONSISTENT, problems)
}

/// (2) Every company on the documents is registered for its e-commerce role on the date.
pub fn parties_registered(
    order: &Order,
    waybill: &Waybill,
    on: NaiveDate,
    registered: &dyn Fn(&Uscc, Role) -> bool,
) -> CheckOutcome {
    let mut problems = Vec::new();
    for (uscc, role, what) in [
        (&order.key.platform, Role::Platform, "platform"),
        (&order.enterprise, Role::Enterprise, "e-commerce enterprise"),
        (&order.payment_company, Role::PaymentCompany, "payment company"),
        (&waybill.logistics_company, Role::LogisticsCompany, "logistics company"),
    ] {
        if !registered(uscc, role) {
            problems.push(format!("the {what} `{uscc}` is not on `{}` on {on}", role.list()));
        }
    }
    CheckOutcome::of(PARTIES_REGISTERED, problems)
}

/// (3) The buyer is named and the resident ID number is valid (format, birth date, GB 11643 check
/// character: checked when the order was parsed) and the buyer was born before the order.
pub fn buyer_identity(order: &Order, on: NaiveDate) -> CheckOutcome {
    let id = order.buyer.id.as_str();
    let born = NaiveDate::parse_from_str(&id[6..14], "%Y%m%d").ok();
    if order.buyer.name.trim().is_empty() {
        return CheckOutcome::fail(BUYER_IDENTITY, "the buyer has no name");
    }
    match born {
        Some(born) if born <= on => CheckOutcome::pass(BUYER_IDENTITY),
        _ => CheckOutcome::fail(
            BUYER_IDENTITY,
            format!("the ID {} gives a birth date after {on}", order.buyer.id.masked()),
        ),
    }
}

/// (6) goods + freight + insurance − discount + tax withheld = paid, within 5 % of the paid amount.
pub fn paid_matches(order: &Order) -> CheckOutcome {
    let expected = order.transaction_value() + order.tax_withheld;
    let difference = (expected - order.paid).abs();
    let tolerance = order.paid * Decimal::from(PAID_TOLERANCE_PCT) / Decimal::ONE_HUNDRED;
    if difference <= tolerance {
        CheckOutcome::pass(PAID_MATCHES)
    } else {
        CheckOutcome::fail(
            PAID_MATCHES,
            format!("{} against {} CNY paid: differs by {difference}, more than 5 %", paid_sum(order), order.paid),
        )
    }
}

/// The sum check (6) compares with the paid amount, written out.
fn paid_sum(order: &Order) -> String {
    format!(
        "{} + {} + {} − {} + tax {} = {} CNY",
        order.goods_value,
        order.freight,
        order.insurance,
        order.discount,
        order.tax_withheld,
        order.transaction_value() + order.tax_withheld
    )
}

/// (7) The payer is the buyer (same ID number and name) and paid the order's amount.
pub fn payer_is_buyer(order: &Order, payment: &Payment) -> CheckOutcome {
    let mut problems = Vec::new();
    if payment.payer.id != order.buyer.id {
        problems.push(format!(
            "the payer's ID {} is not the buyer's {}",
            payment.payer.id.masked(),
            order.buyer.id.masked()
        ));
    }
    if payment.payer.name.trim() != order.buyer.name.trim() {
        problems.push(format!("the payer `{}` is not the buyer `{}`", payment.payer.name, order.buyer.name));
    }
    if payment.amount != order.paid {
        problems.push(format!("the payer paid {} CNY, the order says {} CNY", payment.amount, order.paid));
    }
    CheckOutcome::of(PAYER_IS_BUYER, problems)
}
