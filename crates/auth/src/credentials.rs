//! Credentials without I/O: Argon2id password hashes, API tokens and session secrets.
//!
//! Secrets are drawn from the operating system's generator and are shown to their holder once; the platform
//! keeps only their SHA-256 (tokens and sessions, whose secrets have 256 bits of entropy) or an Argon2id
//! hash (passwords, which people choose).
//!
//! An API token reads `zgt_<token id>_<secret>`: the id (16 hex digits) finds the record, the secret (43
//! base64url characters) proves possession.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};

/// Shortest password accepted.
pub const PASSWORD_MIN_CHARS: usize = 12;
/// Longest password accepted (bytes): Argon2 would take more, but nobody types more.
pub const PASSWORD_MAX_BYTES: usize = 512;
/// Prefix of every API token, so leaked tokens are recognisable by secret scanners.
pub const TOKEN_PREFIX: &str = "zgt_";

/// What is wrong with a proposed password, if anything.
pub fn password_problem(password: &str) -> Option<String> {
    if password.chars().count() < PASSWORD_MIN_CHARS {
        return Some(format!("a password needs at least {PASSWORD_MIN_CHARS} characters"));
    }
    if password.len() > PASSWORD_MAX_BYTES {
        return Some(format!("a password has at most {PASSWORD_MAX_BYTES} bytes"));
    }
    None
}

/// The Argon2id PHC string of `password` with a fresh salt (OWASP's parameters: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|hash| hash.to_string()).map_err(|e| e.to_string())
}

/// Whether `password` matches the PHC string. A malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default().verify_password(password.as_bytes(), &hash).is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of one verification without a hash to check, so that a login for an unknown user takes
/// as long as one with a wrong password.
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash_password("zonegate-timing-equaliser").unwrap_or_default());
    let _ = verify_password(password, phc);
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 as lowercase hex.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A short, stable, non-reversible name for a user in logs: login names may be personal data.
pub fn fingerprint(user_id: &str) -> String {
    sha256_hex(&format!("zonegate-log:{user_id}"))[..12].to_owned()
}

/// Equality that takes the same time wherever the strings differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A newly minted API token: `token` is shown once; the platform stores `token_id` and `secret_sha256`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub token_id: String,
    pub token: String,
    pub secret_sha256: String,
}

/// Mints an API token.
pub fn new_token() -> NewToken {
    let token_id = hex::encode(random_bytes::<8>());
    let secret = base64url(&random_bytes::<32>());
    let token = format!("{TOKEN_PREFIX}{token_id}_{secret}");
    NewToken { token_id, token, secret_sha256: sha256_hex(&secret) }
}

/// Splits a token into (token id, secret) if it is shaped like one.
fn split_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let id_ok = id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    let secret_ok = secret.len() == 43 && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (id_ok && secret_ok).then_some((id, secret))
}

/// Splits a presented token into (token id, SHA-256 of its secret); `None` if it is not shaped like one.
pub fn parse_token(token: &str) -> Option<(String, String)> {
    split_token(token).map(|(id, secret)| (id.to_owned(), sha256_hex(secret)))
}

/// The id of a presented token shaped like one (as [`parse_token`] would give it), without hashing the
/// secret: for rate limiting by token before the token is checked.
pub fn token_id(token: &str) -> Option<&str> {
    split_token(token).map(|(id, _)| id)
}

/// A newly started session: `secret` goes into the cookie; the platform stores `session_sha256`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub secret: String,
    pub session_sha256: String,
}

pub fn new_session() -> NewSession {
    let secret = base64url(&random_bytes::<32>());
    NewSession { session_sha256: sha256_hex(&secret), secret }
}

/// Whether a cookie value is shaped like a session secret (checked before any lookup).
pub fn is_session_secret(text: &str) -> bool {
    text.len() == 43 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The CSRF token of a session: derived from the session secret, so it needs no storage, and unguessable
/// without the cookie, which scripts of other origins cannot read.
pub fn csrf_token(session_secret: &str) -> String {
    sha256_hex(&format!("zonegate-csrf:{session_secret}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_verifies_only_the_same_password() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("correct horse batterY", &phc));
        assert!(!verify_password("correct horse battery", "not a hash"));
        assert_ne!(phc, hash_password("correct horse battery").unwrap(), "salts differ");
    }

    #[test]
    fn password_rules() {
        assert!(password_problem("short").is_some());
        assert!(password_problem("十二个字符的密码很安全吗是的").is_none());
        assert!(password_problem(&"x".repeat(513)).is_some());
    }

    #[test]
    fn tokens_parse_back_to_their_hash() {
        let minted = new_token();
        assert!(minted.token.starts_with("zgt_"));
        assert_eq!(parse_token(&minted.token), Some((minted.token_id.clone(), minted.secret_sha256.clone())));
        assert_eq!(token_id(&minted.token), Some(minted.token_id.as_str()));
        let other = new_token();
        assert_ne!(minted.token, other.token);
        assert_eq!(parse_token("zgt_0123456789abcdef"), None);
        assert_eq!(parse_token("Bearer x"), None);
        let tampered = minted.token.replace("zgt_", "zgx_");
        assert_eq!(parse_token(&tampered), None);
        assert_eq!(token_id(&tampered), None);
        assert_eq!(token_id("zgt_0123456789abcdef"), None);
    }

    #[test]
    fn base64url_matches_the_standard() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(base64url(&[0u8; 32]).len(), 43);
    }

    #[test]
    fn sessions_and_csrf() {
        let session = new_session();
        assert!(is_session_secret(&session.secret));
        assert_eq!(session.session_sha256, sha256_hex(&session.secret));
        assert_ne!(csrf_token(&session.secret), csrf_token(&new_session().secret));
        assert!(!is_session_secret("../../etc"));
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
