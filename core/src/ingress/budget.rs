//! A JSON body parsed into a `Value` while what it holds is counted, so a
//! body past a limit is refused before it is built: a small body of tiny
//! values (`[[],[],...]`) would otherwise take some 40 times its size in
//! memory. The counts ride on the one parse; nothing walks the body twice.

use std::cell::{Cell, RefCell};
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::config::ServerConfig;
use crate::Error;

/// The limits one body is parsed under, and the refusal once one is passed.
pub struct Budget<'a> {
    server: &'a ServerConfig,
    values_left: Cell<usize>,
    refusal: RefCell<Option<Error>>,
}

impl<'a> Budget<'a> {
    pub fn new(server: &'a ServerConfig) -> Self {
        Budget {
            server,
            values_left: Cell::new(server.max_json_values),
            refusal: RefCell::new(None),
        }
    }

    /// The seed for the whole body.
    pub fn root(&self) -> Node<'_, 'a> {
        Node {
            budget: self,
            top: true,
            cap: None,
        }
    }

    /// Why the parse stopped, when a limit stopped it.
    pub fn refusal(&self) -> Option<Error> {
        self.refusal.borrow_mut().take()
    }

    fn refuse<E: de::Error>(&self, e: Error) -> E {
        let message = e.message().to_owned();
        *self.refusal.borrow_mut() = Some(e);
        E::custom(message)
    }

    /// The cap on a top-level array: (field, limit, setting).
    fn cap_of(&self, key: &str) -> Option<(&'static str, usize, &'static str)> {
        match key {
            "messages" => Some(("messages", self.server.max_messages, "server.max_messages")),
            "tools" => Some(("tools", self.server.max_tools, "server.max_tools")),
            _ => None,
        }
    }
}

/// One value to parse; `top` for the body itself, `cap` for a capped array.
#[derive(Clone, Copy)]
pub struct Node<'b, 'a> {
    budget: &'b Budget<'a>,
    top: bool,
    cap: Option<(&'static str, usize, &'static str)>,
}

impl Node<'_, '_> {
    fn child(self, cap: Option<(&'static str, usize, &'static str)>) -> Self {
        Node {
            budget: self.budget,
            top: false,
            cap,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        let left = self.budget.values_left.get();
        if left == 0 {
            let max = self.budget.server.max_json_values;
            return Err(self.budget.refuse(Error::invalid(format!(
                "the body holds more than {max} JSON values, the limit (server.max_json_values)"
            ))));
        }
        self.budget.values_left.set(left - 1);
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self.child(None))? {
            if let Some((field, max, setting)) = self.cap {
                if out.len() == max {
                    return Err(self.budget.refuse(Error::invalid_field(
                        field,
                        format!("more than the limit of {max} ({setting})"),
                    )));
                }
            }
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let cap = if self.top {
                self.budget.cap_of(&key)
            } else {
                None
            };
            let v = map.next_value_seed(self.child(cap))?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}
