//! Records: ledger items, accounts, balances and transfers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Identifies one bonded ledger line: the enterprise (统一社会信用代码, USCC) and its
/// item number (料号) in the electronic ledger (电子账册). Only accounts of the same
/// ledger may transact with each other, so quantities never mix units or items.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LedgerKey {
    /// Enterprise unified social credit code (18 characters).
    pub enterprise_uscc: String,
    /// Item number (料号) within the enterprise's electronic ledger.
    pub item_no: String,
}

impl LedgerKey {
    /// Builds a key from the enterprise USCC and the item number.
    pub fn new(enterprise_uscc: impl Into<String>, item_no: impl Into<String>) -> Self {
        Self { enterprise_uscc: enterprise_uscc.into(), item_no: item_no.into() }
    }
}

/// Customs treatment of the goods on a ledger line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Treatment {
    /// Bonded: duties suspended while the goods stay under supervision.
    Bonded,
    /// Exempt: duties exempted (e.g. first-line equipment for own use).
    Exempt,
    /// Domestic: goods bought in the customs territory (境内区外采购) that entered over the second line
    /// (treated as exported). Processing counts them as domestic materials in the 30 % value-added rule;
    /// bonded and exempt goods count as imported materials.
    Domestic,
}

impl Treatment {
    /// Whether goods of this treatment count as imported materials (entered without import tax paid).
    pub fn is_imported(self) -> bool {
        matches!(self, Treatment::Bonded | Treatment::Exempt)
    }
}

/// Static description of a ledger line (电子账册表体 one 料号 / 备案序号).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerItem {
    /// The ledger this item describes.
    pub key: LedgerKey,
    /// HS code (10 digits) of the item.
    pub hs_code: String,
    /// Declared unit of measure (e.g. `"035"` kilogram, or a plain name).
    pub unit: String,
    /// Number of decimal places hidden in quantities: a quantity of `1500` with
    /// `quantity_scale = 3` means 1.500 units. Every quantity on this ledger is an
    /// integer count of `10^-quantity_scale` units.
    pub quantity_scale: u8,
    /// Customs treatment.
    pub treatment: Treatment,
}

/// Account identifier, chosen by the caller; zero is reserved and rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub u128);

/// Transfer identifier, chosen by the caller; zero is reserved and rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransferId(pub u128);

/// The first 128 bits of SHA-256 over the length-prefixed parts (never zero: zero maps to one).
fn derive_id(domain: &str, parts: &[&[u8]]) -> u128 {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in std::iter::once(domain.as_bytes()).chain(parts.iter().copied()) {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(bytes).max(1)
}

impl AccountId {
    /// The account id of `kind` on `ledger`, derived from them (SHA-256), so every process and every
    /// replay names the same account the same way.
    pub fn derive(ledger: &LedgerKey, kind: AccountKind) -> AccountId {
        let kind = serde_json::to_string(&kind).unwrap_or_default();
        AccountId(derive_id(
            "zonegate.ledger.account",
            &[ledger.enterprise_uscc.as_bytes(), ledger.item_no.as_bytes(), kind.as_bytes()],
        ))
    }
}

impl TransferId {
    /// The id of the `index`-th transfer made by a document (enterprise, document kind, number), derived
    /// from them (SHA-256): a repeated document names the same transfers.
    pub fn derive(enterprise: &str, document_kind: &str, number: &str, index: u32) -> TransferId {
        TransferId(derive_id(
            "zonegate.ledger.transfer",
            &[enterprise.as_bytes(), document_kind.as_bytes(), number.as_bytes(), &index.to_be_bytes()],
        ))
    }
}

/// The closed set of account kinds of a ledger.
///
/// Goods move from the debit account to the credit account. A "holding" account's
/// balance is `credits − debits` (what it holds); source accounts (`outside`,
/// `mainland`, `produced`, …) go negative by design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// Goods physically in the enterprise's bonded stock in the zone. Never negative.
    Stock,
    /// Abroad / Macao across the first line: source of first-line entries, sink of exports.
    Outside,
    /// The customs territory across the second line: sink of second-line exits and
    /// exhibition sales, source of mainland-to-zone entries.
    Mainland,
    /// Another special zone or bonded site (区间流转 / 区内流转 counterpart).
    OtherZone,
    /// Materials consumed in processing (料件耗用). Never negative.
    Consumed,
    /// Source of finished goods produced by processing (成品产出).
    Produced,
    /// Bonded goods out on exhibition (展示), still under supervision. Never negative.
    Exhibited,
    /// Bonded goods leased out (租赁), still under supervision. Never negative.
    Leased,
    /// Goods written off with customs approval (destroyed, scrapped). Never negative.
    WrittenOff,
    /// Stock-count differences: shortages found at 核销 are debited to stock and
    /// credited here; surpluses the other way.
    Adjustment,
}

