//! For tests of TLS listeners (feature `testing`): a certificate authority
//! made on the spot, certificates it signs, and the rustls configurations
//! both sides need. Nothing here is for production: keys live in memory
//! and certificates are valid from now for a day or two.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// A test certificate authority.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate for `localhost` and `127.0.0.1`, with its key.
#[derive(Clone)]
pub struct TestCert {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM (PKCS#8).
    pub key_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
    spki_der: Vec<u8>,
}

impl TestCa {
    /// A new authority named `name`.
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    /// The authority's certificate, PEM (what clients are told to trust).
    pub fn cert_pem(&self) -> String {
        self.issuer.as_ref().pem()
    }

    /// The authority's certificate, DER.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.issuer.as_ref().der().clone()
    }

    /// A server certificate for `localhost` and `127.0.0.1` signed by this
    /// authority, named `cn`, valid from now for a day and a half.
    pub fn server_cert(&self, cn: &str) -> TestCert {
        let now = time::OffsetDateTime::now_utc();
        self.cert_valid(
            cn,
            now - time::Duration::minutes(5),
            now + time::Duration::hours(36),
        )
    }

    /// A server certificate that expired yesterday.
    pub fn expired_server_cert(&self) -> TestCert {
        let now = time::OffsetDateTime::now_utc();
        self.cert_valid(
            "expired",
            now - time::Duration::days(30),
            now - time::Duration::days(1),
        )
    }

    fn cert_valid(
        &self,
        cn: &str,
        not_before: time::OffsetDateTime,
        not_after: time::OffsetDateTime,
    ) -> TestCert {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("server params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.not_before = not_before;
        params.not_after = not_after;
        let key = KeyPair::generate().expect("server key");
        let cert = params.signed_by(&key, &self.issuer).expect("server cert");
        TestCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            spki_der: rcgen::PublicKeyData::subject_public_key_info(&key),
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }

    /// A client configuration trusting only this authority.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.cert_der()).expect("CA certificate is valid");
        Arc::new(
            ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .expect("protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }
}

impl TestCert {
    /// The certificate, DER.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.cert_der.clone()
    }

    /// The SHA-256 of its public key (SubjectPublicKeyInfo), base64: what
    /// Chromium's `--ignore-certificate-errors-spki-list` takes to trust it.
    pub fn spki_sha256_base64(&self) -> String {
        let sha256 = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256
            .tls13()
            .expect("a TLS 1.3 suite")
            .common
            .hash_provider;
        data_encoding::BASE64.encode(sha256.hash(&self.spki_der).as_ref())
    }

    /// A server configuration presenting this certificate (ALPN as given).
    pub fn server_config(&self, alpn: &[&[u8]]) -> Arc<ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![self.cert_der()], key)
            .expect("certificate and key match");
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}

/// The name test certificates are made for.
pub fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").expect("a valid name")
}

/// The crypto provider ringport uses (ring).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
