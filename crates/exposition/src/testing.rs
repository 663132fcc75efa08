//! Helpers shared by this crate's tests (unit and integration); not part of
//! the parser's API.

/// `seed` with `edits` applied in turn: `(position, kind, byte)` inserts
/// (kind 0), removes (1) or overwrites (2) the byte at `position` modulo the
/// length, appending when past the end. Used to derive near-valid bodies.
pub fn mutate(seed: &str, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut b = seed.as_bytes().to_vec();
    for &(pos, kind, byte) in edits {
        let at = pos % (b.len() + 1);
        match kind % 3 {
            0 => b.insert(at, byte),
            1 if at < b.len() => {
                b.remove(at);
            }
            _ if at < b.len() => b[at] = byte,
            _ => b.push(byte),
        }
    }
    b
}

/// A xorshift64 generator from `seed` (non-zero): cheap, repeatable inputs
/// for the tests that compare a fast path with a slow one.
pub fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
