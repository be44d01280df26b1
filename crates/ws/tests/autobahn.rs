//! The cases of the Autobahn test suite (https://github.com/crossbario/autobahn-testsuite)
//! that apply to a server exchanging binary messages, as decoder tests:
//! framing (1.2), pings and pongs (2), reserved bits (3), opcodes (4),
//! fragmentation (5), text refused (6 → 1003), close (7), limits (9), and
//! RFC 6455's masking rule. Client frames are built by hand here, from the
//! RFC, not with the crate's own encoder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ringport_ws::{CloseCode, Decoder, Event, ProtocolError};

const MASK: [u8; 4] = [0x12, 0x34, 0x56, 0x78];

/// A client frame: `fin`, `rsv` bits (0..=7), `opcode`, masked payload.
fn frame(fin: bool, rsv: u8, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | (rsv << 4) | opcode];
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= 0xffff {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&MASK);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    out
}

fn binary(payload: &[u8]) -> Vec<u8> {
    frame(true, 0, 0x2, payload)
}

/// An owned copy of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Message(Vec<u8>),
    Ping(Vec<u8>),
    Pong,
    Close(Option<u16>),
}

/// Feeds `input` in pieces of `step` bytes, keeping unused bytes as the
/// engine does. Returns the events and the error, if any.
fn run(max: usize, input: &[u8], step: usize) -> (Vec<Got>, Option<ProtocolError>) {
    let mut decoder = Decoder::new(max);
    let mut scratch = Vec::new();
    let mut buffered = Vec::new();
    let mut got = Vec::new();
    for piece in input.chunks(step.max(1)) {
        buffered.extend_from_slice(piece);
        let result = decoder.decode(&buffered, &mut scratch, |e| {
            got.push(match e {
                Event::Message(m) => Got::Message(m.to_vec()),
                Event::Ping(p) => Got::Ping(p.to_vec()),
                Event::Pong => Got::Pong,
                Event::Close(c) => Got::Close(c.map(|c| c.0)),
            });
            Ok(())
        });
        match result {
            Ok(used) => {
                buffered.drain(..used);
                assert!(
                    buffered.len() <= decoder.max_frame_len(),
                    "never asks to buffer more than one frame"
                );
            }
            Err(e) => {
                assert!(decoder.is_closed());
                return (got, Some(e));
            }
        }
    }
    (got, None)
}

/// Runs whole and byte by byte; both must agree.
fn check(max: usize, input: &[u8]) -> (Vec<Got>, Option<ProtocolError>) {
    let whole = run(max, input, input.len());
    let bytewise = run(max, input, 1);
    assert_eq!(whole, bytewise, "delivery in pieces changes nothing");
    whole
}

fn error_code(max: usize, input: &[u8]) -> u16 {
    match check(max, input) {
        (_, Some(e)) => e.code.0,
        (got, None) => panic!("no error; events {got:?}"),
    }
}

#[test]
fn case_1_2_binary_messages_of_every_length_encoding() {
    for len in [0usize, 1, 125, 126, 127, 128, 1000, 65_535, 65_536, 70_000] {
        let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let (got, err) = run(70_000, &binary(&payload), usize::MAX);
        assert_eq!(err, None, "{len}");
        assert_eq!(got, vec![Got::Message(payload)], "{len}");
    }
    let (got, err) = check(8192, &binary(&[1, 2, 3]));
    assert_eq!((got, err), (vec![Got::Message(vec![1, 2, 3])], None));
}

#[test]
fn several_messages_in_one_read_in_order() {
    let mut input = binary(b"one");
    input.extend(binary(b"two"));
    input.extend(frame(true, 0, 0x9, b"p"));
    input.extend(binary(b"three"));
    let (got, err) = check(8192, &input);
    assert_eq!(err, None);
    assert_eq!(
        got,
        vec![
            Got::Message(b"one".to_vec()),
            Got::Message(b"two".to_vec()),
            Got::Ping(b"p".to_vec()),
            Got::Message(b"three".to_vec()),
        ]
    );
}

