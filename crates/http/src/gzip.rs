//! Gzip for large query answers, compressed in pieces on several cores.
//!
//! A range query's JSON is often a megabyte or more, and compressing it
//! took longer than evaluating the query. Large bodies are therefore split
//! into pieces compressed in parallel at a fast level; each piece but
//! the last ends with a sync flush (an empty stored block that byte-aligns
//! the stream), so the pieces concatenate into one valid deflate stream.
//! The CRC-32 of the pieces is combined. Any gzip reader reads the result.
//!
//! A body that would be split into at most two pieces is instead
//! compressed whole by libdeflate at level 1, which needs about 2.5 times
//! fewer instructions than zlib-rs at level 2 for output that is no larger
//! (a 48 KB range answer: 14.3 vs 14.7 KB; a 1.2 MB one: 408 vs 421 KB).
//! libdeflate cannot end a piece without ending the stream, so the split
//! path for large bodies on many cores stays on zlib-rs.
//!
//! Bodies below [`QUICK_BELOW`] (most instant query answers) are
//! compressed by zlib-rs at level 1 (its quick strategy: greedy matches,
//! fixed Huffman codes) with a compressor kept per thread. On such bodies
//! libdeflate's level 1 costs more than its instruction count suggests
//! (its tables are set up afresh per call), and the answer's label text
//! repeats so much that fixed codes lose little: a 10.6 KB answer of 98
//! series took 15 µs of CPU for 712 B, and takes 5.5 µs for 937 B (19.7
//! KB: 25 vs 11.5 µs, 1,503 vs 2,189 B).

use axum::http::{header, HeaderMap};
use flate2::{Compress, Compression, FlushCompress, Status};

/// Bodies smaller than this are compressed in one piece.
const MIN_PIECE: usize = 256 << 10;

/// Deflate level: with zlib-rs, level 1 uses static Huffman codes only
/// (a 1.2 MB answer became 607 KB); level 2 was as fast here and gives
/// 419 KB (the default level 6: 388 KB, ten times slower).
const LEVEL: u32 = 2;

/// Most threads one body is compressed on.
const MAX_THREADS: usize = 4;

/// libdeflate's level for whole bodies.
const WHOLE_LEVEL: i32 = 1;

/// Bodies shorter than this are compressed by [`gzip_quick`]. Range
/// answers, whose numbers repeat less than label text, are mostly longer:
/// on them fixed Huffman codes cost a third more bytes for less gain.
const QUICK_BELOW: usize = 32 << 10;

/// The gzip member header: magic, deflate, no flags, no mtime, no extra
/// flags, OS unknown.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

thread_local! {
    /// One zlib-rs level-1 compressor per thread, reset for each body (its
    /// window and tables are allocated once).
    static QUICK: std::cell::RefCell<Option<Compress>> =
        const { std::cell::RefCell::new(None) };
}

/// `data` as one gzip member, by zlib-rs at level 1 (see the module docs).
fn gzip_quick(data: &[u8]) -> Result<Vec<u8>, String> {
    QUICK.with(|cell| {
        let mut slot = cell.try_borrow_mut().map_err(|e| e.to_string())?;
        let c = slot.get_or_insert_with(|| Compress::new(Compression::new(1), false));
        c.reset();
        let mut out: Vec<u8> = Vec::with_capacity(data.len() / 4 + 1024);
        out.extend_from_slice(&GZIP_HEADER);
        deflate_into(c, data, &mut out, true)?;
        out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
        // ISIZE: the input length modulo 2^32.
        out.extend_from_slice(&((data.len() as u64 & 0xffff_ffff) as u32).to_le_bytes());
        Ok(out)
    })
}

thread_local! {
    /// One libdeflate compressor per thread (its tables are reused).
    static WHOLE: std::cell::RefCell<Option<libdeflater::Compressor>> =
        const { std::cell::RefCell::new(None) };
}

