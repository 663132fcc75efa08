//! The ranged integer decoder against the reference decoder
//! (`ints_ref.rs`): every part `lo..hi` of columns of every mode, every
//! Rice parameter and packed width, parts starting and ending at block
//! edges, and truncated or corrupted input (an error or the reference's
//! values, never a panic).

use super::decode_ints_range;
use crate::codec::ints::{encode_ints, reference, tests_support, BLOCK};
use crate::codec::testdata::Rng;
use crate::codec::varint::put_varint;
use crate::codec::Reader;

/// Values `lo..hi` of the column `buf` of `n` values, ranged.
fn ranged(buf: &[u8], n: usize, lo: usize, hi: usize) -> Result<Vec<i64>, String> {
    let mut out = vec![0i64; hi - lo];
    let mut r = Reader::new(buf);
    decode_ints_range(&mut r, n, lo, &mut out, |s, v| *s = v)
        .map(|()| out)
        .map_err(|e| e.to_string())
}

fn reference_all(buf: &[u8], n: usize) -> Option<Vec<i64>> {
    reference::decode_ints(&mut Reader::new(buf), n).ok()
}

/// Parts worth checking of a column of `n`: empty, single values, the
/// edges of every block (of a column whose residuals start at 0, 1 or 2),
/// the tail an instant query reads, and the whole.
fn parts(n: usize) -> Vec<(usize, usize)> {
    let mut cuts = vec![
        0,
        1,
        2,
        3,
        n.saturating_sub(20),
        n.saturating_sub(2),
        n.saturating_sub(1),
        n,
    ];
    for edge in (0..=n).step_by(BLOCK) {
        for d in [0usize, 1, 2, 3] {
            cuts.push((edge + d).min(n));
            cuts.push(edge.saturating_sub(1).saturating_add(d).min(n));
        }
    }
    for c in cuts.iter_mut() {
        *c = (*c).min(n);
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::new();
    for (i, &lo) in cuts.iter().enumerate() {
        for &hi in &cuts[i..] {
            out.push((lo, hi));
        }
    }
    out
}

/// Every part of `buf` decodes to the reference's values.
fn check_parts(buf: &[u8], n: usize, what: &str) {
    let all = reference_all(buf, n).unwrap_or_else(|| panic!("{what}: reference fails"));
    for (lo, hi) in parts(n) {
        let got = ranged(buf, n, lo, hi);
        assert_eq!(got.as_deref(), Ok(&all[lo..hi]), "{what} {lo}..{hi}");
    }
    assert!(ranged(buf, n, n, n + 1).is_err(), "{what}: past the end");
    assert!(
        ranged(buf, n, n + 1, n + 1).is_err(),
        "{what}: empty part past the end"
    );
}

#[test]
fn parts_of_encoded_columns_match_the_reference() {
    let mut rng = Rng::new(31);
    for n in [
        0usize, 1, 2, 3, 5, 119, 120, 128, 129, 130, 131, 257, 300, 1024,
    ] {
        for shape in 0..6u64 {
            let mut c = rng.next_u64() as i64 >> 8;
            let v: Vec<i64> = (0..n)
                .map(|i| match shape {
                    0 => 1000 + (rng.normal() * 1e6) as i64,
                    1 => {
                        c = c.wrapping_add(500 + (rng.normal() * 40.0) as i64);
                        c
                    }
                    2 => (rng.next_u64() % 200) as i64,
                    3 => 1_700_000_000_000 + i as i64 * 15_000 + rng.below(9) as i64,
                    4 => 4096 * rng.below(100) as i64,
                    _ => rng.next_u64() as i64,
                })
                .collect();
            let mut buf = Vec::new();
            encode_ints(&v, &mut buf);
            check_parts(&buf, n, &format!("n={n} shape={shape}"));
        }
    }
}

/// A Rice block of `len` random codes with parameter `k` (some escapes).
fn rice_block(rng: &mut Rng, k: u32, len: usize) -> (Vec<i64>, i64) {
    let center = rng.next_u64() as i64 >> 20;
    let block = (0..len)
        .map(|_| {
            let q = if rng.below(10) == 0 {
                rng.below(40)
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
            center.wrapping_add(crate::codec::varint::unzigzag(z))
        })
        .collect();
    (block, center)
}

/// Columns of every mode whose residual blocks are Rice blocks of one
/// parameter, for every parameter, and frame-of-reference blocks of every
/// width (with and without a divisor); each also truncated at every byte
/// and with bytes flipped.
#[test]
fn every_rice_parameter_and_width_in_every_mode() {
    let mut rng = Rng::new(32);
    let mut columns: Vec<(Vec<u8>, usize, String)> = Vec::new();
    for mode in 0..=2u8 {
        for k in 0..=62u32 {
            let len2 = [1usize, 7, 100][k as usize % 3];
            let mut buf = vec![mode];
            for _ in 0..mode {
                put_varint(&mut buf, rng.next_u64() as i64 >> 3);
            }
            let (b1, c1) = rice_block(&mut rng, k, BLOCK);
            let (b2, c2) = rice_block(&mut rng, k, len2);
            tests_support::write_rice(&b1, c1, k, &mut buf);
            tests_support::write_rice(&b2, c2, k, &mut buf);
            columns.push((
                buf,
                mode as usize + BLOCK + len2,
                format!("mode {mode} rice k {k}"),
            ));
        }
        for width in 0..=64u32 {
            for g in [1u64, 3] {
                let mut buf = vec![mode];
                for _ in 0..mode {
                    put_varint(&mut buf, rng.next_u64() as i64 >> 3);
                }
                for len in [BLOCK, 9] {
                    let min = rng.next_u64() as i64;
                    let block: Vec<i64> = (0..len)
                        .map(|_| {
                            let f = if width == 0 {
                                0
                            } else {
                                (rng.next_u64() >> (64 - width)) % (u64::MAX / g)
                            };
                            min.wrapping_add(f.wrapping_mul(g) as i64)
                        })
                        .collect();
                    tests_support::write_frame(&block, min, g, width, &mut buf);
                }
                columns.push((
                    buf,
                    mode as usize + BLOCK + 9,
                    format!("mode {mode} width {width} g {g}"),
                ));
            }
        }
    }
    for (buf, n, what) in &columns {
        check_parts(buf, *n, what);
        // Damaged input: the ranged decoder gives the reference's values
        // for the part or an error; it never panics. A part read whole
        // fails where the reference fails only if the damage lies in what
        // it reads, so only agreement on success is required.
        let tail = (n.saturating_sub(20), *n);
        for cut in 0..buf.len() {
            if let Ok(v) = ranged(&buf[..cut], *n, tail.0, tail.1) {
                let full = reference_all(&buf[..cut], *n);
                if let Some(full) = full {
                    assert_eq!(v, full[tail.0..tail.1], "{what} cut {cut}");
                }
            }
        }
        let mut bad = buf.clone();
        for i in 0..bad.len() {
            bad[i] ^= 0x5a;
            let _ = ranged(&bad, *n, tail.0, tail.1);
            let _ = ranged(&bad, *n, 0, *n);
            bad[i] ^= 0x5a;
        }
    }
}

/// A truncated column whose part lies in the bytes present decodes; one
/// whose part needs missing bytes is an error.
#[test]
fn truncation_is_an_error_when_the_part_needs_the_missing_bytes() {
    let mut rng = Rng::new(33);
    let v: Vec<i64> = (0..300).map(|_| (rng.normal() * 1e4) as i64).collect();
    let mut buf = Vec::new();
    encode_ints(&v, &mut buf);
    let n = v.len();
    assert!(ranged(&buf[..buf.len() - 1], n, n - 5, n).is_err());
    assert!(ranged(&buf[..buf.len() / 3], n, n - 5, n).is_err());
    assert_eq!(ranged(&buf, n, 0, 3).as_deref(), Ok(&v[..3]));
    assert!(ranged(&[], n, 0, 1).is_err());
    assert!(ranged(&[9], n, 0, 1).is_err(), "unknown mode");
}
