//! What this process remembers about API tokens and accounts, so that authenticating a request does not
//! read the store every time.
//!
//! Two maps: token id → (SHA-256 of the secret, user id, expiry, revoked) and user id → the principal of an
//! *active* account. Only what the store said is remembered, never a refusal: an unknown token id or an
//! inactive or unknown account is looked up again on every request, so a token issued or an account
//! (re)activated elsewhere is never refused because of this memory.
//!
//! Freshness:
//! - In this process every write that changes an entry forgets it at once ([`CredentialCache::forget_token`],
//!   [`CredentialCache::forget_user`]). A generation number, bumped by every forget, keeps a lookup that
//!   raced a write from storing what it read before the write.
//! - Other processes sharing the database (multi-node deployments) cannot tell this one; their writes are
//!   seen once an entry is older than [`CREDENTIAL_CACHE_TTL_MILLIS`] by the app's clock. An entry whose time
//!   lies in the future of the clock (the clock went back) is stale too.
//! - Expiry and revocation are checked on every use, against the app's clock, from the entry itself.
//!
//! Memory is bounded: past [`CREDENTIALS_CACHED_MAX`] entries in a map, stale entries are dropped, and if
//! that is not enough the map is cleared.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use zonegate_auth::credentials;
use zonegate_auth::Principal;
use zonegate_store::TokenRecord;

/// How long (milliseconds, by the app's clock) a remembered token or principal is trusted without reading
/// the store again.
///
/// This bounds how late a revocation, deactivation or role change made by *another* process sharing the
/// database takes effect here (changes made by this process take effect at once). Shorter means fresher
/// across nodes but more store reads: at 2 s, a node serving thousands of requests per second with a
/// handful of tokens reads each token and account about once every 2 s instead of on every request, and a
/// revocation on another node is honoured everywhere within 2 s.
pub const CREDENTIAL_CACHE_TTL_MILLIS: i64 = 2_000;

/// Most tokens, and most principals, remembered at once.
pub const CREDENTIALS_CACHED_MAX: usize = 10_000;

/// What the store said about a token.
struct CachedToken {
    secret_sha256: String,
    user_id: String,
    expires_at: DateTime<Utc>,
    revoked: bool,
    cached_at: DateTime<Utc>,
}

struct CachedPrincipal {
    principal: Principal,
    cached_at: DateTime<Utc>,
}

#[derive(Default)]
struct Remembered {
    /// Bumped by every forget; a lookup stores what it read only if no forget happened since it began.
    generation: u64,
    tokens: HashMap<String, CachedToken>,
    principals: HashMap<String, CachedPrincipal>,
}

/// The answer about a presented token from memory.
pub(crate) enum TokenCheck {
    /// Nothing fresh is remembered: read the store.
    Unknown,
    /// The secret does not match, or the token is revoked or expired.
    Refused,
    /// The token is good; it acts as this user (whose account must still be checked).
    User(String),
}

fn fresh(cached_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    cached_at <= now && now - cached_at < Duration::milliseconds(CREDENTIAL_CACHE_TTL_MILLIS)
}

/// Makes room for one more entry: drops the stale ones, and everything if that is not enough.
fn make_room<V>(map: &mut HashMap<String, V>, cached_at: impl Fn(&V) -> DateTime<Utc>, now: DateTime<Utc>) {
    if map.len() >= CREDENTIALS_CACHED_MAX {
        map.retain(|_, value| fresh(cached_at(value), now));
        if map.len() >= CREDENTIALS_CACHED_MAX {
            map.clear();
        }
    }
}

/// The credential memory of one [`crate::App`].
#[derive(Default)]
pub(crate) struct CredentialCache {
    inner: Mutex<Remembered>,
}

impl CredentialCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Remembered> {
        // Nothing panics while holding the lock; a poisoned one still holds consistent maps.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The generation to pass to the `remember_*` calls after a store read that starts now.
    pub(crate) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Checks a presented token (its id and the SHA-256 of its secret) against a fresh remembered record.
    pub(crate) fn check_token(&self, token_id: &str, secret_sha256: &str, now: DateTime<Utc>) -> TokenCheck {
        let remembered = self.lock();
        let Some(token) = remembered.tokens.get(token_id).filter(|t| fresh(t.cached_at, now)) else {
            return TokenCheck::Unknown;
        };
        let genuine = credentials::constant_time_eq(&token.secret_sha256, secret_sha256);
        if !genuine || token.revoked || token.expires_at <= now {
            TokenCheck::Refused
        } else {
            TokenCheck::User(token.user_id.clone())
        }
    }

