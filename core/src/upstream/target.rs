//! What one call asks of an upstream, and the one rule for its output budget.

/// What one call asks of an upstream: the profile's model as the upstream
/// names it, its figures, and the output budget decided once per call (the
/// reservation holds exactly it; see `output_budget`).
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub model: &'a str,
    pub context_window: u32,
    pub tokens_per_second: u32,
    pub max_output: u64,
}

/// The output tokens a call may produce: the client's `max_tokens`, else the
/// rest of the context window after `input`, held to `cap` (the most an
/// upstream API takes as `max_tokens`; `None` when it needs no limit).
pub fn output_budget(
    max_tokens: Option<u32>,
    input: u64,
    context_window: u32,
    cap: Option<u64>,
) -> u64 {
    match max_tokens {
        Some(n) => u64::from(n),
        None => {
            let room = u64::from(context_window).saturating_sub(input);
            cap.map_or(room, |c| room.clamp(1, c.max(1)))
        }
    }
}
