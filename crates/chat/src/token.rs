//! Resume tokens: [`TokenKey`] signs and checks them (HMAC-SHA256), so a
//! client that logged in with its password can log in again — after a
//! network blip or a server restart — without the password and without
//! an argon2 hash (see `docs/PROTOCOL.md`, "History and resume").
//!
//! A token is `version (1) | issued_ms u64 | expires_ms u64 | id_len u8 |
//! user id | HMAC-SHA256 of all of that` (at most 82 bytes), opaque to
//! clients. The MAC is checked in constant time (ring's `hmac::verify`)
//! before anything in the token is trusted. Revocation (a password change,
//! a deleted user) is the account store's: it is asked whether tokens
//! issued at `issued_ms` still hold for the user
//! ([`crate::Credential::Token`]).

use std::fmt;

use ring::hmac;

const VERSION: u8 = 1;
const MAC_LEN: usize = 32;
/// Longest token: 18 bytes of header, a 32-byte user id, the MAC.
pub const MAX_TOKEN_LEN: usize = 1 + 8 + 8 + 1 + 32 + MAC_LEN;

/// The server's token secret: 32 bytes (from `accounts.token_secret_file`;
/// cluster nodes share it). `Debug` does not print it.
#[derive(Clone)]
pub struct TokenKey {
    bytes: [u8; 32],
    key: hmac::Key,
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// Who.
    pub user_id: String,
    /// When it was issued, Unix milliseconds.
    pub issued_ms: u64,
    /// When it expires, Unix milliseconds.
    pub expires_ms: u64,
}

/// Why a token is refused before the account store is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Malformed, tampered with, or signed with another secret: 111.
    Invalid,
    /// Its time is up: 112.
    Expired,
}

impl TokenKey {
    /// A key from 32 secret bytes.
    pub fn new(bytes: [u8; 32]) -> TokenKey {
        TokenKey {
            bytes,
            key: hmac::Key::new(hmac::HMAC_SHA256, &bytes),
        }
    }

    /// A token for `user_id` issued at `now_ms`, valid for `ttl_ms`.
    pub fn issue(&self, user_id: &str, now_ms: u64, ttl_ms: u64) -> Vec<u8> {
        let id = user_id.as_bytes();
        let id = id.get(..32).unwrap_or(id);
        let mut token = Vec::with_capacity(MAX_TOKEN_LEN);
        token.push(VERSION);
        token.extend_from_slice(&now_ms.to_le_bytes());
        token.extend_from_slice(&now_ms.saturating_add(ttl_ms).to_le_bytes());
        token.push(u8::try_from(id.len()).unwrap_or(32));
        token.extend_from_slice(id);
        let tag = hmac::sign(&self.key, &token);
        token.extend_from_slice(tag.as_ref());
        token
    }

    /// Checks `token` at `now_ms`: the MAC first, then the expiry.
    ///
    /// # Errors
    ///
    /// [`TokenError::Invalid`] or [`TokenError::Expired`].
    pub fn verify(&self, token: &[u8], now_ms: u64) -> Result<Claims, TokenError> {
        if token.len() < 18 + MAC_LEN || token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Invalid);
        }
        let (signed, tag) = token.split_at(token.len() - MAC_LEN);
        hmac::verify(&self.key, signed, tag).map_err(|_| TokenError::Invalid)?;
        let field = |at: usize| {
            signed
                .get(at..at + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_le_bytes)
        };
        let (Some(&VERSION), Some(issued_ms), Some(expires_ms), Some(&len)) =
            (signed.first(), field(1), field(9), signed.get(17))
        else {
            return Err(TokenError::Invalid);
        };
        let id = signed.get(18..).ok_or(TokenError::Invalid)?;
        if id.len() != usize::from(len) {
            return Err(TokenError::Invalid);
        }
        let user_id = std::str::from_utf8(id).map_err(|_| TokenError::Invalid)?;
        if ringport_proto::UserId::new(user_id).is_err() {
            return Err(TokenError::Invalid);
        }
        if now_ms >= expires_ms {
            return Err(TokenError::Expired);
        }
        Ok(Claims {
            user_id: user_id.to_owned(),
            issued_ms,
            expires_ms,
        })
    }
}

impl PartialEq for TokenKey {
    fn eq(&self, other: &TokenKey) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for TokenKey {}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_until_it_expires() {
        let key = TokenKey::new([7; 32]);
        let token = key.issue("ann", 1_000, 500);
        assert!(token.len() <= MAX_TOKEN_LEN);
        assert_eq!(
            key.verify(&token, 1_499),
            Ok(Claims {
                user_id: "ann".into(),
                issued_ms: 1_000,
                expires_ms: 1_500
            })
        );
        assert_eq!(key.verify(&token, 1_500), Err(TokenError::Expired));
    }

    #[test]
    fn tampered_truncated_or_foreign_tokens_are_invalid() {
        let key = TokenKey::new([7; 32]);
        let token = key.issue("ann", 1_000, 500);
        for i in 0..token.len() {
            let mut bad = token.clone();
            bad[i] ^= 1;
            assert_eq!(
                key.verify(&bad, 1_100),
                Err(TokenError::Invalid),
                "byte {i}"
            );
        }
        assert_eq!(
            key.verify(&token[..token.len() - 1], 1_100),
            Err(TokenError::Invalid)
        );
        assert_eq!(key.verify(&[], 1_100), Err(TokenError::Invalid));
        let other = TokenKey::new([8; 32]);
        assert_eq!(other.verify(&token, 1_100), Err(TokenError::Invalid));
        assert_eq!(format!("{key:?}"), "TokenKey(***)");
    }
}