impl AccountKind {
    /// All kinds, in declaration order.
    pub const ALL: [AccountKind; 10] = [
        AccountKind::Stock,
        AccountKind::Outside,
        AccountKind::Mainland,
        AccountKind::OtherZone,
        AccountKind::Consumed,
        AccountKind::Produced,
        AccountKind::Exhibited,
        AccountKind::Leased,
        AccountKind::WrittenOff,
        AccountKind::Adjustment,
    ];

    /// Kinds whose balance is goods still under the enterprise's bonded custody:
    /// the book stock of a write-off is the sum over these.
    pub fn is_custody(self) -> bool {
        matches!(self, AccountKind::Stock | AccountKind::Exhibited | AccountKind::Leased)
    }

    /// Default balance-limit flags for the kind: holding accounts may never go negative.
    pub fn default_flags(self) -> AccountFlags {
        match self {
            AccountKind::Stock
            | AccountKind::Exhibited
            | AccountKind::Leased
            | AccountKind::Consumed
            | AccountKind::WrittenOff => {
                AccountFlags { debits_must_not_exceed_credits: true, credits_must_not_exceed_debits: false }
            }
            _ => AccountFlags::default(),
        }
    }
}

/// Balance-limit flags of an account (TigerBeetle semantics), checked on both the
/// quantity and the value dimension.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AccountFlags {
    /// `debits_pending + debits_posted ≤ credits_posted` must hold after every transfer.
    pub debits_must_not_exceed_credits: bool,
    /// `credits_pending + credits_posted ≤ debits_posted` must hold after every transfer.
    pub credits_must_not_exceed_debits: bool,
}

/// An account definition. Immutable once created; balances live in [`AccountBalances`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Caller-chosen id (non-zero).
    pub id: AccountId,
    /// Ledger (enterprise + item) the account belongs to.
    pub ledger: LedgerKey,
    /// What the account represents.
    pub kind: AccountKind,
    /// Balance limits.
    pub flags: AccountFlags,
}

impl Account {
    /// An account with the default flags of its kind.
    pub fn new(id: u128, ledger: LedgerKey, kind: AccountKind) -> Self {
        Self { id: AccountId(id), ledger, kind, flags: kind.default_flags() }
    }
}

/// The four TigerBeetle balance counters for one dimension (quantity or value).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Balances {
    /// Reserved debits (pending transfers debiting the account).
    pub debits_pending: u128,
    /// Posted debits.
    pub debits_posted: u128,
    /// Reserved credits.
    pub credits_pending: u128,
    /// Posted credits.
    pub credits_posted: u128,
}

impl Balances {
    /// Posted credits minus posted debits (what a holding account holds).
    pub fn posted_net(&self) -> i128 {
        self.credits_posted as i128 - self.debits_posted as i128
    }

    /// Pending credits minus pending debits.
    pub fn pending_net(&self) -> i128 {
        self.credits_pending as i128 - self.debits_pending as i128
    }

    /// `credits_posted − debits_posted − debits_pending`: what may still be debited
    /// from a holding account (reservations already deducted, incoming reservations
    /// not yet counted).
    pub fn available(&self) -> i128 {
        self.posted_net() - self.debits_pending as i128
    }
}

