//! Cached tokens across shapes, as properties: OpenAI counts cached tokens
//! inside `prompt_tokens` (`prompt_tokens_details.cached_tokens`), Anthropic
//! apart from `input_tokens` (`cache_read_input_tokens`,
//! `cache_creation_input_tokens`). A usage rendered for a client of either
//! shape and read back by the upstream reader of that shape is the same
//! usage (OpenAI has no slot for cache writes: they stay input), and the cost
//! charged is the profile's prices applied to each kind of token.
#![expect(clippy::panic, reason = "the shared props helpers fail loudly")]

mod props;

use mws_core::accounts::money::{cost_nanos, Prices};
use mws_core::canonical::{ChatRequest, ChatResponse, ContentBlock, StopReason, Usage};
use mws_core::egress;
use mws_core::upstream::{anthropic, openai};
use proptest::prelude::*;

fn answer(usage: Usage) -> ChatResponse {
    ChatResponse {
        id: "msg_1".into(),
        content: vec![ContentBlock::text("ok")],
        stop_reason: Some(StopReason::EndTurn),
        stop_sequence: None,
        usage,
    }
}

fn usage() -> impl Strategy<Value = Usage> {
    let n = 0u64..5_000_000;
    (n.clone(), n.clone(), n.clone(), n).prop_map(|(i, r, w, o)| Usage {
        input_tokens: i,
        cache_read_input_tokens: r,
        cache_creation_input_tokens: w,
        output_tokens: o,
    })
}

fn prices() -> impl Strategy<Value = Prices> {
    let p = 0i64..20_000_000_000;
    (p.clone(), p.clone(), p.clone(), p).prop_map(|(input, cache_read, cache_write, output)| {
        Prices {
            input,
            cache_read,
            cache_write,
            output,
        }
    })
}

proptest! {
    #![proptest_config(props::config(256))]

    /// Anthropic client <- canonical -> an Anthropic upstream's reader: all four counts.
    #[test]
    fn anthropic_usage_round_trips(u in usage()) {
        let body = egress::anthropic::render_response(&answer(u), "m");
        let back = anthropic::response_from(&body).unwrap();
        prop_assert_eq!(back.usage, u);
    }

    /// OpenAI client <- canonical -> an OpenAI upstream's reader: cache reads
    /// apart again, cache writes folded into the input (OpenAI has no slot).
    #[test]
    fn openai_usage_round_trips(u in usage()) {
        let body = egress::openai::render_response(&answer(u), "m", 0);
        prop_assert_eq!(
            body["usage"]["prompt_tokens"].as_u64().unwrap(),
            u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens
        );
        let back = openai::response_from(&body, &ChatRequest::new("m")).unwrap();
        prop_assert_eq!(back.usage, Usage {
            input_tokens: u.input_tokens + u.cache_creation_input_tokens,
            cache_creation_input_tokens: 0,
            ..u
        });
    }

    /// The charge is each kind of token at its price, rounded up once.
    #[test]
    fn cost_is_the_prices_applied(u in usage(), p in prices()) {
        let exact = i128::from(u.input_tokens) * i128::from(p.input)
            + i128::from(u.cache_read_input_tokens) * i128::from(p.cache_read)
            + i128::from(u.cache_creation_input_tokens) * i128::from(p.cache_write)
            + i128::from(u.output_tokens) * i128::from(p.output);
        let want = (exact + 999_999) / 1_000_000;
        prop_assert_eq!(i128::from(cost_nanos(&u, &p)), want.min(i128::from(i64::MAX)));
    }
}
