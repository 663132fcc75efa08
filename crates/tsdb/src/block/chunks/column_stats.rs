//! A test-only driver that reports how a block's value columns of one
//! metric are encoded (value kind, decimal exponent, exceptions, integer
//! mode, the first residual block's packing), to choose what a decoder
//! change should aim at:
//! `STATS_BLOCK=<block dir> STATS_METRIC=<name> cargo test --release -p
//! promlite-tsdb --lib column_stats -- --ignored --nocapture`.

use std::collections::BTreeMap;
use std::path::Path;

use super::ChunkReader;
use crate::codec::Reader;
use crate::index::IndexReader;

/// `kind e nexc mode block` of one value column, as text.
fn describe(vals: &[u8]) -> Result<String, crate::codec::DecodeError> {
    let mut r = Reader::new(vals);
    let kind = r.u8()?;
    let mut s = format!("kind {:#04x}", kind);
    let int_col = match kind & 0x7f {
        1 => {
            let e = r.u8()?;
            let nexc = r.uvarint()?;
            for _ in 0..nexc {
                r.uvarint()?;
                r.be_u64()?;
            }
            s += &format!(" e {e} exc {}", nexc.min(2));
            true
        }
        3 => true,
        _ => false,
    };
    if int_col {
        let mode = r.u8()?;
        s += &format!(" mode {mode}");
        for _ in 0..mode {
            r.varint()?;
        }
        r.varint()?;
        let b = r.u8()?;
        s += &match b {
            0x41..=0x7f => format!(" rice k {}", b - 0x41),
            _ if b & 0x80 != 0 => format!(" for w {} gcd", b & 0x7f),
            _ => format!(" for w {b}"),
        };
    }
    Ok(s)
}

#[test]
#[ignore = "driver over a real block, see the module comment"]
fn column_stats() {
    let (Ok(dir), Ok(metric)) = (std::env::var("STATS_BLOCK"), std::env::var("STATS_METRIC"))
    else {
        return;
    };
    let dir = Path::new(&dir);
    let ix = IndexReader::open(&dir.join("index")).unwrap();
    let chunks = ChunkReader::open(&dir.join("chunks")).unwrap();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut bytes = 0usize;
    let mut n = 0usize;
    for id in 0..ix.num_series() {
        let (labels, metas) = ix.series(id).unwrap();
        if labels.get("__name__") != Some(metric.as_str()) {
            continue;
        }
        for c in &metas {
            let rec = chunks.chunk_record(c.chunk_ref).unwrap();
            bytes += rec.values.len();
            n += 1;
            let d = describe(rec.values).unwrap_or_else(|e| format!("error {e:?}"));
            *counts.entry(d).or_default() += 1;
        }
    }
    eprintln!("{n} value columns, {bytes} bytes");
    for (d, c) in counts {
        eprintln!("{c:6} {d}");
    }
}
