//! Accounts, sessions and API tokens: who the caller is, before [`App::authorize`] says what they may do.
//!
//! People log in with a password (Argon2id) and get a session; systems use API tokens (shown once, stored as
//! SHA-256, expiring, revocable). A deactivated account's sessions and tokens stop working at once, because
//! every request resolves its principal from the current account version — read from the store, or from
//! the [`crate::credential_cache`], which every write here updates at once and which other processes'
//! writes reach within [`crate::credential_cache::CREDENTIAL_CACHE_TTL_MILLIS`]. Personal data (display
//! name, ID number) is kept in the account record only: never in events, errors or logs.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use zonegate_auth::credentials::{self, NewToken};
use zonegate_auth::{Action, PartyKind, Principal, Resource, Role};
use zonegate_domain::{FieldErrors, Uscc};
use zonegate_store::{AccountRecord, SessionRecord, StoreError, TokenRecord};

use crate::credential_cache::TokenCheck;
use crate::{App, AppError, AppResult};

/// How long a login session lasts, from login.
pub const SESSION_HOURS: i64 = 8;
/// Longest and default lifetime of an API token.
pub const TOKEN_DAYS_MAX: i64 = 366;
pub const TOKEN_DAYS_DEFAULT: i64 = 90;

/// A request to create an account, as the API takes it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    pub user_id: Option<String>,
    pub party: Option<String>,
    pub party_kind: Option<String>,
    pub roles: Option<Vec<String>>,
    /// Absent for a system account (tokens only).
    pub password: Option<String>,
    pub display_name: Option<String>,
    pub id_number: Option<String>,
}

/// A request to issue an API token.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    /// The account the token acts as; the caller's own when absent.
    pub user_id: Option<String>,
    pub name: Option<String>,
    pub expires_in_days: Option<i64>,
}

/// A started session: `secret` goes into the cookie and is not kept.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub secret: String,
    pub principal: Principal,
    pub expires_at: DateTime<Utc>,
}

fn valid_user_id(user_id: &str) -> bool {
    let bytes = user_id.as_bytes();
    (3..=64).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
}

/// Party ids other than USCCs read `<kind>:<name>` with a lowercase name.
fn valid_party(kind: PartyKind, party: &str) -> Result<(), String> {
    match kind {
        PartyKind::Enterprise => Uscc::parse(party).map(|_| ()).map_err(|e| e.message),
        _ => {
            let prefix = format!("{}:", kind.as_str());
            match party.strip_prefix(&prefix) {
                Some(name) if valid_user_id(name) => Ok(()),
                _ => Err(format!("a {kind} party reads `{prefix}<name>` with a lowercase name of 3-64 characters")),
            }
        }
    }
}

/// The principal an account acts as.
pub fn principal_of(account: &AccountRecord) -> AppResult<Principal> {
    let party_kind = PartyKind::parse(&account.party_kind).ok_or_else(|| {
        AppError::Internal(format!("account `{}` has party kind `{}`", account.user_id, account.party_kind))
    })?;
    let roles = account
        .roles
        .iter()
        .map(|role| {
            Role::parse(role)
                .filter(|role| party_kind.roles().contains(role))
                .ok_or_else(|| AppError::Internal(format!("account `{}` has role `{role}`", account.user_id)))
        })
        .collect::<AppResult<Vec<Role>>>()?;
    Ok(Principal { user_id: account.user_id.clone(), party: account.party.clone(), party_kind, roles })
}

fn account_resource(account: &AccountRecord) -> AppResult<Resource> {
    let principal = principal_of(account)?;
    Ok(Resource::Account { user_id: principal.user_id, party: principal.party, party_kind: principal.party_kind })
}

/// The account as the API shows it: no password hash; personal data only to whom may read the account.
pub fn account_body(account: &AccountRecord) -> Value {
    let personal: Value = serde_json::from_str(&account.personal_json).unwrap_or(Value::Null);
    json!({
        "user_id": account.user_id,
        "party": account.party,
        "party_kind": account.party_kind,
        "roles": account.roles,
        "active": account.active,
        "password_login": account.password_hash.is_some(),
        "display_name": personal.get("display_name"),
        "id_number": personal.get("id_number"),
        "recorded_by": account.recorded_by,
        "recorded_at": account.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    })
}

/// The token as the API shows it: never the secret or its hash.
pub fn token_body(token: &TokenRecord, now: DateTime<Utc>) -> Value {
    let state = if token.revoked.is_some() {
        "revoked"
    } else if token.expires_at <= now {
        "expired"
    } else {
        "active"
    };
    json!({
        "token_id": token.token_id,
        "user_id": token.user_id,
        "name": token.name,
        "issued_by": token.issued_by,
        "issued_at": token.issued_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "expires_at": token.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "state": state,
        "revoked_by": token.revoked.as_ref().map(|r| r.by.clone()),
        "revoked_at": token.revoked.as_ref().map(|r| r.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    })
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| AppError::Internal(format!("hashing task failed: {e}")))
}

