//! The `connections` and `problems` tables (docs/export.md): a connection folded frame by
//! frame and written when it ends; problems as they come.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use arrow_array::builder::{
    Int32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::ArrowError;

use super::tables::{Origin, Table, batch, i64_of, micros, ts_builder};
use crate::analysis::{FrameRecord, Problem};
use crate::remoting::command::Kind;

/// An endpoint in 20 bytes (a `SocketAddr` takes 32): the capture's addresses carry no
/// IPv6 flow info or scope id (`capture::link` builds them with `SocketAddr::new`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Peer(IpAddr, u16);

impl Peer {
    fn of(a: SocketAddr) -> Peer {
        Peer(a.ip(), a.port())
    }

    fn addr(self) -> SocketAddr {
        SocketAddr::new(self.0, self.1)
    }
}

/// What is known of one TCP connection while its frames go by. Kept small: a capture
/// can have `--max-flows` connections open at once, each with one of these.
#[derive(Clone, Debug, Default)]
pub struct Conn {
    client: Option<Peer>,
    server: Option<Peer>,
    first_packet: u64,
    first_ts: i64,
    last_ts: i64,
    frames: [u64; 2],
    bytes: [u64; 2],
    requests: u64,
    responses: u64,
    errors: u64,
    undecodable: u64,
    problems: u64,
    language: Option<Box<str>>,
    version: Option<i32>,
}

impl Conn {
    /// Folds one frame in.
    pub fn frame(&mut self, r: &FrameRecord) {
        if self.frames == [0, 0] && self.problems == 0 {
            self.first_packet = r.packet;
            self.first_ts = r.ts;
        }
        self.last_ts = r.ts;
        let cmd = r.command.as_ref().ok();
        // The client: the sender of the first request, else the receiver of the first response.
        if self.client.is_none() {
            match cmd.map(|c| c.kind()) {
                Some(Kind::Response) => {
                    self.client = Some(Peer::of(r.dst));
                    self.server = Some(Peer::of(r.src));
                }
                Some(_) => {
                    self.client = Some(Peer::of(r.src));
                    self.server = Some(Peer::of(r.dst));
                }
                None => {}
            }
        }
        let dir = usize::from(self.client.is_some_and(|c| c.addr() != r.src));
        self.frames[dir] += 1;
        self.bytes[dir] += r.frame_len as u64;
        match cmd {
            None => self.undecodable += 1,
            Some(c) if c.kind() == Kind::Response => {
                self.responses += 1;
                if c.code != 0 {
                    self.errors += 1;
                }
            }
            Some(c) => {
                self.requests += 1;
                if self.client == Some(Peer::of(r.src)) && self.language.is_none() {
                    self.language = Some(c.language_str().into());
                    self.version = Some(c.version);
                }
            }
        }
    }

    /// Counts one problem of the connection.
    pub fn problem(&mut self, p: &Problem, ts: i64) {
        if self.frames == [0, 0] && self.problems == 0 {
            self.first_packet = p.packet;
            self.first_ts = ts;
            self.last_ts = ts;
        }
        self.problems += 1;
    }

    /// Capture time of the connection's first frame (or problem).
    pub fn first_ts(&self) -> i64 {
        self.first_ts
    }
}

/// The `connections` table: one row per TCP connection that had a frame or a problem.
pub struct Connections {
    capture: StringBuilder,
    file: StringBuilder,
    stream: Int64Builder,
    stream_id: StringBuilder,
    client: StringBuilder,
    server: StringBuilder,
    first_packet: Int64Builder,
    first_ts: TimestampMicrosecondBuilder,
    last_ts: TimestampMicrosecondBuilder,
    frames_from_client: Int64Builder,
    frames_from_server: Int64Builder,
    bytes_from_client: Int64Builder,
    bytes_from_server: Int64Builder,
    requests: Int64Builder,
    responses: Int64Builder,
    errors: Int64Builder,
    undecodable: Int64Builder,
    problems: Int64Builder,
    language: StringBuilder,
    version: Int32Builder,
    rows: usize,
}

impl Default for Connections {
    fn default() -> Self {
        Connections {
            capture: StringBuilder::new(),
            file: StringBuilder::new(),
            stream: Int64Builder::new(),
            stream_id: StringBuilder::new(),
            client: StringBuilder::new(),
            server: StringBuilder::new(),
            first_packet: Int64Builder::new(),
            first_ts: ts_builder(),
            last_ts: ts_builder(),
            frames_from_client: Int64Builder::new(),
            frames_from_server: Int64Builder::new(),
            bytes_from_client: Int64Builder::new(),
            bytes_from_server: Int64Builder::new(),
            requests: Int64Builder::new(),
            responses: Int64Builder::new(),
            errors: Int64Builder::new(),
            undecodable: Int64Builder::new(),
            problems: Int64Builder::new(),
            language: StringBuilder::new(),
            version: Int32Builder::new(),
            rows: 0,
        }
    }
}

