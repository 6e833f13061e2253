//! The withholding agent's tax bills, its guarantee, and the signed payment notices that settle the bills.
//!
//! The platform withholds the buyers' tax (代扣代缴义务人, domain-rules.md §3) and owes it to customs. The
//! tax of each accepted order is billed to the agent (its USCC) for a period, the calendar month in China
//! time of the order's acceptance ([`period_of`]). An order is released only when its tax is *secured*:
//!
//! - the tax is zero ([`Secured::NothingDue`]);
//! - the agent's guarantee (a bank guarantee amount in force on the date, policy data) less what it already
//!   guarantees for unpaid tax covers the order's tax ([`Secured::Guaranteed`]: the tax reserves room);
//! - the bill's paid amount covers it ([`Secured::Paid`]).
//!
//! Otherwise the order waits ([`Secured::Awaiting`]) until a payment or a larger guarantee frees it.
//!
//! # How a bill's paid amount is allocated
//!
//! A bill keeps its paid amount as one number. The part not yet spent on paid orders (the bill's *credit*)
//! goes first to the bill's guaranteed orders in billing order (each becomes [`Secured::Paid`] once the
//! credit covers its whole tax, and its reservation ends), then, when no guaranteed order is left, to the
//! awaiting orders in billing order (an awaiting order becomes paid once the credit covers it: the
//! cumulative rule, paid ≥ tax of every order up to and including it). A partly covered guaranteed order
//! reserves only its uncovered part: the bill reserves `Σ tax of its guaranteed orders − credit`.
//!
//! # Guarantee room, first fit in billing order
//!
//! An agent's room is its limit less the reservations of all its bills. A newly billed order is guaranteed
//! when its whole tax fits the room. When room grows (a payment, a cancellation, a larger guarantee) the
//! agent's awaiting orders are tried in billing order, each taken when it fits: the earliest awaiting order
//! is never passed over while it fits. A limit lowered below what is reserved keeps the orders already
//! guaranteed (they were covered when reserved, and may have been released); no new order is guaranteed
//! until the room is back.
//!
//! # Payment notices (电子缴款)
//!
//! The agent pays through its bank, which returns a notice signed with the agent's registered Ed25519 key.
//! The signature is over the canonical JSON of the notice without its `signature` member ([`signing_bytes`]:
//! object keys sorted by their UTF-8 bytes, no whitespace, at every depth). The canonical form is written
//! by hand ([`crate::documents::canonical_json`]) rather than by `serde_json::to_string`, because serde_json's
//! `preserve_order` feature (which another crate of the workspace enables, and Cargo unifies features) makes
//! its maps keep insertion order.

use std::collections::BTreeMap;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use rust_decimal::Decimal;
use serde_json::Value;
use zonegate_domain::{FieldError, FieldErrors, Uscc};

pub use crate::documents::canonical_json;

// ---------------------------------------------------------------------------------------------------------
// Periods
// ---------------------------------------------------------------------------------------------------------

/// China Standard Time, UTC+8 (no daylight saving).
fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The billing period of an instant: its calendar month in China time, `"2026-11"`.
pub fn period_of(at: DateTime<FixedOffset>) -> String {
    at.with_timezone(&china()).format("%Y-%m").to_string()
}

/// The period of an instant given in UTC.
pub fn period_of_utc(at: DateTime<Utc>) -> String {
    period_of(at.fixed_offset())
}

/// Whether a text is a period: `YYYY-MM` with a month 01..=12 and a year 2000..=2999.
pub fn is_period(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() != 7 || bytes[4] != b'-' || !text.bytes().enumerate().all(|(i, b)| i == 4 || b.is_ascii_digit()) {
        return false;
    }
    let year: u32 = text[..4].parse().unwrap_or(0);
    let month: u32 = text[5..].parse().unwrap_or(0);
    (2000..=2999).contains(&year) && (1..=12).contains(&month)
}

// ---------------------------------------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------------------------------------

/// What names a withholding agent: its USCC, typed or as text.
pub trait AgentId {
    fn agent_id(&self) -> &str;
}

impl AgentId for str {
    fn agent_id(&self) -> &str {
        self
    }
}

impl AgentId for String {
    fn agent_id(&self) -> &str {
        self
    }
}

impl AgentId for Uscc {
    fn agent_id(&self) -> &str {
        self.as_str()
    }
}

/// Whether an order's tax is secured, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Secured {
    /// The tax is zero.
    NothingDue,
    /// The agent's guarantee covers the tax until it is paid.
    Guaranteed,
    /// The bill's payments cover the tax.
    Paid,
    /// Neither: the order waits for a payment or a larger guarantee.
    Awaiting,
}

impl Secured {
    pub const ALL: [Secured; 4] = [Secured::NothingDue, Secured::Guaranteed, Secured::Paid, Secured::Awaiting];

