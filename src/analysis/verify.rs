//! `rmqdump verify`: every decoded frame re-encoded and compared with the bytes on the wire,
//! and an account of every RocketMQ byte that could not be checked (skipped, missing, in an
//! undecodable or truncated frame, in an unreadable packet). Bytes a memory limit gives up
//! are among these: the flushed connection's holes and partial frames are reported as gaps
//! and truncated frames.
//!
//! The re-encoding follows the Java writers: `RemotingCommand.encodeHeader` /
//! `RemotingSerializable.encode` (fastjson) for JSON headers and
//! `RocketMQSerializable.rocketMQProtocolEncode` for ROCKETMQ headers, both in
//! `remoting::command`.

use std::io::Read;

use super::dissect::{Event, FrameRecord, Options, Problem, ProblemKind};
use crate::capture::CaptureError;
use crate::remoting::codes::{RequestCode, ResponseCode, SerializeType};
use crate::remoting::command::{HeaderLayout, Kind, encode_frame, encode_frame_head};

/// What `verify` found. [`Summary::clean`] is the exit status: every frame re-encoded
/// byte-exact and every RocketMQ byte checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub frames: u64,
    /// Frames that re-encode to exactly the wire bytes.
    pub identical: u64,
    /// Frames that decode but re-encode differently.
    pub mismatches: u64,
    /// Frames delimited by their length but not (fully) decoded: unknown serialize type,
    /// header length past the frame, a header that does not decode, or extFields cut by
    /// `Limits::max_ext_fields`.
    pub undecodable: u64,
    /// JSON headers, and how many of them are exactly fastjson's canonical form.
    pub json_frames: u64,
    pub canonical: u64,
    /// Frames cut off by the end of the capture or by lost bytes.
    pub truncated: u64,
    /// Stream bytes skipped while resynchronising on RocketMQ connections.
    pub skipped_bytes: u64,
    /// Holes in TCP streams (bytes never captured) and their total size.
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Packets that could not be decoded down to TCP, or were cut by the snap length.
    pub unreadable_packets: u64,
    /// Retransmitted copies whose bytes differed from the copy used (the dropped copy is
    /// not checked).
    pub conflicts: u64,
    /// Damaged stretches of the capture file (skipped, recovered from) and a damaged or
    /// truncated end of the file: each is a `capture` problem.
    pub capture_damage: u64,
    /// Bytes of the capture file skipped as damaged (container damage, recovered from; the
    /// bytes lost to a damaged end cannot be counted).
    pub capture_bytes_skipped: u64,
    pub packets: u64,
    pub streams: u64,
    /// Connections forgotten at the flow limits (`--max-flows`, `--max-half-open-flows`);
    /// what they held is counted above (truncated frames, bytes skipped).
    pub evicted_flows: u64,
    pub evicted_half_open: u64,
}

impl Summary {
    /// Some RocketMQ bytes could not be checked.
    pub fn unchecked(&self) -> bool {
        self.undecodable > 0
            || self.truncated > 0
            || self.skipped_bytes > 0
            || self.gaps > 0
            || self.unreadable_packets > 0
            || self.conflicts > 0
            || self.capture_bytes_skipped > 0
            || self.capture_damage > 0
    }

    /// Every frame byte-exact and nothing left unchecked.
    pub fn clean(&self) -> bool {
        self.mismatches == 0 && !self.unchecked()
    }

    /// The summary line (after the file name).
    pub fn line(&self) -> String {
        format!(
            "{} frames, {} re-encoded byte-exact, {} mismatches, {} undecodable; \
             {} of {} JSON headers are exactly fastjson's canonical form; {} packets, {} TCP streams; \
             not checked: {} truncated frames, {} bytes skipped, {} gaps ({} bytes missing), \
             {} unreadable packets, {} conflicting retransmissions, \
             {} damaged capture file stretches ({} bytes skipped)",
            self.frames,
            self.identical,
            self.mismatches,
            self.undecodable,
            self.canonical,
            self.json_frames,
            self.packets,
            self.streams,
            self.truncated,
            self.skipped_bytes,
            self.gaps,
            self.gap_bytes,
            self.unreadable_packets,
            self.conflicts,
            self.capture_damage,
            self.capture_bytes_skipped,
        ) + &self.evictions_note()
    }

    /// `; N connections evicted at the flow limits (…)`, or nothing when none were.
    fn evictions_note(&self) -> String {
        if self.evicted_flows + self.evicted_half_open == 0 {
            return String::new();
        }
        format!(
            "; {} connections evicted at the flow limits ({} over --max-flows, {} handshake-only over --max-half-open-flows)",
            self.evicted_flows + self.evicted_half_open,
            self.evicted_flows,
            self.evicted_half_open
        )
    }
}

/// The verdict on one frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Re-encodes to the wire bytes. `canonical`: for a JSON header, whether it is exactly
    /// fastjson's canonical form (None for ROCKETMQ headers).
    Identical { canonical: Option<bool> },
    /// Re-encodes differently; the line says where.
    Mismatch {
        canonical: Option<bool>,
        line: String,
    },
    /// Not decoded (or not fully): nothing to compare.
    Undecodable { line: String },
}

