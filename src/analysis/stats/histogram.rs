//! Latency histograms.

use std::collections::BTreeMap;

/// A sparse log-linear histogram of microsecond latencies: exact below 128 µs, then 128
/// buckets per power of two (under 0.8 % relative error). Memory grows with the number of
/// distinct buckets hit, not with the number of samples.
#[derive(Clone, Debug, Default)]
pub struct Histogram {
    buckets: BTreeMap<u32, u64>,
    pub count: u64,
    pub max: u64,
    pub sum: u128,
}

const SUB: u32 = 7;

fn bucket_of(v: u64) -> u32 {
    if v < (1 << SUB) {
        return v as u32;
    }
    let e = 63 - v.leading_zeros(); // >= SUB
    let m = ((v >> (e - SUB)) & ((1 << SUB) - 1)) as u32;
    (1 << SUB) + (e - SUB) * (1 << SUB) + m
}

fn bucket_value(b: u32) -> u64 {
    if b < (1 << SUB) {
        return b as u64;
    }
    let k = b - (1 << SUB);
    let e = k / (1 << SUB) + SUB;
    let m = (k % (1 << SUB)) as u64;
    // The middle of the bucket.
    let lo = (1u64 << e) | (m << (e - SUB));
    lo + (1u64 << (e - SUB)) / 2
}

impl Histogram {
    pub fn record(&mut self, v: u64) {
        *self.buckets.entry(bucket_of(v)).or_default() += 1;
        self.count += 1;
        self.max = self.max.max(v);
        self.sum += v as u128;
    }

    /// The value at quantile `q` (0..=1), within the bucket's resolution; the maximum is exact.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (&b, &n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return Some(bucket_value(b).min(self.max));
            }
        }
        Some(self.max)
    }

    /// Adds another histogram's samples.
    pub fn merge(&mut self, o: &Histogram) {
        for (&b, &n) in &o.buckets {
            *self.buckets.entry(b).or_default() += n;
        }
        self.count += o.count;
        self.max = self.max.max(o.max);
        self.sum += o.sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_within_resolution() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v);
        }
        for (q, want) in [(0.5, 50_000.0), (0.9, 90_000.0), (0.99, 99_000.0)] {
            let got = h.quantile(q).unwrap() as f64;
            assert!((got - want).abs() / want < 0.01, "q{q}: {got} vs {want}");
        }
        assert_eq!(h.quantile(1.0), Some(100_000));
        assert_eq!(h.max, 100_000);
        for v in [0u64, 1, 127, 128, 129, 1000, 123_456_789, u64::MAX / 2] {
            let b = bucket_of(v);
            let back = bucket_value(b);
            assert!(
                v < 128 && back == v || (back as f64 - v as f64).abs() / (v as f64) < 0.01,
                "{v} -> {back}"
            );
        }
        // 128 exact buckets, then 128 per octave: about 1,360 for 1..100,000, not 100,000.
        assert!(h.buckets.len() < 1400, "sparse: {}", h.buckets.len());
    }
}