    /// Whether the order may be released.
    pub fn is_secured(self) -> bool {
        self != Secured::Awaiting
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Secured::NothingDue => "nothing_due",
            Secured::Guaranteed => "guaranteed",
            Secured::Paid => "paid",
            Secured::Awaiting => "awaiting",
        }
    }

    pub fn parse(text: &str) -> Option<Secured> {
        Secured::ALL.into_iter().find(|state| state.as_str() == text)
    }
}

/// What billing an order did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Billed {
    /// The billed order's state.
    pub secured: Secured,
    /// Earlier awaiting orders of the agent secured now because the guarantee limit given with this order is
    /// larger than the one recorded before (the engine releases them too). Usually empty.
    pub released: Vec<u64>,
}

/// Why a bill operation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillError {
    /// No bill for that agent and period.
    UnknownBill,
    /// No billed order with that id.
    UnknownOrder,
    /// The notice was applied before.
    Duplicate,
    /// The payment is more than the bill's outstanding amount.
    Overpaid { outstanding_fen: i64 },
    /// A payment of zero or less.
    NonPositive,
    /// Taking the order off would leave the bill paid beyond its tax: a refund, not a cancellation.
    RefundDue,
    /// A return's tax is more than what its order still has billed.
    ReturnExceedsTax { billed_fen: i64 },
}

impl BillError {
    pub fn code(&self) -> &'static str {
        match self {
            BillError::UnknownBill => "bill_unknown",
            BillError::UnknownOrder => "bill_order_unknown",
            BillError::Duplicate => "payment_duplicate",
            BillError::Overpaid { .. } => "payment_overpaid",
            BillError::NonPositive => "payment_not_positive",
            BillError::RefundDue => "bill_refund_due",
            BillError::ReturnExceedsTax { .. } => "return_exceeds_tax",
        }
    }
}

impl std::fmt::Display for BillError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BillError::UnknownBill => write!(f, "no tax bill for that agent and period"),
            BillError::UnknownOrder => write!(f, "the order is not on a tax bill"),
            BillError::Duplicate => write!(f, "the payment notice was applied before"),
            BillError::Overpaid { outstanding_fen } => {
                write!(f, "the payment is more than the outstanding {}", fen_text(*outstanding_fen))
            }
            BillError::NonPositive => write!(f, "a payment must be above zero"),
            BillError::RefundDue => {
                write!(f, "the bill's payments already cover this order's tax; cancelling it needs a refund")
            }
            BillError::ReturnExceedsTax { billed_fen } => {
                write!(
                    f,
                    "the returned goods' tax is more than the {} still billed for the order",
                    fen_text(*billed_fen)
                )
            }
        }
    }
}

impl std::error::Error for BillError {}

/// What applying a payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentApplied {
    pub notice_id: String,
    /// The bill's paid amount and what is still outstanding, after the payment.
    pub paid_fen: i64,
    pub outstanding_fen: i64,
    /// Paid beyond the bill's tax (returned goods' tax taken off after payment): owed back to the agent.
    pub refund_due_fen: i64,
    /// Guaranteed orders whose tax is now paid (their reservation ended; they were released before).
    pub settled: Vec<u64>,
    /// Orders secured now (awaiting before, of this bill or of another bill of the agent through the
    /// guarantee room the payment freed), in billing order of each step: the engine releases them.
    pub released: Vec<u64>,
}

/// The orders a payment secured, as released: `for id in applied { … }`.
impl IntoIterator for PaymentApplied {
    type Item = u64;
    type IntoIter = std::vec::IntoIter<u64>;
    fn into_iter(self) -> Self::IntoIter {
        self.released.into_iter()
    }
}

/// Whether a bill still has tax outstanding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BillStatus {
    Open,
    Paid,
}

impl BillStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BillStatus::Open => "open",
            BillStatus::Paid => "paid",
        }
    }
}

/// A bill as shown to the agent and to customs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BillView {
    pub agent: String,
    pub period: String,
    /// Orders on the bill, of every state.
    pub orders: usize,
    pub tax_fen: i64,
    pub paid_fen: i64,
    pub outstanding_fen: i64,
    /// Paid beyond the bill's tax (returned goods' tax taken off after payment): owed back to the agent.
    pub refund_due_fen: i64,
    /// The guarantee room the bill's guaranteed, unpaid orders hold.
    pub guaranteed_outstanding_fen: i64,
    pub guaranteed: usize,
    pub awaiting: usize,
    /// Notices applied, in the order they were applied.
    pub notices: Vec<String>,
    /// `paid` when nothing is outstanding.
    pub status: BillStatus,
}

/// An agent's guarantee and what of it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct GuaranteeView {
    pub limit_fen: i64,
    pub reserved_fen: i64,
    pub awaiting: usize,
}

