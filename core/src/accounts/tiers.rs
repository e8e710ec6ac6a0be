//! Which tier an account is in, and the ceilings and quota that follow from
//! its lifetime spend and plan.

use super::money::usd_to_nanos;
use super::Account;
use crate::config::Config;

/// The index of the account's tier: the highest tier its lifetime spend
/// reaches, raised to its plan's `min_tier`. It may point past the table when
/// no tiers are configured.
pub fn account_tier(config: &Config, account: &Account) -> usize {
    let by_spend = config
        .limits
        .tiers
        .iter()
        .enumerate()
        .filter(|(_, t)| account.lifetime_spend_nanos >= usd_to_nanos(t.min_lifetime_spend_usd))
        .map(|(i, _)| i)
        .max()
        .unwrap_or(0);
    let by_plan = account
        .plan
        .as_deref()
        .and_then(|p| config.plans.iter().find(|c| c.name == p))
        .map_or(0, |p| p.min_tier);
    by_spend.max(by_plan)
}

/// The account's ceilings in requests and tokens per minute: its tier's
/// (unlimited when no tiers are configured).
pub fn account_ceiling(config: &Config, account: &Account) -> (u64, u64) {
    match config.limits.tiers.get(account_tier(config, account)) {
        Some(t) => (u64::from(t.rpm), t.tpm),
        None => (u64::MAX, u64::MAX),
    }
}

/// The monthly quota of the account's plan, in nano-dollars (0 without one).
pub fn quota_limit(config: &Config, account: &Account) -> i64 {
    account
        .plan
        .as_deref()
        .and_then(|p| config.plans.iter().find(|c| c.name == p))
        .map_or(0, |p| usd_to_nanos(p.monthly_quota_usd))
}
