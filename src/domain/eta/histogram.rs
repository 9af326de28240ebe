//! A fixed, log-spaced histogram of durations: bounded memory whatever the
//! number of samples, kept as plain counters (the store adds to them with
//! `HINCRBY`, so every replica shares one), and read back into quantiles.
//!
//! Bucket 0 holds durations under one second; bucket `i` (1..) holds
//! `[2^((i-1)/4), 2^(i/4))` seconds (each about 19% wide), the last one
//! everything from about 48 days on. Quantiles interpolate geometrically
//! inside a bucket.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Buckets per doubling.
const PER_DOUBLING: f64 = 4.0;
/// Buckets in all (0 = under a second).
pub const BUCKETS: u16 = 89;

/// The bucket a duration of `seconds` falls in.
pub fn bucket_of(seconds: f64) -> u16 {
    if !seconds.is_finite() || seconds < 1.0 {
        return 0;
    }
    let index = (seconds.log2() * PER_DOUBLING).floor() as i64 + 1;
    index.clamp(1, i64::from(BUCKETS) - 1) as u16
}

/// The lower and upper edge of `bucket`, in seconds.
fn edges(bucket: u16) -> (f64, f64) {
    match bucket {
        0 => (0.0, 1.0),
        b => (2f64.powf(f64::from(b - 1) / PER_DOUBLING), 2f64.powf(f64::from(b) / PER_DOUBLING)),
    }
}

/// Where in `bucket` a share `fraction` of its mass lies (geometric, but
/// linear in the first bucket, which starts at zero).
fn inside(bucket: u16, fraction: f64) -> f64 {
    let (low, high) = edges(bucket);
    let fraction = fraction.clamp(0.0, 1.0);
    if bucket == 0 {
        return low + (high - low) * fraction;
    }
    low * (high / low).powf(fraction)
}

/// Weighted counts per bucket (weights: a rolling window counts the
/// previous period in part).
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    counts: BTreeMap<u16, f64>,
    /// [`Histogram::summary`] once computed: a network's histograms change
    /// only when the estimate's inputs are read again (every 15 s), and every
    /// view's estimate reads the block interval's summary (about 90 `powf`
    /// per read when full). Cleared by every change to `counts`.
    summary: OnceLock<Option<Summary>>,
}

/// Equal when the counts are (whether either summary was computed yet
/// does not matter).
impl PartialEq for Histogram {
    fn eq(&self, other: &Histogram) -> bool {
        self.counts == other.counts
    }
}

/// A distribution in seconds, summarized.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub p50: f64,
    pub p90: f64,
    pub mean: f64,
    pub variance: f64,
    /// Samples (weighted) behind it.
    pub count: f64,
}

impl Histogram {
    pub fn new() -> Histogram {
        Histogram::default()
    }

    /// Adds `weight` samples in `bucket` (buckets past the last are ignored).
    pub fn add(&mut self, bucket: u16, weight: f64) {
        if bucket < BUCKETS && weight > 0.0 && weight.is_finite() {
            *self.counts.entry(bucket).or_insert(0.0) += weight;
            self.summary = OnceLock::new();
        }
    }

    pub fn record(&mut self, seconds: f64) {
        self.add(bucket_of(seconds), 1.0);
    }