    /// Remembers a token record read from the store, unless something was forgotten since `generation`.
    pub(crate) fn remember_token(&self, generation: u64, record: &TokenRecord, now: DateTime<Utc>) {
        let mut remembered = self.lock();
        if remembered.generation != generation {
            return;
        }
        make_room(&mut remembered.tokens, |t| t.cached_at, now);
        remembered.tokens.insert(
            record.token_id.clone(),
            CachedToken {
                secret_sha256: record.secret_sha256.clone(),
                user_id: record.user_id.clone(),
                expires_at: record.expires_at,
                revoked: record.revoked.is_some(),
                cached_at: now,
            },
        );
    }

    /// The fresh remembered principal of an active account.
    pub(crate) fn principal(&self, user_id: &str, now: DateTime<Utc>) -> Option<Principal> {
        let remembered = self.lock();
        remembered.principals.get(user_id).filter(|p| fresh(p.cached_at, now)).map(|p| p.principal.clone())
    }

    /// Remembers the principal of an account read from the store as active, unless something was forgotten
    /// since `generation`.
    pub(crate) fn remember_principal(&self, generation: u64, principal: &Principal, now: DateTime<Utc>) {
        let mut remembered = self.lock();
        if remembered.generation != generation {
            return;
        }
        make_room(&mut remembered.principals, |p| p.cached_at, now);
        remembered
            .principals
            .insert(principal.user_id.clone(), CachedPrincipal { principal: principal.clone(), cached_at: now });
    }

    /// Forgets a token (issued, revoked): the next use reads the store.
    pub(crate) fn forget_token(&self, token_id: &str) {
        let mut remembered = self.lock();
        remembered.generation += 1;
        remembered.tokens.remove(token_id);
    }

    /// Forgets an account's principal (created, deactivated, reactivated, roles, party or password changed):
    /// the next request of any of its tokens or sessions reads the account from the store.
    pub(crate) fn forget_user(&self, user_id: &str) {
        let mut remembered = self.lock();
        remembered.generation += 1;
        remembered.principals.remove(user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use zonegate_auth::{PartyKind, Role};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
    }

    fn record(token_id: &str) -> TokenRecord {
        TokenRecord {
            token_id: token_id.into(),
            user_id: "clerk".into(),
            name: "erp".into(),
            secret_sha256: credentials::sha256_hex("secret"),
            issued_by: "clerk".into(),
            issued_at: now(),
            expires_at: now() + Duration::days(1),
            revoked: None,
        }
    }

    fn principal(user_id: &str) -> Principal {
        Principal {
            user_id: user_id.into(),
            party: "91440400MA55H0P10R".into(),
            party_kind: PartyKind::Enterprise,
            roles: vec![Role::Declarant],
        }
    }

    #[test]
    fn a_remembered_token_is_checked_and_goes_stale() {
        let cache = CredentialCache::default();
        let sha = credentials::sha256_hex("secret");
        assert!(matches!(cache.check_token("t1", &sha, now()), TokenCheck::Unknown));
        cache.remember_token(cache.generation(), &record("t1"), now());
        assert!(matches!(cache.check_token("t1", &sha, now()), TokenCheck::User(user) if user == "clerk"));
        let wrong = credentials::sha256_hex("other");
        assert!(matches!(cache.check_token("t1", &wrong, now()), TokenCheck::Refused));
        let later = now() + Duration::milliseconds(CREDENTIAL_CACHE_TTL_MILLIS);
        assert!(matches!(cache.check_token("t1", &sha, later), TokenCheck::Unknown));
        // A clock that went back does not trust an entry from its future.
        assert!(matches!(cache.check_token("t1", &sha, now() - Duration::seconds(1)), TokenCheck::Unknown));
    }

    #[test]
    fn a_lookup_that_raced_a_forget_is_not_remembered() {
        let cache = CredentialCache::default();
        let before = cache.generation();
        cache.forget_token("t1");
        cache.remember_token(before, &record("t1"), now());
        assert!(matches!(cache.check_token("t1", &credentials::sha256_hex("secret"), now()), TokenCheck::Unknown));
        let before = cache.generation();
        cache.forget_user("clerk");
        cache.remember_principal(before, &principal("clerk"), now());
        assert_eq!(cache.principal("clerk", now()), None);
        cache.remember_principal(cache.generation(), &principal("clerk"), now());
        assert_eq!(cache.principal("clerk", now()), Some(principal("clerk")));
        cache.forget_user("clerk");
        assert_eq!(cache.principal("clerk", now()), None);
    }

    #[test]
    fn memory_is_bounded() {
        let cache = CredentialCache::default();
        for n in 0..CREDENTIALS_CACHED_MAX + 5 {
            cache.remember_token(cache.generation(), &record(&format!("t{n}")), now());
            cache.remember_principal(cache.generation(), &principal(&format!("u{n}")), now());
        }
        assert!(cache.lock().tokens.len() <= CREDENTIALS_CACHED_MAX);
        assert!(cache.lock().principals.len() <= CREDENTIALS_CACHED_MAX);
    }
}
