//! The long-code Rice decoder (`rice_long`, `k > 7`) against the reference
//! decoder (`ints::reference`): both builds of it (the portable one and,
//! where the CPU has `lzcnt` and BMI2, the one the dispatch picks) give the
//! same values and the same bits used on random blocks of every parameter
//! and length, with quotients up to the escape and escapes, and on random
//! bytes after a Rice header; a block cut short is an error.
use super::super::ints::{reference, tests_support::write_rice};
use super::super::testdata::Rng;
use super::super::varint::{unzigzag, Reader};
use super::{rice_long, rice_long_dispatch, Raw, TABLE_K};

/// One block by the reference: its values and the bytes it used, or `None`
/// on an error.
fn by_reference(buf: &[u8], n: usize) -> Option<(Vec<i64>, usize)> {
    let mut r = Reader::new(buf);
    let mut out = Vec::new();
    reference::unpack(&mut r, n, &mut out).ok()?;
    Some((out, r.pos()))
}

/// One block (`buf` holds its center, mode byte and codes) by the portable
/// build (`portable`) or the dispatch: its values and the bytes it used,
/// or `None` when the codes run past the buffer (the caller's check in
/// `unpack_blocks`).
fn by_long(buf: &[u8], n: usize, portable: bool) -> Option<(Vec<i64>, usize)> {
    let mut r = Reader::new(buf);
    let center = r.varint().ok()?;
    let k = u32::from(r.u8().ok()?.checked_sub(super::RICE_BASE)?);
    let start = r.pos();
    let codes = buf.get(start..)?;
    let mut out = vec![0i64; n];
    let mut undo = Raw;
    let mut store = |s: &mut i64, v: i64| *s = v;
    let bits = if portable {
        rice_long(codes, center, k.min(62), &mut out, &mut undo, &mut store)
    } else {
        rice_long_dispatch(codes, center, k.min(62), &mut out, &mut undo, &mut store)
    };
    (bits <= codes.len() * 8).then(|| (out, start + bits.div_ceil(8)))
}

/// Both builds agree with the reference on `buf`.
fn agree(buf: &[u8], n: usize, what: &str) {
    let want = by_reference(buf, n);
    for portable in [true, false] {
        assert_eq!(
            by_long(buf, n, portable),
            want,
            "{what} portable={portable}"
        );
    }
}

/// A block of `len` values for parameter `k`: quotients mostly small, some
/// up to 31 (codes of up to 94 bits), some escapes.
fn block(rng: &mut Rng, k: u32, len: usize, center: i64) -> Vec<i64> {
    (0..len)
        .map(|_| {
            let q = match rng.below(16) {
                0 => 32, // an escape
                1 | 2 => rng.below(32),
                _ => rng.below(3),
            };
            let z = if q >= 32 {
                rng.next_u64()
            } else {
                (q << k) | (rng.next_u64() >> (64 - k))
            };
            center.wrapping_add(unzigzag(z))
        })
        .collect()
}

#[test]
fn long_rice_codes_decode_as_the_reference() {
    let mut rng = Rng::new(1313);
    for k in TABLE_K + 1..=62 {
        for len in [1usize, 2, 3, 7, 8, 9, 63, 64, 65, 127, 128] {
            for trailing in [0usize, 1, 7, 8, 40] {
                let center = rng.next_u64() as i64 >> rng.below(64);
                let want = block(&mut rng, k, len, center);
                let mut buf = Vec::new();
                write_rice(&want, center, k, &mut buf);
                let body = buf.len();
                buf.extend((0..trailing).map(|_| rng.next_u64() as u8));
                let what = format!("k={k} len={len} trailing={trailing}");
                for portable in [true, false] {
                    let got = by_long(&buf, len, portable);
                    assert_eq!(got, Some((want.clone(), body)), "{what}");
                }
                agree(&buf, len, &what);
                if trailing == 0 {
                    // Cuts near the end (the last codes, the zero-padded
                    // loads) and a few anywhere.
                    let near = body.saturating_sub(20)..body;
                    let any = (0..4).map(|_| rng.below(body as u64) as usize);
                    for cut in near.chain(any) {
                        let short = buf.get(..cut).unwrap_or_default();
                        assert_eq!(by_long(short, len, true), None, "{what} cut={cut}");
                        assert_eq!(by_long(short, len, false), None, "{what} cut={cut}");
                        assert_eq!(by_reference(short, len), None, "{what} cut={cut}");
                    }
                }
            }
        }
    }
}

#[test]
fn random_bytes_after_a_long_rice_header_decode_as_the_reference() {
    let mut rng = Rng::new(1314);
    for k in TABLE_K + 1..=62 {
        for _ in 0..40 {
            let len = 1 + rng.below(128) as usize;
            let mut buf = vec![rng.below(120) as u8, super::RICE_BASE + k as u8];
            let n = rng.below(800) as usize;
            // Some streams of all ones (escapes and long quotients), some
            // of all zeros, most random.
            let fill = rng.below(8);
            buf.extend((0..n).map(|_| match fill {
                0 => 0xff,
                1 => 0,
                _ => rng.next_u64() as u8,
            }));
            agree(&buf, len, &format!("k={k} len={len} bytes={n} fill={fill}"));
        }
    }
}