#[test]
fn case_2_pings_and_pongs() {
    // 2.1, 2.2, 2.4: pings with no, small and 125-byte payloads.
    for len in [0usize, 5, 125] {
        let payload = vec![0xfe; len];
        let (got, err) = check(8192, &frame(true, 0, 0x9, &payload));
        assert_eq!((got, err), (vec![Got::Ping(payload)], None));
    }
    // 2.5: a ping of 126 bytes.
    assert_eq!(error_code(8192, &frame(true, 0, 0x9, &[0; 126])), 1002);
    // 2.6–2.10: ten pings in a row.
    let input: Vec<u8> = (0..10u8).flat_map(|i| frame(true, 0, 0x9, &[i])).collect();
    let (got, _) = check(8192, &input);
    assert_eq!(
        got,
        (0..10u8).map(|i| Got::Ping(vec![i])).collect::<Vec<_>>()
    );
    // 2.11: an unsolicited pong.
    let (got, err) = check(8192, &frame(true, 0, 0xa, b"x"));
    assert_eq!((got, err), (vec![Got::Pong], None));
}

#[test]
fn case_3_reserved_bits() {
    for rsv in 1..=7u8 {
        for opcode in [0x1, 0x2, 0x9] {
            assert_eq!(error_code(8192, &frame(true, rsv, opcode, b"x")), 1002);
        }
    }
    // 3.2: the bad frame after a good one: the good one is delivered first.
    let mut input = binary(b"ok");
    input.extend(frame(true, 2, 0x2, b"x"));
    let (got, err) = check(8192, &input);
    assert_eq!(got, vec![Got::Message(b"ok".to_vec())]);
    assert_eq!(err.unwrap().code, CloseCode::PROTOCOL);
}

#[test]
fn case_4_reserved_opcodes() {
    for opcode in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
        assert_eq!(
            error_code(8192, &frame(true, 0, opcode, b"")),
            1002,
            "{opcode}"
        );
        assert_eq!(
            error_code(8192, &frame(true, 0, opcode, b"abc")),
            1002,
            "{opcode}"
        );
    }
}

#[test]
fn case_5_fragmentation() {
    // 5.1, 5.2: fragmented ping and pong.
    assert_eq!(error_code(8192, &frame(false, 0, 0x9, b"a")), 1002);
    assert_eq!(error_code(8192, &frame(false, 0, 0xa, b"a")), 1002);
    // 5.3–5.5: a binary message in two and in many fragments.
    let mut input = frame(false, 0, 0x2, b"frag");
    input.extend(frame(true, 0, 0x0, b"ment"));
    assert_eq!(
        check(8192, &input),
        (vec![Got::Message(b"fragment".to_vec())], None)
    );
    let mut input = frame(false, 0, 0x2, b"a");
    for _ in 0..20 {
        input.extend(frame(false, 0, 0x0, b"b"));
    }
    input.extend(frame(true, 0, 0x0, b""));
    let want = [b"a".to_vec(), vec![b'b'; 20]].concat();
    assert_eq!(check(8192, &input), (vec![Got::Message(want)], None));
    // 5.6–5.8: a ping between fragments is answered at once.
    let mut input = frame(false, 0, 0x2, b"ab");
    input.extend(frame(true, 0, 0x9, b"ping"));
    input.extend(frame(true, 0, 0x0, b"cd"));
    assert_eq!(
        check(8192, &input),
        (
            vec![Got::Ping(b"ping".to_vec()), Got::Message(b"abcd".to_vec())],
            None
        )
    );
    // 5.9–5.14: a continuation with no message in progress.
    assert_eq!(error_code(8192, &frame(true, 0, 0x0, b"x")), 1002);
    assert_eq!(error_code(8192, &frame(false, 0, 0x0, b"x")), 1002);
    // 5.18: a new message before the last one ended.
    let mut input = frame(false, 0, 0x2, b"a");
    input.extend(frame(true, 0, 0x2, b"b"));
    assert_eq!(error_code(8192, &input), 1002);
}

#[test]
fn case_6_text_is_refused_with_1003() {
    assert_eq!(error_code(8192, &frame(true, 0, 0x1, b"hello")), 1003);
    assert_eq!(error_code(8192, &frame(false, 0, 0x1, b"hel")), 1003);
    assert_eq!(error_code(8192, &frame(true, 0, 0x1, &[0xff, 0xfe])), 1003);
}

