//! One budget for every length, count and decoded size taken from the wire.
//!
//! A capture is hostile input: a length field, a count or a compressed body can ask for
//! gigabytes. Every such value is checked against a field of [`Limits`] before anything is
//! allocated for it; past a limit the item is reported as a located problem (packet, stream,
//! reason) with a count of what was left out, and decoding goes on.
//!
//! The frame, reassembly and pairing bounds that predate this type keep their own homes
//! (`remoting::command::FrameLimits`, `reassembly::StreamLimits`,
//! `analysis::Options::{max_buffered_total, max_pending_requests}`); everything added since
//! lives here, and [`Limits`] is carried by `analysis::Options` and `protocol::DecodeOptions`.

/// The decode and tracking budget. `Default` gives the documented defaults; the command line
/// sets the decode fields with the `--max-*` options of every decoding command (README
/// "Limits"), the flow fields with `--max-flows` and `--max-half-open-flows`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// TCP connections tracked at once; past it the connection idle longest is flushed and
    /// forgotten (counted and reported). `--max-flows`.
    pub max_flows: usize,
    /// Connections seen only with SYN / handshake packets (no payload yet) tracked at once;
    /// past it the oldest are forgotten first (a SYN flood must not grow memory).
    /// `--max-half-open-flows`.
    pub max_half_open_flows: usize,
    /// Messages decoded from one frame (batch items, stored messages, inner-batch items
    /// together); the rest are counted and reported, not decoded.
    pub max_messages_per_frame: usize,
    /// Properties kept per message.
    pub max_properties: usize,
    /// extFields entries kept per header.
    pub max_ext_fields: usize,
    /// Total bytes all messages of one frame may inflate to (each compressed body also
    /// obeys `DecodeOptions::max_inflated`).
    pub max_inflated_per_frame: usize,
    /// Bytes of a JSON body (or a JSON chunk of a compressed RegisterBrokerBody) turned into
    /// a tree; a larger one is shown as its length with a `limit` problem.
    /// `--max-json-body`.
    pub max_json_body: usize,
    /// Nodes (values and keys, counted by `protocol::json_bound::count_nodes`) of one JSON
    /// body turned into a tree: a tree costs tens of bytes per node whatever the text's
    /// size. `--max-json-nodes`.
    pub max_json_nodes: usize,
    /// Entries (topic configs and topic queue mappings together) decoded from one
    /// compressed RegisterBrokerBody; the rest are stepped over and counted.
    /// `--max-body-entries`.
    pub max_body_entries: usize,
    /// Body bytes printed per frame or message in text, tree and JSON output (the rest is
    /// cut and marked `body_truncated`). `--max-body-print`.
    pub max_body_print: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_flows: 65_536,
            max_half_open_flows: 16_384,
            max_messages_per_frame: 8_192,
            max_properties: 1_024,
            max_ext_fields: 1_024,
            max_inflated_per_frame: 32 << 20,
            max_body_print: 64 << 10,
            max_json_body: 8 << 20,
            max_json_nodes: 1 << 18,
            max_body_entries: 8_192,
        }
    }
}
