//! The environment layer: `RINGPORT_<SECTION>__<KEY>=value` sets
//! `section.key` (`RINGPORT_CHAT__ROOMS=20` sets `chat.rooms`). A value is
//! read as the key's type — text as it is, numbers and booleans parsed — so
//! no quoting is needed. An unknown section or key is an error, as in the
//! file.

use toml::{Table, Value};

use super::{Config, ConfigError};

const PREFIX: &str = "RINGPORT_";

/// The process's variables that are valid UTF-8 (others cannot be ours).
pub(super) fn process_vars() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// `config` with the variables among `vars` that configure ringport applied.
pub(super) fn apply<I>(config: &Config, vars: I) -> Result<Config, ConfigError>
where
    I: IntoIterator<Item = (String, String)>,
{
    // (section, key, variable, value)
    let mut settings: Vec<(String, String, String, String)> = Vec::new();
    let mut rust_log = None;
    for (name, value) in vars {
        if name == "RUST_LOG" {
            rust_log = Some(value);
            continue;
        }
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some((section, key)) = rest.split_once("__") else {
            continue; // RINGPORT_SOMETHING: not a setting (test switches…)
        };
        settings.push((section.to_lowercase(), key.to_lowercase(), name, value));
    }
    // RUST_LOG is the conventional variable; the specific one wins.
    if let Some(filter) = rust_log {
        if !settings
            .iter()
            .any(|(s, k, _, _)| s == "log" && k == "filter")
        {
            settings.push(("log".into(), "filter".into(), "RUST_LOG".into(), filter));
        }
    }
    // Apply in a fixed order, whatever the environment's order.
    settings.sort();
    let mut table = Table::try_from(config)
        .map_err(|e| ConfigError(format!("internal: cannot serialise the configuration: {e}")))?;
    for (section, key, var, raw) in settings {
        let slot = table
            .get_mut(&section)
            .and_then(Value::as_table_mut)
            .and_then(|t| t.get_mut(&key))
            .ok_or_else(|| {
                ConfigError(format!(
                    "environment variable {var}: unknown key `{section}.{key}`"
                ))
            })?;
        *slot = typed(slot, &raw).map_err(|why| {
            ConfigError(format!(
                "environment variable {var}: `{section}.{key}` {why}, got {raw:?}"
            ))
        })?;
        // Check now, so the error names this variable.
        table
            .clone()
            .try_into::<Config>()
            .map_err(|e| ConfigError(format!("environment variable {var}: {e}")))?;
    }
    table
        .try_into()
        .map_err(|e| ConfigError(format!("environment: {e}")))
}

/// `raw` as a value of the same type as `current`.
fn typed(current: &Value, raw: &str) -> Result<Value, &'static str> {
    let raw = raw.trim();
    Ok(match current {
        Value::String(_) => Value::String(raw.to_string()),
        Value::Integer(_) => Value::Integer(raw.parse().map_err(|_| "must be an integer")?),
        Value::Boolean(_) => Value::Boolean(match raw {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => return Err("must be true or false"),
        }),
        Value::Float(_) => Value::Float(raw.parse().map_err(|_| "must be a number")?),
        _ => return Err("cannot be set from the environment"),
    })
}
