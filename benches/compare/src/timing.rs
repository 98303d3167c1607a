//! Hand-rolled per-decision timing: each decision is timed on its own (the clock costs tens of
//! nanoseconds against decisions of microseconds), so a median and a 99th percentile come out
//! rather than only a mean. Contenders are measured in interleaved rounds, so that a burst of
//! load from elsewhere on the machine lands on all of them alike.

use std::hint::black_box;
use std::time::Instant;

/// A distribution of per-decision times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub median_ns: f64,
    pub p99_ns: f64,
    pub mean_ns: f64,
    pub samples: usize,
}

impl Stats {
    /// Summarises samples in nanoseconds; `None` when there are none.
    pub fn of(mut samples: Vec<u64>) -> Option<Stats> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let at = |fraction: f64| {
            let index = ((samples.len() - 1) as f64 * fraction).round() as usize;
            samples.get(index).copied().unwrap_or_default() as f64
        };
        Some(Stats {
            median_ns: at(0.5),
            p99_ns: at(0.99),
            mean_ns: samples.iter().sum::<u64>() as f64 / samples.len() as f64,
            samples: samples.len(),
        })
    }
}

/// One contender: a name and a decision to time, given the index of the decision (callers
/// cycle through their requests with it).
pub struct Contender<'a> {
    pub name: String,
    pub decide: Box<dyn FnMut(usize) -> bool + 'a>,
}

/// Times every contender: `warmup` untimed decisions each, then `rounds` rounds of `per_round`
/// timed decisions each, the contenders taking turns within each round.
pub fn race(
    contenders: &mut [Contender<'_>],
    warmup: usize,
    rounds: usize,
    per_round: usize,
) -> Vec<(String, Option<Stats>)> {
    for contender in contenders.iter_mut() {
        for i in 0..warmup {
            black_box((contender.decide)(black_box(i)));
        }
    }
    let mut samples: Vec<Vec<u64>> = contenders
        .iter()
        .map(|_| Vec::with_capacity(rounds * per_round))
        .collect();
    for round in 0..rounds {
        for (contender, times) in contenders.iter_mut().zip(samples.iter_mut()) {
            for i in 0..per_round {
                let index = round * per_round + i;
                let start = Instant::now();
                black_box((contender.decide)(black_box(index)));
                let elapsed = start.elapsed();
                times.push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
            }
        }
    }
    contenders
        .iter()
        .zip(samples)
        .map(|(c, times)| (c.name.clone(), Stats::of(times)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p99_of_a_known_distribution() {
        let stats = Stats::of((1..=100).collect()).unwrap();
        assert_eq!(stats.samples, 100);
        assert_eq!(stats.median_ns, 51.0);
        assert_eq!(stats.p99_ns, 99.0);
        assert_eq!(stats.mean_ns, 50.5);
        assert!(Stats::of(Vec::new()).is_none());
    }

    #[test]
    fn every_contender_gets_every_sample() {
        let mut seen = Vec::new();
        let mut contenders = vec![Contender {
            name: "count".into(),
            decide: Box::new(|i| {
                seen.push(i);
                true
            }),
        }];
        let results = race(&mut contenders, 3, 2, 5);
        drop(contenders);
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].1.unwrap().samples, 10);
        assert_eq!(seen, vec![0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
}