/// Quantity and value balances of an account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AccountBalances {
    /// Quantity, in the ledger item's smallest unit (see [`LedgerItem::quantity_scale`]).
    pub quantity: Balances,
    /// Value in fen (CNY 0.01).
    pub value_fen: Balances,
}

/// An account together with its current balances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// The definition.
    pub account: Account,
    /// Current balances.
    pub balances: AccountBalances,
}

/// Why a transfer happened. Each code fixes which account kinds it may move goods
/// between (see [`TransferCode::allows`]); `correction` may connect any two kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferCode {
    /// First line, abroad/Macao → stock (一线进境). `outside → stock`.
    FirstLineEntry,
    /// Back across the first line (出境/复出口). `stock → outside`.
    Export,
    /// Second line into the customs territory (二线出区). `stock → mainland`.
    SecondLineExit,
    /// From the customs territory into the zone (二线进区). `mainland → stock`.
    MainlandEntry,
    /// Transfer to or from another zone / enterprise (区间/区内流转). `stock ↔ other_zone`.
    ZoneTransfer,
    /// Materials used up in processing (料件耗用). `stock → consumed`.
    ProcessingConsume,
    /// Finished goods from processing (成品产出). `produced → stock`.
    ProcessingProduce,
    /// Goods out on exhibition. `stock → exhibited`.
    ExhibitionOut,
    /// Exhibited goods returned. `exhibited → stock`.
    ExhibitionBack,
    /// Exhibited goods sold into the customs territory. `exhibited → mainland`.
    ExhibitionSale,
    /// Goods leased out. `stock → leased`.
    LeaseOut,
    /// Leased goods returned. `leased → stock`.
    LeaseReturn,
    /// Approved destruction / scrapping (核销 of damaged goods). `stock → written_off`.
    WriteOff,
    /// Stock-count shortage. `stock → adjustment`.
    StocktakeShortage,
    /// Stock-count surplus. `adjustment → stock`.
    StocktakeSurplus,
    /// Correction of an earlier posted transfer; any two kinds.
    Correction,
}

impl TransferCode {
    /// All codes in declaration order.
    pub const ALL: [TransferCode; 16] = [
        TransferCode::FirstLineEntry,
        TransferCode::Export,
        TransferCode::SecondLineExit,
        TransferCode::MainlandEntry,
        TransferCode::ZoneTransfer,
        TransferCode::ProcessingConsume,
        TransferCode::ProcessingProduce,
        TransferCode::ExhibitionOut,
        TransferCode::ExhibitionBack,
        TransferCode::ExhibitionSale,
        TransferCode::LeaseOut,
        TransferCode::LeaseReturn,
        TransferCode::WriteOff,
        TransferCode::StocktakeShortage,
        TransferCode::StocktakeSurplus,
        TransferCode::Correction,
    ];

    /// Whether the code may move goods from a `debit` account kind to a `credit` kind.
    pub fn allows(self, debit: AccountKind, credit: AccountKind) -> bool {
        use AccountKind as K;
        use TransferCode as C;
        match self {
            C::FirstLineEntry => debit == K::Outside && credit == K::Stock,
            C::Export => debit == K::Stock && credit == K::Outside,
            C::SecondLineExit => debit == K::Stock && credit == K::Mainland,
            C::MainlandEntry => debit == K::Mainland && credit == K::Stock,
            C::ZoneTransfer => {
                (debit == K::Stock && credit == K::OtherZone) || (debit == K::OtherZone && credit == K::Stock)
            }
            C::ProcessingConsume => debit == K::Stock && credit == K::Consumed,
            C::ProcessingProduce => debit == K::Produced && credit == K::Stock,
            C::ExhibitionOut => debit == K::Stock && credit == K::Exhibited,
            C::ExhibitionBack => debit == K::Exhibited && credit == K::Stock,
            C::ExhibitionSale => debit == K::Exhibited && credit == K::Mainland,
            C::LeaseOut => debit == K::Stock && credit == K::Leased,
            C::LeaseReturn => debit == K::Leased && credit == K::Stock,
            C::WriteOff => debit == K::Stock && credit == K::WrittenOff,
            C::StocktakeShortage => debit == K::Stock && credit == K::Adjustment,
            C::StocktakeSurplus => debit == K::Adjustment && credit == K::Stock,
            C::Correction => true,
        }
    }
}