impl GuaranteeView {
    /// What is left to guarantee new orders (zero when the limit fell below the reservations).
    pub fn room_fen(&self) -> i64 {
        (self.limit_fen - self.reserved_fen).max(0)
    }
}

/// A billed order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    agent: String,
    period: String,
    tax: i64,
    seq: u64,
    state: Secured,
}

#[derive(Debug, Clone, Default)]
struct Bill {
    /// Every order, by billing sequence.
    orders: BTreeMap<u64, u64>,
    tax: i64,
    paid: i64,
    /// Σ tax of the orders in state `Paid`.
    paid_orders_tax: i64,
    /// Guaranteed and awaiting orders by billing sequence: sequence → (order id, tax).
    guaranteed: BTreeMap<u64, (u64, i64)>,
    guaranteed_tax: i64,
    awaiting: BTreeMap<u64, (u64, i64)>,
    notices: Vec<String>,
}

impl Bill {
    /// Paid but not yet spent on paid orders.
    fn credit(&self) -> i64 {
        self.paid - self.paid_orders_tax
    }

    /// The tax still to pay (zero once paid, or paid beyond).
    fn outstanding(&self) -> i64 {
        (self.tax - self.paid).max(0)
    }

    /// Paid beyond the tax (returned goods' tax taken off after payment): owed back to the agent.
    fn refund_due(&self) -> i64 {
        (self.paid - self.tax).max(0)
    }

