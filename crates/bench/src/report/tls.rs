//! How every report records `--tls`: whether it was on, what the handshake
//! agreed on, and whether certificates went unchecked (`--tls-insecure`),
//! so runs with and without TLS can be told apart and labelled.

use std::fmt::Write as _;

use super::json::JsonObject;
use crate::load::tls::{Negotiated, TlsClient};

/// Adds `tls` (bool), `tls_insecure` (bool), `tls_version` and
/// `tls_cipher` (null without TLS or before any handshake was done).
pub fn json<'j>(
    j: &'j mut JsonObject,
    client: Option<&TlsClient>,
    negotiated: Option<&Negotiated>,
) -> &'j mut JsonObject {
    j.bool("tls", client.is_some())
        .bool("tls_insecure", client.is_some_and(|c| c.insecure))
        .opt_string("tls_version", negotiated.map(|n| n.version.as_str()))
        .opt_string("tls_cipher", negotiated.map(|n| n.cipher.as_str()))
}

/// The human line about TLS (nothing without it); `handshakes` says where
/// the handshakes were counted.
pub fn human(
    s: &mut String,
    client: Option<&TlsClient>,
    negotiated: Option<&Negotiated>,
    handshakes: &str,
) {
    let Some(client) = client else {
        return;
    };
    let agreed = negotiated.map_or("no handshake done".to_string(), |n| {
        format!("{} {}", n.version, n.cipher)
    });
    let check = if client.insecure {
        "server certificate NOT checked (--tls-insecure: for benchmarking only)".to_string()
    } else {
        format!(
            "server certificate checked against --tls-ca for {:?}",
            client.server_name()
        )
    };
    let _ = writeln!(s, "  tls         {agreed}; {check}; {handshakes}");
}
