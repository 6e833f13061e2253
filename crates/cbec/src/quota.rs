//! Buyers' annual quotas (domain-rules.md §3): the transaction value counted against the annual limit
//! (26,000 CNY a person a year since 2019) and the net weight counted against the positive list's
//! per-person caps (sugar 2 kg, rice 20 kg), kept as TigerBeetle-style reservations in memory.
//!
//! An order's amount is first **reserved** (pending) when its documents are accepted, then **posted** when
//! its list is released, or **voided** when it is cancelled; a posted amount is **restored** (in full or in
//! part) when goods are returned. Every operation checks first and changes nothing on error, so the book
//! never holds more than the limit in force when each reservation was made. Reservation ids are the
//! caller's (e.g. the order's log sequence number) and are unique for ever: an id used twice is refused.
//!
//! Sizing: an account is keyed by the 16 bytes of the buyer key and the year (18 bytes) and holds two
//! `i64`s; cap balances live in a second map holding only buyers who bought capped goods, so ten million
//! buyers take roughly 40 bytes a slot. The maps use a fixed multiplicative hash: buyer keys are already
//! SHA-256 output, and a fixed hash keeps the book deterministic.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use crate::tax::Limits;

/// A reservation against a buyer's quota for a year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The caller's id for it (e.g. the order's log sequence number); never reused.
    pub id: u64,
    /// The buyer key ([`crate::identity::ResidentId::buyer_key`]): 32 hexadecimal digits.
    pub buyer: String,
    /// The calendar year counted against.
    pub year: i32,
    /// Transaction value, fen.
    pub amount_fen: i64,
    /// Net weight per cap id (`sugar`, `rice`), grams.
    pub caps: Vec<(String, i64)>,
}

/// Why an operation was refused (nothing changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaError {
    /// The annual limit would be exceeded: `used_fen` (posted + pending) + `amount_fen` > `limit_fen`.
    OverAnnual {
        used_fen: i64,
        amount_fen: i64,
        limit_fen: i64,
    },
    /// A per-person cap would be exceeded.
    OverCap {
        cap: String,
        used_g: i64,
        amount_g: i64,
        limit_g: i64,
    },
    /// The reservation names a cap whose limit is not known.
    UnknownCap(String),
    Unknown(u64),
    NotPending(u64),
    NotPosted(u64),
    AlreadyExists(u64),
    /// A return of more than is still posted for the reservation (`what`: `amount` or a cap id).
    RestoreExceeds {
        id: u64,
        what: String,
        requested: i64,
        remaining: i64,
    },
    /// An amount or weight below zero.
    NegativeAmount,
    /// The buyer key is not 32 hexadecimal digits.
    InvalidBuyer(String),
    /// The year is outside 0..=65535.
    InvalidYear(i32),
}

impl QuotaError {
    /// Stable machine-readable name.
    pub fn code(&self) -> &'static str {
        match self {
            QuotaError::OverAnnual { .. } => "cbec.annual_limit",
            QuotaError::OverCap { .. } => "cbec.per_person_cap",
            QuotaError::UnknownCap(_) => "cbec.cap_unknown",
            QuotaError::Unknown(_) => "cbec.reservation_unknown",
            QuotaError::NotPending(_) => "cbec.reservation_not_pending",
            QuotaError::NotPosted(_) => "cbec.reservation_not_posted",
            QuotaError::AlreadyExists(_) => "cbec.reservation_exists",
            QuotaError::RestoreExceeds { .. } => "cbec.restore_exceeds",
            QuotaError::NegativeAmount => "cbec.amount_negative",
            QuotaError::InvalidBuyer(_) => "cbec.buyer_key_invalid",
            QuotaError::InvalidYear(_) => "cbec.year_invalid",
        }
    }
}

