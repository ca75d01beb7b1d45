//! The remoting layer: frame codec, JSON and ROCKETMQ headers, codes, stream splitting.
//! Byte-exact: every decoded frame re-encodes to the bytes that were on the wire.

mod binary;
mod canonical;
pub mod codes;
pub mod command;
pub mod json;
pub mod json_header;
pub mod stream;

pub use codes::{LanguageCode, RequestCode, ResponseCode, SerializeType, version_name};
pub use command::{
    FrameError, FrameLimits, HeaderLayout, Kind, RemotingCommand, decode_frame, encode_frame,
};
