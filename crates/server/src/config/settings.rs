//! How a setting is defined: once, in a [`settings!`] block, which yields
//! the section struct (serde, `deny_unknown_fields`, every key optional),
//! its `Default`, its range checks and its [`Setting`] descriptors. The
//! descriptors drive everything else an operator sees: the command-line
//! flags ([`super::flags`]), their help, the example file and the tables of
//! docs/OPERATIONS.md ([`super::render`]). The environment layer needs no
//! descriptor: it follows the serialised sections.
//!
//! One entry of a `settings!` block:
//!
//! ```text
//! /// What it does, for operators (the rustdoc, the help, the example file
//! /// and the docs table all use this text).
//! key: Type = default expression, flag(Group, "flag-name"), range(1..=60);
//! ```
//!
//! `flag(..)` and `range(..)` are optional. `flag` may add clap builder calls
//! (`flag(Serve, "room-start", allow_negative_numbers(true))`); `range` is
//! checked by [`Config::validate`](super::Config::validate) with a message
//! naming `section.key`, and printed after the doc. Ranges the libraries
//! check (`EngineConfig::validate`, `ChatConfig::validate`) are not checked
//! again here; the doc states them for operators.
//!
//! A new section is a block in `sections.rs` and one line in `config!`
//! (`config/mod.rs`); then `RINGPORT_BLESS=1 cargo test -p ringport
//! config::render` writes it into the example file and, given its markers
//! (`<!-- settings:websocket -->` … `<!-- /settings:websocket -->`), into
//! docs/OPERATIONS.md:
//!
//! ```text
//! settings! {
//!     /// WebSocket clients (RFC 6455) next to the TCP ones.
//!     pub struct WebSocketSection in websocket {
//!         /// Address WebSocket clients connect to, or `none`.
//!         #[serde(serialize_with = "as_display", deserialize_with = "from_str")]
//!         listen: ListenAddr = ListenAddr::Off, flag(Serve, "ws-listen");
//!         /// Largest message in bytes.
//!         max_message: usize = 65_536, range(128..=1 << 20);
//!     }
//! }
//! ```

use std::fmt::Display;
use std::net::SocketAddr;
use std::ops::{Bound, RangeBounds};

use ringport_net::BackendChoice;

use super::{HostList, ListenAddr, LogFormat, LogicThread, OriginList};

/// One configuration key, as operators meet it.
#[derive(Debug, Clone)]
pub struct Setting {
    /// Section name (`engine`).
    pub section: &'static str,
    /// Key within the section (`io_threads`).
    pub key: &'static str,
    /// `section.key`, also the flag's clap id.
    pub id: &'static str,
    /// The doc comment, one line per source line.
    pub(crate) doc: &'static str,
    /// The default, as a TOML value (`"auto"`, `10000`); `None` only if the
    /// section cannot be serialised, which a test rules out.
    pub default: Option<toml::Value>,
    /// The accepted range when checked here (`1..=600000`, `at least 8`).
    pub range: Option<String>,
    /// The command-line flag, when there is one.
    pub flag: Option<Flag>,
}

impl Setting {
    /// The environment variable that sets it (`RINGPORT_ENGINE__IO_THREADS`).
    pub fn env_var(&self) -> String {
        format!("RINGPORT_{}__{}", self.section, self.key).to_uppercase()
    }

    /// The doc as one paragraph, with the range appended when there is one.
    pub fn text(&self) -> String {
        let mut text = self
            .doc
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(range) = &self.range {
            text.push_str(&format!(" Range: {range}."));
        }
        text
    }

    /// The default as written in a TOML file (`"auto"`, `10000`).
    pub fn default_toml(&self) -> String {
        self.default
            .as_ref()
            .map_or_else(|| "?".into(), ToString::to_string)
    }

    /// The default as shown in `--help`: text without quotes unless empty.
    pub fn default_shown(&self) -> String {
        match &self.default {
            Some(toml::Value::String(s)) if !s.is_empty() => s.clone(),
            _ => self.default_toml(),
        }
    }
}

/// Which commands take a setting's flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Every subcommand (global flags, listed last).
    Global,
    /// The servers: `serve` and `echo`.
    Host,
    /// `serve` only.
    Serve,
    /// The account store: `serve` and `user` (global under `user`).
    Store,
}

/// A setting's command-line flag.
#[derive(Clone)]
pub struct Flag {
    /// `--name`.
    pub name: &'static str,
    /// Which commands take it.
    pub group: Group,
    /// Adds the value parser, the value name and any extra builder calls.
    pub(crate) arg: fn(clap::Arg) -> clap::Arg,
    /// Writes the flag's value, when given, over its key.
    pub(crate) take: fn(&clap::ArgMatches, &mut super::Config),
}

impl std::fmt::Debug for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flag")
            .field("name", &self.name)
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

