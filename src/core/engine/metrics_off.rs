//! The engine's metric hooks in builds without the `metrics` feature (the package's default
//! entries): each does nothing and compiles away, so a page that never publishes CloudWatch
//! metrics carries none of their code. What they gather with the feature: `metrics.rs`.

use std::rc::Rc;

use crate::core::engine::events::Outcome;
use crate::core::engine::packer::Entry;
use crate::core::engine::queue::Queued;
use crate::core::model::config::Config;
use crate::core::model::error::Failure;
use crate::core::Millis;

#[derive(Clone, Debug, Default)]
pub struct Metrics;

impl Metrics {
    pub fn of(_: &Config) -> Self {
        Self
    }
    pub fn received(&mut self) {}
    pub fn request_time(&mut self, _: Millis) {}
    pub fn sent(&mut self, _: &[Queued], _: Option<&[Entry]>, _: Millis) {}
    pub fn kinesis_record(&mut self, _: usize, _: Option<&Rc<str>>) {}
    pub fn error(&mut self, _: &Failure) {}
    pub fn settled(&mut self, _: &Queued, _: &Outcome) {}
}
