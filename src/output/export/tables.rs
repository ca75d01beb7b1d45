//! The `frames` and `messages` tables (and what all four tables share) as Arrow
//! column builders: one row appended per frame, message, connection or problem, taken out
//! as a `RecordBatch` when the batch is full. Columns and their meaning: docs/export.md.
//!
//! A table's schema is the one of its builders finished empty ([`Table::schema`]), so the
//! schema written first and every batch after it cannot disagree.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Int32Builder, Int64Builder, ListBuilder, MapBuilder,
    MapFieldNames, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, Field, Schema, SchemaRef};

use crate::analysis::FrameRecord;
use crate::output::OutputOptions;
use crate::output::jsonl;
use crate::protocol::{self, Decoded, message::Message};
use crate::remoting::codes::RequestCode;
use crate::remoting::command::Kind;

/// Which capture a row comes from: the `capture`, `file` and `stream_id` columns.
#[derive(Clone, Debug)]
pub struct Origin {
    /// `--label`, or the file name.
    pub capture: String,
    /// The file name as given.
    pub file: String,
}

impl Origin {
    /// A stream id unique across files: `CAPTURE:FILE#STREAM` (`FILE#STREAM` without a label).
    pub fn stream_id(&self, stream: u64) -> String {
        if self.capture == self.file {
            format!("{}#{stream}", self.file)
        } else {
            format!("{}:{}#{stream}", self.capture, self.file)
        }
    }
}

/// A map<string,string> builder with the Parquet-conventional field names
/// (`key_value` entries of `key` and `value`, as Spark and DuckDB write them).
type StrMap = MapBuilder<StringBuilder, StringBuilder>;

fn str_map() -> StrMap {
    MapBuilder::new(
        Some(MapFieldNames {
            entry: "key_value".into(),
            key: "key".into(),
            value: "value".into(),
        }),
        StringBuilder::new(),
        StringBuilder::new(),
    )
}

pub(super) fn ts_builder() -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::new().with_timezone("UTC")
}

/// Capture time (ns since the epoch) in microseconds, rounded down.
pub(super) fn micros(ts: i64) -> i64 {
    ts.div_euclid(1000)
}

pub(super) fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// One exported table: rows appended, batches taken.
pub trait Table {
    /// Rows appended since the last [`Table::take`].
    fn rows(&self) -> usize;
    /// Rough bytes held by the builders (strings, maps, bodies), to bound a batch.
    fn bytes(&self) -> usize;
    /// The appended rows as one batch (builders reset).
    fn take(&mut self) -> Result<RecordBatch, ArrowError>;
    /// The table's schema (of its builders finished empty).
    fn schema(&mut self) -> Result<SchemaRef, ArrowError> {
        Ok(self.take()?.schema())
    }
}

