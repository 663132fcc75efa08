//! The simulated model: pure functions from (random stream, conditions, input) to an outcome.
//!
//! Healthy: confident predictions (~0.9), ~12 ms latency, ~1 % errors. Drift (severity 0→1)
//! pulls confidence towards ~0.57, shifts the class mix, makes inference up to 2.5× slower and
//! errors up to 4× more frequent.

use std::time::Duration;

use crate::rng::Rng;

/// Classes the classifier predicts.
pub const CLASSES: [&str; 5] = ["cat", "dog", "bird", "car", "truck"];
const HEALTHY_CLASS_WEIGHTS: [f64; 5] = [0.32, 0.30, 0.14, 0.14, 0.10];
const DRIFTED_CLASS_WEIGHTS: [f64; 5] = [0.14, 0.14, 0.22, 0.20, 0.30];
/// Upper bound of any simulated latency.
const MAX_LATENCY_S: f64 = 2.0;

const WORDS: [&str; 24] = [
    "the", "model", "predicts", "metrics", "series", "latency", "quickly", "and", "stores",
    "samples", "with", "labels", "for", "every", "scrape", "while", "grafana", "queries", "rates",
    "over", "windows", "of", "time", "tokens",
];

/// Conditions at the moment a request is served.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conditions {
    /// Drift strength: 0 healthy, 1 fully drifted.
    pub severity: f64,
    /// Base probability of a 500.
    pub error_rate: f64,
    /// Median `/predict` latency before drift, in seconds.
    pub predict_latency_s: f64,
    /// Mean time per output token before drift, in seconds.
    pub time_per_token_s: f64,
}

/// What a `/predict` call does.
#[derive(Debug, Clone, PartialEq)]
pub enum PredictOutcome {
    /// A prediction, after `latency`.
    Ok {
        /// Predicted class (one of [`CLASSES`]).
        class: &'static str,
        /// Confidence in (0, 1).
        confidence: f64,
        /// Simulated service time.
        latency: Duration,
    },
    /// A simulated backend failure (HTTP 500), after `latency`.
    Failed {
        /// Simulated service time.
        latency: Duration,
    },
}

/// What a `/generate` call does.
#[derive(Debug, Clone, PartialEq)]
pub enum GenerateOutcome {
    /// Generated `tokens` tokens.
    Ok {
        /// Number of tokens, 1..=max_tokens.
        tokens: u64,
        /// Mean time per output token.
        time_per_token: Duration,
        /// Total service time (time to first token + tokens × time per token).
        latency: Duration,
        /// The generated text.
        text: String,
    },
    /// A simulated failure (HTTP 500), after `latency`.
    Failed {
        /// Simulated service time.
        latency: Duration,
    },
}

/// Seconds to a `Duration`, clamped to `[0, MAX_LATENCY_S]` (NaN counts as zero).
fn secs(s: f64) -> Duration {
    if s.is_nan() {
        return Duration::ZERO;
    }
    Duration::from_secs_f64(s.clamp(0.0, MAX_LATENCY_S))
}

