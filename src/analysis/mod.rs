//! Analysis of decoded traffic: the packet-to-command pipeline and request/response pairing.

pub mod dissect;
pub mod live;
pub mod manifest;
pub mod regress;
pub mod stats;
pub mod verify;

pub use dissect::{
    Dissector, Event, FrameRecord, Options, Problem, ProblemKind, RequestRef, Shard, Totals,
};