/// Builds a batch from named columns; nullability as declared.
pub(super) fn batch(cols: Vec<(&'static str, bool, ArrayRef)>) -> Result<RecordBatch, ArrowError> {
    let fields: Vec<Field> = cols
        .iter()
        .map(|(n, nullable, a)| Field::new(*n, a.data_type().clone(), *nullable))
        .collect();
    let arrays: Vec<ArrayRef> = cols.into_iter().map(|(_, _, a)| a).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
}

/// The `frames` table: one row per RemotingCommand (docs/export.md).
pub struct Frames {
    capture: StringBuilder,
    file: StringBuilder,
    packet: Int64Builder,
    last_packet: Int64Builder,
    ts: TimestampMicrosecondBuilder,
    ts_ns: Int64Builder,
    stream: Int64Builder,
    stream_id: StringBuilder,
    src: StringBuilder,
    dst: StringBuilder,
    frame_len: Int64Builder,
    kind: StringBuilder,
    code: Int32Builder,
    name: StringBuilder,
    opaque: Int32Builder,
    flag: Int32Builder,
    language: StringBuilder,
    version: Int32Builder,
    version_name: StringBuilder,
    serialize: StringBuilder,
    remark: StringBuilder,
    ext_fields: StrMap,
    header: StringBuilder,
    topic: StringBuilder,
    group: StringBuilder,
    queue_id: Int32Builder,
    request_packet: Int64Builder,
    request_code: Int32Builder,
    request_name: StringBuilder,
    latency_us: Int64Builder,
    long_poll: BooleanBuilder,
    batch: BooleanBuilder,
    message_count: Int64Builder,
    body_len: Int64Builder,
    body_json: StringBuilder,
    errors: ListBuilder<StringBuilder>,
    rows: usize,
    bytes: usize,
    buf: Vec<u8>,
}

impl Default for Frames {
    fn default() -> Self {
        Frames {
            capture: StringBuilder::new(),
            file: StringBuilder::new(),
            packet: Int64Builder::new(),
            last_packet: Int64Builder::new(),
            ts: ts_builder(),
            ts_ns: Int64Builder::new(),
            stream: Int64Builder::new(),
            stream_id: StringBuilder::new(),
            src: StringBuilder::new(),
            dst: StringBuilder::new(),
            frame_len: Int64Builder::new(),
            kind: StringBuilder::new(),
            code: Int32Builder::new(),
            name: StringBuilder::new(),
            opaque: Int32Builder::new(),
            flag: Int32Builder::new(),
            language: StringBuilder::new(),
            version: Int32Builder::new(),
            version_name: StringBuilder::new(),
            serialize: StringBuilder::new(),
            remark: StringBuilder::new(),
            ext_fields: str_map(),
            header: StringBuilder::new(),
            topic: StringBuilder::new(),
            group: StringBuilder::new(),
            queue_id: Int32Builder::new(),
            request_packet: Int64Builder::new(),
            request_code: Int32Builder::new(),
            request_name: StringBuilder::new(),
            latency_us: Int64Builder::new(),
            long_poll: BooleanBuilder::new(),
            batch: BooleanBuilder::new(),
            message_count: Int64Builder::new(),
            body_len: Int64Builder::new(),
            body_json: StringBuilder::new(),
            errors: ListBuilder::new(StringBuilder::new()),
            rows: 0,
            bytes: 0,
            buf: Vec::new(),
        }
    }
}

/// A frame's group: the header's consumerGroup, producerGroup or group (`a` of
/// SEND_MESSAGE_V2 is expanded to producerGroup by the typed header).
fn group_of<'a>(d: &'a Decoded) -> Option<&'a str> {
    d.field_str("consumerGroup")
        .or_else(|| d.field_str("producerGroup"))
        .or_else(|| d.field_str("group"))
}

