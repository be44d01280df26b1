//! What the definitions render for operators: the commented example file
//! (`ringport config example`, `contrib/ringport.toml`) and the key table of
//! each section in docs/OPERATIONS.md. A test compares both files with what
//! is rendered here; `RINGPORT_BLESS=1 cargo test -p ringport config::render`
//! rewrites them.

use super::Config;
#[cfg(test)]
use super::Setting;

/// The top of the example file.
const EXAMPLE_HEAD: &str = "\
# ringport configuration: every key, at its built-in default.
#
# Layers, each overriding the one before: built-in defaults, this file
# (`ringport serve --config PATH`), environment variables
# RINGPORT_<SECTION>__<KEY> (RINGPORT_CHAT__ROOMS=20 sets chat.rooms), then
# command-line flags. An unknown section or key is an error.
# `ringport config check PATH` validates a file; `ringport config example`
# prints this one. Durations are whole seconds, or milliseconds where the
# key ends in _ms.
#
# Generated from the definitions in crates/server/src/config/sections.rs.
";

/// Width of the example's comment lines.
const WIDTH: usize = 78;

/// The complete, commented example configuration: every key at its default.
pub fn example() -> String {
    let mut out = String::from(EXAMPLE_HEAD);
    for (name, doc, settings) in Config::sections() {
        out.push('\n');
        comment(&mut out, &paragraph(doc));
        out.push_str(&format!("[{name}]\n"));
        for s in &settings {
            comment(&mut out, &s.text());
            let flag = s
                .flag
                .as_ref()
                .map_or_else(String::new, |f| format!("--{}, ", f.name));
            out.push_str(&format!("# ({flag}{})\n", s.env_var()));
            out.push_str(&format!("{} = {}\n", s.key, s.default_toml()));
        }
    }
    out
}

/// The Markdown table of `section`'s keys for docs/OPERATIONS.md.
#[cfg(test)]
fn docs_table(settings: &[Setting]) -> String {
    let mut out = String::from("| key | default | flag | meaning |\n|---|---|---|---|\n");
    for s in settings {
        let flag = s
            .flag
            .as_ref()
            .map_or_else(|| "—".to_string(), |f| format!("`--{}`", f.name));
        out.push_str(&format!(
            "| `{}` | `{}` | {flag} | {} |\n",
            s.key,
            s.default_toml(),
            s.text().replace('|', "\\|")
        ));
    }
    out
}

/// `docs` with the table between each section's markers replaced by the
/// rendered one. The markers are `<!-- settings:NAME -->` and
/// `<!-- /settings:NAME -->`, each on its own line.
///
/// # Errors
/// A section whose markers are missing.
#[cfg(test)]
fn docs(docs: &str) -> Result<String, String> {
    let mut out = docs.to_string();
    for (name, _, settings) in Config::sections() {
        let open = format!("<!-- settings:{name} -->\n");
        let close = format!("<!-- /settings:{name} -->");
        let start = out
            .find(&open)
            .map(|i| i + open.len())
            .ok_or_else(|| format!("no `{}` marker", open.trim()))?;
        let end = out[start..]
            .find(&close)
            .map(|i| start + i)
            .ok_or_else(|| format!("no `{close}` marker"))?;
        out.replace_range(start..end, &docs_table(&settings));
    }
    Ok(out)
}

/// The lines of a doc comment as one paragraph.
fn paragraph(doc: &str) -> String {
    doc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Appends `text` as `# ` comment lines of at most [`WIDTH`] columns.
fn comment(out: &mut String, text: &str) {
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() > 1 && line.len() + 1 + word.len() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    if line.len() > 1 {
        out.push_str(&line);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::PathBuf;

    use super::*;

    fn repo_file(path: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(path)
    }

    /// Compares `path` with `rendered`; with `RINGPORT_BLESS=1`, rewrites it.
    fn check_file(path: &str, rendered: &str) {
        let file = repo_file(path);
        let current = std::fs::read_to_string(&file).unwrap();
        if current == rendered {
            return;
        }
        if std::env::var_os("RINGPORT_BLESS").is_some_and(|v| v == "1") {
            std::fs::write(&file, rendered).unwrap();
            return;
        }
        let line = current
            .lines()
            .zip(rendered.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| current.lines().count().min(rendered.lines().count()))
            + 1;
        panic!(
            "{path} differs from what the setting definitions render (first at line {line}).\n\
             The definitions (crates/server/src/config/sections.rs) are the source: \
             regenerate with\n    RINGPORT_BLESS=1 cargo test -p ringport config::render"
        );
    }

    #[test]
    fn the_example_file_is_what_the_definitions_render() {
        check_file("contrib/ringport.toml", &example());
    }

    #[test]
    fn the_operations_tables_are_what_the_definitions_render() {
        let path = "docs/OPERATIONS.md";
        let current = std::fs::read_to_string(repo_file(path)).unwrap();
        check_file(path, &docs(&current).unwrap());
    }

    #[test]
    fn every_key_has_a_doc_and_a_default_and_flags_are_unique() {
        let settings = Config::settings();
        let mut flags = std::collections::HashSet::new();
        for s in &settings {
            assert!(!s.text().is_empty(), "{} has no doc", s.id);
            assert!(s.default.is_some(), "{} has no default", s.id);
            if let Some(f) = &s.flag {
                assert!(flags.insert(f.name), "--{} defined twice", f.name);
            }
        }
        // Every key of the serialised configuration is defined, and no more.
        let table = toml::Table::try_from(Config::default()).unwrap();
        let serialised: usize = table
            .values()
            .map(|s| s.as_table().map_or(0, toml::Table::len))
            .sum();
        assert_eq!(serialised, settings.len());
    }

    /// README.md's flag tables are written by hand (rows group related
    /// flags); they may not name a flag that does not exist nor show another
    /// default than the definition's.
    #[test]
    fn the_readme_flag_tables_agree_with_the_definitions() {
        let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
        let settings = Config::settings();
        let not_settings = ["config"]; // flags that set no key
        for row in readme.lines().filter(|l| l.starts_with("| `--")) {
            let cells: Vec<&str> = row.split(" | ").collect();
            let flags: Vec<&str> = cells[0].trim_start_matches("| ").split(" / ").collect();
            let defaults: Vec<&str> = cells[1].split(" / ").collect();
            for (i, flag) in flags.iter().enumerate() {
                let name = flag
                    .trim_matches('`')
                    .trim_start_matches("--")
                    .split(' ')
                    .next()
                    .unwrap();
                if not_settings.contains(&name) {
                    continue;
                }
                let setting = settings
                    .iter()
                    .find(|s| s.flag.as_ref().is_some_and(|f| f.name == name))
                    .unwrap_or_else(|| panic!("README.md: no flag --{name}"));
                if flags.len() != defaults.len() {
                    continue;
                }
                let shown = defaults[i].split(" (").next().unwrap().trim_matches('`');
                let expected = setting.default_shown();
                let empty = expected == "\"\"" && (shown == "off" || shown == "none");
                assert!(
                    shown == expected || empty,
                    "README.md: --{name} shows default {shown}, the definition says {}",
                    setting.default_shown()
                );
            }
        }
    }

    #[test]
    fn comments_wrap_at_the_width() {
        let mut out = String::new();
        comment(&mut out, &"word ".repeat(40));
        assert!(out.lines().all(|l| l.len() <= WIDTH && l.starts_with("# ")));
        assert_eq!(out.split_whitespace().filter(|w| *w == "word").count(), 40);
    }
}
