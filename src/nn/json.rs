//! Reading diffusers' JSON config files: one object, its keys read with diffusers' defaults,
//! an error naming the file and the key; Python's non-finite floats (`NaN`, `-Infinity`, which
//! `json.dump` writes and strict JSON has not) load.

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;

/// The keys of a JSON object, read one at a time so that an error names the key.
pub(crate) struct JsonObject<'a> {
    map: serde_json::Map<String, serde_json::Value>,
    file: &'a str,
}

impl<'a> JsonObject<'a> {
    /// Parse `text`, which must hold one JSON object.
    pub(crate) fn parse(text: &str, file: &'a str) -> Result<Self> {
        let bad = |reason: String| Error::ModelConfig {
            file: file.to_string(),
            reason,
        };
        let text = python_json(text);
        match serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))? {
            serde_json::Value::Object(map) => Ok(JsonObject { map, file }),
            _ => Err(bad("not a JSON object".into())),
        }
    }

    /// An error about `key`.
    pub(crate) fn error(&self, key: &str, reason: impl std::fmt::Display) -> Error {
        Error::ModelConfig {
            file: self.file.to_string(),
            reason: format!("key '{key}': {reason}"),
        }
    }

    /// The value of `key` if present (null included: `T = Option<_>` reads it as None).
    pub(crate) fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.map
            .get(key)
            .map(|v| serde_json::from_value(v.clone()).map_err(|e| self.error(key, e)))
            .transpose()
    }

    /// The value of `key`, or `default` when the key is absent (diffusers' default).
    pub(crate) fn or<T: DeserializeOwned>(&self, key: &str, default: T) -> Result<T> {
        Ok(self.get(key)?.unwrap_or(default))
    }

    /// A float key that may hold Python's non-finite values (see `python_json`), or `default`
    /// when absent.
    pub(crate) fn float_or(&self, key: &str, default: f64) -> Result<f64> {
        match self.map.get(key) {
            None => Ok(default),
            Some(serde_json::Value::String(s)) => match s.as_str() {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                _ => Err(self.error(key, format!("expected a number, got \"{s}\""))),
            },
            Some(_) => self.or(key, default),
        }
    }

    /// The first of `keys` present with a value other than its default (numbers compared as
    /// numbers, so 1 and 1.0 are the same): (key, the value as written). Keys a class has but
    /// the toolkit does not build are refused by it, never ignored.
    pub(crate) fn first_not_default(
        &self,
        keys: &[(&str, serde_json::Value)],
    ) -> Option<(String, String)> {
        use serde_json::Value;
        keys.iter().find_map(|(key, default)| {
            let v = self.map.get(*key)?;
            let same = match (v, default) {
                (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
                (a, b) => a == b,
            };
            (!same).then(|| (key.to_string(), v.to_string()))
        })
    }

    /// The value of `key`, which must be present.
    pub(crate) fn required<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        self.get(key)?
            .ok_or_else(|| self.error(key, "missing (diffusers' save_pretrained always writes it)"))
    }
}

/// `text` with the bare `NaN`, `Infinity` and `-Infinity` Python's `json.dump` writes for
/// non-finite floats (diffusers' `save_config` writes `"lambda_min_clipped": -Infinity`) turned
/// into the strings "NaN", "Infinity" and "-Infinity", which strict JSON can hold; text inside
/// strings is left alone. A key that needs a number then reads such a value as the string it
/// is (an error naming the key), unless its reader takes them ([`JsonObject::float_or`]).
fn python_json(text: &str) -> std::borrow::Cow<'_, str> {
    if !(text.contains("NaN") || text.contains("Infinity")) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let (mut in_string, mut escaped) = (false, false);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        match ["-Infinity", "Infinity", "NaN"]
            .iter()
            .find(|w| rest.starts_with(**w))
        {
            Some(word) => {
                out.push('"');
                out.push_str(word);
                out.push('"');
                rest = &rest[word.len()..];
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    std::borrow::Cow::Owned(out)
}
