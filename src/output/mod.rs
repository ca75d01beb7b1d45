//! Output sinks: one text line per frame (like tshark), a verbose tree, and JSON Lines
//! (the documented contract in docs/json-lines.md). All are generic over `io::Write`.

use std::io::{self, Write};

pub mod annotate;
pub mod consumer_tables;
pub mod display_filter;
pub mod export;
pub mod extcap;
pub mod filter;
pub mod follow;
#[cfg(test)]
mod json_oracle;
pub mod jsonl;
pub mod pcap_writer;
pub mod pipe;
pub mod read;
pub mod report;
pub mod stats_cmd;
mod table_blocks;
pub mod tables;
pub mod text;
pub mod time;
pub mod tree;

pub use filter::Filter;
pub use text::{frame_line, problem_line};
pub use time::{Clock, TimeFormat};
pub use tree::frame_tree;

use serde_json::{Value, json};

use crate::analysis::{FrameRecord, Problem};
use crate::protocol::message::Message;
use crate::protocol::{self, DecodeOptions, Decoded};
use crate::remoting::codes::{RequestCode, ResponseCode};
use crate::remoting::command::{Kind, RemotingCommand};

/// Output settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct OutputOptions {
    pub show_secrets: bool,
    pub decode: DecodeOptions,
    /// How text lines and the tree show capture times (`--time`).
    pub clock: Clock,
}

/// RFC 3339 UTC with microseconds (nanoseconds when the capture has them).
pub fn format_ts(ts: i64) -> String {
    let mut b = Vec::with_capacity(30);
    write_ts(&mut b, ts);
    String::from_utf8(b).unwrap_or_default()
}

/// [`format_ts`] written into a buffer.
pub fn write_ts(out: &mut Vec<u8>, ts: i64) {
    use std::io::Write as _;
    let secs = ts.div_euclid(1_000_000_000);
    let nanos = ts.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    if (0..=9999).contains(&y) {
        // Fixed-width digits without the formatting machinery (every capture's case).
        let digits = |out: &mut Vec<u8>, n: i64, width: usize| {
            let mut b = [b'0'; 9];
            let mut n = n;
            for i in (0..width).rev() {
                b[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
            out.extend_from_slice(&b[..width]);
        };
        digits(out, y, 4);
        out.push(b'-');
        digits(out, m, 2);
        out.push(b'-');
        digits(out, d, 2);
        out.push(b'T');
        digits(out, sod / 3600, 2);
        out.push(b':');
        digits(out, sod % 3600 / 60, 2);
        out.push(b':');
        digits(out, sod % 60, 2);
        out.push(b'.');
        if nanos % 1000 == 0 {
            digits(out, nanos / 1000, 6);
        } else {
            digits(out, nanos, 9);
        }
        out.push(b'Z');
        return;
    }
    // Writing into a Vec cannot fail.
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    let _ = if nanos % 1000 == 0 {
        write!(out, "{:06}Z", nanos / 1000)
    } else {
        write!(out, "{nanos:09}Z")
    };
}

/// The name shown for a command: request code name for requests, response code name for
/// responses.
pub fn code_name(cmd: &RemotingCommand) -> String {
    code_display(cmd).to_string()
}

/// [`code_name`] without building a String.
pub fn code_display(cmd: &RemotingCommand) -> impl std::fmt::Display + use<> {
    enum Name {
        Request(RequestCode),
        Response(ResponseCode),
    }
    impl std::fmt::Display for Name {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Name::Request(c) => c.fmt(f),
                Name::Response(c) => c.fmt(f),
            }
        }
    }
    match cmd.kind() {
        Kind::Response => Name::Response(ResponseCode(cmd.code)),
        _ => Name::Request(RequestCode(cmd.code)),
    }
}

/// A message as a JSON object (schema in docs/json-lines.md), its body cut at
/// `max_body_print` bytes (then `body_truncated` is true): [`jsonl::write_message`]'s output
/// read back.
pub fn message_json(m: &Message, show_secrets: bool, max_body_print: usize) -> Value {
    let mut buf = Vec::new();
    jsonl::write_message(&mut buf, m, show_secrets, max_body_print);
    parse_own(&buf)
}

/// Decodes a record's command with its request's code.
pub fn decode_record<'a>(r: &'a FrameRecord, opts: &OutputOptions) -> Option<Decoded<'a>> {
    let cmd = r.command.as_ref().ok()?;
    Some(protocol::decode(
        cmd,
        r.request.as_ref().map(|q| q.code),
        &opts.decode,
    ))
}

