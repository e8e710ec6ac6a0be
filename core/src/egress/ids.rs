//! Message ids in each shape's own prefix.

/// The message id in a shape's own prefix, keeping the unique part.
pub fn reprefix_id(id: &str, prefix: &str) -> String {
    let core = id
        .strip_prefix("msg_")
        .or_else(|| id.strip_prefix("chatcmpl-"))
        .unwrap_or(id);
    format!("{prefix}{core}")
}
