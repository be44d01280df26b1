//! ringport-bench: load generator and baselines.
#![forbid(unsafe_code)]
fn main() {}