    /// The guarantee room the bill holds.
    fn reservation(&self) -> i64 {
        if self.guaranteed.is_empty() {
            0
        } else {
            self.guaranteed_tax - self.credit()
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Agent {
    limit: i64,
    /// The agent's awaiting orders across its bills: sequence → (order id, period, tax).
    awaiting: BTreeMap<u64, (u64, String, i64)>,
}

/// The withholding agents' bills, guarantees and payments: deterministic and in memory. Persisting it is the
/// caller's business (replaying the same calls in the same order gives the same accounts).
#[derive(Debug, Clone, Default)]
pub struct TaxAccounts {
    agents: BTreeMap<String, Agent>,
    bills: BTreeMap<(String, String), Bill>,
    orders: BTreeMap<u64, Entry>,
    /// Applied notices: id → (agent, period, amount).
    notices: BTreeMap<String, (String, String, i64)>,
    next_seq: u64,
    /// See [`TaxAccounts::take_released`].
    released_by_billing: Vec<u64>,
}

impl TaxAccounts {
    pub fn new() -> TaxAccounts {
        TaxAccounts::default()
    }

    /// Adds an order's tax to the agent's bill of the period and decides whether it is secured now.
    ///
    /// As [`TaxAccounts::bill_detailed`], but the earlier orders a raised limit secures are kept for
    /// [`TaxAccounts::take_released`] (call it after billing, and release what it returns).
    ///
    /// # Panics
    /// When `tax_fen` is negative (a tax is never below zero).
    pub fn bill(
        &mut self,
        agent: &(impl AgentId + ?Sized),
        period: &str,
        order_id: u64,
        tax_fen: i64,
        guarantee_limit_fen: i64,
    ) -> Secured {
        let agent = agent.agent_id();
        let billed = self.bill_detailed(agent, period, order_id, tax_fen, guarantee_limit_fen);
        self.released_by_billing.extend(billed.released);
        billed.secured
    }

    /// Orders secured by a raised guarantee limit given to [`TaxAccounts::bill`] since the last call, in the
    /// order they were secured.
    pub fn take_released(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.released_by_billing)
    }

    /// Adds an order's tax to the agent's bill of the period and decides whether it is secured now.
    ///
    /// `guarantee_limit_fen` is the agent's guarantee in force on the date; it replaces the limit recorded
    /// before (a larger one first lets the agent's earlier awaiting orders in, reported in
    /// [`Billed::released`]). Billing an order already billed changes nothing and returns its state.
    ///
    /// # Panics
    /// When `tax_fen` is negative (a tax is never below zero).
    pub fn bill_detailed(
        &mut self,
        agent: &(impl AgentId + ?Sized),
        period: &str,
        order_id: u64,
        tax_fen: i64,
        guarantee_limit_fen: i64,
    ) -> Billed {
        let agent = agent.agent_id();
        assert!(tax_fen >= 0, "a tax is never negative (order {order_id}: {tax_fen} fen)");
        if let Some(entry) = self.orders.get(&order_id) {
            return Billed { secured: entry.state, released: Vec::new() };
        }
        let mut released = Vec::new();
        let account = self.agents.entry(agent.to_string()).or_default();
        let raised = guarantee_limit_fen > account.limit;
        account.limit = guarantee_limit_fen;
        if raised {
            released = self.fill_guarantee(agent);
        }

        let seq = self.next_seq;
        self.next_seq += 1;
        let key = (agent.to_string(), period.to_string());
        let room = self.room(agent);
        let bill = self.bills.entry(key.clone()).or_default();
        bill.orders.insert(seq, order_id);
        bill.tax += tax_fen;
        let state = if tax_fen == 0 {
            Secured::NothingDue
        } else if tax_fen <= room {
            bill.guaranteed.insert(seq, (order_id, tax_fen));
            bill.guaranteed_tax += tax_fen;
            Secured::Guaranteed
        } else {
            bill.awaiting.insert(seq, (order_id, tax_fen));
            let account = self.agents.get_mut(agent).expect("the agent was just recorded");
            account.awaiting.insert(seq, (order_id, period.to_string(), tax_fen));
            Secured::Awaiting
        };
        self.orders
            .insert(order_id, Entry { agent: agent.to_string(), period: period.to_string(), tax: tax_fen, seq, state });
        // The bill's credit may now go to this order (guaranteed orders come first).
        let (_, paid_now) = self.settle_bill(&key);
        released.extend(paid_now.into_iter().filter(|id| *id != order_id));
        Billed { secured: self.orders[&order_id].state, released }
    }

    /// Takes an order cancelled before release off its bill: its tax leaves the bill and any guarantee room it
    /// held returns. Returns the orders secured by what that freed (in the same bill, the credit now reaching
    /// them; in any bill of the agent, the room).
    pub fn unbill(&mut self, order_id: u64) -> Result<Vec<u64>, BillError> {
        let entry = self.orders.get(&order_id).ok_or(BillError::UnknownOrder)?.clone();
        let key = (entry.agent.clone(), entry.period.clone());
        let bill = self.bills.get_mut(&key).expect("a billed order has its bill");
        if bill.paid > bill.tax - entry.tax {
            return Err(BillError::RefundDue);
        }
        bill.orders.remove(&entry.seq);
        bill.tax -= entry.tax;
        match entry.state {
            Secured::NothingDue => {}
            Secured::Paid => bill.paid_orders_tax -= entry.tax,
            Secured::Guaranteed => {
                bill.guaranteed.remove(&entry.seq);
                bill.guaranteed_tax -= entry.tax;
            }
            Secured::Awaiting => {
                bill.awaiting.remove(&entry.seq);
                if let Some(account) = self.agents.get_mut(&entry.agent) {
                    account.awaiting.remove(&entry.seq);
                }
            }
        }
        self.orders.remove(&order_id);
        let (_, mut released) = self.settle_bill(&key);
        released.extend(self.fill_guarantee(&entry.agent));
        let bill = &self.bills[&key];
        if bill.orders.is_empty() && bill.notices.is_empty() {
            self.bills.remove(&key);
        }
        Ok(released)
    }

    /// Takes returned goods' tax off their order's bill (domain-rules.md §3: the tax of goods returned is not
    /// collected): the bill owes that much less. A guaranteed order holds that much less room; a paid one
    /// leaves that much more of the bill's payments as credit, which goes to the bill's other orders (and,
    /// when none is left to pay, shows as `refund_due_fen`). Returns the orders secured by what that freed.
    /// Refused, changing nothing: an unknown order, or more than the order's tax still billed.
    pub fn credit_return(&mut self, order_id: u64, returned_fen: i64) -> Result<Vec<u64>, BillError> {
        let entry = self.orders.get(&order_id).ok_or(BillError::UnknownOrder)?.clone();
        if returned_fen < 0 || returned_fen > entry.tax {
            return Err(BillError::ReturnExceedsTax { billed_fen: entry.tax });
        }
        if returned_fen == 0 {
            return Ok(Vec::new());
        }
        let key = (entry.agent.clone(), entry.period.clone());
        let bill = self.bills.get_mut(&key).expect("a billed order has its bill");
        bill.tax -= returned_fen;
        match entry.state {
            Secured::NothingDue => {}
            Secured::Paid => bill.paid_orders_tax -= returned_fen,
            Secured::Guaranteed => {
                if let Some((_, tax)) = bill.guaranteed.get_mut(&entry.seq) {
                    *tax -= returned_fen;
                }
                bill.guaranteed_tax -= returned_fen;
            }
            Secured::Awaiting => {
                if let Some((_, tax)) = bill.awaiting.get_mut(&entry.seq) {
                    *tax -= returned_fen;
                }
                if let Some((_, _, tax)) =
                    self.agents.get_mut(&entry.agent).and_then(|a| a.awaiting.get_mut(&entry.seq))
                {
                    *tax -= returned_fen;
                }
            }
        }
        if let Some(entry) = self.orders.get_mut(&order_id) {
            entry.tax -= returned_fen;
        }
        let (_, mut released) = self.settle_bill(&key);
        released.extend(self.fill_guarantee(&entry.agent));
        Ok(released)
    }

    /// Applies a verified payment to the agent's bill of the period.
    ///
    /// Refused, changing nothing: a notice applied before ([`BillError::Duplicate`]), no such bill
    /// ([`BillError::UnknownBill`]), an amount of zero or less, or more than the outstanding amount
    /// ([`BillError::Overpaid`]).
    pub fn pay(
        &mut self,
        agent: &(impl AgentId + ?Sized),
        period: &str,
        notice_id: &str,
        amount_fen: i64,
    ) -> Result<PaymentApplied, BillError> {
        let agent = agent.agent_id();
        if self.notices.contains_key(notice_id) {
            return Err(BillError::Duplicate);
        }
        let key = (agent.to_string(), period.to_string());
        let bill = self.bills.get_mut(&key).ok_or(BillError::UnknownBill)?;
        if amount_fen <= 0 {
            return Err(BillError::NonPositive);
        }
        let outstanding = bill.outstanding();
        if amount_fen > outstanding {
            return Err(BillError::Overpaid { outstanding_fen: outstanding });
        }
        bill.paid += amount_fen;
        bill.notices.push(notice_id.to_string());
        self.notices.insert(notice_id.to_string(), (agent.to_string(), period.to_string(), amount_fen));
        let (settled, mut released) = self.settle_bill(&key);
        released.extend(self.fill_guarantee(agent));
        let bill = &self.bills[&key];
        Ok(PaymentApplied {
            notice_id: notice_id.to_string(),
            paid_fen: bill.paid,
            outstanding_fen: bill.outstanding(),
            refund_due_fen: bill.refund_due(),
            settled,
            released,
        })
    }

    /// Records the agent's new guarantee limit. Returns the awaiting orders it secures (first fit in billing
    /// order). A lower limit keeps what is already guaranteed.
    pub fn guarantee_changed(&mut self, agent: &(impl AgentId + ?Sized), new_limit_fen: i64) -> Vec<u64> {
        let agent = agent.agent_id();
        self.agents.entry(agent.to_string()).or_default().limit = new_limit_fen;
        self.fill_guarantee(agent)
    }

    /// The state of a billed order.
    pub fn order_state(&self, order_id: u64) -> Option<Secured> {
        self.orders.get(&order_id).map(|entry| entry.state)
    }

    /// The agent and period of a billed order and its tax.
    pub fn order_bill(&self, order_id: u64) -> Option<(&str, &str, i64)> {
        self.orders.get(&order_id).map(|entry| (entry.agent.as_str(), entry.period.as_str(), entry.tax))
    }

    /// The agent's guarantee, what its bills reserve and how many of its orders wait.
    pub fn guarantee(&self, agent: &(impl AgentId + ?Sized)) -> Option<GuaranteeView> {
        let agent = agent.agent_id();
        let account = self.agents.get(agent)?;
        Some(GuaranteeView {
            limit_fen: account.limit,
            reserved_fen: self.reserved(agent),
            awaiting: account.awaiting.len(),
        })
    }

    /// The agent's awaiting orders, in billing order.
    pub fn awaiting_of(&self, agent: &(impl AgentId + ?Sized)) -> Vec<u64> {
        let agent = agent.agent_id();
        self.agents
            .get(agent)
            .map(|account| account.awaiting.values().map(|(id, _, _)| *id).collect())
            .unwrap_or_default()
    }

    /// The bill of an agent for a period.
    pub fn bill_view(&self, agent: &(impl AgentId + ?Sized), period: &str) -> Option<BillView> {
        let agent = agent.agent_id();
        let key = (agent.to_string(), period.to_string());
        self.bills.get(&key).map(|bill| view(&key, bill))
    }

    /// Every bill of an agent, by period.
    pub fn bills_of(&self, agent: &(impl AgentId + ?Sized)) -> Vec<BillView> {
        let agent = agent.agent_id();
        self.agent_bills(agent).map(|(key, bill)| view(key, bill)).collect()
    }

    /// Orders of a bill in billing order with their tax and state.
    pub fn orders_of(&self, agent: &(impl AgentId + ?Sized), period: &str) -> Vec<(u64, i64, Secured)> {
        let agent = agent.agent_id();
        let key = (agent.to_string(), period.to_string());
        let Some(bill) = self.bills.get(&key) else { return Vec::new() };
        bill.orders
            .values()
            .map(|id| {
                let entry = &self.orders[id];
                (*id, entry.tax, entry.state)
            })
            .collect()
    }

    /// The notice ids applied, with their agent, period and amount.
    pub fn notice(&self, notice_id: &str) -> Option<(&str, &str, i64)> {
        self.notices.get(notice_id).map(|(agent, period, amount)| (agent.as_str(), period.as_str(), *amount))
    }

    fn agent_bills<'a>(&'a self, agent: &str) -> impl Iterator<Item = (&'a (String, String), &'a Bill)> + 'a {
        let agent = agent.to_string();
        self.bills.range((agent.clone(), String::new())..).take_while(move |((bill_agent, _), _)| *bill_agent == agent)
    }

