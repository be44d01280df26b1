//! ringport wire protocol v1 (see `docs/PROTOCOL.md`).
#![forbid(unsafe_code)]