impl Frames {
    /// Appends one frame. `d` is its decoding (`output::decode_record`).
    pub fn push(&mut self, o: &Origin, r: &FrameRecord, d: Option<&Decoded>, oo: &OutputOptions) {
        self.rows += 1;
        self.capture.append_value(&o.capture);
        self.file.append_value(&o.file);
        self.packet.append_value(i64_of(r.packet));
        self.last_packet.append_value(i64_of(r.last_packet));
        self.ts.append_value(micros(r.ts));
        self.ts_ns.append_value(r.ts);
        self.stream.append_value(i64_of(r.stream));
        self.stream_id.append_value(o.stream_id(r.stream));
        self.src.append_value(r.src.to_string());
        self.dst.append_value(r.dst.to_string());
        self.frame_len.append_value(r.frame_len as i64);
        let cmd = match &r.command {
            Ok(c) => c,
            Err(e) => {
                for b in [
                    &mut self.kind,
                    &mut self.name,
                    &mut self.language,
                    &mut self.version_name,
                    &mut self.serialize,
                    &mut self.remark,
                    &mut self.header,
                    &mut self.topic,
                    &mut self.group,
                    &mut self.request_name,
                    &mut self.body_json,
                ] {
                    b.append_null();
                }
                for b in [
                    &mut self.code,
                    &mut self.opaque,
                    &mut self.flag,
                    &mut self.version,
                    &mut self.queue_id,
                    &mut self.request_code,
                ] {
                    b.append_null();
                }
                for b in [
                    &mut self.request_packet,
                    &mut self.latency_us,
                    &mut self.message_count,
                    &mut self.body_len,
                ] {
                    b.append_null();
                }
                self.batch.append_null();
                self.long_poll.append_null();
                // Appending a null map cannot fail (no open entry).
                let _ = self.ext_fields.append(false);
                self.errors
                    .values()
                    .append_value(format!("undecodable frame: {e}"));
                self.errors.append(true);
                return;
            }
        };
        let response = cmd.kind() == Kind::Response;
        self.kind.append_value(cmd.kind().as_str());
        self.code.append_value(cmd.code);
        self.name
            .append_value(crate::output::code_display(cmd).to_string());
        self.opaque.append_value(cmd.opaque);
        self.flag.append_value(cmd.flag);
        self.language.append_value(cmd.language_str());
        self.version.append_value(cmd.version);
        self.version_name
            .append_option(crate::remoting::codes::version_name(cmd.version));
        self.serialize.append_value(cmd.serialize.name());
        self.remark.append_option(cmd.remark.as_deref());
        self.bytes += cmd.remark.as_ref().map_or(0, |s| s.len());
        match &cmd.ext_fields {
            Some(ext) => {
                for (k, i) in jsonl::sorted_last_wins(ext.iter().map(|(k, _)| k.as_str())) {
                    let v = ext[i].1.as_str();
                    let v = if !oo.show_secrets && protocol::is_secret(k) && !v.is_empty() {
                        "<redacted>"
                    } else {
                        v
                    };
                    self.bytes += k.len() + v.len();
                    self.ext_fields.keys().append_value(k);
                    self.ext_fields.values().append_value(v);
                }
                let _ = self.ext_fields.append(true);
            }
            None => {
                let _ = self.ext_fields.append(false);
            }
        }
        self.buf.clear();
        jsonl::write_header(&mut self.buf, r, d, oo.show_secrets);
        if self.buf == b"null" {
            self.header.append_null();
        } else {
            self.bytes += self.buf.len();
            // The JSON writer writes UTF-8 (it escapes from &str input).
            self.header
                .append_value(String::from_utf8_lossy(&self.buf).as_ref());
        }
        let request_topic = r.request.as_ref().and_then(|q| q.topic.as_deref());
        self.topic
            .append_option(d.and_then(|d| d.topic()).or(request_topic));
        self.group.append_option(d.and_then(group_of));
        self.queue_id
            .append_option(d.and_then(|d| match d.field("queueId") {
                Some(protocol::headers::HVal::Int(q)) => i32::try_from(*q).ok(),
                Some(protocol::headers::HVal::Str(s)) => s.trim().parse().ok(),
                _ => None,
            }));
        match (&r.request, response) {
            (Some(q), true) => {
                self.request_packet.append_value(i64_of(q.packet));
                self.request_code.append_value(q.code);
                self.request_name
                    .append_value(RequestCode(q.code).to_string());
            }
            _ => {
                self.request_packet.append_null();
                self.request_code.append_null();
                self.request_name.append_null();
            }
        }
        self.latency_us
            .append_option(if response { r.latency_us() } else { None });
        self.long_poll
            .append_option(r.request.as_ref().filter(|_| response).map(|q| q.long_poll));
        let carries = d.is_some_and(|d| {
            !d.messages.is_empty() || !response && protocol::carries_sent_message(cmd.code)
        });
        self.batch
            .append_option(d.filter(|_| carries).map(|d| d.batch));
        self.message_count
            .append_value(d.map_or(0, |d| message_rows(&d.messages)) as i64);
        self.body_len.append_value(cmd.body.len() as i64);
        match d.and_then(|d| d.body_json.as_ref()) {
            Some(j) if !carries => {
                let s = j.to_string();
                self.bytes += s.len();
                self.body_json.append_value(s);
            }
            _ => self.body_json.append_null(),
        }
        if let Some(d) = d {
            for e in &d.errors {
                self.errors.values().append_value(e);
            }
            if let Some(l) = &d.limit {
                self.errors.values().append_value(format!("limit: {l}"));
            }
        }
        if r.request.is_none() && response {
            self.errors
                .values()
                .append_value("no request with this opaque in the capture");
        }
        self.errors.append(true);
        self.bytes += 200;
    }
}

