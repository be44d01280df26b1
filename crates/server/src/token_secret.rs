//! The resume token secret (`accounts.token_secret_file`): 32 random bytes
//! in a file only its owner may read, created on first start and read at
//! every start after, so tokens outlive a restart and every node of a
//! cluster that shares the file accepts the others' tokens.
//!
//! Creation is atomic: the bytes go to a private temporary file in the same
//! directory (mode 0600 from its creation, synced), which is then linked
//! to the final name without replacing anything. Two processes starting at
//! once both end up reading the one file that won. A file that exists is
//! never rewritten: one the server cannot use (unreadable, not 32 bytes,
//! open to group or others) stops it with a configuration error naming the
//! file (exit 78). Neither the secret nor a token is ever logged.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};
use ringport_chat::TokenKey;

use crate::config::{AccountsSection, ConfigError};

/// Length of the secret, in bytes.
pub const SECRET_LEN: usize = 32;

/// Where the key came from, for the startup log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Read from this file.
    Read(PathBuf),
    /// Created in this file.
    Created(PathBuf),
    /// Drawn at start, kept in memory only (the memory store).
    Ephemeral,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Read(p) => write!(f, "{}", p.display()),
            Origin::Created(p) => write!(f, "{} (created)", p.display()),
            Origin::Ephemeral => f.write_str("in memory (tokens end with the process)"),
        }
    }
}

/// The token key `accounts` calls for: read or created in its file, or
/// drawn fresh for the memory store.
///
/// # Errors
/// A [`ConfigError`] naming the file when it cannot be read or created, is
/// not [`SECRET_LEN`] bytes, or is open to group or others; or when the
/// system has no randomness to give.
pub fn load(accounts: &AccountsSection) -> Result<(TokenKey, Origin), ConfigError> {
    let path = accounts
        .token_secret_path()
        .map_err(|e| ConfigError(format!("accounts.token_secret_file: {e}")))?;
    match path {
        None => Ok((TokenKey::new(random()?), Origin::Ephemeral)),
        Some(path) => load_file(&path),
    }
}

fn error(path: &Path, what: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!(
        "accounts.token_secret_file {}: {what}",
        path.display()
    ))
}

fn random() -> Result<[u8; SECRET_LEN], ConfigError> {
    let mut bytes = [0u8; SECRET_LEN];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| ConfigError(format!("no randomness for the token secret: {e}")))?;
    Ok(bytes)
}

/// Reads the secret at `path`, creating it first if there is no file.
pub fn load_file(path: &Path) -> Result<(TokenKey, Origin), ConfigError> {
    match read(path) {
        Ok(bytes) => return Ok((TokenKey::new(bytes), Origin::Read(path.to_owned()))),
        Err(Missing::No(e)) => return Err(e),
        Err(Missing::Yes) => {}
    }
    create(path)?;
    // Read back what is there: ours, or another process's that won.
    match read(path) {
        Ok(bytes) => Ok((TokenKey::new(bytes), Origin::Created(path.to_owned()))),
        Err(Missing::No(e)) => Err(e),
        Err(Missing::Yes) => Err(error(path, "vanished right after it was created")),
    }
}

enum Missing {
    Yes,
    No(ConfigError),
}

fn read(path: &Path) -> Result<[u8; SECRET_LEN], Missing> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(Missing::Yes),
        Err(e) => return Err(Missing::No(error(path, format!("cannot open: {e}")))),
    };
    let meta = file
        .metadata()
        .map_err(|e| Missing::No(error(path, format!("cannot stat: {e}"))))?;
    if !meta.is_file() {
        return Err(Missing::No(error(path, "is not a regular file")));
    }
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(Missing::No(error(
            path,
            format!(
                "is open to group or others (mode {:o}); it must be readable by its owner only: \
                 chmod 600 it",
                mode & 0o777
            ),
        )));
    }
    let mut bytes = Vec::with_capacity(SECRET_LEN + 1);
    (&mut file)
        .take(SECRET_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Missing::No(error(path, format!("cannot read: {e}"))))?;
    <[u8; SECRET_LEN]>::try_from(bytes.as_slice()).map_err(|_| {
        Missing::No(error(
            path,
            format!(
                "holds {}{} bytes, not {SECRET_LEN}: not a ringport token secret (remove it \
                 to have a new one made; every token then ends)",
                bytes.len(),
                if bytes.len() > SECRET_LEN {
                    " or more"
                } else {
                    ""
                }
            ),
        ))
    })
}

/// Writes a fresh secret to `path` unless a file is there already.
fn create(path: &Path) -> Result<(), ConfigError> {
    let secret = random()?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{:08x}",
        std::process::id(),
        OsRng.next_u32()
    ));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&secret)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(error(path, format!("cannot create: {e}")));
    }
    // A link never replaces an existing name: the first of two racing
    // starts wins, the other reads the winner's file.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            if let Ok(d) = File::open(&dir) {
                let _ = d.sync_all();
            }
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(error(path, format!("cannot create: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_then_reused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("secret");
        let (first, origin) = load_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(origin, Origin::Created(path.clone()));
        let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), SECRET_LEN as u64);
        let (again, origin) = load_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(origin, Origin::Read(path.clone()));
        assert!(first == again, "the same key after a restart");
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("secret")]);
    }

    #[test]
    fn unusable_files_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let short = dir.path().join("short");
        std::fs::write(&short, b"abc").unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&short, std::fs::Permissions::from_mode(0o600))
            .unwrap_or_else(|e| panic!("{e}"));
        let err = load_file(&short).err().map(|e| e.0).unwrap_or_default();
        assert!(err.contains("short") && err.contains("3 bytes"), "{err}");

        let open = dir.path().join("open");
        std::fs::write(&open, [7u8; SECRET_LEN]).unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("{e}"));
        let err = load_file(&open).err().map(|e| e.0).unwrap_or_default();
        assert!(err.contains("open") && err.contains("644"), "{err}");

        let missing_dir = dir.path().join("nope").join("secret");
        let err = load_file(&missing_dir)
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert!(err.contains("cannot create"), "{err}");
    }
}
