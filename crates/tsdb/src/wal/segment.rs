//! Segment files: naming, listing and the record framing.
//!
//! A segment is a plain sequence of frames:
//! `len:u32le  crc32:u32le  payload[len]`, where the CRC32 (IEEE, crc32fast)
//! covers the payload. A record never spans two segments, so damage in one
//! segment never makes the next unreadable.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Bytes before each payload: length and CRC32.
pub const HEADER_LEN: usize = 8;

/// Largest payload accepted when reading (guards allocations on damaged lengths).
pub const MAX_RECORD_LEN: u32 = 1 << 30;

/// File name of segment `n` (`00000001`).
pub fn segment_name(n: u32) -> String {
    format!("{n:08}")
}

/// Path of segment `n` in `dir`.
pub fn segment_path(dir: &Path, n: u32) -> PathBuf {
    dir.join(segment_name(n))
}

/// Numbers of the segment files in `dir`, ascending. Other files are ignored.
pub fn list_segments(dir: &Path) -> io::Result<Vec<u32>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.len() == 8
            && name.bytes().all(|b| b.is_ascii_digit())
            && entry.file_type()?.is_file()
        {
            if let Ok(n) = name.parse::<u32>() {
                out.push(n);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Appends one framed record to `out`.
pub fn frame(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Where and why reading a segment stopped early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// Offset of the first byte of the bad frame; everything before it is good.
    pub offset: u64,
    /// What was wrong.
    pub reason: String,
    /// True if the file simply ended inside a frame (a torn write).
    pub torn: bool,
}

/// Reads the frames of one segment, calling `f` with each payload, until the
/// end or the first damaged frame.
pub fn read_segment(path: &Path, f: &mut dyn FnMut(&[u8])) -> io::Result<Option<Damage>> {
    let file = std::fs::File::open(path)?;
    let file_len = file.metadata()?.len();
    let mut r = io::BufReader::with_capacity(1 << 16, file);
    let mut offset: u64 = 0;
    let mut payload = Vec::new();
    loop {
        let mut header = [0u8; HEADER_LEN];
        let got = read_full(&mut r, &mut header)?;
        if got == 0 {
            return Ok(None);
        }
        let damage = |reason: &str, torn: bool| {
            Ok(Some(Damage {
                offset,
                reason: reason.to_string(),
                torn,
            }))
        };
        if got < HEADER_LEN {
            return damage("file ends inside a record header", true);
        }
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if len == 0 || len > MAX_RECORD_LEN {
            return damage(&format!("invalid record length {len}"), false);
        }
        let end = offset + HEADER_LEN as u64 + len as u64;
        if end > file_len {
            return damage(
                &format!("record of {len} bytes runs past the end of the file"),
                true,
            );
        }
        payload.resize(len as usize, 0);
        let got = read_full(&mut r, &mut payload)?;
        if got < payload.len() {
            return damage("file ends inside a record", true);
        }
        if crc32fast::hash(&payload) != crc {
            return damage("checksum mismatch", false);
        }
        f(&payload);
        offset = end;
    }
}

/// Reads until `buf` is full or the end of input; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Fsyncs a directory so that created, renamed or removed entries are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_back_and_damage_is_located() {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = Vec::new();
        frame(b"hello", &mut buf);
        frame(b"world!", &mut buf);
        let p = segment_path(dir.path(), 1);
        std::fs::write(&p, &buf).unwrap();
        let mut got = Vec::new();
        assert_eq!(
            read_segment(&p, &mut |b| got.push(b.to_vec())).unwrap(),
            None
        );
        assert_eq!(got, vec![b"hello".to_vec(), b"world!".to_vec()]);

        let mut bad = buf.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x40;
        std::fs::write(&p, &bad).unwrap();
        got.clear();
        let d = read_segment(&p, &mut |b| got.push(b.to_vec()))
            .unwrap()
            .unwrap();
        assert_eq!(d.offset, 13);
        assert!(!d.torn);
        assert_eq!(got.len(), 1);

        std::fs::write(&p, &buf[..buf.len() - 2]).unwrap();
        let d = read_segment(&p, &mut |_| {}).unwrap().unwrap();
        assert!(d.torn);
        assert_eq!(list_segments(dir.path()).unwrap(), vec![1]);
    }
}