/// The JSON Lines object for one frame as a `serde_json::Value` (for `check`, `diff`, the
/// manifest check and the `-V` tree): [`jsonl::write_frame`]'s output read back, so there is
/// one definition of the object. `read --json` and `live --json` write it directly
/// ([`jsonl::JsonLines`]).
pub fn frame_json(r: &FrameRecord, d: Option<&Decoded>, opts: &OutputOptions) -> Value {
    let mut buf = Vec::new();
    jsonl::write_frame(&mut buf, r, d, opts);
    parse_own(&buf)
}

/// The JSON Lines object for a problem.
pub fn problem_json(p: &Problem) -> Value {
    let mut buf = Vec::new();
    jsonl::write_problem(&mut buf, p);
    parse_own(&buf)
}

/// Reads back what [`jsonl`] wrote (numbers keep their digits: `arbitrary_precision`).
fn parse_own(buf: &[u8]) -> Value {
    serde_json::from_slice(buf).unwrap_or_else(|e| {
        // Not reached: the writer emits valid JSON (tested against serde_json). Said, not
        // dropped, if it ever does not.
        debug_assert!(false, "JSON writer output does not parse: {e}");
        json!({"errors": [format!("internal error: JSON writer output does not parse: {e}")]})
    })
}

/// The located problems of one decoded frame, for stderr: what its body decoding could not
/// decode (kind `frame`) and the one limit problem of the frame (kind `limit`).
pub fn frame_problems(r: &FrameRecord, d: Option<&Decoded>) -> Vec<Problem> {
    let Some(d) = d else { return Vec::new() };
    let at = |kind, message: String| Problem {
        packet: r.packet,
        stream: Some(r.stream),
        kind,
        message,
    };
    let mut v: Vec<Problem> = d
        .errors
        .iter()
        .map(|e| {
            at(
                crate::analysis::ProblemKind::Frame,
                format!("decoding: {e}"),
            )
        })
        .collect();
    if let Some(l) = &d.limit {
        v.push(at(crate::analysis::ProblemKind::Limit, l.clone()));
    }
    v
}

/// Writes frames in the format `read`, `live` and `proxy` print: JSON Lines (`--json`),
/// the verbose tree (`-V`), or one line per frame.
pub struct FrameWriter {
    json: bool,
    verbose: bool,
    jsonl: jsonl::JsonLines,
    /// UNIQ_KEYs of send requests by (stream, opaque) until their response, for the
    /// response's `msgId=` (the response carries only the offsetMsgId). Bounded: the
    /// oldest unanswered sends are forgotten first.
    sends: hashlink::LruCache<(u64, i32), String>,
}

/// Send requests remembered for their responses' msgId.
const MAX_PENDING_SENDS: usize = 16_384;

impl FrameWriter {
    pub fn new(json: bool, verbose: bool) -> Self {
        Self {
            json,
            verbose,
            jsonl: jsonl::JsonLines::new(),
            sends: hashlink::LruCache::new(MAX_PENDING_SENDS),
        }
    }

    /// Notes what a frame that is not written (filtered out) tells later lines: a send
    /// request's UNIQ_KEY for its response. [`FrameWriter::write`] notes too.
    pub fn note(&mut self, r: &FrameRecord, d: Option<&Decoded>) -> Option<String> {
        if self.json {
            return None;
        }
        let cmd = r.command.as_ref().ok()?;
        if cmd.kind() == Kind::Response {
            return self.sends.remove(&(r.stream, cmd.opaque));
        }
        if let Some(u) = text::send_uniq_key(r, d) {
            self.sends.insert((r.stream, cmd.opaque), u);
        }
        None
    }

    /// Writes one frame (with its newline).
    pub fn write<W: Write>(
        &mut self,
        w: &mut W,
        r: &FrameRecord,
        d: Option<&Decoded>,
        opts: &OutputOptions,
    ) -> io::Result<()> {
        if self.json {
            return self.jsonl.frame(w, r, d, opts);
        }
        let uniq = self.note(r, d);
        if self.verbose {
            w.write_all(frame_tree(r, d, opts, uniq.as_deref()).as_bytes())?;
            w.write_all(b"\n")
        } else {
            write_line(w, &frame_line(r, d, opts, uniq.as_deref()))
        }
    }
}

/// Writes a line, mapping broken pipes to a distinct error kind the CLI exits quietly on.
pub fn write_line<W: Write>(w: &mut W, line: &str) -> io::Result<()> {
    w.write_all(line.as_bytes())?;
    w.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(format_ts(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            format_ts(1_624_246_456_683_000_000),
            "2021-06-21T03:34:16.683000Z"
        );
        assert_eq!(
            format_ts(951_782_400_000_000_001),
            "2000-02-29T00:00:00.000000001Z"
        );
    }
}
