//! A shard as `ListShards` describes it: its id and the range of hash keys it takes.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    pub id: String,
    pub start: u128,
    pub end: u128,
}

impl Shard {
    pub fn contains(&self, hash_key: u128) -> bool {
        (self.start..=self.end).contains(&hash_key)
    }
}