    fn reserved(&self, agent: &str) -> i64 {
        self.agent_bills(agent).map(|(_, bill)| bill.reservation()).sum()
    }

    fn room(&self, agent: &str) -> i64 {
        let limit = self.agents.get(agent).map_or(0, |account| account.limit);
        limit - self.reserved(agent)
    }

    fn set_state(&mut self, order_id: u64, state: Secured) {
        if let Some(entry) = self.orders.get_mut(&order_id) {
            entry.state = state;
        }
    }

    /// Spends the bill's credit: guaranteed orders first, then awaiting ones, each in billing order and only
    /// when the credit covers its whole tax. Returns (guaranteed orders now paid, awaiting orders now paid).
    fn settle_bill(&mut self, key: &(String, String)) -> (Vec<u64>, Vec<u64>) {
        let mut settled = Vec::new();
        let mut released = Vec::new();
        let Some(bill) = self.bills.get_mut(key) else { return (settled, released) };
        loop {
            let credit = bill.credit();
            if let Some((&seq, &(id, tax))) = bill.guaranteed.first_key_value() {
                if credit < tax {
                    break;
                }
                bill.guaranteed.remove(&seq);
                bill.guaranteed_tax -= tax;
                bill.paid_orders_tax += tax;
                settled.push(id);
            } else if let Some((&seq, &(id, tax))) = bill.awaiting.first_key_value() {
                if credit < tax {
                    break;
                }
                bill.awaiting.remove(&seq);
                bill.paid_orders_tax += tax;
                if let Some(account) = self.agents.get_mut(&key.0) {
                    account.awaiting.remove(&seq);
                }
                released.push(id);
            } else {
                break;
            }
        }
        for id in settled.iter().chain(&released) {
            self.set_state(*id, Secured::Paid);
        }
        (settled, released)
    }

