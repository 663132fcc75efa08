//! [`fold_ints`] against the reference integer decoder (`ints_ref.rs`):
//! the same greatest (least) and last values and bytes consumed, or both
//! an error, for every Rice parameter, every packed width (with and
//! without a common divisor, with fields that wrap), raw, delta and
//! delta-of-delta columns of many blocks, parts starting and ending
//! anywhere, and cut, bit-flipped and random bytes.

use super::{fold_ints, Folded};
use crate::codec::ints::{encode_ints, reference, tests_support};
use crate::codec::testdata::Rng;
use crate::codec::varint::unzigzag;
use crate::codec::Reader;

/// What the fold must give for `vals` (decoded by the reference).
fn want(vals: &[i64], lo: usize, hi: usize, max: bool) -> Option<Folded> {
    let hi = hi.min(vals.len());
    let part = vals.get(lo.min(hi)..hi).unwrap_or(&[]);
    let it = part.iter().copied();
    Some(Folded {
        extreme: if max { it.max() } else { it.min() },
        last: *vals.last()?,
    })
}

/// The fold of `buf` (a column of `n`) over parts around `cuts` agrees
/// with the reference decoder: values and bytes consumed, or both fail.
fn same(buf: &[u8], n: usize, what: &str) {
    let mut r = Reader::new(buf);
    let reference = reference::decode_ints(&mut r, n).map(|v| (v, r.pos()));
    let mut parts = vec![(0, n), (0, 0), (n, n), (0, n + 5)];
    for p in [1usize, 2, 7, 63, 64, 100, 127, 128, 129, 200, 255, 256, 257] {
        parts.extend([(p.min(n), n), (0, p.min(n)), (p / 2, p), (p, p + 1)]);
    }
    for (lo, hi, max) in parts
        .into_iter()
        .flat_map(|(a, b)| [(a, b, true), (a, b, false)])
    {
        let mut r = Reader::new(buf);
        let got = if max {
            fold_ints::<true>(&mut r, n, lo, hi)
        } else {
            fold_ints::<false>(&mut r, n, lo, hi)
        };
        let got = got.map(|f| (f, r.pos()));
        match (&got, &reference) {
            (Ok((f, pos)), Ok((vals, rpos))) => {
                assert_eq!(
                    *f,
                    want(vals, lo, hi, max),
                    "{what}: part {lo}..{hi} max {max}"
                );
                assert_eq!(pos, rpos, "{what}: bytes consumed");
            }
            (Err(_), Err(_)) => {}
            _ => panic!(
                "{what}: part {lo}..{hi}: fold {:?}, reference {:?}",
                got.is_ok(),
                reference.is_ok()
            ),
        }
    }
}

#[test]
fn every_rice_parameter_folds_like_the_reference() {
    let mut rng = Rng::new(21);
    for k in 0..=62u32 {
        for len in [1usize, 2, 3, 5, 64, 127, 128] {
            let center = rng.next_u64() as i64 >> rng.below(64);
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
                    center.wrapping_add(unzigzag(z))
                })
                .collect();
            let mut buf = vec![0u8];
            tests_support::write_rice(&block, center, k, &mut buf);
            let what = format!("k={k} len={len}");
            same(&buf, len, &what);
            for cut in 0..buf.len() {
                same(&buf[..cut], len, &format!("{what} cut={cut}"));
            }
            let mut longer = buf.clone();
            longer.extend_from_slice(&[0xff, 0, 0x5a]);
            same(&longer, len, &format!("{what} trailing bytes"));
        }
    }
}

#[test]
fn every_packed_width_folds_like_the_reference() {
    let mut rng = Rng::new(22);
    for width in 0..=64u32 {
        for g in [1u64, 3, 4096, 1 << 40, u64::MAX / 3] {
            for len in [1usize, 2, 7, 128] {
                let min = match rng.below(3) {
                    0 => rng.next_u64() as i64,
                    1 => -(rng.below(1000) as i64),
                    _ => i64::MAX - rng.below(1 << 20) as i64,
                };
                // Fields of any value the width allows: with a large `g`
                // or `min`, `min + field × g` wraps (the slow path).
                let block: Vec<i64> = (0..len)
                    .map(|_| {
                        let f = if width == 0 {
                            0
                        } else {
                            rng.next_u64() >> (64 - width)
                        };
                        min.wrapping_add(f.wrapping_mul(g) as i64)
                    })
                    .collect();
                let mut buf = vec![0u8];
                tests_support::write_frame(&block, min, g, width, &mut buf);
                let what = format!("width={width} g={g} len={len}");
                same(&buf, len, &what);
                for cut in 0..buf.len() {
                    same(&buf[..cut], len, &format!("{what} cut={cut}"));
                }
            }
        }
    }
}

/// A column of `n` integers of one of several shapes.
fn column(rng: &mut Rng, shape: u64, n: usize) -> Vec<i64> {
    let spread = 1u64 << rng.below(63);
    let mut c = rng.next_u64() as i64 >> rng.below(64);
    (0..n)
        .map(|i| match shape {
            0 => 12 + (rng.normal() * 3.0) as i64 + (i as i64 / 40) % 7,
            1 => 1000 + (rng.normal() * (spread.min(1 << 40) as f64)) as i64,
            2 => {
                c = c.wrapping_add(500 + (rng.normal() * 40.0) as i64);
                c
            }
            3 => (rng.next_u64() % spread) as i64,
            4 => 4096 * rng.below(100) as i64 + 800_000_000,
            5 => {
                if rng.below(40) == 0 {
                    rng.next_u64() as i64
                } else {
                    (rng.normal() * 30.0) as i64
                }
            }
            6 => rng.below(8) as i64,
            _ => rng.next_u64() as i64,
        })
        .collect()
}

#[test]
fn columns_of_every_mode_and_length_fold_like_the_reference() {
    let mut rng = Rng::new(23);
    for n in (0..=300usize).chain([511, 1024, 1100]) {
        for shape in 0..8 {
            let v = column(&mut rng, shape, n);
            let mut buf = Vec::new();
            encode_ints(&v, &mut buf);
            same(&buf, n, &format!("n={n} shape={shape}"));
        }
    }
}

#[test]
fn damaged_columns_fold_or_fail_like_the_reference() {
    let mut rng = Rng::new(24);
    for shape in 0..8 {
        for n in [1usize, 2, 3, 50, 120, 129, 300] {
            let v = column(&mut rng, shape, n);
            let mut buf = Vec::new();
            encode_ints(&v, &mut buf);
            for cut in 0..buf.len() {
                same(&buf[..cut], n, &format!("shape={shape} n={n} cut={cut}"));
            }
            for at in 0..buf.len() {
                let mut bad = buf.clone();
                bad[at] ^= 1 << rng.below(8);
                same(&bad, n, &format!("shape={shape} n={n} flip at {at}"));
                bad[at] = rng.next_u64() as u8;
                same(&bad, n, &format!("shape={shape} n={n} byte at {at}"));
            }
        }
    }
}