fn severity(c: &Conditions) -> f64 {
    if c.severity.is_finite() {
        c.severity.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

fn error_probability(c: &Conditions, factor: f64) -> f64 {
    (c.error_rate.max(0.0) * factor * (1.0 + 3.0 * severity(c))).min(1.0)
}

/// A hash of the input features choosing a "natural" class for this input.
fn preferred_class(features: &[f64]) -> Option<usize> {
    if features.is_empty() {
        return None;
    }
    let h = features.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, f| {
        (h ^ f.to_bits()).wrapping_mul(0x1000_0000_01b3)
    });
    usize::try_from(h % CLASSES.len() as u64).ok()
}

/// Simulates one classification.
pub fn predict(rng: &mut Rng, c: &Conditions, features: &[f64]) -> PredictOutcome {
    let sev = severity(c);
    let mut latency_s = c.predict_latency_s * (1.0 + 1.5 * sev) * (0.3 * rng.gauss()).exp();
    if rng.chance(0.01) {
        latency_s *= 5.0; // the occasional slow request (GC pause, cold cache)
    }
    if rng.chance(error_probability(c, 1.0)) {
        return PredictOutcome::Failed {
            latency: secs(latency_s * 0.5),
        };
    }
    let mut weights = [0.0; 5];
    for ((w, healthy), drifted) in weights
        .iter_mut()
        .zip(HEALTHY_CLASS_WEIGHTS)
        .zip(DRIFTED_CLASS_WEIGHTS)
    {
        *w = healthy * (1.0 - sev) + drifted * sev;
    }
    if let Some(p) = preferred_class(features) {
        if let Some(w) = weights.get_mut(p) {
            *w += 0.5;
        }
    }
    let class = CLASSES
        .get(rng.weighted(&weights))
        .copied()
        .unwrap_or("cat");
    let mean = 0.90 - 0.33 * sev;
    let sd = 0.04 + 0.08 * sev;
    let confidence = (mean + sd * rng.gauss()).clamp(1.0 / CLASSES.len() as f64, 0.999);
    PredictOutcome::Ok {
        class,
        confidence,
        latency: secs(latency_s),
    }
}

/// Simulates one text generation of at most `max_tokens` tokens.
pub fn generate(rng: &mut Rng, c: &Conditions, max_tokens: u64) -> GenerateOutcome {
    let sev = severity(c);
    let max_tokens = max_tokens.max(1);
    let ttft_s = 2.0 * c.predict_latency_s * (1.0 + sev) * (0.3 * rng.gauss()).exp();
    if rng.chance(error_probability(c, 2.0)) {
        return GenerateOutcome::Failed {
            latency: secs(ttft_s),
        };
    }
    // Usually stops on its own between a quarter and all of max_tokens; sometimes hits the limit.
    let tokens = if rng.chance(0.2) {
        max_tokens
    } else {
        rng.range_u64((max_tokens / 4).max(1), max_tokens)
    };
    let tpot_s = c.time_per_token_s * (1.0 + 1.2 * sev) * (0.15 * rng.gauss()).exp();
    let text = (0..tokens)
        .map(|_| {
            WORDS
                .get(rng.range_u64(0, WORDS.len() as u64 - 1) as usize)
                .copied()
                .unwrap_or("the")
        })
        .collect::<Vec<_>>()
        .join(" ");
    let time_per_token = secs(tpot_s);
    // Generation time is not capped by MAX_LATENCY_S: long answers are genuinely slow.
    let latency =
        secs(ttft_s) + time_per_token.saturating_mul(u32::try_from(tokens).unwrap_or(u32::MAX));
    GenerateOutcome::Ok {
        tokens,
        time_per_token,
        latency,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(severity: f64) -> Conditions {
        Conditions {
            severity,
            error_rate: 0.01,
            predict_latency_s: 0.012,
            time_per_token_s: 0.003,
        }
    }

    fn mean_confidence_and_latency(sev: f64) -> (f64, f64, usize) {
        let mut rng = Rng::new(11);
        let (mut conf, mut lat, mut ok, mut failed) = (0.0, 0.0, 0usize, 0usize);
        for _ in 0..5000 {
            match predict(&mut rng, &cond(sev), &[]) {
                PredictOutcome::Ok {
                    confidence,
                    latency,
                    class,
                } => {
                    assert!(CLASSES.contains(&class));
                    assert!(confidence > 0.0 && confidence < 1.0);
                    conf += confidence;
                    lat += latency.as_secs_f64();
                    ok += 1;
                }
                PredictOutcome::Failed { .. } => failed += 1,
            }
        }
        (conf / ok as f64, lat / ok as f64, failed)
    }

    #[test]
    fn drift_lowers_confidence_raises_latency_and_errors() {
        let (c0, l0, e0) = mean_confidence_and_latency(0.0);
        let (c1, l1, e1) = mean_confidence_and_latency(1.0);
        assert!((0.87..0.93).contains(&c0), "healthy confidence {c0}");
        assert!((0.52..0.62).contains(&c1), "drifted confidence {c1}");
        assert!(l1 > 2.0 * l0, "latency {l0} -> {l1}");
        assert!((10..=100).contains(&e0), "healthy errors {e0}");
        assert!(e1 > 2 * e0, "errors {e0} -> {e1}");
    }

    #[test]
    fn same_stream_same_outcome() {
        let a = predict(&mut Rng::new(9), &cond(0.3), &[1.0, 2.0]);
        let b = predict(&mut Rng::new(9), &cond(0.3), &[1.0, 2.0]);
        assert_eq!(a, b);
        let g1 = generate(&mut Rng::new(9), &cond(0.0), 32);
        let g2 = generate(&mut Rng::new(9), &cond(0.0), 32);
        assert_eq!(g1, g2);
    }

    #[test]
    fn generation_respects_max_tokens_and_timing() {
        let mut rng = Rng::new(1);
        let mut seen_ok = 0;
        for max in [1u64, 2, 7, 64, 1024] {
            for _ in 0..50 {
                if let GenerateOutcome::Ok {
                    tokens,
                    time_per_token,
                    latency,
                    text,
                } = generate(&mut rng, &cond(0.0), max)
                {
                    assert!((1..=max).contains(&tokens));
                    assert_eq!(text.split(' ').count() as u64, tokens);
                    let tpot = time_per_token.as_secs_f64();
                    assert!((0.001..0.01).contains(&tpot), "tpot {tpot}");
                    assert!(latency >= time_per_token * u32::try_from(tokens).unwrap_or(0));
                    seen_ok += 1;
                }
            }
        }
        assert!(seen_ok > 200);
    }

    #[test]
    fn odd_conditions_do_not_panic() {
        let weird = Conditions {
            severity: f64::NAN,
            error_rate: 5.0,
            predict_latency_s: 1e9,
            time_per_token_s: -1.0,
        };
        let mut rng = Rng::new(0);
        assert!(
            matches!(predict(&mut rng, &weird, &[f64::NAN]), PredictOutcome::Failed { latency } if latency <= Duration::from_secs(2))
        );
        assert!(matches!(
            generate(&mut rng, &weird, 0),
            GenerateOutcome::Failed { .. }
        ));
        let neg = Conditions {
            error_rate: 0.0,
            ..weird
        };
        if let GenerateOutcome::Ok {
            time_per_token,
            tokens,
            ..
        } = generate(&mut rng, &neg, 0)
        {
            assert_eq!(time_per_token, Duration::ZERO);
            assert_eq!(tokens, 1);
        }
    }
}
