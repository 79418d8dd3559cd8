//! Bloom filters over a block's body tokens and identifiers, kept in memory so a query
//! skips blocks that cannot hold a term without reading them.
//!
//! Hashing is our own (FNV-1a folded through a 64-bit finaliser): the bits are stored on
//! disk, so the hash must never change with the compiler or a dependency.

use crate::varint::{put_u, Reader};

/// Bits per distinct key: about 1 % false positives with [`HASHES`] probes.
const BITS_PER_KEY: usize = 10;
const HASHES: u32 = 7;

/// A stable 64-bit hash of `bytes`, seeded.
pub(crate) fn hash64(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // splitmix64's finaliser spreads FNV's weak low bits.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bloom {
    words: Vec<u64>,
}

impl Bloom {
    /// A filter sized for `keys` distinct keys.
    pub(crate) fn with_capacity(keys: usize) -> Bloom {
        let bits = (keys.max(1) * BITS_PER_KEY).next_power_of_two().max(64);
        Bloom {
            words: vec![0; bits / 64],
        }
    }

    fn probes(&self, key: &[u8]) -> impl Iterator<Item = usize> {
        let h = hash64(0, key);
        let (a, b) = (h as u32, (h >> 32) as u32 | 1);
        let mask = self.words.len() * 64 - 1;
        (0..HASHES).map(move |i| (a.wrapping_add(i.wrapping_mul(b)) as usize) & mask)
    }

    pub(crate) fn insert(&mut self, key: &[u8]) {
        let probes: Vec<usize> = self.probes(key).collect();
        for bit in probes {
            self.words[bit / 64] |= 1 << (bit % 64);
        }
    }

    /// False means `key` was never inserted; true means it may have been.
    pub(crate) fn may_contain(&self, key: &[u8]) -> bool {
        self.probes(key)
            .all(|bit| self.words[bit / 64] & (1 << (bit % 64)) != 0)
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        put_u(out, self.words.len() as u64);
        for w in &self.words {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Option<Bloom> {
        let n = r.len()?;
        if n == 0 || !n.is_power_of_two() {
            return None;
        }
        let words = (0..n)
            .map(|_| r.fixed::<8>().map(u64::from_le_bytes))
            .collect::<Option<Vec<u64>>>()?;
        Some(Bloom { words })
    }
}

/// The key under which an id column's value goes into the id bloom filter.
pub(crate) fn id_key(column: usize, value: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(value.len() + 1);
    k.push(column as u8);
    k.extend_from_slice(value.as_bytes());
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserted_keys_are_found_and_most_others_are_not() {
        let mut b = Bloom::with_capacity(1000);
        for i in 0..1000 {
            b.insert(format!("key{i}").as_bytes());
        }
        assert!((0..1000).all(|i| b.may_contain(format!("key{i}").as_bytes())));
        let false_positives = (0..10_000)
            .filter(|i| b.may_contain(format!("other{i}").as_bytes()))
            .count();
        assert!(false_positives < 300, "{false_positives} false positives");
        let mut out = Vec::new();
        b.encode(&mut out);
        assert_eq!(Bloom::decode(&mut Reader::new(&out)), Some(b));
    }

    #[test]
    fn the_hash_is_stable() {
        // Stored on disk: this value must never change.
        assert_eq!(hash64(0, b"timeout"), 11_898_897_982_388_442_207);
    }
}
