//! Tests of the integer codec (`ints.rs`), kept apart so that file stays
//! about its code.
use super::*;
use crate::codec::varint::unzigzag;

/// The residual blocks of `n` values at `r` (no mode byte), appended to
/// `out` by the decoder in use.
fn unpack(r: &mut Reader<'_>, n: usize, out: &mut Vec<i64>) -> Result<(), DecodeError> {
    let base = out.len();
    out.resize(base + n, 0);
    super::super::ints_decode::unpack_raw(r, out.get_mut(base..).unwrap_or(&mut []))
}

/// The residual blocks of `r` as [`encode_ints`] writes them (mode 0
/// without its mode byte).
fn pack(r: &[i64], out: &mut Vec<u8>) {
    let mut scratch = Vec::new();
    for block in r.chunks(BLOCK) {
        let (plan, _) = plan_block(block, &mut scratch);
        write_block(block, plan, out);
    }
}

fn rt(v: &[i64]) -> usize {
    let mut buf = Vec::new();
    encode_ints(v, &mut buf);
    let mut r = Reader::new(&buf);
    assert_eq!(decode_ints(&mut r, v.len()).unwrap(), v);
    assert_eq!(r.remaining(), 0);
    buf.len()
}

#[test]
fn modes_round_trip_and_pick_small() {
    assert_eq!(rt(&[]), 1);
    rt(&[i64::MIN, i64::MAX, 0, -1, i64::MAX]);
    // A constant-rate counter costs a handful of bytes regardless of length.
    let ramp: Vec<i64> = (0..1000).map(|i| 1_000_000 + 15_000 * i).collect();
    assert!(rt(&ramp) < 40, "{}", rt(&ramp));
    let mut buf = Vec::new();
    encode_ints(&ramp, &mut buf);
    assert_eq!(buf[0], 2);
    // Multiples of a page cost the bits of the multiplier only.
    let pages: Vec<i64> = (0..128)
        .map(|i| 800_000_000 + 4096 * ((i * 7919) % 13))
        .collect();
    assert!(rt(&pages) < 4 + 6 + 2 + 128 * 4 / 8 + 4, "{}", rt(&pages));
    rt(&[i64::MIN, 0, i64::MIN, i64::MAX]);
}

#[test]
fn rice_blocks_for_noisy_deltas() {
    // Deltas of a counter with bell-shaped noise: Rice beats plain packing.
    let mut x: u64 = 99;
    let mut c = 0i64;
    let v: Vec<i64> = (0..1024)
        .map(|_| {
            let mut noise = 0i64;
            for _ in 0..4 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                noise += (x % 200) as i64;
            }
            c += 1000 + noise;
            c
        })
        .collect();
    let mut buf = Vec::new();
    encode_ints(&v, &mut buf);
    assert_eq!(buf[0], 1, "delta mode");
    let mut r = Reader::new(&buf[1..]);
    r.varint().unwrap();
    r.varint().unwrap();
    assert!(r.u8().unwrap() >= RICE_BASE, "first block is Rice coded");
    // Noise spans ~800 values (10 bits when packed); Rice needs fewer.
    assert!(rt(&v) < 1024 * 10 / 8, "{}", rt(&v));
    let mut with_outlier = v.clone();
    with_outlier[500] = i64::MIN;
    rt(&with_outlier);
}

