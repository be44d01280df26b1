//! [`Secret`]: a password in transit from a login request to the account
//! store, which never shows up in logs and is wiped when dropped.

use std::fmt;

use zeroize::Zeroize;

/// A password. `Debug` prints `***`; the text is only reachable through
/// [`Secret::expose`], and its bytes are overwritten with zeros when the
/// value is dropped (through `zeroize`, whose writes the optimiser cannot
/// remove).
///
/// Not `Clone`: there is one copy per login attempt, owned by whoever runs
/// the account check.
pub struct Secret(String);

impl Secret {
    /// Copies `text` into a new secret (into an allocation of exactly its
    /// size, so no reallocation leaves a copy behind).
    pub fn new(text: &str) -> Secret {
        let mut owned = String::with_capacity(text.len());
        owned.push_str(text);
        Secret(owned)
    }

    /// The password, for the account check. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Secret {
        Secret::new(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_text() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(secret.expose(), "hunter2");
    }
}
