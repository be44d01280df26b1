//! One module per request kind, each an `impl Chat` block with the
//! request's `handle_*` method: [`echo`] (1),
//! [`login`] (201 and the account-check answer), [`enter`] (206), [`leave`]
//! (215 and the leave half of a disconnect), [`room_chat`] (221), and the
//! created-rooms extension: [`create`] (301), [`list`] (303) and
//! [`enter_name`] (307), and the history-and-resume extension: [`hello`]
//! (311), [`history`] (314) and, in [`login`], the token login (317).
//!
//! Bodies were checked by the decoder before a request's method runs (result
//! 90 is sent by [`crate::Chat::handle_packet`]); each checks the session's
//! state next, then the rest, in the order `docs/PROTOCOL.md` gives.

pub(crate) mod create;
pub(crate) mod echo;
pub(crate) mod enter;
pub(crate) mod enter_name;
pub(crate) mod hello;
pub(crate) mod history;
pub(crate) mod leave;
pub(crate) mod list;
pub(crate) mod login;
pub(crate) mod room_chat;
