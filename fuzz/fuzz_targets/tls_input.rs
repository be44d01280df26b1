//! Fuzz the engine's TLS input path: arbitrary bytes as what a client sent
//! to a TLS listener, in reads cut anywhere, with the send path sealing a
//! reply after each read. Nothing may panic; a failed session seals
//! nothing more; plaintext never outgrows what came in
//! (`ringport_net::fuzzing::tls_input`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ringport_net::fuzzing::tls_input(data);
});