    /// Guarantees the agent's awaiting orders that fit the room, trying them in billing order.
    fn fill_guarantee(&mut self, agent: &str) -> Vec<u64> {
        let mut released = Vec::new();
        let Some(account) = self.agents.get(agent) else { return released };
        let candidates: Vec<(u64, u64, String, i64)> =
            account.awaiting.iter().map(|(seq, (id, period, tax))| (*seq, *id, period.clone(), *tax)).collect();
        let mut room = self.room(agent);
        for (seq, id, period, tax) in candidates {
            if room <= 0 {
                break;
            }
            if tax > room {
                continue;
            }
            let key = (agent.to_string(), period);
            let bill = self.bills.get_mut(&key).expect("an awaiting order has its bill");
            bill.awaiting.remove(&seq);
            bill.guaranteed.insert(seq, (id, tax));
            bill.guaranteed_tax += tax;
            if let Some(account) = self.agents.get_mut(agent) {
                account.awaiting.remove(&seq);
            }
            self.set_state(id, Secured::Guaranteed);
            released.push(id);
            // The bill's credit now goes to its guaranteed orders first; it may pay awaiting ones as well.
            let (_, paid) = self.settle_bill(&key);
            released.extend(paid);
            room = self.room(agent);
        }
        released
    }
}

fn view(key: &(String, String), bill: &Bill) -> BillView {
    BillView {
        agent: key.0.clone(),
        period: key.1.clone(),
        orders: bill.orders.len(),
        tax_fen: bill.tax,
        paid_fen: bill.paid,
        outstanding_fen: bill.outstanding(),
        refund_due_fen: bill.refund_due(),
        guaranteed_outstanding_fen: bill.reservation(),
        guaranteed: bill.guaranteed.len(),
        awaiting: bill.awaiting.len(),
        notices: bill.notices.clone(),
        status: if bill.paid >= bill.tax { BillStatus::Paid } else { BillStatus::Open },
    }
}

/// An amount in fen as yuan text, `"1234.56"`.
pub fn fen_text(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

// ---------------------------------------------------------------------------------------------------------
// Payment notices
// ---------------------------------------------------------------------------------------------------------

/// Most characters of a notice id or a key id.
pub const NOTICE_TEXT_MAX: usize = 64;
/// Most characters of a bank name.
pub const BANK_TEXT_MAX: usize = 100;
/// Largest payment accepted, fen (10^13 CNY).
const AMOUNT_MAX_FEN: i64 = 1_000_000_000_000_000;

/// The members of a notice, in the order they are checked.
pub const NOTICE_FIELDS: [&str; 8] =
    ["notice_id", "agent", "period", "amount", "bank", "paid_at", "key_id", "signature"];

/// A payment notice from the agent's bank (电子缴款), typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentNotice {
    pub notice_id: String,
    pub agent: Uscc,
    pub period: String,
    pub amount_fen: i64,
    pub bank: String,
    pub paid_at: DateTime<FixedOffset>,
    pub key_id: String,
    /// Base64 text as sent; checked by [`verify_notice`].
    pub signature: String,
}

