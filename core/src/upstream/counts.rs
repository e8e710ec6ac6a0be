//! Token counts as upstreams report them, read one way for every kind.

/// The largest token count taken from an upstream; real counts are far below
/// it. A larger figure is nonsense and is capped, so that the sums of counts
/// (input plus cache reads, the ledger's totals) and their costs cannot overflow.
pub(crate) const MAX_TOKEN_COUNT: u64 = u32::MAX as u64;

/// A token count an upstream reported: an integer, capped at `MAX_TOKEN_COUNT`.
pub(crate) fn token_count(v: Option<&serde_json::Value>) -> Option<u64> {
    v.and_then(serde_json::Value::as_u64)
        .map(|n| n.min(MAX_TOKEN_COUNT))
}
