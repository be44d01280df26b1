//! [`HashParams`]: argon2id cost parameters, and the hashing and checking
//! helpers the stores share.
//!
//! # Memory
//!
//! argon2 needs `m` KiB of working memory per hash (19 MiB by default).
//! Allocating and freeing that for every login made the server's RSS grow
//! with the number of logins: glibc serves such blocks from per-thread heaps
//! that it does not give back. So each thread that hashes owns one buffer
//! of argon2 blocks (a thread-local), sized to the largest cost that thread
//! has needed so far, and reuses it for every hash and check; it is zeroed
//! after each use and freed when the thread ends. The memory logins cost is
//! therefore at most `threads that hash × largest m` (the server's auth
//! workers: `accounts.workers × accounts.argon2_memory_kib` KiB, or the `m`
//! of a stored hash if that is larger), whatever the number of logins.
//!
//! A stored hash is data from the store: its cost is checked before any
//! memory is taken. Hashes that need more than `MAX_MEMORY_KIB` (256 MiB) of memory
//! or more than `MAX_ITERATIONS` (64) passes are refused (an error, as for an
//! unreadable hash), and so are configured [`HashParams`] beyond them.

use std::cell::RefCell;

use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand_core::{OsRng, RngCore};

use crate::StoreError;

/// The most argon2 memory, in KiB, that one hash may use (256 MiB): the cap
/// on configured [`HashParams::memory_kib`] and on the `m` of stored hashes.
/// Well above the common recommendations (OWASP: 19–46 MiB; RFC 9106's
/// second choice: 64 MiB), far below what would exhaust a server.
pub const MAX_MEMORY_KIB: u32 = 256 * 1024;

/// The most passes (`t`) one hash may take: the cap on configured
/// [`HashParams::iterations`] and on the `t` of stored hashes, so a stored
/// hash cannot tie an auth worker up for minutes.
pub const MAX_ITERATIONS: u32 = 64;

/// Output length of new hashes, in bytes (the argon2 crate's default).
const OUTPUT_LEN: usize = Params::DEFAULT_OUTPUT_LEN;

/// argon2id costs for new password hashes. Existing hashes are checked with
/// the parameters stored in them, so changing these only affects new ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashParams {
    /// Memory per hash in KiB (at most `MAX_MEMORY_KIB` (256 MiB)).
    pub memory_kib: u32,
    /// Passes over the memory (at most `MAX_ITERATIONS` (64)).
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

    /// Checks that the argon2 crate accepts these parameters and that they
    /// are within `MAX_MEMORY_KIB` (256 MiB) and `MAX_ITERATIONS` (64).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] naming what is wrong.
    pub fn validate(&self) -> Result<(), StoreError> {
        self.hasher().map(drop)
    }

    /// The hasher for these parameters.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] if the argon2 crate refuses them or they
    /// exceed the caps.
    pub(crate) fn hasher(&self) -> Result<Hasher, StoreError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| StoreError::Unavailable(format!("invalid argon2 parameters: {e}")))?;
        within_caps(&params).map_err(StoreError::Unavailable)?;
        Ok(Hasher { params })
    }
}

/// Hashes new passwords: argon2id, version 0x13, with checked parameters.
#[derive(Clone, Debug)]
pub(crate) struct Hasher {
    params: Params,
}

/// Refuses costs beyond `MAX_MEMORY_KIB` (256 MiB) or `MAX_ITERATIONS` (64).
fn within_caps(params: &Params) -> Result<(), String> {
    if params.m_cost() > MAX_MEMORY_KIB {
        return Err(format!(
            "argon2 memory cost {} KiB is above the cap of {MAX_MEMORY_KIB} KiB",
            params.m_cost()
        ));
    }
    if params.t_cost() > MAX_ITERATIONS {
        return Err(format!(
            "argon2 iterations {} are above the cap of {MAX_ITERATIONS}",
            params.t_cost()
        ));
    }
    Ok(())
}