/// Transfer flags. At most one of `pending`, `post_pending`, `void_pending` may be set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TransferFlags {
    /// This transfer is linked to the next one in the batch: the chain ends at the
    /// first transfer without this flag and commits all-or-nothing.
    pub linked: bool,
    /// Reserve the amounts (two-phase, first phase): counts against the debit
    /// account's available balance but is not yet posted.
    pub pending: bool,
    /// Post the pending transfer `pending_id`, for at most its amounts; the
    /// unposted remainder is released.
    pub post_pending: bool,
    /// Void the pending transfer `pending_id`, releasing the whole reservation.
    pub void_pending: bool,
}

/// A movement of goods between two accounts of the same ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Caller-chosen unique id (non-zero).
    pub id: TransferId,
    /// Account the goods leave.
    pub debit_account_id: AccountId,
    /// Account the goods arrive in.
    pub credit_account_id: AccountId,
    /// Quantity in the ledger item's smallest unit.
    pub quantity: u64,
    /// Value in fen.
    pub value_fen: u64,
    /// For `post_pending` / `void_pending`: the pending transfer acted on.
    pub pending_id: Option<TransferId>,
    /// Why the goods moved.
    pub code: TransferCode,
    /// Document that caused the movement: 核注清单 number, 核放单 number, declaration id.
    pub reference: String,
    /// Business time supplied by the caller (the ledger never reads a clock).
    pub timestamp: DateTime<Utc>,
    /// Flags.
    pub flags: TransferFlags,
}

impl Transfer {
    /// A single-phase (immediately posted) transfer with no flags.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: u128,
        debit: AccountId,
        credit: AccountId,
        quantity: u64,
        value_fen: u64,
        code: TransferCode,
        reference: impl Into<String>,
        timestamp: DateTime<Utc>,
    ) -> Self {
        Self {
            id: TransferId(id),
            debit_account_id: debit,
            credit_account_id: credit,
            quantity,
            value_fen,
            pending_id: None,
            code,
            reference: reference.into(),
            timestamp,
            flags: TransferFlags::default(),
        }
    }

    /// Marks this transfer as a pending reservation.
    pub fn pending(mut self) -> Self {
        self.flags.pending = true;
        self
    }

    /// Marks this transfer as linked to the next one in the batch.
    pub fn linked(mut self) -> Self {
        self.flags.linked = true;
        self
    }

    /// A transfer posting `quantity` / `value_fen` of the pending transfer `pending`.
    pub fn post_of(
        id: u128,
        pending: &Transfer,
        quantity: u64,
        value_fen: u64,
        reference: impl Into<String>,
        timestamp: DateTime<Utc>,
    ) -> Self {
        let mut t = Transfer::new(
            id,
            pending.debit_account_id,
            pending.credit_account_id,
            quantity,
            value_fen,
            pending.code,
            reference,
            timestamp,
        );
        t.pending_id = Some(pending.id);
        t.flags.post_pending = true;
        t
    }

    /// A transfer voiding the pending transfer `pending` (amounts zero).
    pub fn void_of(id: u128, pending: &Transfer, reference: impl Into<String>, timestamp: DateTime<Utc>) -> Self {
        let mut t = Transfer::post_of(id, pending, 0, 0, reference, timestamp);
        t.flags.post_pending = false;
        t.flags.void_pending = true;
        t
    }
}

/// State of a pending transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingStatus {
    /// Reserved, awaiting post or void.
    Pending,
    /// Posted (fully or partially) by the given transfer.
    Posted,
    /// Voided.
    Voided,
}

/// Result of a successfully processed transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Applied {
    /// The transfer was new and has been applied.
    Created,
    /// An identical transfer with this id already existed; nothing changed.
    AlreadyExists,
}
