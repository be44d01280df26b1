//! TLS for the client: [`client_config`] builds the rustls configuration
//! (a CA file, the system's roots, or no check at all), [`server_name`]
//! parses the name to check, and [`handshake`] runs the whole handshake on a
//! connected socket before [`crate::Client::connect_tls`] returns.
//!
//! Everything uses rustls's `ring` provider explicitly (not the process-wide
//! default, which another dependency could set to something else).

use std::fmt;
use std::io;
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{self, CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore,
    SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::error::ClientError;

/// Why TLS failed, in words; [`TlsError::rustls_error`] gives the rustls
/// error behind it, when there is one.
#[derive(Debug, Clone)]
pub struct TlsError {
    message: String,
    rustls: Option<rustls::Error>,
}

impl TlsError {
    /// An error with this message and no rustls error behind it.
    pub(crate) fn msg(message: impl Into<String>) -> TlsError {
        TlsError {
            message: message.into(),
            rustls: None,
        }
    }

    /// The rustls error, for a handshake or record that failed.
    pub fn rustls_error(&self) -> Option<&rustls::Error> {
        self.rustls.as_ref()
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TlsError {}

impl From<rustls::Error> for TlsError {
    fn from(e: rustls::Error) -> TlsError {
        let message = match &e {
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
                "certificate not trusted: UnknownIssuer (the server's certificate is not \
                 signed by a CA this client trusts)"
                    .to_string()
            }
            rustls::Error::InvalidCertificate(CertificateError::BadSignature) => {
                "certificate not trusted: BadSignature".to_string()
            }
            rustls::Error::InvalidCertificate(cert) => format!("certificate rejected: {cert}"),
            rustls::Error::NoCertificatesPresented => {
                "the server presented no certificate".to_string()
            }
            rustls::Error::AlertReceived(alert) => {
                format!("the server ended the handshake with alert {alert:?}")
            }
            other => format!("handshake failed: {other}"),
        };
        TlsError {
            message,
            rustls: Some(e),
        }
    }
}

/// The client's TLS configuration.
///
/// - `insecure`: any certificate is accepted (`ca` is ignored); the
///   handshake's signatures are still checked, so the connection is
///   encrypted, but to whoever answered. For tests and self-signed setups
///   only: anyone on the path can read everything, passwords included.
/// - otherwise with `ca`: exactly the PEM certificates in that file are
///   trusted (a CA, or a self-signed server certificate);
/// - otherwise the system's trust store.
///
/// TLS 1.3 and 1.2, no ALPN, no client certificate.
///
/// # Errors
///
/// [`ClientError::Tls`], naming the file, if `ca` cannot be read, is not
/// PEM or holds no usable certificate; if the system's trust store has no
/// usable certificate.
pub fn client_config(ca: Option<&Path>, insecure: bool) -> Result<Arc<ClientConfig>, ClientError> {
    let provider = Arc::new(crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::from)?;
    let config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate::new(&provider)))
            .with_no_client_auth()
    } else {
        let roots = match ca {
            Some(path) => roots_from_file(path)?,
            None => system_roots()?,
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// The certificates of a PEM file as trust anchors.
fn roots_from_file(path: &Path) -> Result<RootCertStore, TlsError> {
    let shown = path.display();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| TlsError::msg(format!("CA file {shown}: cannot open it: {}", pem_error(e))))?;
    let mut roots = RootCertStore::empty();
    for (n, cert) in certs.enumerate() {
        let cert = cert.map_err(|e| {
            TlsError::msg(format!(
                "CA file {shown}: cannot read it as PEM: {}",
                pem_error(e)
            ))
        })?;
        roots.add(cert).map_err(|e| {
            TlsError::msg(format!(
                "CA file {shown}: certificate {} is not usable: {e}",
                n + 1
            ))
        })?;
    }
    if roots.is_empty() {
        return Err(TlsError::msg(format!(
            "CA file {shown}: no certificate in it (expected PEM \
             \"-----BEGIN CERTIFICATE-----\" blocks)"
        )));
    }
    Ok(roots)
}

/// A PEM error in words (the I/O error itself rather than "Io(...)").
fn pem_error(e: rustls_pki_types::pem::Error) -> String {
    match e {
        rustls_pki_types::pem::Error::Io(e) => e.to_string(),
        other => other.to_string(),
    }
}

/// The system's trust store.
fn system_roots() -> Result<RootCertStore, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = match found.errors.first() {
            Some(e) => format!(": {e}"),
            None => String::new(),
        };
        return Err(TlsError::msg(format!(
            "no usable certificate in the system's trust store{why}; give a CA file"
        )));
    }
    Ok(roots)
}

