//! [`HashParams`]: argon2id cost parameters, and the hashing and checking
//! helpers the stores share.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::OsRng;

use super::StoreError;

/// argon2id costs for new password hashes. Existing hashes are checked with
/// the parameters stored in them, so changing these only affects new ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashParams {
    /// Memory per hash in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for HashParams {
    /// The argon2 crate's defaults (19 MiB, 2 passes, 1 lane; OWASP's
    /// recommended minimum for argon2id).
    fn default() -> HashParams {
        HashParams {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
            parallelism: Params::DEFAULT_P_COST,
        }
    }
}

impl HashParams {
    /// The cheapest parameters the argon2 crate accepts (8 KiB, 1 pass, 1
    /// lane). **For tests only**: such hashes are cheap to brute-force.
    pub fn fast_for_tests() -> HashParams {
        HashParams {
            memory_kib: Params::MIN_M_COST,
            iterations: Params::MIN_T_COST,
            parallelism: Params::MIN_P_COST,
        }
    }

    /// Checks that the argon2 crate accepts these parameters.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] naming what is wrong.
    pub fn validate(&self) -> Result<(), StoreError> {
        self.hasher().map(drop)
    }

    /// The argon2id hasher for these parameters.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the argon2 crate refuses them.
    pub(crate) fn hasher(&self) -> Result<Argon2<'static>, StoreError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| StoreError::Unavailable(format!("invalid argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Hashes `password` with a fresh random salt into a PHC string.
pub(crate) fn hash_password(hasher: &Argon2<'_>, password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| StoreError::Unavailable(format!("hashing failed: {e}")))
}

/// Whether `password` matches the PHC string `phc` (constant-time compare,
/// with the parameters stored in `phc`).
pub(crate) fn verify_password(phc: &str, password: &str) -> Result<bool, StoreError> {
    let hash = PasswordHash::new(phc)
        .map_err(|e| StoreError::Unavailable(format!("stored hash is unreadable: {e}")))?;
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_crate_default() {
        assert_eq!(
            HashParams::default(),
            HashParams {
                memory_kib: 19_456,
                iterations: 2,
                parallelism: 1
            }
        );
        assert!(HashParams::default().hasher().is_ok());
        assert!(HashParams::fast_for_tests().hasher().is_ok());
        let bad = HashParams {
            memory_kib: 0,
            ..HashParams::fast_for_tests()
        };
        assert!(bad.hasher().is_err());
    }

    #[test]
    fn hashes_are_salted_argon2id_and_verify() {
        let hasher = HashParams::fast_for_tests().hasher().expect("valid params");
        let a = hash_password(&hasher, "secret").expect("hash");
        let b = hash_password(&hasher, "secret").expect("hash");
        assert!(a.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(!a.contains("secret"));
        assert!(verify_password(&a, "secret").expect("readable"));
        assert!(!verify_password(&a, "Secret").expect("readable"));
        assert!(verify_password("not a hash", "x").is_err());
    }
}
