//! Leaf strategies: texts, tool ids and names, JSON values, and the points at
//! which a streamed string is cut into deltas.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Number, Value};

/// Non-empty text: ASCII, any printable Unicode (emoji, CJK, combining marks),
/// newlines, tabs, quotes and backslashes, and the odd control character. The
/// gateway drops empty text in several places by design, so it is never "".
pub fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[ -~]{1,24}",
        3 => "[\\PC\n\t\"\\\\]{1,16}",
        1 => "[\\x00-\\x1f\\x7f\\x{2028}\\x{feff}a]{1,6}",
        1 => Just("</system-reminder>\n".to_owned()),
    ]
    .boxed()
}

/// Tool-call ids as clients and upstreams mint them, and odd ones that must
/// still pass through verbatim.
pub fn tool_id() -> BoxedStrategy<String> {
    prop_oneof![
        "toolu_[0-9A-Za-z]{24}",
        "call_[0-9A-Za-z]{24}",
        "[0-9A-Za-z]{9}",
        "functions\\.[a-z_]{1,10}:[0-9]",
        "[\\PC]{1,12}",
    ]
    .boxed()
}

/// A tool name both APIs accept (OpenAI allows at most 64 characters).
pub fn tool_name() -> BoxedStrategy<String> {
    "[a-zA-Z0-9_-]{1,64}".boxed()
}

/// Numbers as models write them and as they stress a JSON round trip.
fn number() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1_000_000i64..1_000_000, 0u32..6)
            .prop_map(|(m, e)| Value::from(m as f64 / 10f64.powi(e as i32))),
        any::<f64>().prop_filter_map("finite", |x| Number::from_f64(x).map(Value::Number)),
    ]
    .boxed()
}

fn key() -> BoxedStrategy<String> {
    prop_oneof![3 => "[a-z_]{1,10}", 1 => "[\\PC]{0,8}"].boxed()
}

/// Any JSON value, nested a few levels.
pub fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
        Just(Value::String(String::new())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
    .boxed()
}

/// A JSON object, as tool inputs are.
pub fn json_object() -> BoxedStrategy<Value> {
    prop::collection::vec((key(), json_value()), 0..5)
        .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>()))
        .boxed()
}

/// Where a streamed string is cut: none (all at once), a few random points,
/// or everything in one late piece after an empty one.
#[derive(Debug, Clone)]
pub enum Cuts {
    Whole,
    LateWhole,
    At(Vec<Index>),
}

pub fn cuts() -> BoxedStrategy<Cuts> {
    prop_oneof![
        1 => Just(Cuts::Whole),
        1 => Just(Cuts::LateWhole),
        3 => prop::collection::vec(any::<Index>(), 1..6).prop_map(Cuts::At),
    ]
    .boxed()
}

impl Cuts {
    /// `s` in pieces at char boundaries; joined they give `s` back.
    pub fn split(&self, s: &str) -> Vec<String> {
        let at = match self {
            Cuts::Whole => return vec![s.to_owned()],
            Cuts::LateWhole => return vec![String::new(), s.to_owned()],
            Cuts::At(at) => at,
        };
        let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).skip(1).collect();
        let mut points: Vec<usize> = if bounds.is_empty() {
            Vec::new()
        } else {
            at.iter().map(|i| bounds[i.index(bounds.len())]).collect()
        };
        points.sort_unstable();
        points.dedup();
        let mut pieces = Vec::new();
        let mut from = 0;
        for p in points {
            pieces.push(s[from..p].to_owned());
            from = p;
        }
        pieces.push(s[from..].to_owned());
        pieces
    }
}