/// The name to send (SNI) and to find in the server's certificate: a DNS
/// name, or an IP address (then the certificate must hold that address, and
/// no SNI is sent).
///
/// # Errors
///
/// [`ClientError::Tls`] if `name` is neither.
pub fn server_name(name: &str) -> Result<ServerName<'static>, ClientError> {
    ServerName::try_from(name.to_string()).map_err(|_| {
        ClientError::Tls(TlsError::msg(format!(
            "invalid server name {name:?}: neither a DNS name nor an IP address"
        )))
    })
}

/// A verifier that takes any certificate for any name, but still checks
/// that the handshake is signed by the key of the certificate presented,
/// with the provider's algorithms (see [`client_config`]'s `insecure`).
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl AcceptAnyCertificate {
    fn new(provider: &CryptoProvider) -> AcceptAnyCertificate {
        AcceptAnyCertificate {
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Runs the whole TLS handshake on `sock` (the client's `Finished` included)
/// so that a rejected certificate fails here, not at the first receive.
/// With a `deadline` the handshake fails with a timeout when it passes; the
/// socket's timeouts are off again afterwards.
pub(crate) fn handshake(
    sock: &mut TcpStream,
    server_name: ServerName<'static>,
    config: Arc<ClientConfig>,
    deadline: Option<Instant>,
) -> Result<ClientConnection, ClientError> {
    let mut conn = ClientConnection::new(config, server_name).map_err(TlsError::from)?;
    let result = drive(sock, &mut conn, deadline);
    if deadline.is_some() {
        sock.set_read_timeout(None)?;
        sock.set_write_timeout(None)?;
    }
    result.map(|()| conn)
}

fn drive(
    sock: &mut TcpStream,
    conn: &mut ClientConnection,
    deadline: Option<Instant>,
) -> Result<(), ClientError> {
    while conn.is_handshaking() {
        flush(sock, conn, deadline)?;
        if !conn.is_handshaking() {
            break;
        }
        if let Some(deadline) = deadline {
            sock.set_read_timeout(Some(remaining(deadline)?))?;
        }
        match conn.read_tls(sock) {
            Ok(0) => {
                return Err(TlsError::msg(
                    "the server closed the connection during the handshake \
                     (is that address a TLS listener?)",
                )
                .into())
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if deadline.is_some() && is_timeout(&e) => return Err(timed_out()),
            Err(e) => return Err(e.into()),
        }
        if let Err(e) = conn.process_new_packets() {
            // Tell the server why (the alert rustls queued), if it listens.
            let _ = flush(sock, conn, deadline);
            return Err(TlsError::from(e).into());
        }
    }
    // The client's last flight (its Finished in TLS 1.3).
    flush(sock, conn, deadline)
}

/// Writes everything rustls has queued.
fn flush(
    sock: &mut TcpStream,
    conn: &mut ClientConnection,
    deadline: Option<Instant>,
) -> Result<(), ClientError> {
    while conn.wants_write() {
        if let Some(deadline) = deadline {
            sock.set_write_timeout(Some(remaining(deadline)?))?;
        }
        match conn.write_tls(sock) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if deadline.is_some() && is_timeout(&e) => return Err(timed_out()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn remaining(deadline: Instant) -> Result<Duration, ClientError> {
    match deadline.checked_duration_since(Instant::now()) {
        Some(left) if !left.is_zero() => Ok(left),
        _ => Err(timed_out()),
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn timed_out() -> ClientError {
    ClientError::Io(io::Error::new(
        io::ErrorKind::TimedOut,
        "the TLS handshake timed out",
    ))
}
