//! The stream's open shards, sorted by the start of their hash key range, so a record's shard is
//! found by bisection.

use crate::core::model::shard::Shard;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardMap {
    shards: Vec<Shard>,
}

impl ShardMap {
    pub fn new(listed: Vec<Shard>) -> Self {
        // Placed one by one rather than sorted: a sort's code is kilobytes of wasm.
        let mut shards: Vec<Shard> = Vec::with_capacity(listed.len());
        for shard in listed {
            let at = shards.partition_point(|s| s.start <= shard.start);
            shards.insert(at, shard);
        }
        Self { shards }
    }

    pub fn len(&self) -> usize {
        self.shards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shards.is_empty()
    }

    /// Index of the shard whose range holds `hash_key`; `None` in a gap (mid-reshard).
    pub fn lookup(&self, hash_key: u128) -> Option<usize> {
        let after = self.shards.partition_point(|s| s.start <= hash_key);
        let i = after.checked_sub(1)?;
        self.shards[i].contains(hash_key).then_some(i)
    }

    pub fn shard(&self, index: usize) -> Option<&Shard> {
        self.shards.get(index)
    }

    pub fn by_id(&self, id: &str) -> Option<&Shard> {
        self.shards.iter().find(|s| s.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, start: u128, end: u128) -> Shard {
        Shard {
            id: id.into(),
            start,
            end,
        }
    }

    /// Four equal shards, as `CreateStream` with `ShardCount: 4` makes them, listed out of order.
    fn four() -> ShardMap {
        let q = u128::MAX / 4;
        ShardMap::new(vec![
            shard("s3", 3 * q + 3, u128::MAX),
            shard("s0", 0, q),
            shard("s1", q + 1, 2 * q + 1),
            shard("s2", 2 * q + 2, 3 * q + 2),
        ])
    }

    #[test]
    fn lookup_at_range_edges() {
        let m = four();
        let q = u128::MAX / 4;
        assert_eq!(m.lookup(0), Some(0));
        assert_eq!(m.lookup(q), Some(0));
        assert_eq!(m.lookup(q + 1), Some(1));
        assert_eq!(m.lookup(3 * q + 2), Some(2));
        assert_eq!(m.lookup(3 * q + 3), Some(3));
        assert_eq!(m.lookup(u128::MAX), Some(3));
        assert_eq!(m.shard(3).map(|s| s.id.as_str()), Some("s3"));
        assert_eq!(m.by_id("s1").map(|s| s.start), Some(q + 1));
    }

    #[test]
    fn gaps_find_nothing() {
        let m = ShardMap::new(vec![shard("a", 0, 10), shard("b", 20, 30)]);
        assert_eq!(m.lookup(15), None);
        assert_eq!(m.lookup(31), None);
        assert_eq!(ShardMap::default().lookup(0), None);
    }
}
