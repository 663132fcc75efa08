//! Property tests: every codec path round-trips bit-exactly.

use promlite_tsdb::codec::{self, ints, timestamps, values, Reader};
use proptest::prelude::*;

const STALE: u64 = 0x7ff0_0000_0000_0002;

fn special() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::from_bits(STALE)),
        Just(f64::from_bits(0xfff8_0000_dead_beef)),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(0.0),
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
        Just(5e-324),
    ]
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => (-1_000_000i64..1_000_000, 0u32..6).prop_map(|(k, e)| k as f64 / 10f64.powi(e as i32)),
        2 => any::<u64>().prop_map(f64::from_bits),
        1 => special(),
        2 => (0u64..50).prop_map(|k| k as f64),
    ]
}

fn timestamps_strategy() -> impl Strategy<Value = Vec<i64>> {
    prop_oneof![
        // Jittered regular scrapes, possibly negative.
        (
            -10_000_000_000i64..10_000_000_000,
            1i64..100_000,
            prop::collection::vec(0i64..20, 0..600)
        )
            .prop_map(|(start, iv, jit)| jit
                .iter()
                .enumerate()
                .map(|(i, j)| start + i as i64 * iv + j)
                .collect()),
        // Arbitrary increasing with huge deltas.
        prop::collection::vec(any::<i64>(), 0..50).prop_map(|mut v| {
            v.sort();
            v.dedup();
            v
        }),
        // Fully arbitrary (the codec itself does not require order).
        prop::collection::vec(any::<i64>(), 0..50),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn ints_round_trip(
        v in prop::collection::vec(any::<i64>(), 0..400),
        small in prop::collection::vec(-3i64..3, 0..400),
        noisy in prop::collection::vec((-2000i64..2000, any::<i64>(), 0u8..100), 0..400),
    ) {
        // Mostly small noise with rare huge outliers: exercises Rice blocks and their escapes.
        let noisy: Vec<i64> = noisy.into_iter().map(|(n, big, f)| if f < 2 { big } else { 1_000_000 + n }).collect();
        for col in [v, small, noisy] {
            let mut buf = Vec::new();
            ints::encode_ints(&col, &mut buf);
            let mut r = Reader::new(&buf);
            prop_assert_eq!(ints::decode_ints(&mut r, col.len()).unwrap(), col);
            prop_assert_eq!(r.remaining(), 0);
        }
    }

    #[test]
    fn timestamps_round_trip(ts in timestamps_strategy()) {
        let mut buf = Vec::new();
        timestamps::encode_timestamps(&ts, &mut buf);
        let mut r = Reader::new(&buf);
        prop_assert_eq!(timestamps::decode_timestamps(&mut r).unwrap(), ts);
        prop_assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn values_round_trip_bit_exact(vals in prop::collection::vec(value(), 0..600)) {
        let mut buf = Vec::new();
        values::encode_values(&vals, &mut buf);
        let mut r = Reader::new(&buf);
        let got = values::decode_values(&mut r, vals.len()).unwrap();
        prop_assert_eq!(got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), vals.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        prop_assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn chunks_round_trip(ts in timestamps_strategy(), seed in prop::collection::vec(value(), 1..8)) {
        let samples: Vec<(i64, f64)> = ts.iter().enumerate().map(|(i, &t)| (t, seed[i % seed.len()])).collect();
        let bytes = codec::encode(&samples);
        let back = codec::decode(&bytes).unwrap();
        prop_assert_eq!(back.len(), samples.len());
        for (a, b) in back.iter().zip(&samples) {
            prop_assert_eq!(a.0, b.0);
            prop_assert_eq!(a.1.to_bits(), b.1.to_bits());
        }
    }

    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = codec::decode(&bytes);
        let _ = values::decode_values(&mut Reader::new(&bytes), 100);
        let _ = timestamps::decode_timestamps(&mut Reader::new(&bytes));
    }
}

#[test]
fn single_sample_and_stale_only() {
    for s in [
        vec![(-5, f64::from_bits(STALE))],
        vec![(i64::MAX, 1.0)],
        vec![(0, f64::from_bits(STALE)); 1],
    ] {
        let back = codec::decode(&codec::encode(&s)).unwrap();
        assert_eq!(back[0].0, s[0].0);
        assert_eq!(back[0].1.to_bits(), s[0].1.to_bits());
    }
    assert!(codec::decode(&codec::encode(&[])).unwrap().is_empty());
}
