//! Serialises an index from label-sorted series.

use std::collections::{BTreeMap, BTreeSet};

use promlite_model::{Labels, StorageError};

use super::{ChunkMeta, INDEX_MAGIC, INDEX_VERSION};
use crate::codec::varint::{put_uvarint, put_varint};

fn section(out: &mut Vec<u8>, body: &[u8]) -> Result<(), StorageError> {
    let len = u32::try_from(body.len())
        .map_err(|_| StorageError::Other("index section exceeds 4 GiB".into()))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&crc32fast::hash(body).to_be_bytes());
    Ok(())
}

fn entry(out: &mut Vec<u8>, body: &[u8]) {
    put_uvarint(out, body.len() as u64);
    out.extend_from_slice(body);
    out.extend_from_slice(&crc32fast::hash(body).to_be_bytes());
}

/// Builds the complete index file for `series`, which must be sorted by
/// labels and unique.
pub fn write_index(series: &[(Labels, Vec<ChunkMeta>)]) -> Result<Vec<u8>, StorageError> {
    if series.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(StorageError::Other(
            "index series must be sorted by labels and unique".into(),
        ));
    }
    let num = u32::try_from(series.len())
        .map_err(|_| StorageError::Other("too many series for one block".into()))?;
    // Symbols.
    let mut syms: BTreeSet<&str> = BTreeSet::new();
    syms.insert("");
    for (l, _) in series {
        for lab in l.iter() {
            syms.insert(lab.name);
            syms.insert(lab.value);
        }
    }
    let sym_ids: BTreeMap<&str, u64> = syms
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, i as u64))
        .collect();
    let sid = |s: &str| sym_ids.get(s).copied().unwrap_or(0);

    let mut out = Vec::new();
    out.extend_from_slice(&INDEX_MAGIC.to_be_bytes());
    out.extend_from_slice(&[INDEX_VERSION, 0, 0, 0]);

    let symbols_off = out.len() as u64;
    let mut body = Vec::new();
    put_uvarint(&mut body, syms.len() as u64);
    for s in &syms {
        put_uvarint(&mut body, s.len() as u64);
        body.extend_from_slice(s.as_bytes());
    }
    section(&mut out, &body)?;

    // Series entries.
    let series_off = out.len() as u64;
    let mut offsets = Vec::with_capacity(series.len());
    let mut postings: BTreeMap<(u64, u64), Vec<u32>> = BTreeMap::new();
    for (id, (l, chunks)) in series.iter().enumerate() {
        offsets.push(out.len() as u64);
        body.clear();
        put_uvarint(&mut body, l.len() as u64);
        for lab in l.iter() {
            let (n, v) = (sid(lab.name), sid(lab.value));
            put_uvarint(&mut body, n);
            put_uvarint(&mut body, v);
            postings.entry((n, v)).or_default().push(id as u32);
        }
        put_uvarint(&mut body, chunks.len() as u64);
        let mut prev: Option<&ChunkMeta> = None;
        for c in chunks {
            match prev {
                None => {
                    put_varint(&mut body, c.min_time);
                    put_uvarint(&mut body, c.max_time.wrapping_sub(c.min_time) as u64);
                    put_uvarint(&mut body, c.chunk_ref);
                }
                Some(p) => {
                    put_varint(&mut body, c.min_time.wrapping_sub(p.max_time));
                    put_uvarint(&mut body, c.max_time.wrapping_sub(c.min_time) as u64);
                    put_varint(&mut body, c.chunk_ref.wrapping_sub(p.chunk_ref) as i64);
                }
            }
            prev = Some(c);
        }
        entry(&mut out, &body);
    }

    // Series offset table.
    let series_table_off = out.len() as u64;
    body.clear();
    body.extend_from_slice(&num.to_be_bytes());
    for o in &offsets {
        body.extend_from_slice(&o.to_be_bytes());
    }
    section(&mut out, &body)?;

    // Postings lists; the all-series list is keyed ("", "").
    let all_key = (sid(""), sid(""));
    postings.insert(all_key, (0..num).collect());
    let postings_off = out.len() as u64;
    let mut table = Vec::with_capacity(postings.len());
    for (key, ids) in &postings {
        table.push((*key, out.len() as u64));
        body.clear();
        put_uvarint(&mut body, ids.len() as u64);
        let mut prev = 0u32;
        for (i, &id) in ids.iter().enumerate() {
            put_uvarint(&mut body, u64::from(if i == 0 { id } else { id - prev }));
            prev = id;
        }
        section(&mut out, &body)?;
    }

    // Postings offset table.
    let postings_table_off = out.len() as u64;
    body.clear();
    put_uvarint(&mut body, table.len() as u64);
    for ((n, v), off) in &table {
        put_uvarint(&mut body, *n);
        put_uvarint(&mut body, *v);
        put_uvarint(&mut body, *off);
    }
    section(&mut out, &body)?;

    // Table of contents.
    let toc_start = out.len();
    for o in [
        symbols_off,
        series_off,
        series_table_off,
        postings_off,
        postings_table_off,
    ] {
        out.extend_from_slice(&o.to_be_bytes());
    }
    let crc = crc32fast::hash(&out[toc_start..]);
    out.extend_from_slice(&crc.to_be_bytes());
    Ok(out)
}