/// Rice blocks of every parameter, with escaped values here and there
/// and blocks followed by more data or ending the buffer, decode to
/// what was written (the buffered fast path, the 128-bit path and the
/// checked tail all take part).
#[test]
fn rice_blocks_of_every_parameter_round_trip() {
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for k in 0..=62u32 {
        for &(len, trailing) in &[(1usize, 0usize), (37, 3), (128, 0), (128, 40)] {
            let center = (next() % 1000) as i64 - 500;
            let block: Vec<i64> = (0..len)
                .map(|i| {
                    let r = next();
                    let spread = if r % 23 == 0 {
                        u64::MAX // an escape
                    } else {
                        (1u64 << k.min(40)).saturating_mul(1 + r % 9)
                    };
                    let d = (next() % spread.max(1)) as i64;
                    if i % 2 == 0 {
                        center.wrapping_add(d)
                    } else {
                        center.wrapping_sub(d)
                    }
                })
                .collect();
            let mut buf = Vec::new();
            write_block(&block, Plan::Rice { center, k }, &mut buf);
            let body = buf.len();
            buf.extend(std::iter::repeat_n(0xa5u8, trailing));
            let mut r = Reader::new(&buf);
            let mut out = Vec::new();
            unpack(&mut r, len, &mut out).unwrap();
            assert_eq!(out, block, "k={k} len={len}");
            assert_eq!(r.pos(), body, "k={k} len={len}");
            if trailing == 0 {
                // Every truncation is an error, wherever the cut falls.
                for cut in 0..body {
                    let mut out = Vec::new();
                    let res = unpack(&mut Reader::new(&buf[..cut]), len, &mut out);
                    assert!(res.is_err(), "k={k} len={len} cut={cut}");
                }
            }
        }
    }
}

/// Quotients of every size below the escape (16..=31 make the buffered
/// path reload and read the code again) decode to what was written.
#[test]
fn rice_codes_with_long_quotients_round_trip() {
    let mut x: u64 = 0x0bad_cafe_f00d_1234;
    for k in 0..=24u32 {
        let block: Vec<i64> = (0..128u64)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let q = if i % 3 == 0 { 16 + x % 16 } else { x % 32 };
                let low = if k == 0 { 0 } else { (x >> 8) & ((1 << k) - 1) };
                7 + unzigzag((q << k) | low)
            })
            .collect();
        let mut buf = Vec::new();
        write_block(&block, Plan::Rice { center: 7, k }, &mut buf);
        let mut out = Vec::new();
        unpack(&mut Reader::new(&buf), block.len(), &mut out).unwrap();
        assert_eq!(out, block, "k={k}");
    }
}

#[test]
fn every_packed_width_round_trips() {
    // Raw mode with spreads of 1..=64 bits, block sizes below and at
    // BLOCK, and a partial last block: both unpack paths.
    let mut x: u64 = 12345;
    for width in 1..=64u32 {
        for &n in &[1usize, 7, 127, 128, 300] {
            let v: Vec<i64> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let mask = if width == 64 {
                        u64::MAX
                    } else {
                        (1u64 << width) - 1
                    };
                    (x & mask) as i64
                })
                .collect();
            let mut buf = vec![0u8];
            pack(&v, &mut buf);
            let mut r = Reader::new(&buf);
            assert_eq!(decode_ints(&mut r, n).unwrap(), v, "width {width} n {n}");
            assert_eq!(r.remaining(), 0);
        }
    }
}

#[test]
fn rice_blocks_of_every_scale_round_trip() {
    // Bell-shaped noise of growing spread (Rice parameters 0..~40),
    // occasional escapes, lengths ending inside and at block edges.
    let mut x: u64 = 777;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for shift in 0..40u32 {
        for &n in &[5usize, 128, 129, 400] {
            let v: Vec<i64> = (0..n)
                .map(|i| {
                    let noise: i64 = (0..4).map(|_| (rnd() % 64) as i64).sum();
                    if i % 97 == 50 {
                        i64::MAX - noise
                    } else {
                        (noise - 128) << shift
                    }
                })
                .collect();
            let mut buf = vec![0u8];
            pack(&v, &mut buf);
            let mut r = Reader::new(&buf);
            assert_eq!(decode_ints(&mut r, n).unwrap(), v, "shift {shift} n {n}");
            assert_eq!(r.remaining(), 0);
            for cut in [1, 2, 9, 17] {
                if cut < buf.len() {
                    let short = &buf[..buf.len() - cut];
                    assert!(decode_ints(&mut Reader::new(short), n).is_err());
                }
            }
        }
    }
}

#[test]
fn corrupt_input_errors() {
    let mut buf = Vec::new();
    encode_ints(&[1, 5, 9, 100, 3], &mut buf);
    for cut in 0..buf.len() {
        assert!(decode_ints(&mut Reader::new(&buf[..cut]), 5).is_err());
    }
    assert!(decode_ints(&mut Reader::new(&[7]), 1).is_err());
    assert!(decode_ints(&mut Reader::new(&[0, 0, 65]), 1).is_err());
}