/// `data` as one gzip member, by libdeflate.
fn gzip_whole(data: &[u8]) -> Result<Vec<u8>, String> {
    WHOLE.with(|cell| {
        let mut slot = cell.try_borrow_mut().map_err(|e| e.to_string())?;
        let c = match slot.as_mut() {
            Some(c) => c,
            None => {
                let lvl =
                    libdeflater::CompressionLvl::new(WHOLE_LEVEL).map_err(|e| format!("{e:?}"))?;
                slot.insert(libdeflater::Compressor::new(lvl))
            }
        };
        let mut out = vec![0u8; c.gzip_compress_bound(data.len())];
        let n = c
            .gzip_compress(data, &mut out)
            .map_err(|e| format!("{e:?}"))?;
        out.truncate(n);
        Ok(out)
    })
}

/// Whether the request's `Accept-Encoding` allows gzip (`gzip` or `*`
/// without `q=0`).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            if !coding.eq_ignore_ascii_case("gzip") && coding != "*" {
                return false;
            }
            // A weight of zero means "not acceptable".
            !parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .or_else(|| p.strip_prefix("Q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            })
        })
}

/// Raw deflate of one piece; ends the stream when `last`, else with a sync
/// flush. Also returns the piece's CRC-32.
fn deflate_piece(piece: &[u8], last: bool) -> Result<(Vec<u8>, crc32fast::Hasher), String> {
    let mut crc = crc32fast::Hasher::new();
    crc.update(piece);
    let mut c = Compress::new(Compression::new(LEVEL), false);
    let mut out: Vec<u8> = Vec::with_capacity(piece.len() / 3 + 1024);
    deflate_into(&mut c, piece, &mut out, last)?;
    Ok((out, crc))
}

/// Raw deflate of all of `input` by `c`, appended to `out`; ends the
/// stream when `last`, else with a sync flush.
fn deflate_into(
    c: &mut Compress,
    input: &[u8],
    out: &mut Vec<u8>,
    last: bool,
) -> Result<(), String> {
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut rest = input;
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(out.capacity().max(4096));
        }
        let before = c.total_in();
        let status = c
            .compress_vec(rest, out, flush)
            .map_err(|e| e.to_string())?;
        let used = usize::try_from(c.total_in() - before).unwrap_or(usize::MAX);
        rest = rest.get(used..).unwrap_or(&[]);
        match status {
            Status::StreamEnd => return Ok(()),
            // The flush is complete once input is used up and the output
            // buffer was not filled.
            _ if !last && rest.is_empty() && out.len() < out.capacity() => return Ok(()),
            _ => {}
        }
    }
}

/// The cores this process may use, asked once: `available_parallelism`
/// reads the cgroup's CPU quota files on every call, which cost 6 % of a
/// 48 KB range answer's CPU when it was asked per response.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |c| c.get()))
}

/// `data` gzip-compressed at a fast level: whole by libdeflate, or on
/// three or four threads by zlib-rs for large inputs on a machine with
/// the cores.
pub fn gzip(data: &[u8]) -> Result<Vec<u8>, String> {
    if data.len() < QUICK_BELOW {
        return gzip_quick(data);
    }
    let threads = cores().min(MAX_THREADS).min(data.len() / MIN_PIECE).max(1);
    if threads <= 2 {
        // One libdeflate pass costs less CPU than two zlib-rs pieces and
        // is about as fast in wall time.
        return gzip_whole(data);
    }
    gzip_pieces(data, threads)
}

