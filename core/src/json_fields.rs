//! Reads a JSON object of any body with field-path errors, as
//! `messages.2.content.0.type: expected one of ...`; `null` counts as absent.
//! Low level on purpose: the ingress parsers, the admin operations and anyone
//! else reading a client's JSON share it, and it depends on nothing but the
//! error type.

use serde_json::{Map, Value};

use crate::{Error, Result};

/// The JSON type name used in messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `parent.key`, or `key` at the root.
pub fn join(parent: &str, key: impl std::fmt::Display) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// An object being read, with its path from the body's root.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    pub obj: &'a Map<String, Value>,
    pub path: &'a str,
}

impl<'a> Fields<'a> {
    /// `v` must be an object; `path` names it in errors ("" for the body itself).
    pub fn of(v: &'a Value, path: &'a str) -> Result<Self> {
        match v {
            Value::Object(obj) => Ok(Fields { obj, path }),
            other => Err(Error::invalid_field(
                path,
                format!("expected an object, got {}", type_name(other)),
            )
            .with_param(path)),
        }
    }

    pub fn path_of(&self, key: &str) -> String {
        join(self.path, key)
    }

    /// The value, with `null` as absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    fn wrong(&self, key: &str, expected: &str, got: &Value) -> Error {
        Error::invalid_field(
            self.path_of(key),
            format!("expected {expected}, got {}", type_name(got)),
        )
    }

    pub fn missing(&self, key: &str) -> Error {
        Error::invalid_field(self.path_of(key), "field required")
    }

    pub fn str(&self, key: &str) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.wrong(key, "a string", v)),
        }
    }

    pub fn req_str(&self, key: &str) -> Result<&'a str> {
        self.str(key)?.ok_or_else(|| self.missing(key))
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong(key, "a boolean", v)),
        }
    }

    pub fn f64(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(v) => Err(self.wrong(key, "a number", v)),
        }
    }

    /// A number within `min..=max`.
    pub fn f64_in(&self, key: &str, min: f64, max: f64) -> Result<Option<f64>> {
        match self.f64(key)? {
            Some(x) if !(min..=max).contains(&x) => Err(Error::invalid_field(
                self.path_of(key),
                format!("expected a number between {min} and {max}, got {x}"),
            )),
            other => Ok(other),
        }
    }

    /// A non-negative integer that fits in u32.
    pub fn u32(&self, key: &str) -> Result<Option<u32>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_u64().and_then(|x| u32::try_from(x).ok()) {
                Some(x) => Ok(Some(x)),
                None => Err(Error::invalid_field(
                    self.path_of(key),
                    format!("expected a non-negative integer, got {n}"),
                )),
            },
            Some(v) => Err(self.wrong(key, "an integer", v)),
        }
    }

    pub fn array(&self, key: &str) -> Result<Option<&'a Vec<Value>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(self.wrong(key, "an array", v)),
        }
    }

    pub fn req_array(&self, key: &str) -> Result<&'a Vec<Value>> {
        self.array(key)?.ok_or_else(|| self.missing(key))
    }

    /// A nested object; `path_buf` receives its path so the result can borrow it.
    pub fn object(&self, key: &str, path_buf: &'a mut String) -> Result<Option<Fields<'a>>> {
        match self.get(key) {
            None => Ok(None),
            Some(v @ Value::Object(_)) => {
                *path_buf = self.path_of(key);
                Fields::of(v, path_buf).map(Some)
            }
            Some(v) => Err(self.wrong(key, "an object", v)),
        }
    }

    /// A string that must be one of `allowed`.
    pub fn one_of(&self, key: &str, allowed: &[&str]) -> Result<Option<&'a str>> {
        match self.str(key)? {
            Some(s) if !allowed.contains(&s) => Err(Error::invalid_field(
                self.path_of(key),
                format!("expected one of {}, got {s:?}", allowed.join(", ")),
            )),
            other => Ok(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_name_the_path() {
        let v = json!({"max_tokens": "x", "t": 5});
        let f = Fields::of(&v, "").unwrap();
        let e = f.u32("max_tokens").unwrap_err();
        assert_eq!(e.param(), Some("max_tokens"));
        assert_eq!(e.message(), "max_tokens: expected an integer, got string");
        let e = f.one_of("t", &["a"]).unwrap_err();
        assert!(e.message().starts_with("t: expected a string"));
    }

    #[test]
    fn nested_paths() {
        let v = json!({"type": "bogus"});
        let f = Fields::of(&v, "messages.2.content.0").unwrap();
        let e = f.one_of("type", &["text", "image"]).unwrap_err();
        assert_eq!(
            e.message(),
            "messages.2.content.0.type: expected one of text, image, got \"bogus\""
        );
    }
}