thread_local! {
    /// This thread's argon2 working memory: as many blocks as the largest
    /// hash it has computed (at most `MAX_MEMORY_KIB` (256 MiB) KiB), zeroed
    /// between uses.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on `count` blocks of this thread's argon2 memory, growing it
/// first if needed, and zeroes them afterwards (they hold state derived
/// from the password).
fn with_blocks<R>(count: usize, f: impl FnOnce(&mut [Block]) -> R) -> Result<R, StoreError> {
    let unavailable = |what: &str| StoreError::Unavailable(format!("argon2 memory: {what}"));
    BLOCKS
        .try_with(|cell| {
            let mut blocks = cell
                .try_borrow_mut()
                .map_err(|_| unavailable("already in use on this thread"))?;
            if blocks.len() < count {
                // Free the smaller buffer before taking the larger one.
                *blocks = Vec::new();
                let mut grown = Vec::new();
                grown.try_reserve_exact(count).map_err(|_| {
                    unavailable(&format!(
                        "cannot allocate {} KiB",
                        count * Block::SIZE / 1024
                    ))
                })?;
                grown.resize(count, Block::new());
                *blocks = grown;
            }
            let used = blocks
                .get_mut(..count)
                .ok_or_else(|| unavailable("buffer too small"))?;
            let result = f(used);
            used.fill(Block::new());
            Ok(result)
        })
        .map_err(|_| unavailable("thread is exiting"))?
}

/// Hashes `password` with `salt` into `out` (its length is the output
/// length), in this thread's argon2 memory. The outer error: no memory;
/// the inner one: argon2 refused the inputs (a salt or output length out
/// of its range), whose fault depends on where they came from.
fn compute(
    argon2: &Argon2<'_>,
    params: &Params,
    password: &str,
    salt: &[u8],
    out: &mut [u8],
) -> Result<Result<(), argon2::Error>, StoreError> {
    with_blocks(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, out, blocks)
    })
}

/// The PHC string `$argon2id$v=19$m=..,t=..,p=..$SALT$HASH` for `hasher`'s
/// parameters.
fn phc_string(hasher: &Hasher, salt: &SaltString, hash: &[u8]) -> Result<String, StoreError> {
    let failed = |e: argon2::password_hash::Error| {
        StoreError::Unavailable(format!("cannot encode the hash: {e}"))
    };
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&hasher.params).map_err(failed)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(hash).map_err(failed)?),
    };
    Ok(phc.to_string())
}

/// Hashes `password` with a fresh random salt into a PHC string.
pub(crate) fn hash_password(hasher: &Hasher, password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; Salt::MAX_LENGTH];
    let salt_bytes = salt
        .decode_b64(&mut salt_buf)
        .map_err(|e| StoreError::Unavailable(format!("salt: {e}")))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, hasher.params.clone());
    let mut out = [0u8; OUTPUT_LEN];
    compute(&argon2, &hasher.params, password, salt_bytes, &mut out)?
        .map_err(|e| StoreError::Unavailable(format!("hashing failed: {e}")))?;
    phc_string(hasher, &salt, &out)
}

/// A PHC string with `hasher`'s parameters, a random salt and a random
/// output: it matches no password, and checking a password against it
/// costs exactly what checking a real hash costs. Made without hashing.
pub(crate) fn decoy_hash(hasher: &Hasher) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    let mut out = [0u8; OUTPUT_LEN];
    OsRng.fill_bytes(&mut out);
    phc_string(hasher, &salt, &out)
}