/// `data` split into `threads` pieces compressed in parallel by zlib-rs.
fn gzip_pieces(data: &[u8], threads: usize) -> Result<Vec<u8>, String> {
    let per = data.len().div_ceil(threads).max(1);
    let pieces: Vec<&[u8]> = if data.is_empty() {
        vec![data]
    } else {
        data.chunks(per).collect()
    };
    let n = pieces.len();
    let parts: Vec<Result<(Vec<u8>, crc32fast::Hasher), String>> = if n == 1 {
        vec![deflate_piece(data, true)]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = pieces
                .iter()
                .enumerate()
                .skip(1)
                .map(|(i, p)| s.spawn(move || deflate_piece(p, i + 1 == n)))
                .collect();
            let mut all = vec![deflate_piece(pieces.first().copied().unwrap_or(&[]), false)];
            for h in handles {
                all.push(
                    h.join()
                        .unwrap_or_else(|_| Err("gzip worker panicked".into())),
                );
            }
            all
        })
    };
    let mut out = Vec::with_capacity(
        parts
            .iter()
            .map(|p| p.as_ref().map_or(0, |x| x.0.len()))
            .sum::<usize>()
            + 18,
    );
    out.extend_from_slice(&GZIP_HEADER);
    let mut crc = crc32fast::Hasher::new();
    for p in parts {
        let (bytes, piece_crc) = p?;
        out.extend_from_slice(&bytes);
        crc.combine(&piece_crc);
    }
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    // ISIZE: the input length modulo 2^32.
    out.extend_from_slice(&((data.len() as u64 & 0xffff_ffff) as u32).to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn gunzip(b: &[u8]) -> Vec<u8> {
        let mut d = flate2::read::GzDecoder::new(b);
        let mut out = Vec::new();
        d.read_to_end(&mut out).expect("valid gzip");
        // Nothing may follow the single member.
        assert_eq!(d.into_inner().len(), 0);
        out
    }

    /// JSON-like text with some repetition, as query answers have.
    fn sample(n: usize) -> Vec<u8> {
        let mut s = String::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        while s.len() < n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.push_str(&format!(
                "[{},\"{}\"],",
                1_793_491_860 + (x % 97),
                x % 100_003
            ));
        }
        s.truncate(n);
        s.into_bytes()
    }

    #[test]
    fn round_trips_in_one_and_in_many_pieces() {
        for n in [
            0,
            1,
            100,
            MIN_PIECE - 1,
            MIN_PIECE * 2 + 17,
            MIN_PIECE * 5 + 3,
        ] {
            let data = sample(n);
            let z = gzip(&data).unwrap();
            assert_eq!(gunzip(&z), data, "{n} bytes");
            if n > 1000 {
                assert!(z.len() < data.len() / 2, "{n} bytes compress");
            }
        }
    }

    /// Small bodies one after another on one thread (the quick
    /// compressor is reused), on both sides of [`QUICK_BELOW`], and
    /// libdeflate's path for the same input.
    #[test]
    fn small_bodies_round_trip_through_the_reused_compressor() {
        for n in [0, 1, 5_000, QUICK_BELOW - 1, QUICK_BELOW, 20_000, 3] {
            let data = sample(n);
            let z = gzip(&data).unwrap();
            assert_eq!(gunzip(&z), data, "{n} bytes");
            assert_eq!(gunzip(&gzip_quick(&data).unwrap()), data, "{n} bytes");
            assert_eq!(gunzip(&gzip_whole(&data).unwrap()), data, "{n} bytes");
            if n > 1000 {
                assert!(z.len() < data.len() / 2, "{n} bytes compress");
            }
        }
    }

    /// The zlib-rs piece path, which `gzip` takes only on machines with
    /// three or more cores, is checked here whatever the machine has.
    #[test]
    fn pieces_concatenate_into_one_stream() {
        for threads in [1, 3, 4] {
            let data = sample(MIN_PIECE * 3 + 5);
            assert_eq!(gunzip(&gzip_pieces(&data, threads).unwrap()), data);
        }
    }

    #[test]
    fn incompressible_input_round_trips() {
        for n in [1_000, QUICK_BELOW - 1, MIN_PIECE * 3] {
            let mut x: u64 = 1;
            let data: Vec<u8> = (0..n)
                .map(|_| {
                    x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    (x >> 56) as u8
                })
                .collect();
            assert_eq!(gunzip(&gzip(&data).unwrap()), data, "{n} bytes");
        }
    }

    #[test]
    fn accept_encoding_is_parsed() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, v.parse().unwrap());
            accepts_gzip(&m)
        };
        assert!(h("gzip"));
        assert!(h("deflate, gzip;q=1.0, br"));
        assert!(h("GZIP"));
        assert!(h("*"));
        assert!(!h("gzip;q=0"));
        assert!(!h("br, deflate"));
        assert!(!h("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
