//! Fuzz the frame decoder: arbitrary bytes as one receive buffer, cut into
//! frames by `frame_len` and decoded both ways, as a server (and a client)
//! would. Nothing may panic, and whatever decodes must re-encode to a frame
//! that decodes to the same packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringport_proto::{frame_len, ClientPacket, ServerPacket, DEFAULT_MAX_FRAME};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    // A bad frame closes the session: stop at the first error, like the server.
    while let Ok(Some(len)) = frame_len(rest, DEFAULT_MAX_FRAME) {
        assert!(len >= ringport_proto::HEADER_LEN && len <= rest.len());
        let (frame, tail) = rest.split_at(len);

        if let Ok(packet) = ClientPacket::decode(frame) {
            let mut again = Vec::new();
            packet.encode(&mut again).expect("a decoded packet encodes");
            assert_eq!(ClientPacket::decode(&again), Ok(packet));
        }
        if let Ok(packet) = ServerPacket::decode(frame) {
            let mut again = Vec::new();
            packet.encode(&mut again).expect("a decoded packet encodes");
            assert_eq!(ServerPacket::decode(&again), Ok(packet));
        }
        rest = tail;
    }
});
