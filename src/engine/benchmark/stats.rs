//! Numbers as the upstream runtime computes and prints them: two-decimal rounding with
//! JavaScript's `Number(x.toFixed(2))`, percentages, and the seeded bootstrap confidence
//! interval (spec §13.4, §13.5).

use serde::{Serialize, Serializer};

/// `Number(x.toFixed(2))`: rounds the exact binary value to two decimals, ties away from zero.
///
/// Formatting with two decimals rounds the exact value correctly except on exact ties, where it
/// rounds to even. An exact tie needs `100·x` to end in exactly `.5`, which for a binary
/// fraction means `8·x` is an odd integer; those are rounded away from zero by hand.
pub fn round2(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let eighths = x * 8.0;
    if eighths.fract() == 0.0 && eighths.abs() < 9.0e15 && (eighths.abs() % 2.0) == 1.0 {
        let hundredths = x.abs() * 100.0 + 0.5;
        let value = hundredths / 100.0;
        return if x < 0.0 { -value } else { value };
    }
    format!("{x:.2}").parse().unwrap_or(x)
}

/// `percent(m, t)`: 100 when `t` is zero (or not a number), else `round2(100·m/t)`.
pub fn percent(numerator: f64, denominator: f64) -> f64 {
    if denominator == 0.0 || denominator.is_nan() {
        return 100.0;
    }
    round2(numerator / denominator * 100.0)
}

/// A confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ConfidenceInterval {
    /// Lower bound (2.5th percentile of the resampled means).
    pub low: JsNumber,
    /// Upper bound (97.5th percentile).
    pub high: JsNumber,
}

/// The seeded generator: a 32-bit linear congruential generator seeded from a string key.
struct SeededRandom {
    seed: u32,
}

impl SeededRandom {
    fn new(key: &str) -> Self {
        let key = if key.is_empty() {
            "wave-benchmark"
        } else {
            key
        };
        let mut seed: u32 = 0;
        for c in key.chars() {
            let mut units = [0u16; 2];
            let first = c.encode_utf16(&mut units).first().copied().unwrap_or(0);
            seed = seed.wrapping_mul(31).wrapping_add(u32::from(first));
        }
        Self { seed }
    }

    fn next(&mut self) -> f64 {
        self.seed = self
            .seed
            .wrapping_mul(1_664_525)
            .wrapping_add(1_013_904_223);
        f64::from(self.seed) / 4_294_967_296.0
    }
}

/// Number of bootstrap resamples.
pub const BOOTSTRAP_RESAMPLES: usize = 400;

/// Bootstrap interval of the mean of `values`, seeded by `key` (`overall:<arm>` or
/// `<familyId>:<arm>`). With at most one value both bounds are that value, unrounded.
pub fn bootstrap_mean_interval(values: &[f64], key: &str) -> ConfidenceInterval {
    if values.len() <= 1 {
        let only = values.first().copied().unwrap_or(0.0);
        return ConfidenceInterval {
            low: JsNumber(only),
            high: JsNumber(only),
        };
    }
    let n = values.len();
    let mut random = SeededRandom::new(key);
    let mut means = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    for _ in 0..BOOTSTRAP_RESAMPLES {
        let mut total = 0.0;
        for _ in 0..n {
            // floor(next()·n) < n because next() < 1.
            let index = ((random.next() * n as f64).floor() as usize).min(n - 1);
            total += values.get(index).copied().unwrap_or(0.0);
        }
        means.push(total / n as f64);
    }
    means.sort_by(f64::total_cmp);
    let pick = |p: f64| {
        let last = means.len() - 1;
        let index = ((p * last as f64).floor() as usize).min(last);
        means.get(index).copied().unwrap_or(0.0)
    };
    ConfidenceInterval {
        low: JsNumber(round2(pick(0.025))),
        high: JsNumber(round2(pick(0.975))),
    }
}

/// An `f64` printed the way JavaScript prints numbers: integral values without a fraction.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct JsNumber(pub f64);

impl JsNumber {
    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl std::fmt::Display for JsNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let x = self.0;
        if x.is_nan() {
            f.write_str("NaN")
        } else if x.is_infinite() {
            f.write_str(if x > 0.0 { "Infinity" } else { "-Infinity" })
        } else if x.fract() == 0.0 && x.abs() < 1e21 {
            write!(f, "{:.0}", if x == 0.0 { 0.0 } else { x })
        } else {
            write!(f, "{x}")
        }
    }
}

impl Serialize for JsNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let x = self.0;
        if !x.is_finite() {
            return serializer.serialize_none();
        }
        if x.fract() == 0.0 && x.abs() < 9.0e15 {
            return serializer.serialize_i64(x as i64);
        }
        serializer.serialize_f64(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_like_to_fixed() {
        assert_eq!(round2(0.125), 0.13);
        assert_eq!(round2(-0.125), -0.13);
        assert_eq!(round2(0.375), 0.38);
        assert_eq!(round2(2.675), 2.67);
        assert_eq!(round2(1.005), 1.0);
        assert_eq!(round2(66.666_666), 66.67);
        assert_eq!(round2(100.0 / 3.0), 33.33);
        assert_eq!(percent(1.0, 0.0), 100.0);
        assert_eq!(percent(2.0, 3.0), 66.67);
    }

    #[test]
    fn prints_like_javascript() {
        assert_eq!(JsNumber(100.0).to_string(), "100");
        assert_eq!(JsNumber(-0.0).to_string(), "0");
        assert_eq!(JsNumber(66.67).to_string(), "66.67");
        assert_eq!(
            serde_json::to_string(&JsNumber(50.0)).ok().as_deref(),
            Some("50")
        );
        assert_eq!(
            serde_json::to_string(&JsNumber(-7.14)).ok().as_deref(),
            Some("-7.14")
        );
    }

    #[test]
    fn single_value_interval_is_that_value() {
        let ci = bootstrap_mean_interval(&[12.5], "overall:full-wave");
        assert_eq!((ci.low.get(), ci.high.get()), (12.5, 12.5));
        let ci = bootstrap_mean_interval(&[], "x");
        assert_eq!((ci.low.get(), ci.high.get()), (0.0, 0.0));
    }
}
