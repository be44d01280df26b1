//! The server's configuration: every setting with its built-in default, read
//! in layers — defaults, then a TOML file (`--config PATH`), then
//! `RINGPORT_<SECTION>__<KEY>` environment variables, then command-line
//! flags (only those given). Unknown keys are errors, as are values of the
//! wrong type or out of range; each error names the key and where it came
//! from.
//!
//! Each key is defined once, in [`sections`] (see [`settings`] for how):
//! its type, default, flag, range and text. From that definition come the
//! command-line flags ([`flags`]), `ringport config example`
//! (`contrib/ringport.toml`) and the key tables of docs/OPERATIONS.md
//! ([`render`]); a test fails when the files differ from what the
//! definitions render (`RINGPORT_BLESS=1` rewrites them).

mod env;
pub mod flags;
pub mod render;
mod sections;
pub(crate) mod settings;

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use sections::{
    AccountsSection, AdminSection, ChatSection, ClusterSection, EngineSection, HostList,
    ListenAddr, LogFormat, LogSection, LogicThread, OriginList, ServerSection, TlsSection,
    WebSocketSection,
};
pub use settings::Setting;

/// Defines [`Config`] from its sections, in file order.
macro_rules! config {
    ($($(#[doc = $doc:literal])* $field:ident: $section:ident,)*) => {
        /// Everything `ringport serve` and `ringport echo` can be told.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct Config {
            $($(#[doc = $doc])* pub $field: $section,)*
        }

        impl Config {
            /// Each section: its name, its doc and its keys, in file order.
            pub fn sections() -> Vec<(&'static str, &'static str, Vec<Setting>)> {
                vec![$(($section::NAME, $section::DOC, $section::settings()),)*]
            }

            /// Checks the ranges the definitions give.
            fn check_ranges(&self) -> Result<(), ConfigError> {
                $(self.$field.check_ranges().map_err(ConfigError)?;)*
                Ok(())
            }
        }
    };
}

config! {
    /// `[server]`: where clients connect.
    server: ServerSection,
    /// `[engine]`: the network engine's threads and limits.
    engine: EngineSection,
    /// `[chat]`: rooms, frames, rates and timeouts of the chat protocol.
    chat: ChatSection,
    /// `[accounts]`: the account store and password hashing.
    accounts: AccountsSection,
    /// `[log]`: filter, format and an optional rolling file.
    log: LogSection,
    /// `[admin]`: the metrics and health listener.
    admin: AdminSection,
    /// `[websocket]`: browsers, over WebSocket, and the web client (off
    /// unless `listen` is set).
    websocket: WebSocketSection,
    /// `[tls]`: the certificate of the TLS listeners.
    tls: TlsSection,
    /// `[cluster]`: several nodes sharing rooms through Redis (off unless
    /// `url` is set).
    cluster: ClusterSection,
}

/// A configuration that cannot be used. The binary exits with 78
/// (`EX_CONFIG`) on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Parses a TOML document; `origin` (a file name) prefixes any error.
    ///
    /// # Errors
    /// Invalid TOML, an unknown section or key, or a value of the wrong type;
    /// the message names the key, its line and `origin`.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError(format!("{origin}: {e}")))
    }

    /// Reads and parses the file at `path` (see [`Config::parse`]).
    ///
    /// # Errors
    /// The file cannot be read, or [`Config::parse`] fails.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: cannot read: {e}", path.display())))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Defaults, then the file (if any), then the process environment.
    ///
    /// # Errors
    /// As [`Config::from_file`] and [`Config::apply_env`].
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => Self::from_file(path)?,
            None => Config::default(),
        };
        config.apply_env(env::process_vars())?;
        Ok(config)
    }

    /// Applies `RINGPORT_<SECTION>__<KEY>=value` variables (and `RUST_LOG`,
    /// which sets `log.filter` unless `RINGPORT_LOG__FILTER` is also set).
    /// Variables named `RINGPORT_…` without a double underscore are not
    /// configuration and are ignored.
    ///
    /// # Errors
    /// An unknown section or key, or a value that does not fit the key's
    /// type; the message names the variable.
    pub fn apply_env<I>(&mut self, vars: I) -> Result<(), ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        *self = env::apply(self, vars)?;
        Ok(())
    }

    /// Every key of every section, in file order.
    pub fn settings() -> Vec<Setting> {
        Self::sections()
            .into_iter()
            .flat_map(|(_, _, settings)| settings)
            .collect()
    }

    /// Checks every value that has a valid range, naming the key of the first
    /// one that is out of it.
    ///
    /// # Errors
    /// A message `section.key: what is wrong`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_ranges()?;
        self.engine
            .to_engine_config()
            .validate()
            .map_err(|e| ConfigError(format!("engine.{e}")))?;
        self.chat
            .to_chat_config(self.engine.max_sessions, self.accounts.auto_register)
            .validate()
            .map_err(|e| ConfigError(format!("chat.{e}")))?;
        self.accounts.validate().map_err(ConfigError)?;
        self.log.validate().map_err(ConfigError)?;
        self.cluster.validate().map_err(ConfigError)?;
        self.chat
            .history_kind(&self.accounts, &self.cluster)
            .map_err(ConfigError)?;
        self.chat
            .logic_on_io_thread(self.engine.to_engine_config().io_threads)
            .map_err(ConfigError)?;
        self.validate_listeners()?;
        Ok(())
    }

    /// The chat server's listeners: at least one, and TLS ones with a
    /// certificate.
    fn validate_listeners(&self) -> Result<(), ConfigError> {
        let tls_wanted = self.server.tls_listen != ListenAddr::Off
            || (self.websocket.tls && self.websocket.listen != ListenAddr::Off);
        if tls_wanted && !self.tls.is_set() {
            return Err(ConfigError(
                "server.tls_listen and websocket.tls need tls.cert and tls.key (PEM files)".into(),
            ));
        }
        if self.server.listen == ListenAddr::Off
            && self.server.tls_listen == ListenAddr::Off
            && self.websocket.listen == ListenAddr::Off
        {
            return Err(ConfigError(
                "no listener: server.listen, server.tls_listen and websocket.listen are all none"
                    .into(),
            ));
        }
        if self.tls.cert.is_empty() != self.tls.key.is_empty() {
            return Err(ConfigError(
                "tls.cert and tls.key go together: set both or neither".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
