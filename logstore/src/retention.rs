//! Retention: which blocks to drop, by age and by total size. Whole blocks only, oldest
//! first; the head is never dropped.

use crate::catalog::BlockInfo;

/// Ids of blocks whose newest record is older than `now - retention`.
pub(crate) fn expired_by_age(blocks: &[BlockInfo], now: i64, retention: i64) -> Vec<u64> {
    let cutoff = now.saturating_sub(retention);
    blocks
        .iter()
        .filter(|b| b.max_time < cutoff)
        .map(|b| b.id)
        .collect()
}

/// Ids of the oldest blocks to drop so that the rest plus `other_bytes` (the WAL) fit in
/// `max_bytes`.
pub(crate) fn expired_by_size(blocks: &[BlockInfo], other_bytes: u64, max_bytes: u64) -> Vec<u64> {
    let mut by_age: Vec<&BlockInfo> = blocks.iter().collect();
    by_age.sort_by_key(|b| (b.max_time, b.id));
    let mut total = other_bytes + blocks.iter().map(|b| b.bytes).sum::<u64>();
    let mut out = Vec::new();
    for b in by_age {
        if total <= max_bytes {
            break;
        }
        total -= b.bytes;
        out.push(b.id);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: u64, min_time: i64, max_time: i64, bytes: u64) -> BlockInfo {
        BlockInfo {
            id,
            min_time,
            max_time,
            rows: 1,
            bytes,
            min_seq: 0,
            max_seq: 0,
        }
    }

    #[test]
    fn age_drops_blocks_wholly_older_than_the_retention() {
        let blocks = [info(1, 0, 10, 0), info(2, 10, 20, 0), info(3, 20, 30, 0)];
        assert_eq!(expired_by_age(&blocks, 100, 85), vec![1]);
        assert_eq!(expired_by_age(&blocks, 100, 75), vec![1, 2]);
        assert!(expired_by_age(&blocks, 100, 1000).is_empty());
    }

    #[test]
    fn size_drops_the_oldest_until_the_rest_fits() {
        let blocks = [
            info(3, 20, 30, 100),
            info(1, 0, 10, 100),
            info(2, 10, 20, 100),
        ];
        assert!(expired_by_size(&blocks, 50, 350).is_empty());
        assert_eq!(expired_by_size(&blocks, 50, 300), vec![1]);
        assert_eq!(expired_by_size(&blocks, 50, 150), vec![1, 2]);
        assert_eq!(expired_by_size(&blocks, 500, 10).len(), 3);
    }
}
