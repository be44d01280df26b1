//! ringport-net engine.
