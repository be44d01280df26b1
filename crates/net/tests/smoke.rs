//! Smoke test: one echo round trip per backend.
mod common;
use common::*;

#[test]
fn echo_round_trip_on_both_backends() {
    for backend in BACKENDS {
        let server = Server::echo(backend);
        let mut c = connect(server.addr);
        write_all(&mut c, b"hello engine");
        assert_eq!(read_n(&mut c, 12), b"hello engine", "{backend}");
        drop(c);
        server.wait_stats("close", |s| s.sessions_open == 0);
        let stats = server.stop();
        assert_eq!(stats.accepted, 1);
    }
}
