//! Serializing a client's own body with a few fields replaced, without copying
//! it: the pass-through path when the ingress shape equals the upstream kind.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

pub struct WithOverrides<'a> {
    pub body: &'a Map<String, Value>,
    /// Replaced when present, appended when not; `None` removes the field.
    pub overrides: &'a [(&'a str, Option<Value>)],
}

impl Serialize for WithOverrides<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (k, v) in self.body {
            match self.overrides.iter().find(|(name, _)| name == k) {
                Some((_, Some(new))) => map.serialize_entry(k, new)?,
                Some((_, None)) => {}
                None => map.serialize_entry(k, v)?,
            }
        }
        for (name, v) in self.overrides {
            if let (false, Some(v)) = (self.body.contains_key(*name), v) {
                map.serialize_entry(name, v)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replaces_appends_and_removes() {
        let body = json!({"model": "a", "keep": {"x": 1}, "drop": true});
        let o = [
            ("model", Some(json!("b"))),
            ("drop", None),
            ("new", Some(json!(2))),
        ];
        let out = serde_json::to_value(WithOverrides {
            body: body.as_object().unwrap(),
            overrides: &o,
        })
        .unwrap();
        assert_eq!(out, json!({"model": "b", "keep": {"x": 1}, "new": 2}));
    }

    #[test]
    fn numbers_pass_digit_for_digit() {
        let text = r#"{"temperature":0.43145253165777253,"input":{"x":0.9045724161525979}}"#;
        let body: Value = serde_json::from_str(text).unwrap();
        let out = serde_json::to_string(&WithOverrides {
            body: body.as_object().unwrap(),
            overrides: &[],
        })
        .unwrap();
        assert_eq!(out, text);
    }
}
