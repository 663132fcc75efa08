//! The session-11 decoders (`ints_decode.rs`, `values::decode_values`)
//! against the decoders they replaced (`ints::reference`,
//! `values::decode_values_reference`): the same values, bit for bit, on
//! random columns of every length 0..=300, every Rice parameter, every
//! packed width, and the same verdict (error or the same values, never a
//! panic) on truncated and corrupted buffers.
use super::ints::{self, encode_ints, reference};
use super::testdata::Rng;
use super::values::{decode_values, decode_values_reference, encode_values};
use super::Reader;

type Col = Result<Vec<i64>, super::DecodeError>;

fn new_ints(buf: &[u8], n: usize) -> (Col, usize) {
    let mut r = Reader::new(buf);
    let v = ints::decode_ints(&mut r, n);
    (v, r.pos())
}

fn ref_ints(buf: &[u8], n: usize) -> (Col, usize) {
    let mut r = Reader::new(buf);
    let v = reference::decode_ints(&mut r, n);
    (v, r.pos())
}

/// Both decoders agree on `buf` (values and bytes consumed when they
/// succeed; both fail otherwise).
fn same_ints(buf: &[u8], n: usize, what: &str) {
    let (a, pa) = new_ints(buf, n);
    let (b, pb) = ref_ints(buf, n);
    match (&a, &b) {
        (Ok(x), Ok(y)) => {
            assert_eq!(x, y, "{what}");
            assert_eq!(pa, pb, "{what}: bytes consumed");
        }
        (Err(_), Err(_)) => {}
        _ => panic!("{what}: new {:?} reference {:?}", a.is_ok(), b.is_ok()),
    }
}

/// A column of `n` integers of one of several shapes.
fn column(rng: &mut Rng, shape: u64, n: usize) -> Vec<i64> {
    let spread = 1u64 << rng.below(63);
    let mut c = rng.next_u64() as i64 >> rng.below(64);
    (0..n)
        .map(|i| match shape {
            // Bell-shaped noise around a level (Rice with small k).
            0 => 1000 + (rng.normal() * (spread.min(1 << 40) as f64)) as i64,
            // A counter with noisy increments (delta mode, Rice).
            1 => {
                c = c.wrapping_add(500 + (rng.normal() * 40.0) as i64);
                c
            }
            // Uniform values of a random width (frame of reference).
            2 => (rng.next_u64() % spread) as i64,
            // Jittered scrape timestamps (delta of delta).
            3 => 1_700_000_000_000 + i as i64 * 15_000 + rng.below(9) as i64,
            // Page multiples (common divisor).
            4 => 4096 * rng.below(100) as i64 + 800_000_000,
            // Noise with rare outliers (Rice escapes).
            5 => {
                if rng.below(40) == 0 {
                    rng.next_u64() as i64
                } else {
                    (rng.normal() * 30.0) as i64
                }
            }
            // Anything.
            _ => rng.next_u64() as i64,
        })
        .collect()
}

#[test]
fn integer_columns_of_every_length_decode_as_before() {
    let mut rng = Rng::new(11);
    for n in 0..=300usize {
        for shape in 0..7 {
            let v = column(&mut rng, shape, n);
            let mut buf = Vec::new();
            encode_ints(&v, &mut buf);
            let (got, used) = new_ints(&buf, n);
            assert_eq!(got.as_ref().ok(), Some(&v), "n={n} shape={shape}");
            assert_eq!(used, buf.len());
            same_ints(&buf, n, &format!("n={n} shape={shape}"));
        }
    }
}

