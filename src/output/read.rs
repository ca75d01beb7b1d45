//! `rmqdump read`: every RemotingCommand of a capture printed as a text line, a tree or
//! JSON Lines, the problems found on a diagnostics stream (standard error), located as
//! `<file>: packet N ...`. Also the pieces the other capture-reading commands share: opening
//! a named capture and reporting a capture error.

use std::io::{self, BufWriter, Read, Write};

use serde_json::Value;

use super::{Filter, FrameWriter, OutputOptions};
use crate::analysis::{Event, Options, Totals};
use crate::capture::{self, CaptureError};

/// Opens a capture file (`-`: standard input, gzip recognised); the error names the file.
pub fn open(file: &str) -> io::Result<Box<dyn Read + Send>> {
    capture::open_input(file).map_err(|e| io::Error::new(e.kind(), format!("{file}: {e}")))
}

/// Reports a capture error of `file`: "not a capture" and read errors stop the command (an
/// `Err`, exit 2); a truncated or corrupt file is written to `diag` as a problem found after
/// everything before it was used (`Ok(true)`).
pub fn capture_error(file: &str, e: CaptureError, diag: &mut dyn Write) -> io::Result<bool> {
    match e {
        CaptureError::NotACapture => Err(io::Error::other(format!(
            "{file}: {e}; give a pcap or pcapng file (optionally gzip-compressed), as written by tcpdump -w or Wireshark"
        ))),
        CaptureError::Io(_) => Err(io::Error::other(format!("{file}: {e}"))),
        other => {
            let _ = writeln!(diag, "rmqdump: {file}: {other}");
            Ok(true)
        }
    }
}

/// How `read` prints and what.
pub struct ReadConfig {
    pub opts: Options,
    pub output: OutputOptions,
    pub filter: Filter,
    /// JSON Lines (else text lines, or a tree with `verbose`).
    pub json: bool,
    pub verbose: bool,
}

/// What `read` saw.
#[derive(Debug)]
pub struct ReadOutcome {
    pub totals: Totals,
    /// Frames with problems plus problems outside frames.
    pub problems: u64,
    /// The capture file ends truncated or is corrupt.
    pub capture_damaged: bool,
}

impl ReadOutcome {
    /// Anything wrong (what `read --strict` exits 1 for).
    pub fn bad(&self) -> bool {
        self.capture_damaged || self.problems > 0 || self.totals.undecodable > 0
    }
}

/// `rmqdump read` of the capture named `file` (`-`: standard input): frames to `out`,
/// problem lines to `diag`.
pub fn read<W: Write>(
    file: &str,
    cfg: ReadConfig,
    out: W,
    diag: &mut dyn Write,
) -> io::Result<ReadOutcome> {
    let input = open(file)?;
    let name = if file == "-" { "<stdin>" } else { file };
    let ReadConfig {
        opts,
        output: oo,
        mut filter,
        json,
        verbose,
    } = cfg;
    let mut w = BufWriter::with_capacity(1 << 16, out);
    let mut writer = FrameWriter::new(json, verbose);
    let mut err: Option<io::Error> = None;
    let mut problems = 0u64;
    let (totals, cap_err) = crate::dissect(input, opts, |ev| {
        if err.is_some() {
            return;
        }
        let res = match ev {
            Event::Frame(r) => {
                let d = super::decode_record(&r, &oo);
                let frame_problems = super::frame_problems(&r, d.as_ref());
                if !frame_problems.is_empty() {
                    problems += 1;
                }
                if filter.stream.is_none_or(|s| s == r.stream) {
                    for p in &frame_problems {
                        let _ = writeln!(diag, "{name}: {}", super::problem_line(p));
                    }
                }
                if filter.active() && !filter.matches(&r, d.as_ref()) {
                    return;
                }
                writer.write(&mut w, &r, d.as_ref(), &oo)
            }
            Event::Problem(p) => {
                problems += 1;
                if filter.stream.is_some_and(|s| p.stream != Some(s)) {
                    return;
                }
                let _ = writeln!(diag, "{name}: {}", super::problem_line(&p));
                Ok(())
            }
        };
        if let Err(e) = res {
            err = Some(e);
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    w.flush()?;
    let mut capture_damaged = false;
    if let Some(e) = cap_err {
        capture_damaged |= capture_error(file, e, diag)?;
    }
    if totals.packets == 0 && !capture_damaged {
        let _ = writeln!(diag, "rmqdump: {file}: capture holds no packets");
    }
    Ok(ReadOutcome {
        totals,
        problems,
        capture_damaged,
    })
}

/// Every frame of the capture named `file` as its JSON Lines object, and the problem lines
/// (a truncated or corrupt capture reported to `diag`).
pub fn frames_json(
    file: &str,
    opts: Options,
    diag: &mut dyn Write,
) -> io::Result<(Vec<Value>, Vec<String>)> {
    let input = open(file)?;
    let mut oo = OutputOptions::default();
    oo.decode.limits = opts.limits;
    let mut frames = Vec::new();
    let mut problems = Vec::new();
    let (_, cap_err) = crate::dissect(input, opts, |ev| match ev {
        Event::Frame(r) => {
            let d = super::decode_record(&r, &oo);
            frames.push(super::frame_json(&r, d.as_ref(), &oo));
        }
        Event::Problem(p) => problems.push(super::problem_line(&p)),
    });
    if let Some(e) = cap_err {
        capture_error(file, e, diag)?;
    }
    Ok((frames, problems))
}
