//! # zonegate-ledger — the double-entry bonded ledger core
//!
//! A pure (no I/O, no clock, no randomness) double-entry ledger for bonded goods in
//! special customs supervision zones, modelled on TigerBeetle's accounts and
//! transfers.
//!
//! ## Model
//! * A **ledger** ([`LedgerKey`]) is one line of an enterprise's electronic ledger
//!   (电子账册 / 底账): enterprise USCC + item number (料号), described by a
//!   [`LedgerItem`] (HS code, unit, quantity scale, bonded/exempt treatment).
//! * Each ledger has **accounts** ([`Account`], kinds in [`AccountKind`]): `stock`
//!   (goods in bonded stock), counterparties (`outside` across the first line,
//!   `mainland` across the second line, `other_zone`), processing (`consumed`,
//!   `produced`), goods still bonded but elsewhere (`exhibited`, `leased`) and sinks
//!   (`written_off`, `adjustment`). Every account has four counters (debits/credits ×
//!   pending/posted) for **quantity** (integer count of the item's smallest unit,
//!   `10^-quantity_scale`; u64 per transfer, u128 per balance) and for **value**
//!   (integer fen). Holding accounts carry `debits_must_not_exceed_credits`, so their
//!   balance (`credits − debits`) can never go negative, including reservations.
//! * A **transfer** ([`Transfer`]) moves goods from its debit account to its credit
//!   account of the same ledger, so each ledger's accounts always sum to zero
//!   ([`Ledger::trial_balance`]). Its [`TransferCode`] says why and constrains the
//!   pair of account kinds. Posted transfers are never edited; corrections are new
//!   transfers with code `correction`.
//! * **Two-phase transfers**: `pending` reserves, `post_pending` posts (fully or
//!   partially; the rest is released), `void_pending` releases it all.
//! * **Linked chains**: consecutive `linked` transfers plus the next one commit
//!   all-or-nothing (see [`Ledger::apply`]).
//!
//! ## Mapping to Golden Customs II (金关二期)
//! * 电子账册 line (备案序号 / 料号) → [`LedgerItem`] + its accounts.
//! * 核注清单 (INV101) → one linked chain, one transfer per list line (a line
//!   touching two items, e.g. processing, becomes several transfers across ledgers);
//!   the list number goes in [`Transfer::reference`]. *Pre-deduction* (预核扣,
//!   `vrfdedMarkcd = 1`) is a `pending` transfer; *deduction* (`= 2`) is its post.
//! * 核放单 (SAS121) → the gate: when all goods of the list passed the 卡口 and the
//!   declaration is released, the pending transfers are posted (partially for
//!   partial passage); a cancelled list voids them.
//! * 核销 → [`Ledger::write_off_statement`]: opening stock + entries + production −
//!   exits − consumption − write-offs = book stock, compared with a count.
//!
//! Time and ids are inputs: the caller supplies transfer ids, account ids and
//! business timestamps.

pub mod documents;
mod engine;
mod error;
pub mod exhibition;
pub mod lease;
mod model;
pub mod movement;
pub mod processing;
pub mod report;
mod writeoff;

pub use documents::Problem;
pub use engine::{BalanceView, Ledger, TrialBalance, TrialBalanceRow};
pub use error::{AccountError, TransferError};
pub use exhibition::{
    patrol, plan_exhibition_back, plan_exhibition_out, plan_exhibition_sale, Exhibition, ExhibitionState,
    PatrolFinding, PatrolKind, PatrolReport,
};
pub use lease::{plan_lease_out, plan_lease_return, Entrusted, Instalment, Lease};
pub use model::{
    Account, AccountBalances, AccountFlags, AccountId, AccountKind, AccountRecord, Applied, Balances, LedgerItem,
    LedgerKey, PendingStatus, Transfer, TransferCode, TransferFlags, TransferId, Treatment,
};
pub use movement::{DocumentIds, Line};
pub use processing::{plan_processing, Bom, BomBook, BomLine, Consumed, MaterialContent, ProcessingPlan};
pub use report::{plan_stocktake, write_off_report, WriteOffReport, WriteOffRow};
pub use writeoff::{Amount, CountResult, WriteOffStatement};