/// Re-encodes one frame (recorded with `Options::keep_wire`) and compares it with the wire.
pub fn check_frame(r: &FrameRecord) -> Verdict {
    check_frame_in(r, &mut Vec::new())
}

/// [`check_frame`] encoding into `buf` (a buffer reused from frame to frame): the header is
/// encoded and compared with the wire, the body compared where it lies; the whole frame
/// is encoded only to describe a mismatch.
pub fn check_frame_in(r: &FrameRecord, buf: &mut Vec<u8>) -> Verdict {
    let wire = r.wire.as_deref().unwrap_or(&[]);
    let cmd = match &r.command {
        Err(e) => {
            return Verdict::Undecodable {
                line: format!(
                    "packet {}: undecodable frame ({} bytes): {e}",
                    r.packet,
                    wire.len()
                ),
            };
        }
        Ok(cmd) => cmd,
    };
    if cmd.ext_fields_dropped > 0 {
        return Verdict::Undecodable {
            line: format!(
                "packet {}: frame ({} bytes) not fully decoded: {} extFields entries dropped by the limit",
                r.packet,
                wire.len(),
                cmd.ext_fields_dropped
            ),
        };
    }
    // Whether the frame encodes (in fastjson's form, or from its layout) to the wire bytes.
    let mut encodes_to_wire = |canonical: bool| {
        buf.clear();
        encode_frame_head(cmd, canonical, buf);
        wire.len() == buf.len() + cmd.body.len()
            && wire[..buf.len()] == buf[..]
            && wire[buf.len()..] == cmd.body[..]
    };
    let same = encodes_to_wire(false);
    // A JSON header with no recorded layout is written in fastjson's form either way.
    let canonical = (cmd.serialize == SerializeType::Json).then(|| {
        if matches!(cmd.layout, HeaderLayout::Json(_)) {
            encodes_to_wire(true)
        } else {
            same
        }
    });
    if same {
        return Verdict::Identical { canonical };
    }
    let again = encode_frame(cmd);
    let at = again
        .iter()
        .zip(wire)
        .position(|(x, y)| x != y)
        .unwrap_or(again.len().min(wire.len()));
    let show = |b: &[u8]| {
        let end = (at + 16).min(b.len());
        b[at.min(end)..end]
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let name = match cmd.kind() {
        Kind::Response => ResponseCode(cmd.code).to_string(),
        _ => RequestCode(cmd.code).to_string(),
    };
    let why = match &cmd.layout {
        HeaderLayout::Json(l) if l.irregular => {
            " (the JSON header has whitespace or extra commas between tokens, which are not kept)"
        }
        _ => "",
    };
    Verdict::Mismatch {
        canonical,
        line: format!(
            "packet {}: {name} re-encodes differently at frame byte {at}{why} (wire {} bytes, encoded {}): wire [{}] encoded [{}]",
            r.packet,
            wire.len(),
            again.len(),
            show(wire),
            show(&again)
        ),
    }
}

/// A problem that leaves RocketMQ bytes unchecked, as a report line; None for the others
/// (unanswered requests, non-RocketMQ connections, limits, whose lost bytes come as gaps
/// and truncations, and undecodable frames, which the frame's own verdict reports).
fn problem_line(p: &Problem) -> Option<String> {
    match p.kind {
        ProblemKind::Gap
        | ProblemKind::Truncated
        | ProblemKind::Packet
        | ProblemKind::Conflict
        | ProblemKind::Capture => {}
        ProblemKind::Frame if !p.message.starts_with("undecodable frame") => {}
        _ => return None,
    }
    Some(match p.stream {
        Some(s) => format!(
            "packet {}: {} (stream {s}): {}",
            p.packet,
            p.kind.as_str(),
            p.message
        ),
        None => format!("packet {}: {}: {}", p.packet, p.kind.as_str(), p.message),
    })
}

/// Verifies a capture: calls `line` with one line per mismatch, undecodable frame and
/// unchecked stretch (in the order found: a hole is declared when data past it is
/// acknowledged or the stream is flushed), and returns the summary and the capture error
/// that ended reading, if any (`opts.keep_wire` is set here).
pub fn verify<R: Read + Send>(
    input: R,
    opts: Options,
    mut line: impl FnMut(&str),
) -> (Summary, Option<CaptureError>) {
    let (s, mut errors) = verify_files(vec![input], opts, |_, l| line(l));
    (s, errors.pop().map(|(_, e)| e))
}

/// [`verify`] of several captures merged by packet time into one result
/// ([`crate::dissect_files`]: packets numbered over the merged input, streams over all
/// files): `line` gets each line with the index of the file it is about; the capture
/// errors come with theirs.
pub fn verify_files<R: Read + Send>(
    inputs: Vec<R>,
    mut opts: Options,
    mut line: impl FnMut(usize, &str),
) -> (Summary, Vec<(usize, CaptureError)>) {
    opts.keep_wire = true;
    let mut s = Summary::default();
    let mut buf = Vec::new();
    let (totals, err) = crate::dissect_files(inputs, opts, |file, ev| match ev {
        Event::Frame(r) => {
            s.frames += 1;
            let (canonical, text) = match check_frame_in(&r, &mut buf) {
                Verdict::Identical { canonical } => {
                    s.identical += 1;
                    (canonical, None)
                }
                Verdict::Mismatch { canonical, line } => {
                    s.mismatches += 1;
                    (canonical, Some(line))
                }
                Verdict::Undecodable { line } => {
                    s.undecodable += 1;
                    (None, Some(line))
                }
            };
            if let Some(c) = canonical {
                s.json_frames += 1;
                s.canonical += c as u64;
            }
            if let Some(t) = text {
                line(file, &t);
            }
        }
        Event::Problem(p) => {
            match p.kind {
                ProblemKind::Truncated => s.truncated += 1,
                ProblemKind::Packet => s.unreadable_packets += 1,
                ProblemKind::Conflict => s.conflicts += 1,
                _ => {}
            }
            if let Some(t) = problem_line(&p) {
                line(file, &t);
            }
        }
    });
    s.skipped_bytes = totals.skipped_bytes;
    s.gaps = totals.gaps;
    s.gap_bytes = totals.gap_bytes;
    s.capture_bytes_skipped = totals.capture_bytes_skipped;
    s.capture_damage = totals.capture_damage;
    s.packets = totals.packets;
    s.streams = totals.streams;
    s.evicted_flows = totals.evicted_flows;
    s.evicted_half_open = totals.evicted_half_open;
    (s, err)
}

/// `rmqdump verify` of the capture named `file`: the findings and the summary line to
/// `out` (each prefixed with the file name, as `read`'s problem lines are), then, with a
/// manifest, every disagreement with it ([`super::manifest::check`]). Returns whether all
/// is well (the exit status): byte-exact, every byte checked, the manifest agreed with.
pub fn run<W: std::io::Write>(
    files: &[String],
    opts: Options,
    manifest: Option<&str>,
    out: W,
    diag: &mut dyn std::io::Write,
) -> std::io::Result<bool> {
    use crate::output::{self, read};
    use std::io::{self, Write};
    read::refuse_stdin_twice(files)?;
    if manifest.is_some() && files.iter().any(|f| f == "-") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--manifest reads the capture twice: give a file, not standard input",
        ));
    }
    let [file] = files else {
        if manifest.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "--manifest checks one capture: give one file with it",
            ));
        }
        return run_files(files, opts, out, diag);
    };
    let mut w = io::BufWriter::new(out);
    let input = read::open(file)?;
    let mut err = None;
    let (summary, cap_err) = verify(
        input,
        Options {
            keep_wire: true,
            ..opts
        },
        |l| {
            if err.is_none()
                && let Err(e) = output::write_line(&mut w, &format!("{file}: {l}"))
            {
                err = Some(e);
            }
        },
    );
    if let Some(e) = err {
        return Err(e);
    }
    let mut bad = false;
    if let Some(e) = cap_err {
        bad |= read::capture_error(file, e, diag)?;
    }
    writeln!(w, "{file}: {}", summary.line())?;
    let mut ok = !bad && summary.clean();
    if let Some(m) = manifest {
        let text = std::fs::read_to_string(m)
            .map_err(|e| io::Error::new(e.kind(), format!("{m}: {e}")))?;
        let manifest: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            io::Error::other(format!(
                "{m}: not JSON: {e}; give the file written by `rmqdump produce --manifest` or a rocketmq-capture-manifest/1 file"
            ))
        })?;
        let (frames, _) = read::frames_json(
            file,
            Options {
                keep_wire: false,
                ..opts
            },
            diag,
        )?;
        let problems = super::manifest::check(&manifest, &frames);
        let n = manifest["messages"].as_array().map_or(0, |a| a.len());
        for p in &problems {
            writeln!(w, "{p}")?;
        }
        writeln!(
            w,
            "{file}: manifest {m}: {n} messages, {} disagreements",
            problems.len()
        )?;
        ok &= problems.is_empty();
    }
    w.flush()?;
    Ok(ok)
}

/// `rmqdump verify` of several captures merged by packet time: each finding prefixed by
/// the file it is about (packet numbers count over the merged input, as `read`'s), then
/// one summary line for all, prefixed by the files joined with ` + `.
fn run_files<W: std::io::Write>(
    files: &[String],
    opts: Options,
    out: W,
    diag: &mut dyn std::io::Write,
) -> std::io::Result<bool> {
    use crate::output::{self, read};
    use std::io::{self, Write};
    let mut w = io::BufWriter::new(out);
    let inputs = files
        .iter()
        .map(|f| read::open(f))
        .collect::<io::Result<Vec<_>>>()?;
    let mut err = None;
    let (summary, cap_errs) = verify_files(inputs, opts, |file, l| {
        if err.is_none()
            && let Err(e) = output::write_line(&mut w, &format!("{}: {l}", files[file]))
        {
            err = Some(e);
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    let mut bad = false;
    for (f, e) in cap_errs {
        bad |= read::capture_error(&files[f], e, diag)?;
    }
    writeln!(w, "{}: {}", files.join(" + "), summary.line())?;
    w.flush()?;
    Ok(!bad && summary.clean())
}