#[test]
fn case_7_close() {
    // 7.3.1: no payload; 7.1.1 / 7.3.3: a normal close with and without a reason.
    assert_eq!(
        check(8192, &frame(true, 0, 0x8, b"")),
        (vec![Got::Close(None)], None)
    );
    let (got, _) = check(8192, &frame(true, 0, 0x8, &[0x03, 0xe8]));
    assert_eq!(got, vec![Got::Close(Some(1000))]);
    let (got, _) = check(8192, &frame(true, 0, 0x8, b"\x03\xe8bye \xc3\xa9"));
    assert_eq!(got, vec![Got::Close(Some(1000))]);
    // 7.3.2: one byte of payload.
    assert_eq!(error_code(8192, &frame(true, 0, 0x8, &[0x03])), 1002);
    // 7.3.6 / 7.5.1: a reason that is not UTF-8.
    assert_eq!(
        error_code(8192, &frame(true, 0, 0x8, b"\x03\xe8\xce\xba\xff")),
        1007
    );
    // 7.7: valid codes are accepted.
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
    ] {
        let (got, err) = check(8192, &frame(true, 0, 0x8, &code.to_be_bytes()));
        assert_eq!((got, err), (vec![Got::Close(Some(code))], None), "{code}");
    }
    // 7.9: invalid codes are a protocol error.
    for code in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        assert_eq!(
            error_code(8192, &frame(true, 0, 0x8, &code.to_be_bytes())),
            1002,
            "{code}"
        );
    }
    // 7.1.2–7.1.5: anything after the close is ignored.
    let mut input = frame(true, 0, 0x8, &[0x03, 0xe8]);
    input.extend(binary(b"late"));
    input.extend(frame(true, 0, 0x9, b"late"));
    input.extend([0xff; 7]);
    let (got, err) = run(8192, &input, input.len());
    assert_eq!((got, err), (vec![Got::Close(Some(1000))], None));
}

#[test]
fn case_9_limits_are_enforced_from_the_header() {
    // One byte over the limit: refused from the header alone, before the
    // payload is buffered.
    let over = binary(&[7; 8193]);
    let header_only = &over[..8];
    assert_eq!(
        run(8192, header_only, 8).1.unwrap().code,
        CloseCode::TOO_BIG
    );
    assert_eq!(run(8192, &binary(&[7; 8192]), usize::MAX).1, None);
    // A 64-bit length far beyond memory.
    let mut huge = vec![0x82, 0x80 | 127];
    huge.extend_from_slice(&(1u64 << 62).to_be_bytes());
    huge.extend_from_slice(&MASK);
    assert_eq!(
        run(8192, &huge, usize::MAX).1.unwrap().code,
        CloseCode::TOO_BIG
    );
    // Fragments that add up to more than the limit.
    let mut input = frame(false, 0, 0x2, &[1; 5000]);
    input.extend(frame(true, 0, 0x0, &[2; 3193]));
    assert_eq!(error_code(8192, &input), 1009);
    let mut input = frame(false, 0, 0x2, &[1; 5000]);
    input.extend(frame(true, 0, 0x0, &[2; 3192]));
    assert_eq!(check(8192, &input).1, None);
}

#[test]
fn unmasked_client_frames_are_a_protocol_error() {
    // RFC 6455 section 5.1: a server closes on an unmasked frame.
    assert_eq!(error_code(8192, &[0x82, 0x02, b'h', b'i']), 1002);
    assert_eq!(error_code(8192, &[0x89, 0x00]), 1002);
}

#[test]
fn an_error_from_the_caller_stops_decoding() {
    let mut input = binary(b"bad packet");
    input.extend(binary(b"never seen"));
    let mut decoder = Decoder::new(8192);
    let mut seen = 0;
    let err = decoder
        .decode(&input, &mut Vec::new(), |_| {
            seen += 1;
            Err(ProtocolError::protocol("bad packet"))
        })
        .unwrap_err();
    assert_eq!((seen, err.reason), (1, "bad packet"));
    assert!(decoder.is_closed());
}
