//! ringport client library.
#![forbid(unsafe_code)]
