//! ringport chat content (the Content layer).
#![forbid(unsafe_code)]