impl PaymentNotice {
    pub fn amount(&self) -> Decimal {
        Decimal::new(self.amount_fen, 2)
    }
}

fn is_id_text(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:/".contains(&b))
}

/// Parses a notice, reporting every problem at once (JSON paths are the member names).
///
/// Codes: `type` (not an object, or a member of the wrong JSON type; a JSON number for `amount` too),
/// `required`, `unknown_field`, `too_long`, `notice_id_format`, the USCC codes for `agent`, `period_format`,
/// `decimal`, `negative`, `zero`, `decimals` (more than two), `too_large`, `datetime` (not RFC 3339 with an
/// offset), `key_id_format`.
pub fn parse_notice(value: &Value) -> Result<PaymentNotice, FieldErrors> {
    let mut errors = FieldErrors::default();
    let Some(object) = value.as_object() else {
        errors.add("type", "", "a payment notice is a JSON object");
        return Err(errors);
    };
    for key in object.keys() {
        if !NOTICE_FIELDS.contains(&key.as_str()) {
            errors.add("unknown_field", key.clone(), format!("`{key}` is not a member of a payment notice"));
        }
    }
    let text = |key: &str, errors: &mut FieldErrors| -> Option<String> {
        match object.get(key) {
            None | Some(Value::Null) => {
                errors.add("required", key, format!("`{key}` is required"));
                None
            }
            Some(Value::String(text)) if text.trim().is_empty() => {
                errors.add("required", key, format!("`{key}` must not be empty"));
                None
            }
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Number(number)) if key == "amount" => {
                errors.add(
                    "type",
                    key,
                    format!("`amount` must be a decimal string such as \"{number}\", not a JSON number"),
                );
                None
            }
            Some(other) => {
                errors.add("type", key, format!("`{key}` must be a string, not {}", crate::documents::kind_of(other)));
                None
            }
        }
    };

    let notice_id = text("notice_id", &mut errors).and_then(|id| {
        if id.chars().count() > NOTICE_TEXT_MAX {
            errors.add("too_long", "notice_id", format!("a notice id has at most {NOTICE_TEXT_MAX} characters"));
            None
        } else if !is_id_text(&id) {
            errors.add("notice_id_format", "notice_id", format!("`{id}` may use only letters, digits and `-_.:/`"));
            None
        } else {
            Some(id)
        }
    });
    let agent = text("agent", &mut errors).and_then(|agent| match Uscc::parse(&agent) {
        Ok(uscc) => Some(uscc),
        Err(error) => {
            errors.add(error.code, "agent", error.message);
            None
        }
    });
    let period = text("period", &mut errors).and_then(|period| {
        if is_period(&period) {
            Some(period)
        } else {
            errors.add("period_format", "period", format!("`{period}` is not a month such as \"2026-11\""));
            None
        }
    });
    let amount_fen = text("amount", &mut errors).and_then(|amount| parse_amount_fen(&amount, &mut errors));
    let bank = text("bank", &mut errors).and_then(|bank| {
        if bank.chars().count() > BANK_TEXT_MAX {
            errors.add("too_long", "bank", format!("a bank name has at most {BANK_TEXT_MAX} characters"));
            None
        } else {
            Some(bank.trim().to_string())
        }
    });
    let paid_at = text("paid_at", &mut errors).and_then(|at| match DateTime::parse_from_rfc3339(&at) {
        Ok(at) => Some(at),
        Err(_) => {
            errors.add(
                "datetime",
                "paid_at",
                format!("`{at}` is not a date and time such as \"2026-11-28T12:00:00+08:00\""),
            );
            None
        }
    });
    let key_id = text("key_id", &mut errors).and_then(|id| {
        if id.chars().count() > NOTICE_TEXT_MAX || !is_id_text(&id) {
            errors.add(
                "key_id_format",
                "key_id",
                format!("`{id}` is not a key id (at most {NOTICE_TEXT_MAX} letters, digits and `-_.:/`)"),
            );
            None
        } else {
            Some(id)
        }
    });
    let signature = text("signature", &mut errors);

    match (notice_id, agent, period, amount_fen, bank, paid_at, key_id, signature) {
        (
            Some(notice_id),
            Some(agent),
            Some(period),
            Some(amount_fen),
            Some(bank),
            Some(paid_at),
            Some(key_id),
            Some(signature),
        ) if errors.is_empty() => {
            Ok(PaymentNotice { notice_id, agent, period, amount_fen, bank, paid_at, key_id, signature })
        }
        _ => Err(errors),
    }
}