#[test]
fn every_rice_parameter_and_packed_width_decodes_as_before() {
    let mut rng = Rng::new(12);
    for k in 0..=62u32 {
        for len in [1usize, 5, 64, 127, 128] {
            let center = rng.next_u64() as i64 >> 20;
            let block: Vec<i64> = (0..len)
                .map(|_| {
                    let q = if rng.below(10) == 0 {
                        rng.below(40) // some escapes
                    } else {
                        rng.below(4)
                    };
                    let low = if k == 0 {
                        0
                    } else {
                        rng.next_u64() >> (64 - k)
                    };
                    let z = if q >= 32 {
                        rng.next_u64()
                    } else {
                        (q << k) | low
                    };
                    center.wrapping_add(super::varint::unzigzag(z))
                })
                .collect();
            let mut buf = vec![0u8];
            ints::tests_support::write_rice(&block, center, k, &mut buf);
            let (got, used) = new_ints(&buf, len);
            assert_eq!(got.as_ref().ok(), Some(&block), "k={k} len={len}");
            assert_eq!(used, buf.len(), "k={k} len={len}");
            same_ints(&buf, len, &format!("k={k} len={len}"));
            for cut in 0..buf.len() {
                same_ints(&buf[..cut], len, &format!("k={k} len={len} cut={cut}"));
            }
        }
    }
    for width in 0..=64u32 {
        for g in [1u64, 3, 4096] {
            for len in [1usize, 7, 128] {
                let min = rng.next_u64() as i64;
                let block: Vec<i64> = (0..len)
                    .map(|_| {
                        let f = if width == 0 {
                            0
                        } else {
                            // Below 2^64 / g: the writer divides the
                            // wrapped difference by g.
                            (rng.next_u64() >> (64 - width)) % (u64::MAX / g)
                        };
                        min.wrapping_add(f.wrapping_mul(g) as i64)
                    })
                    .collect();
                let mut buf = vec![0u8];
                ints::tests_support::write_frame(&block, min, g, width, &mut buf);
                let what = format!("width={width} g={g} len={len}");
                let (got, used) = new_ints(&buf, len);
                assert_eq!(got.as_ref().ok(), Some(&block), "{what}");
                assert_eq!(used, buf.len(), "{what}");
                for cut in 0..buf.len() {
                    same_ints(&buf[..cut], len, &format!("{what} cut={cut}"));
                }
            }
        }
    }
}

#[test]
fn corrupted_integer_columns_fail_or_decode_as_before() {
    let mut rng = Rng::new(13);
    for shape in 0..7 {
        for n in [1usize, 2, 3, 50, 129, 300] {
            let v = column(&mut rng, shape, n);
            let mut buf = Vec::new();
            encode_ints(&v, &mut buf);
            for cut in 0..buf.len() {
                same_ints(&buf[..cut], n, &format!("shape={shape} n={n} cut={cut}"));
            }
            for at in 0..buf.len() {
                let mut bad = buf.clone();
                if let Some(b) = bad.get_mut(at) {
                    *b ^= 1 << rng.below(8);
                }
                same_ints(&bad, n, &format!("shape={shape} n={n} flip at {at}"));
                if let Some(b) = bad.get_mut(at) {
                    *b = rng.next_u64() as u8;
                }
                same_ints(&bad, n, &format!("shape={shape} n={n} byte at {at}"));
            }
        }
    }
}

/// A value column of `n` floats of one of several shapes, with specials.
fn floats(rng: &mut Rng, shape: u64, n: usize) -> Vec<f64> {
    let stale = f64::from_bits(promlite_model::STALE_NAN_BITS);
    let specials = [f64::NAN, stale, f64::INFINITY, f64::NEG_INFINITY, -0.0];
    let mut acc = rng.below(1000) as f64;
    (0..n)
        .map(|i| {
            let v = match shape {
                0 => (rng.below(100_000) as f64) / 100.0, // decimal
                1 => {
                    acc += rng.below(50) as f64; // integer counter
                    acc
                }
                2 => rng.normal() * 1e3,         // XOR or ordered
                3 => 20.0 + rng.normal() * 1e-3, // drifting gauge
                _ => f64::from_bits(rng.next_u64()),
            };
            if rng.below(23) == 0 || i == n / 2 {
                specials[rng.below(5) as usize]
            } else {
                v
            }
        })
        .collect()
}

