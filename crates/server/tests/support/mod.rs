//! Browser test support: headless Chromium over WebDriver ([`browser`]) and a
//! loopback file server for the web client's files ([`static_files`]).
#![allow(dead_code)]

pub mod browser;
pub mod static_files;

use std::path::PathBuf;

/// `crates/server/web`, the web client's files.
pub fn web_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/web"))
}