fn parse_amount_fen(text: &str, errors: &mut FieldErrors) -> Option<i64> {
    let well_formed = text.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && text.matches('.').count() <= 1
        && !text.starts_with('.')
        && !text.ends_with('.');
    let value = if well_formed { Decimal::from_str(text).ok() } else { None };
    let Some(value) = value else {
        errors.add("decimal", "amount", format!("`{text}` is not a decimal number"));
        return None;
    };
    if value.is_sign_negative() && !value.is_zero() {
        errors.add("negative", "amount", format!("`{text}` is negative"));
        return None;
    }
    if value.is_zero() {
        errors.add("zero", "amount", format!("`{text}` must be above zero"));
        return None;
    }
    if text.split_once('.').is_some_and(|(_, decimals)| decimals.len() > 2) {
        errors.add("decimals", "amount", format!("`{text}` has more than two decimals (fen)"));
        return None;
    }
    let fen = (value * Decimal::ONE_HUNDRED).trunc();
    match i64::try_from(fen) {
        Ok(fen) if fen <= AMOUNT_MAX_FEN => Some(fen),
        _ => {
            errors.add("too_large", "amount", format!("`{text}` is larger than any payment the platform accepts"));
            None
        }
    }
}

/// The bytes a notice's signature covers: the canonical JSON ([`canonical_json`]) of the notice without its
/// top-level `signature` member.
pub fn signing_bytes(value: &Value) -> Vec<u8> {
    match value {
        Value::Object(map) => {
            let mut unsigned = map.clone();
            unsigned.remove("signature");
            canonical_json(&Value::Object(unsigned)).into_bytes()
        }
        other => canonical_json(other).into_bytes(),
    }
}

/// Signs a notice (any `signature` member is left out of what is signed). Base64 (standard, padded) of
/// the 64-byte Ed25519 signature. For tests, the CLI and benchmarks: real notices are signed by the bank.
pub fn sign_notice(value: &Value, key: &SigningKey) -> String {
    BASE64.encode(key.sign(&signing_bytes(value)).to_bytes())
}

/// An agent's registered notice-signing key, in force from `effective_from` to `effective_to` (inclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentKey {
    pub agent: Uscc,
    pub key_id: String,
    pub public_key: [u8; 32],
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
}

impl AgentKey {
    /// A public key from its text form: base64 (standard, padded) of its 32 bytes.
    pub fn parse_public(text: &str) -> Result<[u8; 32], FieldError> {
        let bytes = BASE64.decode(text.trim()).map_err(|_| {
            FieldError::new("public_key_format", "public_key", "a public key is the base64 of 32 bytes")
        })?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            FieldError::new("public_key_format", "public_key", "a public key is the base64 of 32 bytes")
        })?;
        VerifyingKey::from_bytes(&key).map_err(|_| {
            FieldError::new("public_key_invalid", "public_key", "the bytes are not an Ed25519 public key")
        })?;
        Ok(key)
    }

    /// The text form of a public key.
    pub fn public_text(public_key: &[u8; 32]) -> String {
        BASE64.encode(public_key)
    }

    /// Whether the key is in force on a date.
    pub fn in_force(&self, on: NaiveDate) -> bool {
        self.effective_from <= on && self.effective_to.is_none_or(|to| on <= to)
    }
}

/// Checks a notice's signature against the agent's key of that id in force on the date (the date the
/// notice is received, in China time).
///
/// Errors: `signature_key_unknown` at `key_id` (no key of the agent with that id in force on the date),
/// `signature_format` at `signature` (not base64 of 64 bytes), `signature_invalid` at `signature`.
pub fn verify_notice(
    notice_json: &Value,
    notice: &PaymentNotice,
    keys: &[AgentKey],
    on: NaiveDate,
) -> Result<(), FieldError> {
    let key = keys
        .iter()
        .find(|key| key.agent == notice.agent && key.key_id == notice.key_id && key.in_force(on))
        .ok_or_else(|| {
            FieldError::new(
                "signature_key_unknown",
                "key_id",
                format!("no key `{}` of agent `{}` is in force on {on}", notice.key_id, notice.agent),
            )
        })?;
    let format_error = || FieldError::new("signature_format", "signature", "a signature is the base64 of 64 bytes");
    let bytes = BASE64.decode(notice.signature.trim()).map_err(|_| format_error())?;
    let bytes: [u8; 64] = bytes.try_into().map_err(|_| format_error())?;
    let signature = Signature::from_bytes(&bytes);
    let invalid = || FieldError::new("signature_invalid", "signature", "the signature does not match the notice");
    let verifying = VerifyingKey::from_bytes(&key.public_key).map_err(|_| invalid())?;
    // The typed notice and the JSON must be the same document: the signature covers the JSON.
    if parse_notice(notice_json).ok().as_ref() != Some(notice) {
        return Err(invalid());
    }
    verifying.verify(&signing_bytes(notice_json), &signature).map_err(|_| invalid())
}
