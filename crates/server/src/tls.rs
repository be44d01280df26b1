//! The server's certificate: read from `[tls] cert` and `key` (PEM), checked
//! (the key matches, the certificate is valid now), handed to the engine's
//! TLS listeners through a resolver that `SIGHUP` can swap
//! ([`Certificates::reload`]): new sessions get the new pair, open sessions
//! keep theirs, and a bad new pair is refused while the old one stays.
//!
//! Crypto provider: ring (see the workspace `Cargo.toml`). Protocols: TLS
//! 1.3 and 1.2 with rustls's safe defaults.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::ConfigError;

/// The certificate and key in use, and where they are read from.
pub struct Certificates {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Loaded>,
    reloaded: AtomicU64,
    refused: AtomicU64,
}

/// One loaded pair.
#[derive(Clone)]
struct Loaded {
    key: Arc<CertifiedKey>,
    /// When the certificate stops being valid (Unix seconds).
    not_after: i64,
}

impl fmt::Debug for Certificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificates")
            .field("cert", &self.cert_path)
            .field("key", &self.key_path)
            .finish_non_exhaustive()
    }
}

impl Certificates {
    /// Reads and checks the pair.
    ///
    /// # Errors
    /// A message naming the file: missing or unreadable, no certificate or
    /// key in it, a key that does not match the certificate, a certificate
    /// that has expired or is not valid yet.
    pub fn load(cert: &Path, key: &Path) -> Result<Arc<Certificates>, ConfigError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let loaded = load_pair(cert, key, &provider).map_err(ConfigError)?;
        Ok(Arc::new(Certificates {
            cert_path: cert.to_path_buf(),
            key_path: key.to_path_buf(),
            provider,
            current: RwLock::new(loaded),
            reloaded: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }))
    }

    /// Reads the files again; on success new sessions get the new pair. On
    /// failure the pair in use stays and the reason is returned.
    ///
    /// # Errors
    /// As [`Certificates::load`].
    pub fn reload(&self) -> Result<(), ConfigError> {
        let loaded = match load_pair(&self.cert_path, &self.key_path, &self.provider) {
            Ok(loaded) => loaded,
            Err(e) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Err(ConfigError(e));
            }
        };
        match self.current.write() {
            Ok(mut current) => *current = loaded,
            Err(poisoned) => *poisoned.into_inner() = loaded,
        }
        self.reloaded.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Reloads so far: (done, refused).
    pub fn reloads(&self) -> (u64, u64) {
        (
            self.reloaded.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
        )
    }

    /// Days until the certificate in use expires (negative once it has).
    pub fn days_left(&self) -> f64 {
        let not_after = self.loaded().not_after;
        (not_after - unix_now()) as f64 / 86_400.0
    }

    /// The certificate file.
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    /// A server configuration presenting the current pair (and after a
    /// reload, the new one), offering `alpn` (e.g. `http/1.1` for `wss`).
    ///
    /// # Errors
    /// Only if the provider supports no safe protocol version (not ring).
    pub fn server_config(
        self: &Arc<Self>,
        alpn: &[&[u8]],
    ) -> Result<Arc<ServerConfig>, ConfigError> {
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ConfigError(format!("tls: {e}")))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Resolver(self.clone())));
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }

    fn loaded(&self) -> Loaded {
        match self.current.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// Hands every new session the pair in use.
#[derive(Debug)]
struct Resolver(Arc<Certificates>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.loaded().key)
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Reads `cert` (a chain, the server's certificate first) and `key`, and
/// checks that they belong together and that the certificate is valid now.
fn load_pair(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<Loaded, String> {
    let shown = |p: &Path| p.display().to_string();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("tls.cert {}: cannot read: {e}", shown(cert)))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls.cert {}: not PEM certificates: {e}", shown(cert)))?;
    let Some(leaf) = chain.first() else {
        return Err(format!(
            "tls.cert {}: no certificate in it (expected PEM `BEGIN CERTIFICATE` blocks)",
            shown(cert)
        ));
    };
    let (not_before, not_after) = match x509_parser::parse_x509_certificate(leaf) {
        Ok((_, parsed)) => {
            let v = parsed.validity();
            (v.not_before.timestamp(), v.not_after.timestamp())
        }
        Err(e) => {
            return Err(format!(
                "tls.cert {}: the first certificate cannot be read: {e}",
                shown(cert)
            ))
        }
    };
    let now = unix_now();
    if now > not_after {
        return Err(format!(
            "tls.cert {}: the certificate expired {} day(s) ago",
            shown(cert),
            (now - not_after) / 86_400
        ));
    }
    if now < not_before {
        return Err(format!(
            "tls.cert {}: the certificate is not valid yet (for {} more second(s))",
            shown(cert),
            not_before - now
        ));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| match e {
        rustls_pki_types::pem::Error::Io(e) => format!("tls.key {}: cannot read: {e}", shown(key)),
        other => format!(
            "tls.key {}: no private key in it (expected PEM PKCS#8, RSA or EC): {other}",
            shown(key)
        ),
    })?;
    let certified = CertifiedKey::from_der(chain, private, provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => format!(
            "tls.key {}: the key does not match the certificate in {}",
            shown(key),
            shown(cert)
        ),
        other => format!("tls.key {}: cannot be used: {other}", shown(key)),
    })?;
    Ok(Loaded {
        key: Arc::new(certified),
        not_after,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use ringport_net::testing::TestCa;

    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn loads_a_pair_and_refuses_what_cannot_be_used() {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("test CA");
        let a = ca.server_cert("a");
        let b = ca.server_cert("b");
        let cert = write(dir.path(), "a.pem", &a.cert_pem);
        let key = write(dir.path(), "a.key", &a.key_pem);
        let certs = Certificates::load(&cert, &key).unwrap();
        assert!(
            (0.5..3.0).contains(&certs.days_left()),
            "{}",
            certs.days_left()
        );

        let cases = [
            (dir.path().join("missing.pem"), key.clone(), "cannot read"),
            (
                write(dir.path(), "empty.pem", ""),
                key.clone(),
                "no certificate",
            ),
            (
                cert.clone(),
                write(dir.path(), "b.key", &b.key_pem),
                "does not match",
            ),
            (
                cert.clone(),
                write(dir.path(), "nokey", &a.cert_pem),
                "no private key",
            ),
            (
                write(dir.path(), "old.pem", &ca.expired_server_cert().cert_pem),
                write(dir.path(), "old.key", &ca.expired_server_cert().key_pem),
                "expired",
            ),
        ];
        for (cert, key, want) in cases {
            let err = Certificates::load(&cert, &key).unwrap_err().0;
            assert!(err.contains(want), "{err}");
            assert!(
                err.contains(&cert.display().to_string())
                    || err.contains(&key.display().to_string()),
                "names the file: {err}"
            );
        }
    }

    #[test]
    fn a_reload_swaps_the_pair_and_a_bad_one_keeps_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("test CA");
        let a = ca.server_cert("a");
        let b = ca.server_cert("b");
        let cert = write(dir.path(), "cert.pem", &a.cert_pem);
        let key = write(dir.path(), "key.pem", &a.key_pem);
        let certs = Certificates::load(&cert, &key).unwrap();
        let first = certs.loaded().key;
        // A new certificate with the old key: refused, the old pair stays.
        write(dir.path(), "cert.pem", &b.cert_pem);
        assert!(certs.reload().unwrap_err().0.contains("does not match"));
        assert!(Arc::ptr_eq(&certs.loaded().key, &first));
        // Both new: swapped.
        write(dir.path(), "key.pem", &b.key_pem);
        certs.reload().unwrap();
        assert_eq!(certs.loaded().key.cert[0], b.cert_der());
    }
}
