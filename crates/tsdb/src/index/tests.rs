//! Index reader checks that need a hand-damaged file.

use promlite_model::{labels, Labels, StorageError};

use super::{write_index, ChunkMeta, IndexReader};

fn chunk(min_time: i64, max_time: i64, chunk_ref: u64) -> ChunkMeta {
    ChunkMeta {
        min_time,
        max_time,
        chunk_ref,
    }
}

fn sample_series() -> Vec<(Labels, Vec<ChunkMeta>)> {
    vec![
        (
            labels!("__name__" => "température", "job" => "a"),
            vec![
                chunk(0, 999, 8),
                chunk(1_000, 1_999, 90),
                chunk(2_000, 2_500, 200),
            ],
        ),
        (
            labels!("__name__" => "température", "job" => "b"),
            vec![chunk(500, 600, 300)],
        ),
    ]
}

fn open(bytes: &[u8]) -> (tempfile::TempDir, Result<IndexReader, StorageError>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index");
    std::fs::write(&path, bytes).expect("write index");
    let r = IndexReader::open(&path);
    (dir, r)
}

#[test]
fn series_in_range_agrees_with_series() {
    let series = sample_series();
    let (_dir, ix) = open(&write_index(&series).expect("index"));
    let ix = ix.expect("valid index opens");
    for (id, (labels, chunks)) in series.iter().enumerate() {
        let id = id as u32;
        assert_eq!(
            ix.series(id).expect("series"),
            (labels.clone(), chunks.clone())
        );
        for (mint, maxt) in [
            (0, 0),
            (999, 1_000),
            (1_500, 3_000),
            (2_501, 9_999),
            (-5, -1),
        ] {
            let want: Vec<ChunkMeta> = chunks
                .iter()
                .filter(|c| c.max_time >= mint && c.min_time <= maxt)
                .copied()
                .collect();
            let got = ix.series_in_range(id, mint, maxt).expect("series_in_range");
            assert_eq!(got, (labels.clone(), want.clone()), "[{mint}, {maxt}]");
            // Chunks without the label set, and the label set alone.
            let mut each = Vec::new();
            let refs = ix
                .series_chunks_in_range_each(id, mint, maxt, |c| each.push(c))
                .expect("series_chunks_in_range_each");
            assert_eq!(each, want, "[{mint}, {maxt}]");
            assert_eq!(&ix.labels_from_refs(&refs).expect("labels"), labels);
        }
        assert_eq!(&ix.series_labels(id).expect("series_labels"), labels);
    }
    assert!(ix.series(2).is_err());
    assert!(ix.series_labels(2).is_err());
    assert!(ix.series_chunks_in_range_each(2, 0, 1, |_| {}).is_err());
}

#[test]
fn a_symbol_that_is_not_utf8_fails_at_open_even_with_a_valid_checksum() {
    let mut bytes = write_index(&sample_series()).expect("index");
    // The symbol section follows the 8-byte header: length, body, CRC32.
    let len = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    let body = 12..12 + len;
    let at = bytes[body.clone()]
        .windows(2)
        .position(|w| w == "é".as_bytes())
        .expect("the multi-byte symbol is in the table")
        + 12;
    bytes[at] = 0xff;
    let crc = crc32fast::hash(&bytes[body.clone()]).to_be_bytes();
    bytes[body.end..body.end + 4].copy_from_slice(&crc);
    let (_dir, r) = open(&bytes);
    match r {
        Err(StorageError::Corruption { message, .. }) => {
            assert_eq!(message, "symbol is not UTF-8")
        }
        Err(e) => panic!("expected corruption, got {e}"),
        Ok(_) => panic!("an index with a non-UTF-8 symbol opened"),
    }
}

/// Label sets of more than `LABEL_REFS` labels are built from the entry
/// again; smaller ones from the references kept at selection.
#[test]
fn label_refs_build_every_label_set() {
    let mut series = Vec::new();
    for n in [1usize, 7, 8, 9, 20] {
        let pairs: Vec<(String, String)> = (0..n)
            .map(|i| (format!("l{i:02}"), format!("v{n}-{i}")))
            .collect();
        series.push((Labels::from_pairs(pairs), vec![chunk(0, 10, 8)]));
    }
    series.sort_by(|a, b| a.0.cmp(&b.0));
    let (_dir, ix) = open(&write_index(&series).expect("index"));
    let ix = ix.expect("valid index opens");
    for (id, (labels, _)) in series.iter().enumerate() {
        let refs = ix
            .series_chunks_in_range_each(id as u32, 0, 10, |_| {})
            .expect("chunks");
        let built = ix.labels_from_refs(&refs).expect("labels");
        assert_eq!(&built, labels);
        // Asked again (another query): the set built is shared.
        let again = ix.labels_from_refs(&refs).expect("labels");
        assert!(again.ptr_eq(&built), "{labels:?} cached");
    }
}

/// One label's value read from the references is the built set's; sets
/// too large for the references send the caller to the built set.
#[test]
fn label_value_from_refs_reads_one_label() {
    let mut series = Vec::new();
    for n in [1usize, 8, 9] {
        let pairs: Vec<(String, String)> = (0..n)
            .map(|i| (format!("l{i:02}"), format!("v{n}-{i}")))
            .collect();
        series.push((Labels::from_pairs(pairs), vec![chunk(0, 10, 8)]));
    }
    series.sort_by(|a, b| a.0.cmp(&b.0));
    let (_dir, ix) = open(&write_index(&series).expect("index"));
    let ix = ix.expect("valid index opens");
    for (id, (labels, _)) in series.iter().enumerate() {
        let refs = ix
            .series_chunks_in_range_each(id as u32, 0, 10, |_| {})
            .expect("chunks");
        // "v1-0" is a symbol but no name; "nope" no symbol at all.
        for name in ["l00", "l07", "l08", "v1-0", "nope", ""] {
            let got = ix.label_value_from_refs(&refs, name);
            if labels.len() > super::LABEL_REFS {
                assert_eq!(got, None, "{labels:?}");
            } else {
                assert_eq!(got, Some(labels.get(name)), "{labels:?} {name}");
            }
        }
    }
}

/// The label counts above straddle the references kept inline.
const _: () = assert!(super::LABEL_REFS >= 7 && super::LABEL_REFS < 9);