impl std::fmt::Display for QuotaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cny = |fen: &i64| crate::tax::fen_to_cny(*fen);
        match self {
            QuotaError::OverAnnual { used_fen, amount_fen, limit_fen } => write!(
                f,
                "the annual limit of `{}` CNY would be exceeded: `{}` CNY used and `{}` CNY more",
                cny(limit_fen),
                cny(used_fen),
                cny(amount_fen)
            ),
            QuotaError::OverCap { cap, used_g, amount_g, limit_g } => write!(
                f,
                "the per-person cap `{cap}` of `{limit_g}` g a year would be exceeded: `{used_g}` g used and `{amount_g}` g more"
            ),
            QuotaError::UnknownCap(cap) => write!(f, "cap `{cap}` has no limit in force"),
            QuotaError::Unknown(id) => write!(f, "reservation `{id}` is unknown"),
            QuotaError::NotPending(id) => write!(f, "reservation `{id}` is not pending"),
            QuotaError::NotPosted(id) => write!(f, "reservation `{id}` is not posted"),
            QuotaError::AlreadyExists(id) => write!(f, "reservation `{id}` already exists"),
            QuotaError::RestoreExceeds { id, what, requested, remaining } => write!(
                f,
                "reservation `{id}` has `{remaining}` of `{what}` posted, less than the `{requested}` to restore"
            ),
            QuotaError::NegativeAmount => f.write_str("amounts and weights must not be below zero"),
            QuotaError::InvalidBuyer(buyer) => write!(f, "`{buyer}` is not a buyer key of 32 hexadecimal digits"),
            QuotaError::InvalidYear(year) => write!(f, "`{year}` is not a year"),
        }
    }
}

impl std::error::Error for QuotaError {}

/// Where a reservation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationState {
    Pending,
    Posted,
    Voided,
}

/// A buyer's year, as seen from outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaView {
    pub posted_fen: i64,
    pub pending_fen: i64,
    /// Every cap the buyer has used this year, by cap id.
    pub caps: Vec<CapView>,
}

impl QuotaView {
    /// What `limits` leave: `annual − posted − pending`, never below zero.
    pub fn available_fen(&self, limits: &Limits) -> i64 {
        limits.annual_fen.saturating_sub(self.posted_fen.saturating_add(self.pending_fen)).max(0)
    }
}

/// A buyer's use of one cap in a year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapView {
    pub cap: String,
    pub posted_g: i64,
    pub pending_g: i64,
}

/// Buyer key (16 bytes) and year (little-endian `u16`).
type AccountKey = [u8; 18];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Balance {
    posted: i64,
    pending: i64,
}

impl Balance {
    fn used(self) -> i64 {
        self.posted.saturating_add(self.pending)
    }
}

#[derive(Debug, Clone, Copy)]
struct CapLine {
    cap: u16,
    grams: i64,
    restored: i64,
}

#[derive(Debug, Clone)]
struct Held {
    account: AccountKey,
    state: ReservationState,
    amount_fen: i64,
    restored_fen: i64,
}

/// A fixed multiplicative hash (as FxHash): fast on keys that are already random, deterministic.
#[derive(Debug, Clone, Copy, Default)]
struct KeyHasher(u64);