impl App {
    /// Creates an account. Every problem with the input is reported at once; the caller must be allowed
    /// `account.write` on the new account (a supervisor, or the party's enterprise admin).
    pub async fn create_account(&self, who: &Principal, input: AccountInput) -> AppResult<Value> {
        let mut errors = FieldErrors::default();
        let user_id = input.user_id.unwrap_or_default();
        if !valid_user_id(&user_id) {
            errors.add(
                "user_id",
                "user_id",
                "3-64 characters: lowercase letters, digits, `.`, `_`, `-`, starting with a letter or digit",
            );
        }
        let kind_text = input.party_kind.unwrap_or_default();
        let kind = PartyKind::parse(&kind_text).filter(|k| *k != PartyKind::Platform);
        if kind.is_none() {
            errors.add(
                "choice",
                "party_kind",
                format!("`{kind_text}` is not one of enterprise, customs, authority, bank"),
            );
        }
        let party = input.party.unwrap_or_default();
        if let Some(kind) = kind {
            if let Err(message) = valid_party(kind, &party) {
                errors.add("party", "party", message);
            } else if kind == PartyKind::Enterprise && self.party(&party).is_none() {
                errors.add("party_unknown", "party", format!("enterprise `{party}` is not registered"));
            }
        }
        let mut roles: Vec<String> = Vec::new();
        let requested = input.roles.unwrap_or_default();
        if requested.is_empty() {
            errors.add("required", "roles", "an account needs at least one role");
        }
        for (index, role) in requested.iter().enumerate() {
            match (Role::parse(role), kind) {
                (Some(parsed), Some(kind)) if kind.roles().contains(&parsed) => roles.push(parsed.as_str().to_owned()),
                (_, Some(kind)) => {
                    let allowed: Vec<&str> = kind.roles().iter().map(|r| r.as_str()).collect();
                    errors.add(
                        "choice",
                        format!("roles[{index}]"),
                        format!("`{role}` is not a role of a {kind} party: {}", allowed.join(", ")),
                    );
                }
                (_, None) => {}
            }
        }
        roles.sort();
        roles.dedup();
        if let Some(password) = &input.password {
            if let Some(problem) = credentials::password_problem(password) {
                errors.add("password", "password", problem);
            }
        }
        for (field, value) in [("display_name", &input.display_name), ("id_number", &input.id_number)] {
            if value.as_ref().is_some_and(|v| v.chars().count() > 200) {
                errors.add("length", field, "at most 200 characters");
            }
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let kind = kind.unwrap_or(PartyKind::Enterprise);
        self.authorize(
            who,
            Action::AccountWrite,
            &Resource::Account { user_id: user_id.clone(), party: party.clone(), party_kind: kind },
        )?;
        match self.store.get_account(&user_id).await {
            Ok(_) => return Err(AppError::AccountExists(user_id)),
            Err(StoreError::NotFound) => {}
            Err(error) => return Err(error.into()),
        }
        let password_hash = match input.password {
            Some(password) => {
                Some(blocking(move || credentials::hash_password(&password)).await?.map_err(AppError::Internal)?)
            }
            None => None,
        };
        let personal = json!({ "display_name": input.display_name, "id_number": input.id_number });
        let record = AccountRecord {
            user_id,
            party,
            party_kind: kind.as_str().to_owned(),
            roles,
            password_hash,
            personal_json: personal.to_string(),
            active: true,
            recorded_by: who.user_id.clone(),
            recorded_at: self.now(),
        };
        let stored = self.store.put_account(record.clone()).await;
        self.credentials.forget_user(&record.user_id);
        stored?;
        let actor = credentials::fingerprint(&who.user_id);
        tracing::info!(%actor, party_kind = %record.party_kind, "account created");
        Ok(account_body(&record))
    }

    /// Deactivates an account: its sessions and tokens stop working. Deactivating twice changes nothing.
    pub async fn deactivate_account(&self, who: &Principal, user_id: &str) -> AppResult<Value> {
        let account = self.account(user_id).await?;
        self.authorize(who, Action::AccountWrite, &account_resource(&account)?)?;
        if !account.active {
            return Ok(account_body(&account));
        }
        let record =
            AccountRecord { active: false, recorded_by: who.user_id.clone(), recorded_at: self.now(), ..account };
        let stored = self.store.put_account(record.clone()).await;
        // Forgotten after the write (and whether or not it succeeded): a request racing it either reads the
        // new version or has its read discarded by the cache's generation check.
        self.credentials.forget_user(&record.user_id);
        stored?;
        Ok(account_body(&record))
    }

    async fn account(&self, user_id: &str) -> AppResult<AccountRecord> {
        match self.store.get_account(user_id).await {
            Ok(account) => Ok(account),
            Err(StoreError::NotFound) => Err(AppError::not_found(format!("account `{user_id}`"))),
            Err(error) => Err(error.into()),
        }
    }

    pub async fn get_account(&self, who: &Principal, user_id: &str) -> AppResult<Value> {
        let account = self.account(user_id).await?;
        self.authorize(who, Action::AccountRead, &account_resource(&account)?)?;
        Ok(account_body(&account))
    }

    /// Accounts of one party (the caller's own by default), or of every party (`all`) for supervisors and
    /// auditors. Listing needs `account.read` on the party's accounts as a whole.
    pub async fn list_accounts(&self, who: &Principal, party: Option<String>, all: bool) -> AppResult<Vec<Value>> {
        let party = if all { None } else { Some(party.unwrap_or_else(|| who.party.clone())) };
        self.authorize(who, Action::AccountRead, &Resource::accounts_of(party.as_deref()))?;
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.store.list_accounts(party.as_deref(), after.clone(), zonegate_store::PAGE_SIZE_MAX).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.user_id.clone());
            out.extend(page.iter().map(account_body));
        }
        Ok(out)
    }

    /// Checks a password and starts a session. Unknown user, wrong password and inactive account all give
    /// the same [`AppError::Unauthenticated`], after the same work.
    pub async fn login(&self, user_id: &str, password: &str) -> AppResult<LoggedIn> {
        let account = match self.store.get_account(user_id).await {
            Ok(account) => Some(account),
            Err(StoreError::NotFound) => None,
            Err(error) => return Err(error.into()),
        };
        let password = password.to_owned();
        let hash = account.as_ref().and_then(|a| a.password_hash.clone());
        let matches = blocking(move || match hash {
            Some(hash) => credentials::verify_password(&password, &hash),
            None => {
                credentials::verify_nothing(&password);
                false
            }
        })
        .await?;
        let account = match account {
            Some(account) if matches && account.active => account,
            _ => return Err(AppError::Unauthenticated),
        };
        let principal = principal_of(&account)?;
        let session = credentials::new_session();
        let now = self.now();
        let expires_at = now + Duration::hours(SESSION_HOURS);
        self.store
            .start_session(SessionRecord {
                session_sha256: session.session_sha256,
                user_id: account.user_id,
                started_at: now,
                expires_at,
                ended_at: None,
            })
            .await?;
        Ok(LoggedIn { secret: session.secret, principal, expires_at })
    }

    /// Ends the session whose cookie secret this is (nothing happens for an unknown one).
    pub async fn logout(&self, session_secret: &str) -> AppResult<()> {
        let sha = credentials::sha256_hex(session_secret);
        self.store.end_session(&sha, self.now()).await?;
        Ok(())
    }

    /// The principal of a live session.
    pub async fn authenticate_session(&self, session_secret: &str) -> AppResult<Principal> {
        if !credentials::is_session_secret(session_secret) {
            return Err(AppError::Unauthenticated);
        }
        let session = match self.store.get_session(&credentials::sha256_hex(session_secret)).await {
            Ok(session) => session,
            Err(StoreError::NotFound) => return Err(AppError::Unauthenticated),
            Err(error) => return Err(error.into()),
        };
        if session.ended_at.is_some() || session.expires_at <= self.now() {
            return Err(AppError::Unauthenticated);
        }
        self.active_principal(&session.user_id).await
    }

    /// The principal of a live API token (`zgt_…`).
    pub async fn authenticate_token(&self, token: &str) -> AppResult<Principal> {
        let Some((token_id, secret_sha256)) = credentials::parse_token(token) else {
            return Err(AppError::Unauthenticated);
        };
        let now = self.now();
        let user_id = match self.credentials.check_token(&token_id, &secret_sha256, now) {
            TokenCheck::User(user_id) => user_id,
            TokenCheck::Refused => return Err(AppError::Unauthenticated),
            TokenCheck::Unknown => {
                let generation = self.credentials.generation();
                let record = match self.store.get_token(&token_id).await {
                    Ok(record) => record,
                    // Not remembered: a token issued later (here or elsewhere) must be found.
                    Err(StoreError::NotFound) => return Err(AppError::Unauthenticated),
                    Err(error) => return Err(error.into()),
                };
                self.credentials.remember_token(generation, &record, now);
                let genuine = credentials::constant_time_eq(&record.secret_sha256, &secret_sha256);
                if !genuine || record.revoked.is_some() || record.expires_at <= now {
                    return Err(AppError::Unauthenticated);
                }
                record.user_id
            }
        };
        self.active_principal(&user_id).await
    }

    /// The principal of an active account, remembered for a short while; an inactive or unknown account is
    /// not remembered, so it is read again on every request.
    async fn active_principal(&self, user_id: &str) -> AppResult<Principal> {
        let now = self.now();
        if let Some(principal) = self.credentials.principal(user_id, now) {
            return Ok(principal);
        }
        let generation = self.credentials.generation();
        match self.store.get_account(user_id).await {
            Ok(account) if account.active => {
                let principal = principal_of(&account)?;
                self.credentials.remember_principal(generation, &principal, now);
                Ok(principal)
            }
            Ok(_) | Err(StoreError::NotFound) => Err(AppError::Unauthenticated),
            Err(error) => Err(error.into()),
        }
    }

    /// Issues an API token for an account (the caller's own by default). Returns the token's description
    /// and the token itself, which is shown this once.
    pub async fn issue_token(&self, who: &Principal, input: TokenInput) -> AppResult<(Value, String)> {
        let mut errors = FieldErrors::default();
        let name = input.name.unwrap_or_default();
        if name.trim().is_empty() || name.chars().count() > 100 {
            errors.add("length", "name", "a token needs a name of 1-100 characters saying what it is for");
        }
        let days = input.expires_in_days.unwrap_or(TOKEN_DAYS_DEFAULT);
        if !(1..=TOKEN_DAYS_MAX).contains(&days) {
            errors.add("range", "expires_in_days", format!("`{days}` is outside 1..={TOKEN_DAYS_MAX}"));
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let user_id = input.user_id.unwrap_or_else(|| who.user_id.clone());
        let account = self.account(&user_id).await?;
        self.authorize(who, Action::TokenIssue, &account_resource(&account)?)?;
        if !account.active {
            let errors = FieldErrors::from(zonegate_domain::FieldError::new(
                "inactive",
                "user_id",
                format!("account `{user_id}` is deactivated"),
            ));
            return Err(errors.into());
        }
        let NewToken { token_id, token, secret_sha256 } = credentials::new_token();
        let now = self.now();
        let record = TokenRecord {
            token_id,
            user_id,
            name,
            secret_sha256,
            issued_by: who.user_id.clone(),
            issued_at: now,
            expires_at: now + Duration::days(days),
            revoked: None,
        };
        let stored = self.store.issue_token(record.clone()).await;
        self.credentials.forget_token(&record.token_id);
        stored?;
        Ok((token_body(&record, now), token))
    }

    /// Revokes a token; revoking it again returns the first revocation.
    pub async fn revoke_token(&self, who: &Principal, token_id: &str) -> AppResult<Value> {
        let token = match self.store.get_token(token_id).await {
            Ok(token) => token,
            Err(StoreError::NotFound) => return Err(AppError::not_found(format!("token `{token_id}`"))),
            Err(error) => return Err(error.into()),
        };
        let account = self.account(&token.user_id).await?;
        self.authorize(who, Action::TokenRevoke, &account_resource(&account)?)?;
        let revoked = self.store.revoke_token(token_id, &who.user_id, self.now()).await;
        // Forgotten after the write (and whether or not it succeeded), so the very next use reads it revoked.
        self.credentials.forget_token(token_id);
        let revoked = revoked?;
        Ok(token_body(&revoked, self.now()))
    }

    /// Tokens of an account (the caller's own by default).
    pub async fn list_tokens(&self, who: &Principal, user_id: Option<String>) -> AppResult<Vec<Value>> {
        let user_id = user_id.unwrap_or_else(|| who.user_id.clone());
        let account = self.account(&user_id).await?;
        self.authorize(who, Action::TokenRead, &account_resource(&account)?)?;
        let now = self.now();
        Ok(self.store.list_tokens(Some(&user_id)).await?.iter().map(|t| token_body(t, now)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_and_party_ids() {
        assert!(valid_user_id("officer.li"));
        assert!(valid_user_id("a-1"));
        assert!(!valid_user_id("ab"));
        assert!(!valid_user_id("Officer"));
        assert!(!valid_user_id(".hidden"));
        assert!(valid_party(PartyKind::Customs, "customs:hengqin").is_ok());
        assert!(valid_party(PartyKind::Customs, "authority:iacm").is_err());
        assert!(valid_party(PartyKind::Enterprise, "91440400MA4UJ0J57H").is_ok());
        assert!(valid_party(PartyKind::Enterprise, "91440400MA4UJ0J57X").is_err());
    }
}