fn same_values(buf: &[u8], n: usize, what: &str) {
    let (mut ra, mut rb) = (Reader::new(buf), Reader::new(buf));
    let a = decode_values(&mut ra, n);
    let b = decode_values_reference(&mut rb, n);
    match (&a, &b) {
        (Ok(x), Ok(y)) => {
            let x: Vec<u64> = x.iter().map(|v| v.to_bits()).collect();
            let y: Vec<u64> = y.iter().map(|v| v.to_bits()).collect();
            assert_eq!(x, y, "{what}");
            assert_eq!(ra.pos(), rb.pos(), "{what}: bytes consumed");
        }
        (Err(_), Err(_)) => {}
        _ => panic!("{what}: new {:?} reference {:?}", a.is_ok(), b.is_ok()),
    }
}

#[test]
fn value_columns_decode_as_before() {
    let mut rng = Rng::new(14);
    for n in 0..=300usize {
        for shape in 0..5 {
            let v = floats(&mut rng, shape, n);
            let mut buf = Vec::new();
            encode_values(&v, &mut buf);
            let got = decode_values(&mut Reader::new(&buf), n);
            let got: Option<Vec<u64>> = got.ok().map(|g| g.iter().map(|x| x.to_bits()).collect());
            let want: Vec<u64> = v.iter().map(|x| x.to_bits()).collect();
            assert_eq!(got, Some(want), "n={n} shape={shape}");
            same_values(&buf, n, &format!("n={n} shape={shape}"));
            if n % 37 == 5 {
                for cut in 0..buf.len() {
                    same_values(&buf[..cut], n, &format!("n={n} shape={shape} cut={cut}"));
                }
                for at in 0..buf.len() {
                    let mut bad = buf.clone();
                    if let Some(b) = bad.get_mut(at) {
                        *b ^= 1 << rng.below(8);
                    }
                    same_values(&bad, n, &format!("n={n} shape={shape} flip at {at}"));
                }
            }
        }
    }
}

/// Values `lo..hi` of value columns of every kind (decimal with
/// exceptions, XOR, ordered bits, constant), read by the ranged decoder,
/// are the reference's, bit for bit; damaged columns give the
/// reference's values or an error, never a panic.
#[test]
fn parts_of_value_columns_decode_as_the_reference() {
    let mut rng = Rng::new(15);
    let part = |buf: &[u8], n: usize, lo: usize, hi: usize| {
        let mut out = vec![0u64; hi - lo];
        super::values::decode_values_range(buf, n, lo, &mut out, |s, v| *s = v.to_bits())
            .map(|()| out)
    };
    for n in [1usize, 2, 3, 20, 119, 120, 128, 129, 130, 300] {
        for shape in 0..6 {
            let v = if shape == 5 {
                vec![2.5; n]
            } else {
                floats(&mut rng, shape, n)
            };
            let mut buf = Vec::new();
            encode_values(&v, &mut buf);
            let want: Vec<u64> = v.iter().map(|x| x.to_bits()).collect();
            let what = format!("n={n} shape={shape}");
            let cuts = [0, 1, 2, n / 2, n.saturating_sub(20), n - 1, n].map(|c| c.min(n));
            for &lo in &cuts {
                for &hi in cuts.iter().filter(|&&hi| hi >= lo) {
                    assert_eq!(
                        part(&buf, n, lo, hi).ok(),
                        Some(want[lo..hi].to_vec()),
                        "{what} {lo}..{hi}"
                    );
                }
            }
            assert!(part(&buf, n, n, n + 1).is_err(), "{what}: past the end");
            let (lo, hi) = (n.saturating_sub(20), n);
            for cut in 0..buf.len() {
                if let (Ok(got), Ok(all)) = (
                    part(&buf[..cut], n, lo, hi),
                    decode_values_reference(&mut Reader::new(&buf[..cut]), n),
                ) {
                    let all: Vec<u64> = all.iter().map(|x| x.to_bits()).collect();
                    assert_eq!(got, all[lo..hi], "{what} cut {cut}");
                }
            }
            for at in 0..buf.len() {
                let mut bad = buf.clone();
                if let Some(b) = bad.get_mut(at) {
                    *b ^= 1 << rng.below(8);
                }
                let _ = part(&bad, n, lo, hi);
                let _ = part(&bad, n, 0, n / 2);
            }
        }
    }
}