/// Rows a frame's messages make in `messages`: each message and each inner item.
pub fn message_rows(ms: &[Message]) -> usize {
    ms.iter().map(|m| 1 + m.inner.len()).sum()
}

impl Table for Frames {
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
            ("last_packet", false, a(Arc::new(self.last_packet.finish()))),
            ("ts", false, a(Arc::new(self.ts.finish()))),
            ("ts_ns", false, a(Arc::new(self.ts_ns.finish()))),
            ("stream", false, a(Arc::new(self.stream.finish()))),
            ("stream_id", false, a(Arc::new(self.stream_id.finish()))),
            ("src", false, a(Arc::new(self.src.finish()))),
            ("dst", false, a(Arc::new(self.dst.finish()))),
            ("frame_len", false, a(Arc::new(self.frame_len.finish()))),
            ("kind", true, a(Arc::new(self.kind.finish()))),
            ("code", true, a(Arc::new(self.code.finish()))),
            ("name", true, a(Arc::new(self.name.finish()))),
            ("opaque", true, a(Arc::new(self.opaque.finish()))),
            ("flag", true, a(Arc::new(self.flag.finish()))),
            ("language", true, a(Arc::new(self.language.finish()))),
            ("version", true, a(Arc::new(self.version.finish()))),
            (
                "version_name",
                true,
                a(Arc::new(self.version_name.finish())),
            ),
            ("serialize", true, a(Arc::new(self.serialize.finish()))),
            ("remark", true, a(Arc::new(self.remark.finish()))),
            ("ext_fields", true, a(Arc::new(self.ext_fields.finish()))),
            ("header", true, a(Arc::new(self.header.finish()))),
            ("topic", true, a(Arc::new(self.topic.finish()))),
            ("group", true, a(Arc::new(self.group.finish()))),
            ("queue_id", true, a(Arc::new(self.queue_id.finish()))),
            (
                "request_packet",
                true,
                a(Arc::new(self.request_packet.finish())),
            ),
            (
                "request_code",
                true,
                a(Arc::new(self.request_code.finish())),
            ),
            (
                "request_name",
                true,
                a(Arc::new(self.request_name.finish())),
            ),
            ("latency_us", true, a(Arc::new(self.latency_us.finish()))),
            ("long_poll", true, a(Arc::new(self.long_poll.finish()))),
            ("batch", true, a(Arc::new(self.batch.finish()))),
            (
                "message_count",
                true,
                a(Arc::new(self.message_count.finish())),
            ),
            ("body_len", true, a(Arc::new(self.body_len.finish()))),
            ("body_json", true, a(Arc::new(self.body_json.finish()))),
            ("errors", false, a(Arc::new(self.errors.finish()))),
        ])
    }
}

/// The `messages` table: one row per message a frame carries (sent, or stored and read
/// back), and one per inner-batch item.
pub struct Messages {
    capture: StringBuilder,
    file: StringBuilder,
    packet: Int64Builder,
    ts: TimestampMicrosecondBuilder,
    stream: Int64Builder,
    stream_id: StringBuilder,
    src: StringBuilder,
    dst: StringBuilder,
    kind: StringBuilder,
    code: Int32Builder,
    index: Int32Builder,
    inner_index: Int32Builder,
    topic: StringBuilder,
    queue_id: Int32Builder,
    producer_group: StringBuilder,
    keys: StringBuilder,
    tags: StringBuilder,
    uniq_key: StringBuilder,
    offset_msg_id: StringBuilder,
    properties: StrMap,
    born_timestamp: Int64Builder,
    store_timestamp: Int64Builder,
    born_host: StringBuilder,
    store_host: StringBuilder,
    queue_offset: Int64Builder,
    commit_log_offset: Int64Builder,
    reconsume_times: Int32Builder,
    flag: Int32Builder,
    sys_flag: Int32Builder,
    compressed: BooleanBuilder,
    body_len: Int64Builder,
    wire_body_len: Int64Builder,
    properties_dropped: Int64Builder,
    error: StringBuilder,
    body: BinaryBuilder,
    rows: usize,
    bytes: usize,
}

