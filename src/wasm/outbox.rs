//! The producer's events, gathered into the few flat values the JS driver reads after each call:
//! acknowledgements as numbers plus one ASCII string of their sequence numbers and shard ids (a
//! string shared by neighbours is written once), failures as record ids plus the distinct
//! failures, and flags for the rest.

use std::rc::Rc;

use crate::core::{Event, Failure, Outcome, Producer};

/// Bits of the events [`Outbox::fill`] found that carry no data (the lists have lengths).
pub const CREDENTIALS_WANTED: u32 = 4;
pub const CLOSED: u32 = 16;

#[derive(Default)]
pub struct Outbox {
    /// Per acknowledged record: id, index of its sequence number and of its shard id in
    /// `strings`, and its subsequence number (-1: not aggregated).
    pub acks: Vec<f64>,
    /// The strings, end to end; `ends[i]` is where string `i` ends.
    pub strings: String,
    pub ends: Vec<u32>,
    /// Per failed record: id, index in `failures`, and what the spool does with its copy
    /// ([`crate::core::SpoolFate`] as a number).
    pub failed: Vec<f64>,
    pub failures: Vec<Rc<Failure>>,
    pub aborts: Vec<f64>,
    /// [`CREDENTIALS_WANTED`] and [`CLOSED`], as bits.
    kinds: u32,
    last_sequence: Option<(Rc<str>, f64)>,
    last_shard: Option<(Rc<str>, f64)>,
}

impl Outbox {
    /// Move the producer's pending events here.
    pub fn fill(&mut self, producer: &mut Producer) {
        self.clear();
        let mut flags = 0;
        while let Some(event) = producer.poll_event() {
            match event {
                Event::Settled(s) => match s.outcome {
                    Outcome::Acked(ack) => {
                        let sequence = self.string(&ack.sequence_number, false);
                        let shard = self.string(&ack.shard_id, true);
                        let sub = ack.sub_sequence_number.map_or(-1.0, f64::from);
                        self.acks.extend([s.id as f64, sequence, shard, sub]);
                    }
                    Outcome::Failed(f) => {
                        let index = match self.failures.last() {
                            Some(last) if Rc::ptr_eq(last, &f) => self.failures.len() - 1,
                            _ => {
                                self.failures.push(f);
                                self.failures.len() - 1
                            }
                        };
                        let fate = self.failures[index].code.spool_fate() as u8;
                        self.failed
                            .extend([s.id as f64, index as f64, f64::from(fate)]);
                    }
                },
                Event::CredentialsWanted => flags |= CREDENTIALS_WANTED,
                Event::Abort(id) => self.aborts.push(id as f64),
                Event::Closed => flags |= CLOSED,
            }
        }
        self.kinds = flags;
    }

    /// Everything but the strings as one list of numbers: `[kinds, n, acks (4 each)..., n,
    /// string ends..., n, failed (3 each)..., n, aborts...]`, each part after its length.
    pub fn flatten(&self) -> Vec<f64> {
        let ends = self.ends.iter().map(|&e| f64::from(e));
        let mut out = vec![f64::from(self.kinds), self.acks.len() as f64];
        out.extend_from_slice(&self.acks);
        out.push(self.ends.len() as f64);
        out.extend(ends);
        out.push(self.failed.len() as f64);
        out.extend_from_slice(&self.failed);
        out.push(self.aborts.len() as f64);
        out.extend_from_slice(&self.aborts);
        out
    }

    /// The index of `s` in `strings`, written there unless it is the string written last for
    /// its kind (an aggregate's records share one sequence number; a shard serves many).
    fn string(&mut self, s: &Rc<str>, shard: bool) -> f64 {
        let last = if shard {
            &self.last_shard
        } else {
            &self.last_sequence
        };
        if let Some((prev, index)) = last {
            if Rc::ptr_eq(prev, s) || **prev == **s {
                return *index;
            }
        }
        self.strings.push_str(s);
        self.ends.push(self.strings.len() as u32);
        let index = (self.ends.len() - 1) as f64;
        let entry = Some((Rc::clone(s), index));
        if shard {
            self.last_shard = entry;
        } else {
            self.last_sequence = entry;
        }
        index
    }

    fn clear(&mut self) {
        self.acks.clear();
        self.strings.clear();
        self.ends.clear();
        self.failed.clear();
        self.failures.clear();
        self.aborts.clear();
        self.last_sequence = None;
        self.last_shard = None;
    }
}