impl KeyHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        // A final avalanche (MurmurHash3's fmix64), so that the low bits the table indexes by depend on
        // every input bit, whatever the keys look like.
        let mut hash = self.0;
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        hash ^ (hash >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.mix(value);
    }
    fn write_u16(&mut self, value: u16) {
        self.mix(u64::from(value));
    }
    fn write_usize(&mut self, value: usize) {
        self.mix(value as u64);
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<KeyHasher>>;

/// Every buyer's quota, in memory.
#[derive(Debug, Clone, Default)]
pub struct QuotaBook {
    accounts: FastMap<AccountKey, Balance>,
    caps: FastMap<(AccountKey, u16), Balance>,
    /// Cap ids, interned: position = the `u16` above.
    cap_ids: Vec<String>,
    reservations: FastMap<u64, Held>,
    /// The cap weights of the reservations that have any, by reservation id.
    reservation_caps: FastMap<u64, Box<[CapLine]>>,
}

fn account_key(buyer: &str, year: i32) -> Result<AccountKey, QuotaError> {
    let invalid = || QuotaError::InvalidBuyer(buyer.to_owned());
    if buyer.len() != 32 {
        return Err(invalid());
    }
    let mut key = [0u8; 18];
    hex::decode_to_slice(buyer, &mut key[..16]).map_err(|_| invalid())?;
    let year = u16::try_from(year).map_err(|_| QuotaError::InvalidYear(year))?;
    key[16..].copy_from_slice(&year.to_le_bytes());
    Ok(key)
}

/// The caps of a reservation, each id once (weights of a repeated id added up), sorted by id.
fn merged_caps(caps: &[(String, i64)]) -> Result<BTreeMap<&str, i64>, QuotaError> {
    let mut merged: BTreeMap<&str, i64> = BTreeMap::new();
    for (cap, grams) in caps {
        if *grams < 0 {
            return Err(QuotaError::NegativeAmount);
        }
        let total = merged.entry(cap.as_str()).or_insert(0);
        *total = total.saturating_add(*grams);
    }
    Ok(merged)
}

impl QuotaBook {
    pub fn new() -> QuotaBook {
        QuotaBook::default()
    }

    /// An empty book with room for `accounts` (buyer, year) accounts and `reservations` reservations
    /// without growing (growing a table briefly needs the old and the new one).
    pub fn with_capacity(accounts: usize, reservations: usize) -> QuotaBook {
        QuotaBook {
            accounts: FastMap::with_capacity_and_hasher(accounts, Default::default()),
            reservations: FastMap::with_capacity_and_hasher(reservations, Default::default()),
            ..QuotaBook::default()
        }
    }

    fn cap_index(&self, cap: &str) -> Option<u16> {
        self.cap_ids.iter().position(|id| id == cap).and_then(|index| u16::try_from(index).ok())
    }

    fn intern(&mut self, cap: &str) -> u16 {
        if let Some(index) = self.cap_index(cap) {
            return index;
        }
        self.cap_ids.push(cap.to_owned());
        u16::try_from(self.cap_ids.len() - 1).unwrap_or(u16::MAX)
    }

    fn cap_balance(&self, account: &AccountKey, cap: &str) -> Balance {
        self.cap_index(cap).and_then(|index| self.caps.get(&(*account, index)).copied()).unwrap_or_default()
    }

    /// Would `reservation` fit: posted + pending + amount within the annual limit, and for each cap
    /// posted + pending + grams within the cap's limit (`caps`: each cap's limit in grams by cap id, as
    /// [`crate::positive::PositiveList::cap_limits_g`] returns them; a cap missing there is refused).
    pub fn check(
        &self,
        reservation: &Reservation,
        limits: &Limits,
        caps: &HashMap<String, i64>,
    ) -> Result<(), QuotaError> {
        self.checked(reservation, limits, caps).map(|_| ())
    }

    fn checked<'r>(
        &self,
        reservation: &'r Reservation,
        limits: &Limits,
        caps: &HashMap<String, i64>,
    ) -> Result<(AccountKey, BTreeMap<&'r str, i64>), QuotaError> {
        if reservation.amount_fen < 0 {
            return Err(QuotaError::NegativeAmount);
        }
        let merged = merged_caps(&reservation.caps)?;
        let account = account_key(&reservation.buyer, reservation.year)?;
        let used_fen = self.accounts.get(&account).copied().unwrap_or_default().used();
        if used_fen.saturating_add(reservation.amount_fen) > limits.annual_fen {
            return Err(QuotaError::OverAnnual {
                used_fen,
                amount_fen: reservation.amount_fen,
                limit_fen: limits.annual_fen,
            });
        }
        for (&cap, &amount_g) in &merged {
            let limit_g = caps.get(cap).copied().ok_or_else(|| QuotaError::UnknownCap(cap.to_owned()))?;
            let used_g = self.cap_balance(&account, cap).used();
            if used_g.saturating_add(amount_g) > limit_g {
                return Err(QuotaError::OverCap { cap: cap.to_owned(), used_g, amount_g, limit_g });
            }
        }
        Ok((account, merged))
    }

    /// Checks `reservation` and holds its amounts as pending.
    pub fn reserve(
        &mut self,
        reservation: &Reservation,
        limits: &Limits,
        caps: &HashMap<String, i64>,
    ) -> Result<(), QuotaError> {
        if self.reservations.contains_key(&reservation.id) {
            return Err(QuotaError::AlreadyExists(reservation.id));
        }
        let (account, merged) = self.checked(reservation, limits, caps)?;
        self.hold(reservation.id, account, reservation.amount_fen, merged);
        Ok(())
    }

    /// Holds a reservation as pending without checking the limits: for replaying reservations accepted
    /// before (the limits they were checked against may have changed since). Still refuses a repeated id,
    /// a bad buyer key or year and negative amounts, changing nothing.
    pub fn reserve_unchecked(&mut self, reservation: Reservation) -> Result<(), QuotaError> {
        if self.reservations.contains_key(&reservation.id) {
            return Err(QuotaError::AlreadyExists(reservation.id));
        }
        if reservation.amount_fen < 0 {
            return Err(QuotaError::NegativeAmount);
        }
        let merged = merged_caps(&reservation.caps)?;
        let account = account_key(&reservation.buyer, reservation.year)?;
        self.hold(reservation.id, account, reservation.amount_fen, merged);
        Ok(())
    }

    fn hold(&mut self, id: u64, account: AccountKey, amount_fen: i64, merged: BTreeMap<&str, i64>) {
        let balance = self.accounts.entry(account).or_default();
        balance.pending = balance.pending.saturating_add(amount_fen);
        let mut lines = Vec::with_capacity(merged.len());
        for (cap, grams) in merged {
            let index = self.intern(cap);
            let balance = self.caps.entry((account, index)).or_default();
            balance.pending = balance.pending.saturating_add(grams);
            lines.push(CapLine { cap: index, grams, restored: 0 });
        }
        if !lines.is_empty() {
            self.reservation_caps.insert(id, lines.into_boxed_slice());
        }
        self.reservations.insert(id, Held { account, state: ReservationState::Pending, amount_fen, restored_fen: 0 });
    }

    fn pending(&self, id: u64) -> Result<&Held, QuotaError> {
        let held = self.reservations.get(&id).ok_or(QuotaError::Unknown(id))?;
        if held.state != ReservationState::Pending {
            return Err(QuotaError::NotPending(id));
        }
        Ok(held)
    }

    /// Settles a pending reservation in the buyer's totals (the list was released).
    pub fn post(&mut self, id: u64) -> Result<(), QuotaError> {
        self.settle(id, ReservationState::Posted)
    }

    /// Cancels a pending reservation.
    pub fn void(&mut self, id: u64) -> Result<(), QuotaError> {
        self.settle(id, ReservationState::Voided)
    }

    fn settle(&mut self, id: u64, to: ReservationState) -> Result<(), QuotaError> {
        self.pending(id)?;
        let Some(held) = self.reservations.get_mut(&id) else { return Err(QuotaError::Unknown(id)) };
        held.state = to;
        let posting = to == ReservationState::Posted;
        let move_amount = |balance: &mut Balance, amount: i64| {
            balance.pending = balance.pending.saturating_sub(amount);
            if posting {
                balance.posted = balance.posted.saturating_add(amount);
            }
        };
        move_amount(self.accounts.entry(held.account).or_default(), held.amount_fen);
        for line in self.reservation_caps.get(&id).into_iter().flat_map(|lines| lines.iter()) {
            move_amount(self.caps.entry((held.account, line.cap)).or_default(), line.grams);
        }
        Ok(())
    }

    /// Returns goods: takes `amount_fen` and the given cap weights (grams) off what the posted reservation
    /// counts, in full or in part; the reservation's remaining posted amounts bound each.
    pub fn restore(&mut self, id: u64, amount_fen: i64, caps: &[(String, i64)]) -> Result<(), QuotaError> {
        let held = self.reservations.get(&id).ok_or(QuotaError::Unknown(id))?;
        if held.state != ReservationState::Posted {
            return Err(QuotaError::NotPosted(id));
        }
        if amount_fen < 0 {
            return Err(QuotaError::NegativeAmount);
        }
        let merged = merged_caps(caps)?;
        let remaining = held.amount_fen - held.restored_fen;
        if amount_fen > remaining {
            return Err(QuotaError::RestoreExceeds { id, what: "amount".into(), requested: amount_fen, remaining });
        }
        let lines: &[CapLine] = self.reservation_caps.get(&id).map_or(&[], |lines| lines);
        let mut changes = Vec::with_capacity(merged.len());
        for (cap, grams) in merged {
            let line = self.cap_index(cap).and_then(|index| lines.iter().position(|line| line.cap == index));
            let remaining = line.and_then(|at| lines.get(at)).map_or(0, |line| line.grams - line.restored);
            if grams > remaining {
                return Err(QuotaError::RestoreExceeds { id, what: cap.to_owned(), requested: grams, remaining });
            }
            if let Some(at) = line {
                changes.push((at, grams));
            }
        }
        let Some(held) = self.reservations.get_mut(&id) else { return Err(QuotaError::Unknown(id)) };
        held.restored_fen += amount_fen;
        let balance = self.accounts.entry(held.account).or_default();
        balance.posted = balance.posted.saturating_sub(amount_fen);
        let account = held.account;
        let Some(lines) = self.reservation_caps.get_mut(&id) else { return Ok(()) };
        for (at, grams) in changes {
            if let Some(line) = lines.get_mut(at) {
                line.restored += grams;
                let balance = self.caps.entry((account, line.cap)).or_default();
                balance.posted = balance.posted.saturating_sub(grams);
            }
        }
        Ok(())
    }

    /// A buyer's year, or `None` when nothing was ever reserved for it (or the key is bad).
    pub fn account(&self, buyer: &str, year: i32) -> Option<QuotaView> {
        let key = account_key(buyer, year).ok()?;
        let balance = self.accounts.get(&key)?;
        let caps = self
            .cap_ids
            .iter()
            .enumerate()
            .filter_map(|(index, cap)| {
                let balance = self.caps.get(&(key, u16::try_from(index).ok()?))?;
                Some(CapView { cap: cap.clone(), posted_g: balance.posted, pending_g: balance.pending })
            })
            .collect();
        Some(QuotaView { posted_fen: balance.posted, pending_fen: balance.pending, caps })
    }

    /// Drops a posted or voided reservation that can no longer change (e.g. once the return window after
    /// release has closed), freeing its memory; the account keeps its totals. The id becomes unknown, so a
    /// caller whose ids are not monotonic must not reuse it. A pending reservation is refused.
    pub fn forget(&mut self, id: u64) -> Result<(), QuotaError> {
        let held = self.reservations.get(&id).ok_or(QuotaError::Unknown(id))?;
        if held.state == ReservationState::Pending {
            return Err(QuotaError::NotPosted(id));
        }
        self.reservations.remove(&id);
        self.reservation_caps.remove(&id);
        Ok(())
    }

    /// Where a reservation stands.
    pub fn state(&self, id: u64) -> Option<ReservationState> {
        self.reservations.get(&id).map(|held| held.state)
    }

    /// Number of (buyer, year) accounts.
    pub fn accounts(&self) -> usize {
        self.accounts.len()
    }

    /// Number of reservations ever made.
    pub fn reservations(&self) -> usize {
        self.reservations.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_pack_buyer_and_year() {
        let key = account_key("00112233445566778899aabbccddeeff", 2026).unwrap();
        assert_eq!(key[0], 0x00);
        assert_eq!(key[15], 0xff);
        assert_eq!(u16::from_le_bytes([key[16], key[17]]), 2026);
        assert!(matches!(account_key("xyz", 2026), Err(QuotaError::InvalidBuyer(_))));
        assert!(matches!(account_key("00112233445566778899aabbccddeefg", 2026), Err(QuotaError::InvalidBuyer(_))));
        assert_eq!(account_key("00112233445566778899aabbccddeeff", -1), Err(QuotaError::InvalidYear(-1)));
    }

    #[test]
    fn the_account_slot_stays_small() {
        assert_eq!(std::mem::size_of::<(AccountKey, Balance)>(), 40);
        assert_eq!(std::mem::size_of::<(u64, Held)>(), 48);
    }
}
