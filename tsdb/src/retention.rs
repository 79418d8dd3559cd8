//! Retention: which blocks to delete, by age and by total size. Oldest blocks go first;
//! the head is never dropped by retention.

use crate::block::BlockMeta;

/// Ids of blocks whose whole range ended `retention_ms` or more before `now_ms`.
pub(crate) fn expired_by_age(metas: &[BlockMeta], now_ms: i64, retention_ms: i64) -> Vec<String> {
    let cutoff = now_ms.saturating_sub(retention_ms);
    metas
        .iter()
        .filter(|m| m.max_time <= cutoff)
        .map(|m| m.id.clone())
        .collect()
}

/// Ids of the oldest blocks to delete so that their sizes plus `other_bytes` (WAL) fit in
/// `max_bytes`. `blocks` are `(meta, size)` pairs in any order.
pub(crate) fn expired_by_size(
    blocks: &[(&BlockMeta, u64)],
    other_bytes: u64,
    max_bytes: u64,
) -> Vec<String> {
    let mut by_age: Vec<&(&BlockMeta, u64)> = blocks.iter().collect();
    by_age.sort_by_key(|(m, _)| m.min_time);
    let mut total = other_bytes + blocks.iter().map(|(_, s)| s).sum::<u64>();
    let mut out = Vec::new();
    for (m, size) in by_age {
        if total <= max_bytes {
            break;
        }
        total -= size;
        out.push(m.id.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::test_meta as meta;

    #[test]
    fn by_age_drops_blocks_wholly_older_than_retention() {
        let metas = vec![meta("a", 0, 10), meta("b", 10, 20), meta("c", 20, 30)];
        assert_eq!(expired_by_age(&metas, 100, 85), vec!["a".to_string()]);
        assert_eq!(
            expired_by_age(&metas, 100, 75),
            vec!["a".to_string(), "b".to_string()]
        );
        assert!(expired_by_age(&metas, 100, 1000).is_empty());
    }

    #[test]
    fn by_size_drops_oldest_first_until_under() {
        let (a, b, c) = (meta("a", 0, 10), meta("b", 10, 20), meta("c", 20, 30));
        let blocks = vec![(&c, 100), (&a, 100), (&b, 100)];
        assert!(expired_by_size(&blocks, 50, 350).is_empty());
        assert_eq!(expired_by_size(&blocks, 50, 300), vec!["a".to_string()]);
        assert_eq!(
            expired_by_size(&blocks, 50, 150),
            vec!["a".to_string(), "b".to_string()]
        );
        // Never more than every block, even when the WAL alone is over.
        assert_eq!(expired_by_size(&blocks, 500, 10).len(), 3);
    }
}
