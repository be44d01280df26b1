//! For the fuzz targets (feature `fuzzing`): the engine's TLS input path
//! without sockets. Not an API.

use std::sync::{Arc, OnceLock};

use crate::buf::send_queue::{Sealed, Sealer};
use crate::testing::TestCa;
use crate::tls::TlsSession;

/// Feeds `data` to a new server-side TLS session as received bytes, cut
/// into reads at the lengths its first bytes choose, and seals some
/// plaintext after each read as the send path would. Panics if an
/// invariant breaks: more plaintext out than bytes in, or data sealed
/// after the session failed.
pub fn tls_input(data: &[u8]) {
    static CONFIG: OnceLock<Arc<rustls::ServerConfig>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        TestCa::new("fuzz CA")
            .server_cert("fuzz")
            .server_config(&[])
    });
    let Ok(mut tls) = TlsSession::new(config) else {
        return;
    };
    let (cuts, mut rest) = data.split_at(data.len().min(4));
    let mut plain = Vec::new();
    let mut out = Vec::new();
    let mut fed = 0;
    let mut failed = false;
    for &cut in cuts.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let n = (usize::from(cut) * 37 + 1).min(rest.len());
        let (read, tail) = rest.split_at(n);
        rest = tail;
        fed += read.len();
        match tls.input(read, &mut plain) {
            Ok(input) => {
                assert!(!failed, "input accepted after a failure");
                if input.peer_closed {
                    break;
                }
            }
            Err(_) => failed = true,
        }
        assert!(plain.len() <= fed, "more plaintext than ciphertext");
        out.clear();
        let sealed = tls.seal([&b"reply"[..]].into_iter(), &mut out);
        if failed {
            assert_eq!(sealed, Sealed::Dropped, "data sealed after a failure");
            break;
        }
        let _ = tls.wants_write();
    }
}
