//! A writer for the flat JSON objects the bench prints (strings, numbers,
//! booleans, null), so reports need no serialisation framework.

use std::fmt::Write as _;

/// A JSON object being written, one key at a time, on one line.
#[derive(Debug)]
pub struct JsonObject {
    out: String,
}

impl Default for JsonObject {
    fn default() -> Self {
        Self::new()
    }
}

impl JsonObject {
    /// An empty object.
    pub fn new() -> JsonObject {
        JsonObject {
            out: String::from("{"),
        }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        push_string(&mut self.out, key);
        self.out.push(':');
        &mut self.out
    }

    /// Adds a string value.
    pub fn string(&mut self, key: &str, value: &str) -> &mut Self {
        push_string(self.key(key), value);
        self
    }

    /// Adds a string value, or `null` for `None`.
    pub fn opt_string(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.string(key, v),
            None => self.null(key),
        }
    }

    /// Adds an integer value.
    pub fn int(&mut self, key: &str, value: u64) -> &mut Self {
        let _ = write!(self.key(key), "{value}");
        self
    }

    /// Adds an integer, or `null` for `None`.
    pub fn opt_int(&mut self, key: &str, value: Option<u64>) -> &mut Self {
        match value {
            Some(v) => self.int(key, v),
            None => self.null(key),
        }
    }

    /// Adds a number rounded to `decimals` places; `null` if not finite.
    pub fn float(&mut self, key: &str, value: f64, decimals: usize) -> &mut Self {
        if value.is_finite() {
            let _ = write!(self.key(key), "{value:.decimals$}");
            self
        } else {
            self.null(key)
        }
    }

    /// Adds a number, or `null` for `None`.
    pub fn opt_float(&mut self, key: &str, value: Option<f64>, decimals: usize) -> &mut Self {
        match value {
            Some(v) => self.float(key, v, decimals),
            None => self.null(key),
        }
    }

    /// Adds a boolean value.
    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key).push_str(if value { "true" } else { "false" });
        self
    }

    /// Adds a value already written as JSON (an array or object).
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key).push_str(json);
        self
    }

    /// Adds an object of counts by name, in the order given.
    pub fn counts<'a>(
        &mut self,
        key: &str,
        counts: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> &mut Self {
        let mut o = JsonObject::new();
        for (name, n) in counts {
            o.int(name, n);
        }
        let text = o.finish();
        self.raw(key, &text)
    }

    /// Adds `null`.
    pub fn null(&mut self, key: &str) -> &mut Self {
        self.key(key).push_str("null");
        self
    }

    /// The finished object text.
    pub fn finish(&mut self) -> String {
        let mut out = std::mem::take(&mut self.out);
        out.push('}');
        out
    }
}

/// Appends `s` as a quoted, escaped JSON string.
fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON array of the given already-written values.
pub fn array(items: impl IntoIterator<Item = String>) -> String {
    let mut out = String::from("[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&item);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_values() {
        let inner = JsonObject::new().int("a", 1).finish();
        let text = JsonObject::new()
            .raw("list", &array([inner.clone(), inner]))
            .counts("codes", [("NONE", 3), ("X", 0)])
            .finish();
        assert_eq!(
            text,
            r#"{"list":[{"a":1},{"a":1}],"codes":{"NONE":3,"X":0}}"#
        );
    }

    #[test]
    fn writes_flat_object() {
        let text = JsonObject::new()
            .string("s", "a\"b\\c\n\u{1}é")
            .int("n", 42)
            .float("f", 1.23456, 2)
            .float("nan", f64::NAN, 2)
            .opt_string("none", None)
            .bool("t", true)
            .finish();
        assert_eq!(
            text,
            r#"{"s":"a\"b\\c\n\u0001é","n":42,"f":1.23,"nan":null,"none":null,"t":true}"#
        );
    }

    #[test]
    fn empty_object() {
        assert_eq!(JsonObject::new().finish(), "{}");
    }
}