impl Connections {
    pub fn push(&mut self, o: &Origin, stream: u64, c: &Conn) {
        self.rows += 1;
        self.capture.append_value(&o.capture);
        self.file.append_value(&o.file);
        self.stream.append_value(i64_of(stream));
        self.stream_id.append_value(o.stream_id(stream));
        self.client
            .append_option(c.client.map(|a| a.addr().to_string()));
        self.server
            .append_option(c.server.map(|a| a.addr().to_string()));
        self.first_packet.append_value(i64_of(c.first_packet));
        self.first_ts.append_value(micros(c.first_ts));
        self.last_ts.append_value(micros(c.last_ts));
        self.frames_from_client.append_value(i64_of(c.frames[0]));
        self.frames_from_server.append_value(i64_of(c.frames[1]));
        self.bytes_from_client.append_value(i64_of(c.bytes[0]));
        self.bytes_from_server.append_value(i64_of(c.bytes[1]));
        self.requests.append_value(i64_of(c.requests));
        self.responses.append_value(i64_of(c.responses));
        self.errors.append_value(i64_of(c.errors));
        self.undecodable.append_value(i64_of(c.undecodable));
        self.problems.append_value(i64_of(c.problems));
        self.language.append_option(c.language.as_deref());
        self.version.append_option(c.version);
    }
}

impl Table for Connections {
    fn rows(&self) -> usize {
        self.rows
    }
    fn bytes(&self) -> usize {
        self.rows * 200
    }
    fn take(&mut self) -> Result<RecordBatch, ArrowError> {
        self.rows = 0;
        let a = |x: ArrayRef| x;
        batch(vec![
            ("capture", false, a(Arc::new(self.capture.finish()))),
            ("file", false, a(Arc::new(self.file.finish()))),
            ("stream", false, a(Arc::new(self.stream.finish()))),
            ("stream_id", false, a(Arc::new(self.stream_id.finish()))),
            ("client", true, a(Arc::new(self.client.finish()))),
            ("server", true, a(Arc::new(self.server.finish()))),
            (
                "first_packet",
                false,
                a(Arc::new(self.first_packet.finish())),
            ),
            ("first_ts", false, a(Arc::new(self.first_ts.finish()))),
            ("last_ts", false, a(Arc::new(self.last_ts.finish()))),
            (
                "frames_from_client",
                false,
                a(Arc::new(self.frames_from_client.finish())),
            ),
            (
                "frames_from_server",
                false,
                a(Arc::new(self.frames_from_server.finish())),
            ),
            (
                "bytes_from_client",
                false,
                a(Arc::new(self.bytes_from_client.finish())),
            ),
            (
                "bytes_from_server",
                false,
                a(Arc::new(self.bytes_from_server.finish())),
            ),
            ("requests", false, a(Arc::new(self.requests.finish()))),
            ("responses", false, a(Arc::new(self.responses.finish()))),
            ("errors", false, a(Arc::new(self.errors.finish()))),
            ("undecodable", false, a(Arc::new(self.undecodable.finish()))),
            ("problems", false, a(Arc::new(self.problems.finish()))),
            ("language", true, a(Arc::new(self.language.finish()))),
            ("version", true, a(Arc::new(self.version.finish()))),
        ])
    }
}

/// The `problems` table: every located problem (stderr's problem lines of `read`), the
/// per-frame decoding problems included.
pub struct Problems {
    capture: StringBuilder,
    file: StringBuilder,
    packet: Int64Builder,
    ts: TimestampMicrosecondBuilder,
    stream: Int64Builder,
    stream_id: StringBuilder,
    kind: StringBuilder,
    message: StringBuilder,
    rows: usize,
    bytes: usize,
}

impl Default for Problems {
    fn default() -> Self {
        Problems {
            capture: StringBuilder::new(),
            file: StringBuilder::new(),
            packet: Int64Builder::new(),
            ts: ts_builder(),
            stream: Int64Builder::new(),
            stream_id: StringBuilder::new(),
            kind: StringBuilder::new(),
            message: StringBuilder::new(),
            rows: 0,
            bytes: 0,
        }
    }
}

impl Problems {
    /// Appends a problem; `ts` is the capture time of the packet being read when it was
    /// reported.
    pub fn push(&mut self, o: &Origin, p: &Problem, ts: i64) {
        self.rows += 1;
        self.bytes += p.message.len() + 100;
        self.capture.append_value(&o.capture);
        self.file.append_value(&o.file);
        self.packet.append_value(i64_of(p.packet));
        self.ts.append_value(micros(ts));
        self.stream.append_option(p.stream.map(i64_of));
        self.stream_id
            .append_option(p.stream.map(|s| o.stream_id(s)));
        self.kind.append_value(p.kind.as_str());
        self.message.append_value(&p.message);
    }
}

impl Table for Problems {
    fn rows(&self) -> usize {
        self.rows
    }
    fn bytes(&self) -> usize {
        self.bytes
    }
    fn take(&mut self) -> Result<RecordBatch, ArrowError> {
        self.rows = 0;
        self.bytes = 0;
        let a = |x: ArrayRef| x;
        batch(vec![
            ("capture", false, a(Arc::new(self.capture.finish()))),
            ("file", false, a(Arc::new(self.file.finish()))),
            ("packet", false, a(Arc::new(self.packet.finish()))),
            ("ts", false, a(Arc::new(self.ts.finish()))),
            ("stream", true, a(Arc::new(self.stream.finish()))),
            ("stream_id", true, a(Arc::new(self.stream_id.finish()))),
            ("kind", false, a(Arc::new(self.kind.finish()))),
            ("message", false, a(Arc::new(self.message.finish()))),
        ])
    }
}

/// Connections being followed, by stream; rows written when they end. Boxed in a hash
/// map: as many as `--max-flows` are open at once (65,536 on a capture of one-packet
/// connections), and a B-tree's leaves, filled about half by ascending stream numbers,
/// took twice the memory of the entries themselves (heaptrack: 24 MB there as a B-tree of
/// unboxed entries, 13 MB now).
pub type ConnMap = HashMap<u64, Box<Conn>>;
