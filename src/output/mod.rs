//! Output sinks: one text line per frame (like tshark), a verbose tree, and JSON Lines
//! (the documented contract in docs/json-lines.md). All are generic over `io::Write`.

use std::fmt::Write as _;
use std::io::{self, Write};

pub mod annotate;
pub mod extcap;
pub mod filter;
#[cfg(test)]
mod json_oracle;
pub mod jsonl;
pub mod report;
pub mod tables;

pub use filter::Filter;

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

/// One tshark-like line.
pub fn frame_line(r: &FrameRecord, d: Option<&Decoded>, opts: &OutputOptions) -> String {
    let mut s = format!(
        "{:>6} {} {} -> {} ",
        r.packet,
        &format_ts(r.ts)[11..26],
        r.src,
        r.dst
    );
    let cmd = match &r.command {
        Ok(c) => c,
        Err(e) => {
            let _ = write!(s, "UNDECODABLE {e}");
            return s;
        }
    };
    let _ = write!(
        s,
        "{} {} opaque={}",
        code_name(cmd),
        cmd.kind().as_str(),
        cmd.opaque
    );
    if let Some(q) = &r.request {
        let _ = write!(s, " req={}@{}", RequestCode(q.code), q.packet);
    }
    if let Some(d) = d {
        if let Some(t) = d.topic() {
            let _ = write!(s, " topic={t}");
        }
        let get = |k: &str| d.field(k).map(|v| v.to_json());
        if let Some(q) = get("queueId") {
            let _ = write!(s, " queueId={q}");
        }
        if cmd.kind() == Kind::Response {
            if let Some(id) = d.field_str("msgId") {
                let _ = write!(s, " msgId={id}");
            }
            if let Some(q) = get("queueOffset") {
                let _ = write!(s, " queueOffset={q}");
            }
            if let Some(q) = get("nextBeginOffset") {
                let _ = write!(s, " nextBeginOffset={q}");
            }
        }
        if d.messages.len() == 1 {
            let m = &d.messages[0];
            if let Some(t) = m.tags() {
                let _ = write!(s, " tags={t}");
            }
            if let Some(k) = m.keys() {
                let _ = write!(s, " keys={k}");
            }
            if let Some(u) = m.uniq_key() {
                let _ = write!(s, " uniqKey={u}");
            }
            let _ = write!(s, " body={}B", m.body.len());
        } else if !d.messages.is_empty() {
            let _ = write!(s, " messages={}", d.messages.len());
        }
        let inner: usize = d.messages.iter().map(|m| m.inner.len()).sum();
        if inner > 0 {
            let _ = write!(s, " inner_messages={inner}");
        }
    }
    if let (Kind::Response, Some(rm)) = (cmd.kind(), &cmd.remark)
        && cmd.code != 0
    {
        let _ = write!(s, " remark={rm:?}");
    }
    if let Some(l) = r.latency_us() {
        let _ = write!(s, " latency={l}us");
    }
    let _ = opts;
    s
}

/// A verbose tree for one frame (the JSON object laid out as indented lines).
pub fn frame_tree(r: &FrameRecord, d: Option<&Decoded>, opts: &OutputOptions) -> String {
    let v = frame_json(r, d, opts);
    let mut s = String::new();
    let _ = writeln!(s, "{}", frame_line(r, d, opts));
    tree(&v, 1, &mut s);
    s
}

fn tree(v: &Value, depth: usize, s: &mut String) {
    let pad = "    ".repeat(depth);
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match x {
                    Value::Object(mm) if !mm.is_empty() => {
                        let _ = writeln!(s, "{pad}{k}:");
                        tree(x, depth + 1, s);
                    }
                    Value::Array(a) if a.iter().any(|e| e.is_object()) => {
                        let _ = writeln!(s, "{pad}{k}: [{}]", a.len());
                        for (i, e) in a.iter().enumerate() {
                            let _ = writeln!(s, "{pad}    [{i}]");
                            tree(e, depth + 2, s);
                        }
                    }
                    _ => {
                        let _ = writeln!(s, "{pad}{k}: {}", scalar(x));
                    }
                }
            }
        }
        other => {
            let _ = writeln!(s, "{pad}{}", scalar(other));
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(t) => {
            if t.chars().any(|c| c.is_control()) {
                format!("{t:?}")
            } else {
                t.clone()
            }
        }
        other => other.to_string(),
    }
}

/// A problem as a text line.
pub fn problem_line(p: &Problem) -> String {
    match p.stream {
        Some(st) => format!(
            "packet {}: {} (stream {st}): {}",
            p.packet,
            p.kind.as_str(),
            p.message
        ),
        None => format!("packet {}: {}: {}", p.packet, p.kind.as_str(), p.message),
    }
}

/// Writes frames in the format `read`, `live` and `proxy` print: JSON Lines (`--json`),
/// the verbose tree (`-V`), or one line per frame.
pub struct FrameWriter {
    json: bool,
    verbose: bool,
    jsonl: jsonl::JsonLines,
}

impl FrameWriter {
    pub fn new(json: bool, verbose: bool) -> Self {
        Self {
            json,
            verbose,
            jsonl: jsonl::JsonLines::new(),
        }
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
            self.jsonl.frame(w, r, d, opts)
        } else if self.verbose {
            w.write_all(frame_tree(r, d, opts).as_bytes())
        } else {
            write_line(w, &frame_line(r, d, opts))
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
