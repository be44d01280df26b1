//! Close codes (RFC 6455 section 7.4): the ones this server sends, and
//! which codes a peer may send.

/// A close status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection is fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the server is going away (shutdown).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: a protocol error.
    pub const PROTOCOL: CloseCode = CloseCode(1002);
    /// 1003: a kind of data the endpoint does not accept (text messages).
    pub const UNSUPPORTED: CloseCode = CloseCode(1003);
    /// 1007: data inconsistent with its type (invalid UTF-8 in a close
    /// reason).
    pub const INVALID_DATA: CloseCode = CloseCode(1007);
    /// 1008: a policy violation (for example a session closed for idling).
    pub const POLICY: CloseCode = CloseCode(1008);
    /// 1009: a message too big to process.
    pub const TOO_BIG: CloseCode = CloseCode(1009);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL: CloseCode = CloseCode(1011);

    /// Whether a peer may send this code in a close frame: the codes defined
    /// for use on the wire (1000–1003, 1007–1014) and the ranges for
    /// libraries and applications (3000–4999). 1004–1006 and 1015 are
    /// reserved or must never be sent; anything else is unassigned.
    pub fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl std::fmt::Display for CloseCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::CloseCode;

    #[test]
    fn codes_a_peer_may_send() {
        for ok in [1000, 1001, 1002, 1003, 1007, 1008, 1011, 1014, 3000, 4999] {
            assert!(CloseCode(ok).is_valid_on_wire(), "{ok}");
        }
        for bad in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535,
        ] {
            assert!(!CloseCode(bad).is_valid_on_wire(), "{bad}");
        }
    }
}
