//! Bad bodies generated from a valid one: for every field path, the field
//! given each wrong type (and huge, negative and odd numbers), and the field
//! left out. Paths are dotted as the gateway names them (`messages.2.content`).

use serde_json::{json, Value};

use crate::check::{Case, Expect};

/// Marks where raw JSON text (numbers serde_json cannot hold) is spliced in.
const RAW: &str = "\u{1}raw\u{1}";

/// Values put in place of a field: (label, JSON text).
pub fn substitutes() -> Vec<(&'static str, String)> {
    let v = |x: Value| x.to_string();
    vec![
        ("null", v(Value::Null)),
        ("true", v(json!(true))),
        ("zero", v(json!(0))),
        ("negative", v(json!(-1))),
        ("fraction", v(json!(0.5))),
        ("u64::MAX", v(json!(u64::MAX))),
        ("i64::MIN", v(json!(i64::MIN))),
        ("1e300", "1e300".into()),
        ("1e400", "1e400".into()),
        ("-1e400", "-1e400".into()),
        (
            "40 digits",
            "1234567890123456789012345678901234567890".into(),
        ),
        ("empty string", v(json!(""))),
        ("string", v(json!("x"))),
        ("empty array", v(json!([]))),
        ("array", v(json!([1, "a", null]))),
        ("empty object", v(json!({}))),
        ("object", v(json!({"a": 1}))),
    ]
}

/// Every field path under the root, parents before children.
pub fn paths(v: &Value) -> Vec<String> {
    fn walk(v: &Value, at: &str, out: &mut Vec<String>) {
        let mut visit = |key: String, child: &Value| {
            let p = if at.is_empty() {
                key
            } else {
                format!("{at}.{key}")
            };
            out.push(p.clone());
            walk(child, &p, out);
        };
        match v {
            Value::Object(m) => m.iter().for_each(|(k, c)| visit(k.clone(), c)),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, c)| visit(i.to_string(), c)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, "", &mut out);
    out
}

/// The value at `path`, mutably.
fn slot<'a>(v: &'a mut Value, path: &str) -> &'a mut Value {
    path.split('.').fold(v, |cur, seg| match cur {
        Value::Array(a) => &mut a[seg.parse::<usize>().unwrap()],
        Value::Object(m) => m.get_mut(seg).unwrap(),
        other => panic!("no {seg} in {other}"),
    })
}

/// `base` as JSON text with the field at `path` replaced by raw JSON `text`.
pub fn replaced(base: &Value, path: &str, text: &str) -> String {
    let mut v = base.clone();
    *slot(&mut v, path) = Value::String(RAW.into());
    v.to_string()
        .replacen(&Value::String(RAW.into()).to_string(), text, 1)
}

/// `base` without the field at `path` (an object key or an array element).
pub fn removed(base: &Value, path: &str) -> Value {
    let mut v = base.clone();
    let (parent, last) = path.rsplit_once('.').unwrap_or(("", path));
    let holder = if parent.is_empty() {
        &mut v
    } else {
        slot(&mut v, parent)
    };
    match holder {
        Value::Object(m) => {
            m.shift_remove(last);
        }
        Value::Array(a) => {
            a.remove(last.parse::<usize>().unwrap());
        }
        _ => unreachable!(),
    }
    v
}

/// The JSON type of a value, to skip substitutes of the field's own type.
fn kind(text: &str) -> &'static str {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Null) => "null",
        Ok(Value::Bool(_)) => "bool",
        Ok(Value::Number(_)) | Err(_) => "number",
        Ok(Value::String(_)) => "string",
        Ok(Value::Array(_)) => "array",
        Ok(Value::Object(_)) => "object",
    }
}

/// Every wrong-type and missing-field variant of `seed`, posted to `path`.
/// A variant may be acceptable (a type the field also takes, an optional
/// field left out), so each expects a 200 or a refusal naming its field.
pub fn variants(label: &str, path: &str, seed: &Value) -> Vec<Case> {
    let mut cases = Vec::new();
    for field in paths(seed) {
        let own = kind(&slot(&mut seed.clone(), &field).to_string());
        for (name, text) in substitutes() {
            let changes_kind = kind(&text) != own;
            let numeric = kind(&text) == "number";
            if !changes_kind && !numeric {
                continue;
            }
            cases.push(Case::post(
                format!("{label}: {field} = {name}"),
                path,
                replaced(seed, &field, &text),
                Expect::OkOrRefused {
                    field: Some(field.clone()),
                },
            ));
        }
        cases.push(Case::json(
            format!("{label}: without {field}"),
            path,
            &removed(seed, &field),
            Expect::OkOrRefused {
                field: Some(field.clone()),
            },
        ));
    }
    cases
}

#[test]
fn generator_covers_every_path() {
    let seed = json!({"a": [1, {"b": "x"}], "c": null});
    assert_eq!(paths(&seed), ["a", "a.0", "a.1", "a.1.b", "c"]);
    assert_eq!(
        replaced(&seed, "a.1.b", "1e400"),
        r#"{"a":[1,{"b":1e400}],"c":null}"#
    );
    assert_eq!(removed(&seed, "a.0"), json!({"a": [{"b": "x"}], "c": null}));
    assert!(variants("t", "/x", &seed).len() > 3 * substitutes().len());
}
