//! Replays the committed corpus of the `decode` fuzz target
//! (`fuzz/corpus/decode`, see fuzz/README.md) with the target's own checks,
//! so every input the fuzzer kept, including any that once crashed it, runs
//! on every `cargo test` without cargo-fuzz or libFuzzer.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test file: a failed unwrap is a failed test

use std::path::{Path, PathBuf};

use ringport_proto::{frame_len, ClientPacket, ServerPacket, DEFAULT_MAX_FRAME, HEADER_LEN};

/// The body of `fuzz/fuzz_targets/decode.rs`: cut `data` into frames as the
/// server does, decode each both ways, and check that whatever decodes
/// re-encodes to a frame that decodes to the same packet.
fn decode_target(data: &[u8]) {
    let mut rest = data;
    while let Ok(Some(len)) = frame_len(rest, DEFAULT_MAX_FRAME) {
        assert!(len >= HEADER_LEN && len <= rest.len());
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
}

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn decode_corpus_replays_without_failure() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/decode");
    let files = corpus_files(&dir);
    // The corpus is committed: an empty one means it went missing.
    assert!(
        files.len() >= 10,
        "{} holds {} files",
        dir.display(),
        files.len()
    );
    let mut frames = 0;
    for path in &files {
        let data = std::fs::read(path).unwrap();
        let result = std::panic::catch_unwind(|| decode_target(&data));
        assert!(result.is_ok(), "corpus input {} fails", path.display());
        frames += usize::from(matches!(frame_len(&data, DEFAULT_MAX_FRAME), Ok(Some(_))));
    }
    // The corpus reaches the decoders, not only the length check.
    assert!(frames > 0, "no corpus input holds a whole frame");
}