impl Default for Messages {
    fn default() -> Self {
        Messages {
            capture: StringBuilder::new(),
            file: StringBuilder::new(),
            packet: Int64Builder::new(),
            ts: ts_builder(),
            stream: Int64Builder::new(),
            stream_id: StringBuilder::new(),
            src: StringBuilder::new(),
            dst: StringBuilder::new(),
            kind: StringBuilder::new(),
            code: Int32Builder::new(),
            index: Int32Builder::new(),
            inner_index: Int32Builder::new(),
            topic: StringBuilder::new(),
            queue_id: Int32Builder::new(),
            producer_group: StringBuilder::new(),
            keys: StringBuilder::new(),
            tags: StringBuilder::new(),
            uniq_key: StringBuilder::new(),
            offset_msg_id: StringBuilder::new(),
            properties: str_map(),
            born_timestamp: Int64Builder::new(),
            store_timestamp: Int64Builder::new(),
            born_host: StringBuilder::new(),
            store_host: StringBuilder::new(),
            queue_offset: Int64Builder::new(),
            commit_log_offset: Int64Builder::new(),
            reconsume_times: Int32Builder::new(),
            flag: Int32Builder::new(),
            sys_flag: Int32Builder::new(),
            compressed: BooleanBuilder::new(),
            body_len: Int64Builder::new(),
            wire_body_len: Int64Builder::new(),
            properties_dropped: Int64Builder::new(),
            error: StringBuilder::new(),
            body: BinaryBuilder::new(),
            rows: 0,
            bytes: 0,
        }
    }
}

/// What `messages` rows share: the frame they came in.
struct FrameRef<'a> {
    o: &'a Origin,
    r: &'a FrameRecord,
    kind: &'static str,
    code: Option<i32>,
    group: Option<&'a str>,
    bodies: bool,
    show_secrets: bool,
}

impl Messages {
    /// Appends every message of a frame (and the items of inner batches).
    pub fn push(
        &mut self,
        o: &Origin,
        r: &FrameRecord,
        d: &Decoded,
        show_secrets: bool,
        bodies: bool,
    ) {
        let Ok(cmd) = &r.command else { return };
        let kind = cmd.kind();
        let code = match kind {
            Kind::Response => r.request.as_ref().map(|q| q.code),
            _ => Some(cmd.code),
        };
        let f = FrameRef {
            o,
            r,
            kind: kind.as_str(),
            code,
            group: d.field_str("producerGroup"),
            bodies,
            show_secrets,
        };
        for (i, m) in d.messages.iter().enumerate() {
            let i = i32::try_from(i).unwrap_or(i32::MAX);
            self.one(&f, m, i, None);
            for (j, x) in m.inner.iter().enumerate() {
                self.one(&f, x, i, Some(i32::try_from(j).unwrap_or(i32::MAX)));
            }
        }
    }