/// Whether `password` matches the PHC string `phc`: recomputed with the
/// algorithm, version and parameters stored in `phc`, in this thread's
/// argon2 memory, and compared in constant time.
///
/// # Errors
///
/// [`StoreError::BadRecord`] if `phc` is not a readable argon2 hash, or its
/// cost is beyond `MAX_MEMORY_KIB` (256 MiB) or `MAX_ITERATIONS` (64);
/// [`StoreError::Unavailable`] if this thread cannot get the memory.
pub(crate) fn verify_password(phc: &str, password: &str) -> Result<bool, StoreError> {
    let unreadable = |e: argon2::password_hash::Error| {
        StoreError::BadRecord(format!("stored hash is unreadable: {e}"))
    };
    let hash = PasswordHash::new(phc).map_err(unreadable)?;
    let algorithm = Algorithm::try_from(hash.algorithm).map_err(unreadable)?;
    let version = match hash.version {
        Some(v) => Version::try_from(v)
            .map_err(|e| StoreError::BadRecord(format!("stored hash is unreadable: {e}")))?,
        None => Version::default(),
    };
    // m, t, p (and keyid, data) from the string; output length from its hash.
    let params = Params::try_from(&hash).map_err(unreadable)?;
    within_caps(&params).map_err(StoreError::BadRecord)?;
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return Err(StoreError::BadRecord(
            "stored hash is unreadable: no salt or no hash".into(),
        ));
    };
    let mut salt_buf = [0u8; Salt::MAX_LENGTH];
    let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(unreadable)?;
    let mut out_buf = [0u8; Output::MAX_LENGTH];
    let out = out_buf
        .get_mut(..expected.len())
        .ok_or_else(|| StoreError::BadRecord("stored hash is unreadable: too long".into()))?;
    let argon2 = Argon2::new(algorithm, version, params.clone());
    compute(&argon2, &params, password, salt_bytes, out)?
        .map_err(|e| StoreError::BadRecord(format!("stored hash is unusable: {e}")))?;
    let computed = Output::new(out).map_err(unreadable)?;
    // `Output`'s equality is constant-time.
    Ok(computed == expected)
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    fn small() -> HashParams {
        HashParams {
            memory_kib: 64,
            iterations: 2,
            parallelism: 1,
        }
    }

    /// The argon2 crate's own verifier.
    fn crate_verifies(phc: &str, password: &str) -> bool {
        let hash = PasswordHash::new(phc).expect("parses");
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    }

    /// A hash made by the argon2 crate's own hasher (as before the reusable
    /// memory: the format the stores already hold).
    fn crate_hash(algorithm: Algorithm, version: Version, params: Params, pw: &str) -> String {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::new(algorithm, version, params)
            .hash_password(pw.as_bytes(), &salt)
            .expect("hash")
            .to_string()
    }

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
    fn configured_costs_above_the_caps_are_refused() {
        let at_cap = HashParams {
            memory_kib: MAX_MEMORY_KIB,
            iterations: MAX_ITERATIONS,
            parallelism: 1,
        };
        assert!(at_cap.validate().is_ok());
        let memory = HashParams {
            memory_kib: MAX_MEMORY_KIB + 1,
            ..at_cap.clone()
        };
        assert!(memory.validate().is_err());
        let passes = HashParams {
            iterations: MAX_ITERATIONS + 1,
            ..at_cap
        };
        assert!(passes.validate().is_err());
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
        assert!(!verify_password(&a, "").expect("readable"));
        assert!(verify_password("not a hash", "x").is_err());
    }

    #[test]
    fn our_hashes_verify_with_the_argon2_crate_and_match_its_format() {
        for params in [HashParams::default(), small(), HashParams::fast_for_tests()] {
            let hasher = params.hasher().expect("valid params");
            let phc = hash_password(&hasher, "pässword").expect("hash");
            assert!(crate_verifies(&phc, "pässword"), "{phc}");
            assert!(!crate_verifies(&phc, "password"), "{phc}");
            // Same string as the crate would produce for this salt.
            let parsed = PasswordHash::new(&phc).expect("parses");
            let salt = parsed.salt.expect("salt");
            let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, hasher.params.clone())
                .hash_password(b"p\xc3\xa4ssword", salt)
                .expect("hash")
                .to_string();
            assert_eq!(phc, theirs);
        }
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_verify() {
        // Today's format (argon2id, v=19), the other variants and version
        // 0x10, one with a longer output, with 2 lanes: the stored
        // parameters are the ones used.
        let p = |m, t, p, len| Params::new(m, t, p, len).expect("valid params");
        let cases = [
            (Algorithm::Argon2id, Version::V0x13, p(19_456, 2, 1, None)),
            (Algorithm::Argon2id, Version::V0x13, p(64, 3, 2, None)),
            (Algorithm::Argon2id, Version::V0x13, p(32, 1, 1, Some(64))),
            (Algorithm::Argon2i, Version::V0x13, p(32, 2, 1, None)),
            (Algorithm::Argon2d, Version::V0x10, p(32, 2, 1, None)),
        ];
        for (algorithm, version, params) in cases {
            let phc = crate_hash(algorithm, version, params, "old secret");
            assert!(
                verify_password(&phc, "old secret").expect("readable"),
                "{phc}"
            );
            assert!(
                !verify_password(&phc, "old secreT").expect("readable"),
                "{phc}"
            );
        }
        // A fixed string from before this change (argon2id, m=8, t=1, p=1).
        let old = crate_hash(
            Algorithm::Argon2id,
            Version::V0x13,
            p(8, 1, 1, None),
            "secret",
        );
        assert!(old.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{old}");
        assert!(verify_password(&old, "secret").expect("readable"));
    }

    #[test]
    fn memory_is_reused_across_sizes_on_one_thread() {
        // Large, then small, then large again on the same thread: each result
        // is the crate's own, whatever the buffer held before.
        let big = HashParams::default().hasher().expect("valid");
        let little = small().hasher().expect("valid");
        for hasher in [&big, &little, &big, &little] {
            let phc = hash_password(hasher, "pw").expect("hash");
            assert!(crate_verifies(&phc, "pw"), "{phc}");
            assert!(verify_password(&phc, "pw").expect("readable"));
        }
        let len = BLOCKS.with(|b| b.borrow().len());
        assert_eq!(len, 19_456, "sized to the largest cost, not beyond");
        assert!(
            BLOCKS.with(|b| b
                .borrow()
                .iter()
                .all(|block| block.as_ref().iter().all(|w| *w == 0))),
            "zeroed after use"
        );
    }

    #[test]
    fn decoy_matches_nothing_and_has_the_configured_cost() {
        let hasher = small().hasher().expect("valid");
        let decoy = decoy_hash(&hasher).expect("decoy");
        assert!(decoy.starts_with("$argon2id$v=19$m=64,t=2,p=1$"), "{decoy}");
        assert!(!verify_password(&decoy, "decoy password").expect("readable"));
        assert!(!verify_password(&decoy, "").expect("readable"));
    }

    #[test]
    fn bad_stored_strings_are_errors_not_panics() {
        let hasher = HashParams::fast_for_tests().hasher().expect("valid");
        let good = hash_password(&hasher, "pw").expect("hash");
        let (head, tail) = good.rsplit_once('$').expect("dollar");
        let (_, salt) = head.rsplit_once('$').expect("dollar");
        let bad = [
            String::new(),
            "$".into(),
            "not a hash".into(),
            "$argon2id$v=19$m=8,t=1,p=1".into(),
            format!("$argon2id$v=19$m=8,t=1,p=1${salt}"),
            format!("$scrypt$v=19$m=8,t=1,p=1${salt}${tail}"),
            format!("$argon2id$v=18$m=8,t=1,p=1${salt}${tail}"),
            format!("$argon2id$v=19$m=0,t=1,p=1${salt}${tail}"),
            format!("$argon2id$v=19$m=8,t=0,p=1${salt}${tail}"),
            format!("$argon2id$v=19$m=8,t=1,p=0${salt}${tail}"),
            format!("$argon2id$v=19$m=8,t=1,p=2${salt}${tail}"),
            format!("$argon2id$v=19$m=8,t=1,p=1,x=3${salt}${tail}"),
            format!("$argon2id$v=19$m=99999999999,t=1,p=1${salt}${tail}"),
            format!("$argon2id$v=19$m=-8,t=1,p=1${salt}${tail}"),
            format!("$argon2id$v=19$m=8,t=1,p=1$!!!!${tail}"),
            format!("$argon2id$v=19$m=8,t=1,p=1$c2FsdA${tail}"),
            format!("$argon2id$v=19$m=8,t=1,p=1${salt}$!!!!"),
            format!("$argon2id$v=19$m=8,t=1,p=1${salt}$c2hvcnQ"),
            format!("$argon2id$v=19$m=8,t=1,p=1${salt}${}", "A".repeat(100)),
            format!("{good}$extra"),
        ];
        for phc in &bad {
            let answer = verify_password(phc, "pw");
            assert!(
                matches!(answer, Err(StoreError::BadRecord(_))),
                "{phc:?}: {answer:?}"
            );
        }
        assert!(verify_password(&good, "pw").expect("readable"));
    }

    #[test]
    fn stored_costs_beyond_the_caps_are_refused_before_allocating() {
        let hasher = HashParams::fast_for_tests().hasher().expect("valid");
        let good = hash_password(&hasher, "pw").expect("hash");
        let over_memory = good.replace("m=8,", &format!("m={},", MAX_MEMORY_KIB + 1));
        let huge_memory = good.replace("m=8,", &format!("m={},", u32::MAX));
        let over_passes = good.replace("t=1,", &format!("t={},", MAX_ITERATIONS + 1));
        let huge_passes = good.replace("t=1,", &format!("t={},", u32::MAX));
        for phc in [over_memory, huge_memory, over_passes, huge_passes] {
            let err = verify_password(&phc, "pw").expect_err("refused");
            assert!(matches!(err, StoreError::BadRecord(_)), "{phc}: {err}");
            assert!(err.to_string().contains("above the cap"), "{phc}: {err}");
        }
        assert_eq!(
            BLOCKS.with(|b| b.borrow().len()),
            8,
            "nothing beyond the one small hash allocated"
        );
    }
}