/// The placeholder of a flag's value in `--help`, by type.
pub trait FlagValue {
    /// `N`, `ADDR`, …
    const VALUE_NAME: &'static str;
}

macro_rules! value_names {
    ($($ty:ty => $name:literal),* $(,)?) => {
        $(impl FlagValue for $ty {
            const VALUE_NAME: &'static str = $name;
        })*
    };
}

value_names! {
    usize => "N",
    u64 => "N",
    u32 => "N",
    i32 => "N",
    bool => "BOOL",
    String => "TEXT",
    SocketAddr => "ADDR",
    ListenAddr => "ADDR|none",
    OriginList => "ORIGIN,…",
    HostList => "HOST,…",
    BackendChoice => "auto|io-uring|poll",
    LogicThread => "auto|own|io",
    LogFormat => "text|json",
}

/// `1..=60`, `at least 8` or `at most 60000`.
pub(crate) fn range_text<T: Display, R: RangeBounds<T>>(range: &R) -> String {
    match (range.start_bound(), range.end_bound()) {
        (Bound::Included(a), Bound::Included(b)) => format!("{a}..={b}"),
        (Bound::Included(a), Bound::Unbounded) => format!("at least {a}"),
        (Bound::Unbounded, Bound::Included(b)) => format!("at most {b}"),
        _ => "any".into(),
    }
}

/// `Err("section.key must be RANGE, got VALUE")` when `value` is outside.
pub(crate) fn check_range<T, R>(id: &str, value: &T, range: &R) -> Result<(), String>
where
    T: PartialOrd + Display,
    R: RangeBounds<T>,
{
    if range.contains(value) {
        Ok(())
    } else {
        Err(format!("{id} must be {}, got {value}", range_text(range)))
    }
}

/// Defines one section; see the module documentation.
macro_rules! settings {
    (@flag $sec:ident $key:ident $ty:ty;) => { None };
    (@flag $sec:ident $key:ident $ty:ty;
        $group:ident $flag:literal $(, $method:ident($($arg:tt)*))*) => {
        Some($crate::config::settings::Flag {
            name: $flag,
            group: $crate::config::settings::Group::$group,
            arg: |arg| {
                arg.value_parser(clap::value_parser!($ty))
                    .value_name(<$ty as $crate::config::settings::FlagValue>::VALUE_NAME)
                    $(.$method($($arg)*))*
            },
            take: |matches, config| {
                let id = concat!(stringify!($sec), ".", stringify!($key));
                if let Ok(Some(value)) = matches.try_get_one::<$ty>(id) {
                    config.$sec.$key = value.clone();
                }
            },
        })
    };
    (@range) => { None };
    (@range $range:expr) => { Some($crate::config::settings::range_text(&($range))) };
    (
        $(#[doc = $section_doc:literal])*
        pub struct $name:ident in $sec:ident
        $(, defaults($($d:ident = $dinit:expr),+))? {
            $(
                $(#[doc = $doc:literal])*
                $(#[serde($($serde:tt)*)])?
                $key:ident: $ty:ty = $default:expr
                $(, flag($group:ident, $flag:literal $(, $method:ident($($arg:tt)*))*))?
                $(, range($range:expr))?
                ;
            )*
        }
    ) => {
        #[doc = concat!("`[", stringify!($sec), "]`: ")]
        $(#[doc = $section_doc])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            $(
                $(#[doc = $doc])*
                $(#[serde($($serde)*)])?
                pub $key: $ty,
            )*
        }

        impl Default for $name {
            fn default() -> Self {
                $($(let $d = $dinit;)+)?
                $name { $($key: $default,)* }
            }
        }

        impl $name {
            /// The section's name in the file.
            pub const NAME: &'static str = stringify!($sec);

            /// What the section is for (its doc comment).
            pub(crate) const DOC: &'static str = concat!($($section_doc, "\n",)*);

            /// The section's keys, in file order.
            pub fn settings() -> Vec<$crate::config::settings::Setting> {
                let defaults = toml::Table::try_from(Self::default()).ok();
                vec![$($crate::config::settings::Setting {
                    section: stringify!($sec),
                    key: stringify!($key),
                    id: concat!(stringify!($sec), ".", stringify!($key)),
                    doc: concat!($($doc, "\n",)*),
                    default: defaults.as_ref().and_then(|t| t.get(stringify!($key))).cloned(),
                    range: settings!(@range $($range)?),
                    flag: settings!(@flag $sec $key $ty;
                        $($group $flag $(, $method($($arg)*))*)?),
                },)*]
            }

            /// Checks the ranges given in the definition.
            pub(crate) fn check_ranges(&self) -> Result<(), String> {
                $($(
                    $crate::config::settings::check_range(
                        concat!(stringify!($sec), ".", stringify!($key)),
                        &self.$key,
                        &($range),
                    )?;
                )?)*
                Ok(())
            }
        }
    };
}

pub(crate) use settings;
