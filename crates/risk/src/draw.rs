//! The reproducible random draw: HMAC-SHA-256 of the declaration's identity under a configured secret.
//!
//! The same declaration (declarant + reference) under the same secret always draws the same number, so a
//! replay or a back-test gives the same selection, while nobody without the secret can predict it.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The secret behind the draws. Kept out of logs and decisions; only its fingerprint is shown.
///
/// Held as the HMAC keyed with it (the key's two padded blocks hashed once, not per draw) and its
/// fingerprint (written once, not per decision).
#[derive(Clone)]
pub struct DrawSecret {
    keyed: Hmac<Sha256>,
    fingerprint: String,
}

impl DrawSecret {
    /// At least 16 bytes, so the draw cannot be guessed by trying secrets.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<DrawSecret, String> {
        use sha2::Digest;
        let bytes = bytes.into();
        if bytes.len() < 16 {
            return Err(format!("the draw secret must be at least 16 bytes, got {}", bytes.len()));
        }
        let keyed = <Hmac<Sha256> as Mac>::new_from_slice(&bytes).expect("HMAC accepts keys of any length");
        let fingerprint = Sha256::digest(&bytes).iter().take(4).map(|b| format!("{b:02x}")).collect();
        Ok(DrawSecret { keyed, fingerprint })
    }

    /// First 8 hex digits of SHA-256 of the secret: names which secret made a draw without revealing it.
    pub fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    /// A number in [0, 1) for the declaration `declarant/reference`.
    pub fn draw(&self, declarant: &str, reference: &str) -> f64 {
        // Keyed by the secret; the separator cannot occur in a USCC, so distinct pairs never collide.
        let mut mac = self.keyed.clone();
        mac.update(declarant.as_bytes());
        mac.update(b"/");
        mac.update(reference.as_bytes());
        let bytes = mac.finalize().into_bytes();
        let mut top = [0u8; 8];
        top.copy_from_slice(&bytes[..8]);
        // 53 bits: every value is exactly representable and the result is uniform on [0, 1).
        (u64::from_be_bytes(top) >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl std::fmt::Debug for DrawSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DrawSecret({})", self.fingerprint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> DrawSecret {
        DrawSecret::new(b"0123456789abcdef-test".to_vec()).unwrap()
    }

    #[test]
    fn the_same_declaration_draws_the_same_number_and_others_differ() {
        let s = secret();
        let a = s.draw("91440400MA4UJ0J57H", "HQ-1");
        assert_eq!(a, s.draw("91440400MA4UJ0J57H", "HQ-1"));
        assert_ne!(a, s.draw("91440400MA4UJ0J57H", "HQ-2"));
        let other = DrawSecret::new(b"another secret, 16+ bytes".to_vec()).unwrap();
        assert_ne!(a, other.draw("91440400MA4UJ0J57H", "HQ-1"));
    }

    #[test]
    fn a_draw_is_the_hmac_of_the_declaration_under_the_secret() {
        // Python: hmac.new(b"0123456789abcdef-test", b"91440400MA4UJ0J57H/HQ-1", sha256), the first 53 bits.
        assert_eq!(secret().draw("91440400MA4UJ0J57H", "HQ-1"), 0.388413365887192);
        // The same keyed state serves every draw: a second draw is not affected by the first.
        let s = secret();
        s.draw("X", "Y");
        assert_eq!(s.draw("91440400MA4UJ0J57H", "HQ-1"), 0.388413365887192);
        assert_eq!(s.fingerprint(), "2b476584");
    }

    #[test]
    fn draws_are_uniform_enough_for_rates() {
        let s = secret();
        let n = 20_000;
        let below = (0..n).filter(|i| s.draw("91440400MA4UJ0J57H", &format!("R-{i}")) < 0.05).count();
        let rate = below as f64 / n as f64;
        assert!((0.043..0.057).contains(&rate), "rate {rate}");
        assert!((0..n).all(|i| (0.0..1.0).contains(&s.draw("X", &i.to_string()))));
    }

    #[test]
    fn short_secrets_are_refused_and_debug_hides_the_secret() {
        assert!(DrawSecret::new(b"short".to_vec()).is_err());
        let shown = format!("{:?}", secret());
        assert!(!shown.contains("0123456789abcdef"));
    }
}