    /// Counters as the store keeps them (field = bucket number), weighted;
    /// fields that are not bucket numbers are ignored.
    pub fn add_counters<'a>(&mut self, counters: impl IntoIterator<Item = (&'a str, u64)>, weight: f64) {
        for (field, count) in counters {
            if let Ok(bucket) = field.parse::<u16>() {
                self.add(bucket, count as f64 * weight);
            }
        }
    }

    pub fn count(&self) -> f64 {
        self.counts.values().sum()
    }

    /// The share of samples at or below `seconds`.
    pub fn cdf(&self, seconds: f64) -> f64 {
        let total = self.count();
        if total <= 0.0 {
            return 0.0;
        }
        let mut below = 0.0;
        for (&bucket, &count) in &self.counts {
            let (low, high) = edges(bucket);
            if seconds >= high {
                below += count;
            } else if seconds > low {
                let fraction = if bucket == 0 { seconds / high } else { (seconds / low).ln() / (high / low).ln() };
                below += count * fraction;
            }
        }
        (below / total).clamp(0.0, 1.0)
    }

    /// The duration below which a share `q` of samples lies; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total <= 0.0 {
            return None;
        }
        let target = q.clamp(0.0, 1.0) * total;
        let mut seen = 0.0;
        let mut last = 0;
        for (&bucket, &count) in &self.counts {
            last = bucket;
            if seen + count >= target {
                return Some(inside(bucket, (target - seen) / count));
            }
            seen += count;
        }
        Some(edges(last).1)
    }

    /// The `q` quantile of what is left, given `elapsed` seconds already
    /// passed without the event: `None` when empty or when every sample was
    /// shorter than `elapsed` (the history says nothing about this wait).
    pub fn remaining_quantile(&self, elapsed: f64, q: f64) -> Option<f64> {
        let done = self.cdf(elapsed.max(0.0));
        if self.count() <= 0.0 || done >= 0.999 {
            return None;
        }
        let at = self.quantile(done + q * (1.0 - done))?;
        Some((at - elapsed).max(0.0))
    }

    /// Quantiles, mean and variance; the mean and variance leave out the
    /// top 1% (one interval after an outage, a clock jump: a single sample
    /// far out would otherwise decide the spread).
    pub fn summary(&self) -> Option<Summary> {
        *self.summary.get_or_init(|| self.compute_summary())
    }

    fn compute_summary(&self) -> Option<Summary> {
        let count = self.count();
        if count <= 0.0 {
            return None;
        }
        let cut = self.quantile(0.99)?;
        let middle = |bucket: u16| {
            let (low, high) = edges(bucket);
            if bucket == 0 {
                high / 2.0
            } else {
                (low * high).sqrt()
            }
        };
        let kept: Vec<(f64, f64)> =
            self.counts.iter().filter(|(&b, _)| edges(b).0 <= cut).map(|(&b, &c)| (middle(b), c)).collect();
        let weight: f64 = kept.iter().map(|(_, c)| c).sum();
        let mean = kept.iter().map(|(m, c)| m * c).sum::<f64>() / weight;
        let variance = kept.iter().map(|(m, c)| (m - mean).powi(2) * c).sum::<f64>() / weight;
        Some(Summary { p50: self.quantile(0.5)?, p90: self.quantile(0.9)?, mean, variance, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remembered_summary_follows_every_change() {
        let mut histogram = Histogram::new();
        assert_eq!(histogram.summary(), None);
        histogram.record(600.0);
        let one = histogram.summary().expect("one sample");
        assert_eq!(one.count, 1.0);
        histogram.add_counters([("20", 3)], 1.0);
        histogram.add(5, 0.5);
        let fresh = histogram.compute_summary();
        assert_eq!(histogram.summary(), fresh);
        assert_eq!(fresh.map(|s| s.count), Some(4.5));
        // Equality is the counts', computed summary or not.
        let mut other = Histogram::new();
        other.add_counters([("38", 1), ("20", 3), ("5", 0)], 1.0);
        other.add(5, 0.5);
        assert_ne!(other, histogram);
        let copy = histogram.clone();
        assert_eq!(copy, histogram);
        assert_eq!(copy.summary(), fresh);
    }

    #[test]
    fn buckets_are_log_spaced_and_bounded() {
        let cases: &[(f64, u16)] = &[
            (0.0, 0),
            (0.5, 0),
            (-3.0, 0),
            (f64::NAN, 0),
            (1.0, 1),
            (1.1, 1),
            (2.0, 5),
            (4.0, 9),
            (600.0, 37),
            (1e12, BUCKETS - 1),
        ];
        for &(seconds, bucket) in cases {
            assert_eq!(bucket_of(seconds), bucket, "{seconds}");
        }
        for seconds in [1.0, 3.7, 12.0, 600.0, 86_400.0] {
            let (low, high) = edges(bucket_of(seconds));
            assert!(low <= seconds && seconds < high, "{seconds} in [{low}, {high})");
        }
    }

    #[test]
    fn quantiles_of_uniform_samples_are_within_a_bucket() {
        let mut histogram = Histogram::new();
        for seconds in 1..=1000 {
            histogram.record(f64::from(seconds));
        }
        let cases = [(0.5, 500.0), (0.9, 900.0), (0.1, 100.0)];
        for (q, expected) in cases {
            let got = histogram.quantile(q).unwrap();
            assert!((got / expected - 1.0).abs() < 0.1, "q{q}: {got} vs {expected}");
        }
        assert!((histogram.cdf(500.0) - 0.5).abs() < 0.05);
        assert_eq!(histogram.count(), 1000.0);
        let summary = histogram.summary().unwrap();
        assert!((summary.mean / 500.0 - 1.0).abs() < 0.05, "{summary:?}");
    }

    #[test]
    fn one_sample_far_out_does_not_decide_the_spread() {
        let mut histogram = Histogram::new();
        for seconds in 1..=600 {
            histogram.record(f64::from(seconds));
        }
        let calm = histogram.summary().unwrap();
        histogram.record(5.0e7);
        let with_outlier = histogram.summary().unwrap();
        assert!((with_outlier.mean / calm.mean - 1.0).abs() < 0.01, "{calm:?} {with_outlier:?}");
        assert!((with_outlier.variance / calm.variance - 1.0).abs() < 0.01);
        assert_eq!(with_outlier.count, 601.0);
    }

    #[test]
    fn an_empty_histogram_knows_nothing() {
        let histogram = Histogram::new();
        assert_eq!(histogram.quantile(0.5), None);
        assert_eq!(histogram.summary(), None);
        assert_eq!(histogram.remaining_quantile(10.0, 0.5), None);
        assert_eq!(histogram.cdf(10.0), 0.0);
    }

    #[test]
    fn what_is_left_after_a_wait_is_the_tail() {
        let mut histogram = Histogram::new();
        for seconds in 1..=1000 {
            histogram.record(f64::from(seconds));
        }
        // After 800 s, the median of what is left is about 100 s more.
        let left = histogram.remaining_quantile(800.0, 0.5).unwrap();
        assert!((left - 100.0).abs() < 30.0, "{left}");
        // Past every sample: no answer.
        assert_eq!(histogram.remaining_quantile(5000.0, 0.5), None);
    }

    #[test]
    fn counters_from_the_store_are_read_by_bucket_and_weighted() {
        let mut histogram = Histogram::new();
        histogram.add_counters([("37", 4), ("x", 9), ("999", 3)], 0.5);
        assert_eq!(histogram.count(), 2.0);
        let p50 = histogram.quantile(0.5).unwrap();
        assert!((512.0..=609.0).contains(&p50), "{p50}");
    }
}
