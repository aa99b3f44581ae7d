//! Issuance tokens: 10-minute, single-use JWTs (HS256) bound to a user, signed with a secret from
//! the data directory (created on first start, mode 0600) or a configured file. Single use is
//! enforced by the `used_tokens` table at issue time.

use std::path::Path;

use anyhow::Context;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// How long an issuance token is valid.
pub const TOKEN_TTL: Duration = Duration::minutes(10);
const AUDIENCE: &str = "cjs-issuance";

/// The claims of an issuance token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user ID.
    pub sub: String,
    /// The user's row id.
    pub uid: i64,
    /// Unique token id (single use).
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub aud: String,
}

/// The HMAC key that signs and verifies issuance tokens (a file in the data directory).
#[derive(Clone)]
pub struct IssuanceTokenKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for IssuanceTokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IssuanceTokenKey(<redacted>)")
    }
}

impl IssuanceTokenKey {
    /// Loads the secret from `path`, creating a random 32-byte one if the file does not exist.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        if !path.exists() {
            use rand::Rng;
            let secret: [u8; 32] = rand::rng().random();
            crate::pki::files::write_private(path, hex::encode(secret).as_bytes())?;
        }
        let text = std::fs::read_to_string(path).with_context(|| format!("Failed to read {}", path.display()))?;
        let secret = text.trim();
        anyhow::ensure!(secret.len() >= 32, "{} must hold a secret of at least 32 characters", path.display());
        Ok(Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
        })
    }

    /// A token for user `sub` (row `uid`) issued at `now`.
    pub fn issue(&self, sub: &str, uid: i64, now: OffsetDateTime) -> anyhow::Result<(String, OffsetDateTime)> {
        let expires = now + TOKEN_TTL;
        let claims = Claims {
            sub: sub.to_owned(),
            uid,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            iat: now.unix_timestamp(),
            exp: expires.unix_timestamp(),
            aud: AUDIENCE.to_owned(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .context("Failed to sign a token")?;
        Ok((token, expires))
    }

    /// The claims of a well-signed token that has not expired at `now`; `None` otherwise.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.validate_exp = false; // checked below against the caller's `now`
        validation.required_spec_claims = ["exp", "aud", "sub"].iter().map(|s| s.to_string()).collect();
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).ok()?;
        (now.unix_timestamp() < data.claims.exp).then_some(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn keys() -> (tempfile::TempDir, IssuanceTokenKey) {
        let dir = tempfile::tempdir().unwrap();
        let k = IssuanceTokenKey::load_or_create(&dir.path().join("token.key")).unwrap();
        (dir, k)
    }

    #[test]
    fn valid_for_ten_minutes_exactly() {
        let (_d, k) = keys();
        let t0 = datetime!(2026-11-24 10:00 UTC);
        let (token, exp) = k.issue("abc123", 1, t0).unwrap();
        assert_eq!(exp, t0 + Duration::minutes(10));
        assert_eq!(k.verify(&token, t0 + Duration::seconds(599)).unwrap().sub, "abc123");
        assert!(k.verify(&token, t0 + Duration::minutes(10)).is_none());
    }

    #[test]
    fn tampered_or_foreign_tokens_fail() {
        let (_d, k) = keys();
        let (_d2, other) = keys();
        let t0 = datetime!(2026-11-24 10:00 UTC);
        let (token, _) = other.issue("abc123", 1, t0).unwrap();
        assert!(k.verify(&token, t0).is_none());
        assert!(k.verify("not.a.token", t0).is_none());
    }

    #[test]
    fn secret_survives_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token.key");
        let t0 = datetime!(2026-11-24 10:00 UTC);
        let (token, _) = IssuanceTokenKey::load_or_create(&path).unwrap().issue("abc123", 1, t0).unwrap();
        assert!(IssuanceTokenKey::load_or_create(&path).unwrap().verify(&token, t0).is_some());
    }
}