    fn one(&mut self, f: &FrameRef, m: &Message, index: i32, inner: Option<i32>) {
        self.rows += 1;
        self.capture.append_value(&f.o.capture);
        self.file.append_value(&f.o.file);
        self.packet.append_value(i64_of(f.r.packet));
        self.ts.append_value(micros(f.r.ts));
        self.stream.append_value(i64_of(f.r.stream));
        self.stream_id.append_value(f.o.stream_id(f.r.stream));
        self.src.append_value(f.r.src.to_string());
        self.dst.append_value(f.r.dst.to_string());
        self.kind.append_value(f.kind);
        self.code.append_option(f.code);
        self.index.append_value(index);
        self.inner_index.append_option(inner);
        self.topic.append_value(m.topic.as_ref());
        self.queue_id.append_option(m.queue_id);
        self.producer_group.append_option(f.group);
        self.keys.append_option(m.keys());
        self.tags.append_option(m.tags());
        self.uniq_key.append_option(m.uniq_key());
        let s = m.stored.as_ref();
        self.offset_msg_id
            .append_option(s.map(|s| s.offset_msg_id()));
        for (k, i) in jsonl::sorted_last_wins(m.properties.iter().map(|(k, _)| k.as_ref())) {
            let v: &str = if !f.show_secrets && protocol::is_secret(k) {
                "<redacted>"
            } else {
                &m.properties[i].1
            };
            self.bytes += k.len() + v.len();
            self.properties.keys().append_value(k);
            self.properties.values().append_value(v);
        }
        let _ = self.properties.append(true);
        self.born_timestamp.append_option(m.born_timestamp);
        self.store_timestamp
            .append_option(s.map(|s| s.store_timestamp));
        self.born_host
            .append_option(s.map(|s| s.born_host.to_string()));
        self.store_host
            .append_option(s.map(|s| s.store_host.to_string()));
        self.queue_offset.append_option(s.map(|s| s.queue_offset));
        self.commit_log_offset
            .append_option(s.map(|s| s.commit_log_offset));
        self.reconsume_times
            .append_option(s.map(|s| s.reconsume_times));
        self.flag.append_value(m.flag);
        self.sys_flag.append_value(m.sys_flag);
        self.compressed.append_value(m.compressed);
        self.body_len.append_value(m.body.len() as i64);
        self.wire_body_len.append_value(m.wire_body_len as i64);
        self.properties_dropped
            .append_value(m.properties_dropped as i64);
        self.error.append_option(m.error.as_deref());
        if f.bodies {
            self.bytes += m.body.len();
            self.body.append_value(&m.body);
        } else {
            self.body.append_null();
        }
        self.bytes += 200;
    }
}

impl Table for Messages {
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
            ("stream", false, a(Arc::new(self.stream.finish()))),
            ("stream_id", false, a(Arc::new(self.stream_id.finish()))),
            ("src", false, a(Arc::new(self.src.finish()))),
            ("dst", false, a(Arc::new(self.dst.finish()))),
            ("kind", false, a(Arc::new(self.kind.finish()))),
            ("code", true, a(Arc::new(self.code.finish()))),
            ("index", false, a(Arc::new(self.index.finish()))),
            ("inner_index", true, a(Arc::new(self.inner_index.finish()))),
            ("topic", false, a(Arc::new(self.topic.finish()))),
            ("queue_id", true, a(Arc::new(self.queue_id.finish()))),
            (
                "producer_group",
                true,
                a(Arc::new(self.producer_group.finish())),
            ),
            ("keys", true, a(Arc::new(self.keys.finish()))),
            ("tags", true, a(Arc::new(self.tags.finish()))),
            ("uniq_key", true, a(Arc::new(self.uniq_key.finish()))),
            (
                "offset_msg_id",
                true,
                a(Arc::new(self.offset_msg_id.finish())),
            ),
            ("properties", false, a(Arc::new(self.properties.finish()))),
            (
                "born_timestamp",
                true,
                a(Arc::new(self.born_timestamp.finish())),
            ),
            (
                "store_timestamp",
                true,
                a(Arc::new(self.store_timestamp.finish())),
            ),
            ("born_host", true, a(Arc::new(self.born_host.finish()))),
            ("store_host", true, a(Arc::new(self.store_host.finish()))),
            (
                "queue_offset",
                true,
                a(Arc::new(self.queue_offset.finish())),
            ),
            (
                "commit_log_offset",
                true,
                a(Arc::new(self.commit_log_offset.finish())),
            ),
            (
                "reconsume_times",
                true,
                a(Arc::new(self.reconsume_times.finish())),
            ),
            ("flag", false, a(Arc::new(self.flag.finish()))),
            ("sys_flag", false, a(Arc::new(self.sys_flag.finish()))),
            ("compressed", false, a(Arc::new(self.compressed.finish()))),
            ("body_len", false, a(Arc::new(self.body_len.finish()))),
            (
                "wire_body_len",
                false,
                a(Arc::new(self.wire_body_len.finish())),
            ),
            (
                "properties_dropped",
                false,
                a(Arc::new(self.properties_dropped.finish())),
            ),
            ("error", true, a(Arc::new(self.error.finish()))),
            ("body", true, a(Arc::new(self.body.finish()))),
        ])
    }
}
