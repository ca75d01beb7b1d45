//! `rmqdump read`: every RemotingCommand of a capture printed as a text line, a tree or
//! JSON Lines, the problems found on a diagnostics stream (standard error), located as
//! `<file>: packet N ...`. Also the pieces the other capture-reading commands share: opening
//! a named capture and reporting a capture error.

use std::io::{self, BufWriter, Read, Write};

use serde_json::Value;

use super::display_filter::DisplayFilter;
use super::{Filter, OutputOptions};
use crate::analysis::{Event, Options};
use crate::capture::{self, CaptureError};

/// Opens a capture file (`-`: standard input, gzip recognised); the error names the file.
pub fn open(file: &str) -> io::Result<Box<dyn Read + Send>> {
    capture::open_input(file).map_err(|e| io::Error::new(e.kind(), format!("{file}: {e}")))
}

/// Refuses an output file that is one of the inputs (the same file, by device and inode,
/// whatever the path says): writing it would destroy the capture being read.
pub fn refuse_overwrite(out: &str, inputs: &[&str]) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Ok(o) = std::fs::metadata(out) else {
        return Ok(());
    };
    for i in inputs.iter().filter(|i| **i != "-") {
        if let Ok(m) = std::fs::metadata(i)
            && m.dev() == o.dev()
            && m.ino() == o.ino()
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{out}: is also the input {i}: give another output file"),
            ));
        }
    }
    Ok(())
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
        e if e.damaged_end().is_none() => Err(io::Error::other(format!(
            "{file}: not a capture: {e}; give a pcap or pcapng file (optionally gzip-compressed)"
        ))),
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
    /// More capture files, merged with the first by packet time (docs/follow.md).
    pub more: Vec<String>,
    /// `-Y`: the display filter (docs/display-filter.md).
    pub display: Option<DisplayFilter>,
    /// `-c`: stop after this many selected frames.
    pub count: Option<u64>,
    /// `-w`: write the packets of the selected frames to this pcap file.
    pub write: Option<String>,
}

impl ReadConfig {
    /// Printing every frame of the capture (no filter, no other file).
    pub fn new(
        opts: Options,
        output: OutputOptions,
        filter: Filter,
        json: bool,
        verbose: bool,
    ) -> Self {
        Self {
            opts,
            output,
            filter,
            json,
            verbose,
            more: Vec::new(),
            display: None,
            count: None,
            write: None,
        }
    }
}

/// What `read` saw.
#[derive(Debug)]
pub struct ReadOutcome {
    pub packets: u64,
    pub undecodable: u64,
    /// Frames with problems plus problems outside frames (printed or not).
    pub problems: u64,
    /// Frames selected and printed.
    pub selected: u64,
    /// A capture file ends truncated or is corrupt.
    pub capture_damaged: bool,
}

impl ReadOutcome {
    /// Anything wrong (what `read --strict` exits 1 for).
    pub fn bad(&self) -> bool {
        self.capture_damaged || self.problems > 0 || self.undecodable > 0
    }
}

/// `-w -`: standard output is where `read` and `live` print the frames, so the pcap cannot
/// go there too (tshark's `-w -` prints nothing else); refused rather than writing a file
/// named `-`.
pub fn refuse_write_to_stdout(write: Option<&str>) -> io::Result<()> {
    if write == Some("-") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "-w -: standard output carries the frames printed; give a file name",
        ));
    }
    Ok(())
}

/// Every command that takes several captures: standard input (`-`) can be read once, so
/// given twice it is a usage error (exit 2), before anything is read.
pub fn refuse_stdin_twice(files: &[String]) -> io::Result<()> {
    if files.iter().filter(|x| *x == "-").count() > 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "standard input (-) given more than once: it can be read only once",
        ));
    }
    Ok(())
}

/// `rmqdump read` of the capture named `file` (`-`: standard input) and of `cfg.more`,
/// merged by time: frames to `out`, problem lines to `diag`; with `cfg.write`, the packets
/// of the selected frames written to that pcap (the files read a second time).
pub fn read<W: Write>(
    file: &str,
    cfg: ReadConfig,
    out: W,
    diag: &mut dyn Write,
) -> io::Result<ReadOutcome> {
    let files: Vec<String> = std::iter::once(file.to_string())
        .chain(cfg.more.iter().cloned())
        .collect();
    refuse_stdin_twice(&files)?;
    refuse_write_to_stdout(cfg.write.as_deref())?;
    if cfg.write.is_some() && files.iter().any(|x| x == "-") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "-w reads the captures twice: give files, not standard input",
        ));
    }
    let names: Vec<String> = files
        .iter()
        .map(|x| {
            if x == "-" {
                "<stdin>".into()
            } else {
                x.clone()
            }
        })
        .collect();
    // The -w file is created before anything is read: a path that cannot be written is an
    // error at once, not after the whole capture was printed.
    let pcap_out = match &cfg.write {
        Some(path) => {
            let inputs: Vec<&str> = files.iter().map(String::as_str).collect();
            refuse_overwrite(path, &inputs)?;
            Some(
                std::fs::File::create(path)
                    .map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?,
            )
        }
        None => None,
    };
    let inputs = files
        .iter()
        .map(|x| open(x))
        .collect::<io::Result<Vec<_>>>()?;
    let write = cfg.write.clone();
    let fcfg = super::follow::ReadConfig {
        filter: cfg.filter,
        display: cfg.display,
        count: cfg.count,
        json: cfg.json,
        verbose: cfg.verbose,
        output: cfg.output,
        dissect: cfg.opts,
        collect_packets: write.is_some(),
    };
    let mut w = BufWriter::with_capacity(1 << 16, out);
    let res = {
        let mut d: &mut dyn Write = &mut *diag;
        super::follow::read(inputs, &names, fcfg, &mut w, &mut d)?
    };
    w.flush()?;
    let mut capture_damaged = false;
    for (i, err) in res.capture_errors {
        capture_damaged |= capture_error(&files[i], err, diag)?;
    }
    if res.packets == 0 && !capture_damaged {
        let _ = writeln!(
            diag,
            "rmqdump: {}: capture holds no packets",
            files.join(", ")
        );
    }
    if let (Some(path), Some(f)) = (&write, pcap_out) {
        let inputs = files
            .iter()
            .map(|x| open(x))
            .collect::<io::Result<Vec<_>>>()?;
        let written = super::pcap_writer::write_packets(inputs, res.ranges, BufWriter::new(f))?;
        for (n, why) in &written.skipped {
            let _ = writeln!(diag, "rmqdump: {path}: packet {n} not written: {why}");
        }
    }
    Ok(ReadOutcome {
        packets: res.packets,
        undecodable: res.undecodable,
        problems: res.problems,
        selected: res.selected,
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
