//! Analysis of decoded traffic: the packet-to-command pipeline and request/response pairing.

pub mod dissect;
pub mod live;
pub mod manifest;
pub mod regress;
pub mod stats;
pub mod verify;

pub use dissect::{
    DEFAULT_TIMEOUT_MS, Dissector, Event, FrameRecord, LONG_POLL_SLACK_MS, Options,
    PULL_FLAG_COMMIT_OFFSET, PULL_FLAG_SUSPEND, Problem, ProblemKind, RequestRef, Shard, Totals,
    long_poll_ms,
};
