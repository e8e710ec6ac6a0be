//! The strategies: the order in which a call tries a profile's ready
//! deployments. The first is the pick; the others are where its retries go.
//!
//! - `weighted`: drawn at random in proportion to the weights, without
//!   replacement.
//! - `least-busy`: the fewest requests in flight for its weight first
//!   (`in_flight / weight`), ties at random.
//! - `p2c`: two drawn by weight, the one with the lower `score` first; the
//!   others by score.

use rand::Rng;

use crate::config::Strategy;

/// One ready deployment, as the strategies see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Its place in the profile's list.
    pub member: usize,
    pub weight: u32,
    pub in_flight: u64,
    /// Lower is healthier (see `score`).
    pub score: f64,
}

/// The health score p2c compares: recent latency, made worse by requests in
/// flight and by recent errors. A deployment without latency figures yet
/// scores best, so a new one is tried early.
pub fn score(latency_ms: f64, error_rate: f64, in_flight: u64) -> f64 {
    (latency_ms.max(0.0) + 1.0)
        * (in_flight as f64 + 1.0)
        * (1.0 + 10.0 * error_rate.clamp(0.0, 1.0))
}

/// Puts `candidates` in the order they are tried.
pub fn order(strategy: Strategy, candidates: &mut [Candidate], rng: &mut impl Rng) {
    if candidates.len() < 2 {
        return;
    }
    match strategy {
        Strategy::Weighted => weighted_order(candidates, rng),
        Strategy::LeastBusy => {
            // Shuffled first, so the stable sort breaks ties at random.
            weighted_order(candidates, rng);
            candidates.sort_by(|a, b| load(a).total_cmp(&load(b)));
        }
        Strategy::P2c => {
            weighted_order(candidates, rng);
            // The first two are a weighted draw of two: the better goes first.
            if candidates[1].score < candidates[0].score {
                candidates.swap(0, 1);
            }
            candidates[1..].sort_by(|a, b| a.score.total_cmp(&b.score));
        }
    }
}

fn load(c: &Candidate) -> f64 {
    c.in_flight as f64 / f64::from(c.weight.max(1))
}

/// A weighted draw without replacement, in place.
fn weighted_order(candidates: &mut [Candidate], rng: &mut impl Rng) {
    let mut total: u64 = candidates.iter().map(|c| u64::from(c.weight)).sum();
    for i in 0..candidates.len() - 1 {
        if total == 0 {
            return;
        }
        let mut at = rng.random_range(0..total);
        let mut chosen = i;
        for (j, c) in candidates.iter().enumerate().skip(i) {
            let w = u64::from(c.weight);
            if at < w {
                chosen = j;
                break;
            }
            at -= w;
        }
        candidates.swap(i, chosen);
        total -= u64::from(candidates[i].weight);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn candidates(weights: &[u32]) -> Vec<Candidate> {
        weights
            .iter()
            .enumerate()
            .map(|(member, &weight)| Candidate {
                member,
                weight,
                in_flight: 0,
                score: 1.0,
            })
            .collect()
    }

    /// How often each member came first in `rounds` orderings.
    fn firsts(strategy: Strategy, make: impl Fn() -> Vec<Candidate>, rounds: usize) -> Vec<usize> {
        let mut rng = StdRng::seed_from_u64(22);
        let mut counts = vec![0; make().len()];
        for _ in 0..rounds {
            let mut c = make();
            order(strategy, &mut c, &mut rng);
            counts[c[0].member] += 1;
            // Every candidate once, whatever the order.
            let mut members: Vec<usize> = c.iter().map(|c| c.member).collect();
            members.sort_unstable();
            assert_eq!(members, (0..c.len()).collect::<Vec<_>>());
        }
        counts
    }

    #[test]
    fn weighted_follows_the_weights() {
        let counts = firsts(Strategy::Weighted, || candidates(&[3, 1]), 10_000);
        assert!((7_200..=7_800).contains(&counts[0]), "{counts:?}");
        let counts = firsts(Strategy::Weighted, || candidates(&[1, 1, 2]), 10_000);
        assert!((2_200..=2_800).contains(&counts[0]), "{counts:?}");
        assert!((4_700..=5_300).contains(&counts[2]), "{counts:?}");
    }

    #[test]
    fn weighted_retries_go_to_the_others_by_weight() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut second = [0; 3];
        for _ in 0..9_000 {
            let mut c = candidates(&[100, 1, 2]);
            order(Strategy::Weighted, &mut c, &mut rng);
            if c[0].member == 0 {
                second[c[1].member] += 1;
            }
        }
        // Of the other two, the one of weight 2 comes next twice as often.
        let ratio = f64::from(second[2]) / f64::from(second[1]);
        assert!((1.7..=2.3).contains(&ratio), "{second:?}");
    }

    #[test]
    fn least_busy_takes_the_fewest_in_flight_for_the_weight() {
        let make = || {
            let mut c = candidates(&[1, 1, 4]);
            c[0].in_flight = 3;
            c[1].in_flight = 1;
            c[2].in_flight = 3; // 3 / 4 < 1 / 1
            c
        };
        let mut rng = StdRng::seed_from_u64(1);
        let mut c = make();
        order(Strategy::LeastBusy, &mut c, &mut rng);
        assert_eq!(
            c.iter().map(|c| c.member).collect::<Vec<_>>(),
            vec![2, 1, 0]
        );
        // Ties at random.
        let counts = firsts(Strategy::LeastBusy, || candidates(&[1, 1]), 2_000);
        assert!(counts[0] > 800 && counts[1] > 800, "{counts:?}");
    }

    #[test]
    fn p2c_prefers_the_healthier_of_two() {
        let make = || {
            let mut c = candidates(&[1, 1, 1]);
            c[0].score = score(900.0, 0.0, 0);
            c[1].score = score(100.0, 0.0, 0);
            c[2].score = score(100.0, 0.5, 0);
            c
        };
        let counts = firsts(Strategy::P2c, make, 6_000);
        // Member 1 wins every pair it is drawn into (2 in 3 pairs), member 2
        // the pair without it; member 0 never comes first.
        assert_eq!(counts[0], 0, "{counts:?}");
        assert!((3_700..=4_300).contains(&counts[1]), "{counts:?}");
        assert!(score(10.0, 0.0, 5) > score(10.0, 0.0, 0));
        assert!(score(10.0, 0.2, 0) > score(10.0, 0.0, 0));
    }

    #[test]
    fn one_candidate_is_left_alone() {
        let mut rng = StdRng::seed_from_u64(0);
        let mut c = candidates(&[5]);
        order(Strategy::P2c, &mut c, &mut rng);
        assert_eq!(c[0].member, 0);
    }
}
