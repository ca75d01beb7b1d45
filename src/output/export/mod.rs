//! `rmqdump export`: captures to columnar files (Parquet or Arrow IPC) that DuckDB, Spark or
//! ClickHouse query. Four tables, `frames`, `messages`, `connections` and `problems`
//! (schema: docs/export.md), each written under `DIR/TABLE/` as one file per capture (per
//! capture and hour with `--partition-by date,hour`, in hive-style folders
//! `date=YYYY-MM-DD/hour=HH`, UTC). Several captures are exported side by side, one per
//! thread; each is one streaming pass of the dissector with bounded memory
//! ([`sink`]: batches and row groups written as they fill; [`connections::ConnMap`]: a
//! connection's row written when it ends, `Options::report_ended`).

pub mod connections;
pub mod sink;
pub mod tables;

use std::cell::Cell;
use std::io;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use connections::{ConnMap, Connections, Problems};
use sink::Sink;
pub use sink::{Format, Part};
use tables::{Frames, Messages, Origin};

use crate::analysis::{Dissector, Event, Options, Problem, ProblemKind};
use crate::capture;
use crate::output::{self, OutputOptions};

/// What `export` does.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    pub format: Format,
    /// Output directory (tables in `DIR/frames`, `DIR/messages`…).
    pub out: PathBuf,
    /// The `capture` column (`--label`): a host name; default the file name.
    pub label: Option<String>,
    /// Partition by UTC date and hour of the capture time.
    pub partition: bool,
    /// Write message bodies (`messages.body`).
    pub bodies: bool,
    /// Captures exported side by side.
    pub threads: usize,
    pub dissect: Options,
    pub output: OutputOptions,
}

/// What one capture gave.
#[derive(Debug, Default)]
pub struct FileSummary {
    pub file: String,
    pub frames: u64,
    pub messages: u64,
    pub connections: u64,
    pub problems: u64,
    /// Files written (path, rows).
    pub files: Vec<(PathBuf, u64)>,
    /// Why the capture could not be read or written (nothing, or not all, exported).
    pub error: Option<String>,
}

impl FileSummary {
    /// `FILE: F frames, M messages, C connections, P problems in N files`, or, for a
    /// capture that could not be exported, the error line `rmqdump: FILE: not exported:
    /// REASON` (prefixed like every error of the command line).
    pub fn line(&self) -> String {
        match &self.error {
            Some(e) => format!("rmqdump: {}: not exported: {e}", self.file),
            None => format!(
                "{}: {} frames, {} messages, {} connections, {} problems in {} files",
                self.file,
                self.frames,
                self.messages,
                self.connections,
                self.problems,
                self.files.len()
            ),
        }
    }
}

/// A file name part from an input name: its last path component, characters other than
/// letters, digits, `.`, `_` and `-` made `_`.
fn sanitize(s: &str) -> String {
    let base = s.rsplit(['/', '\\']).next().unwrap_or(s);
    let base = if base.is_empty() || base == "-" {
        "stdin"
    } else {
        base
    };
    safe_chars(base)
}

/// `s` with characters other than letters, digits, `.`, `_` and `-` made `_`.
fn safe_chars(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Output file stems, one per input: `[LABEL_]BASENAME`, with `~N` added when two inputs
/// of one run have the same name.
fn stems(files: &[String], label: Option<&str>) -> Vec<String> {
    let mut seen: std::collections::HashMap<String, u32> = Default::default();
    files
        .iter()
        .map(|f| {
            let mut s = sanitize(f);
            if let Some(l) = label {
                s = format!("{}_{s}", safe_chars(l));
            }
            let n = seen.entry(s.clone()).or_default();
            *n += 1;
            if *n > 1 { format!("{s}~{n}") } else { s }
        })
        .collect()
}

/// Exports every capture of `files` (one per thread, `opts.threads` at once); the
/// summaries in the order of `files`. `done` is called as each capture is finished.
pub fn export(
    files: &[String],
    opts: &ExportOptions,
    done: impl Fn(&FileSummary) + Sync,
) -> Vec<FileSummary> {
    let stems = stems(files, opts.label.as_deref());
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<FileSummary>>> =
        Mutex::new((0..files.len()).map(|_| None).collect());
    let threads = opts.threads.clamp(1, files.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= files.len() {
                        break;
                    }
                    let sum = export_one(&files[i], &stems[i], opts);
                    done(&sum);
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(sum);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .zip(files)
        .map(|(r, f)| {
            r.unwrap_or_else(|| FileSummary {
                file: f.clone(),
                error: Some("internal error: export thread failed".into()),
                ..Default::default()
            })
        })
        .collect()
}

/// The four tables of one capture and the connections being followed.
struct State {
    origin: Origin,
    frames: Sink<Frames>,
    messages: Sink<Messages>,
    connections: Sink<Connections>,
    problems: Sink<Problems>,
    conns: ConnMap,
    output: OutputOptions,
    bodies: bool,
    /// The first write error: later events are not written.
    error: Option<io::Error>,
    first_ts: Option<i64>,
    /// The capture has been read: the problems still to come (requests pending or
    /// unanswered at the end) may be of connections whose row is written already; they do
    /// not open a new one.
    finishing: bool,
}

impl State {
    fn event(&mut self, ev: Event, ts: i64) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.write_event(ev, ts) {
            self.error = Some(e);
        }
    }

    fn write_event(&mut self, ev: Event, ts: i64) -> io::Result<()> {
        match ev {
            Event::Frame(r) => {
                let d = output::decode_record(&r, &self.output);
                for p in output::frame_problems(&r, d.as_ref()) {
                    self.problem(&p, r.ts)?;
                }
                self.conns.entry(r.stream).or_default().frame(&r);
                let (o, oo) = (&self.origin, &self.output);
                self.frames.push(r.ts, |t| t.push(o, &r, d.as_ref(), oo))?;
                if let Some(d) = d.as_ref().filter(|d| !d.messages.is_empty()) {
                    let (show, bodies) = (self.output.show_secrets, self.bodies);
                    self.messages
                        .push(r.ts, |t| t.push(o, &r, d, show, bodies))?;
                }
                Ok(())
            }
            Event::Problem(p) => self.problem(&p, ts),
        }
    }

    fn problem(&mut self, p: &Problem, ts: i64) -> io::Result<()> {
        if let Some(s) = p.stream {
            if let Some(c) = self.conns.get_mut(&s) {
                c.problem(p, ts);
            } else if !(self.finishing
                && matches!(p.kind, ProblemKind::Pending | ProblemKind::Unanswered))
            {
                self.conns.entry(s).or_default().problem(p, ts);
            }
        }
        let o = &self.origin;
        self.problems.push(ts, |t| t.push(o, p, ts))
    }

    /// Writes the row of a connection that ended.
    fn end(&mut self, stream: u64) {
        if self.error.is_some() {
            return;
        }
        if let Some(c) = self.conns.remove(&stream) {
            let o = &self.origin;
            if let Err(e) = self
                .connections
                .push(c.first_ts(), |t| t.push(o, stream, &c))
            {
                self.error = Some(e);
            }
        }
    }
}

fn export_one(file: &str, stem: &str, opts: &ExportOptions) -> FileSummary {
    let mut sum = FileSummary {
        file: file.to_string(),
        ..Default::default()
    };
    match run(file, stem, opts, &mut sum) {
        Ok(()) => {}
        Err(e) => sum.error = Some(e.to_string()),
    }
    sum
}

fn run(file: &str, stem: &str, opts: &ExportOptions, sum: &mut FileSummary) -> io::Result<()> {
    let input = capture::open_input(file)?;
    let sink_dir = |t: &str| opts.out.join(t);
    let (fmt, part) = (opts.format, opts.partition);
    let mut st = State {
        origin: Origin {
            capture: opts.label.clone().unwrap_or_else(|| file.to_string()),
            file: file.to_string(),
        },
        frames: Sink::new(sink_dir("frames"), stem.to_string(), fmt, part)?,
        messages: Sink::new(sink_dir("messages"), stem.to_string(), fmt, part)?,
        connections: Sink::new(sink_dir("connections"), stem.to_string(), fmt, part)?,
        problems: Sink::new(sink_dir("problems"), stem.to_string(), fmt, part)?,
        conns: ConnMap::new(),
        output: opts.output,
        bodies: opts.bodies,
        error: None,
        first_ts: None,
        finishing: false,
    };
    let mut dopts = opts.dissect;
    dopts.report_ended = true;
    let mut d = Dissector::new(dopts);
    let now = Cell::new(0i64);
    let res = capture::for_each_packet(input, |it| {
        match it {
            capture::Item::Packet(p) => {
                now.set(p.ts);
                st.first_ts.get_or_insert(p.ts);
                d.handle_packet(p.number, p.ts, p.link, p.data, &mut |ev| st.event(ev, p.ts))
            }
            capture::Item::Damage(x) => {
                d.handle_capture_damage(&x, &mut |ev| st.event(ev, now.get()))
            }
        }
        for s in d.take_ended() {
            st.end(s);
        }
    });
    // A damaged or truncated end of the file is a located `capture` problem; a file that
    // is not a capture at all, or cannot be read, an error.
    let fatal = res
        .err()
        .and_then(|e| d.handle_capture_end(e, &mut |ev| st.event(ev, now.get())));
    st.finishing = true;
    d.finish(&mut |ev| st.event(ev, now.get()));
    for s in d.take_ended() {
        st.end(s);
    }
    // Connections still open at the end of the capture, in stream order.
    let mut rest: Vec<u64> = st.conns.keys().copied().collect();
    rest.sort_unstable();
    for s in rest {
        st.end(s);
    }
    if let Some(e) = st.error.take() {
        return Err(e);
    }
    if let Some(e) = fatal {
        return Err(io::Error::other(e.to_string()));
    }
    let ts = st.first_ts.unwrap_or(0);
    let mut files = Vec::new();
    let (f, n) = st.frames.finish(ts)?;
    sum.frames = n;
    files.extend(f);
    let (f, n) = st.messages.finish(ts)?;
    sum.messages = n;
    files.extend(f);
    let (f, n) = st.connections.finish(ts)?;
    sum.connections = n;
    files.extend(f);
    let (f, n) = st.problems.finish(ts)?;
    sum.problems = n;
    files.extend(f);
    sum.files = files;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_unique_and_safe() {
        let files = vec![
            "/a/x.pcap".to_string(),
            "/b/x.pcap".to_string(),
            "-".to_string(),
            "c/we ird?.pcap.gz".to_string(),
        ];
        assert_eq!(
            stems(&files, None),
            vec!["x.pcap", "x.pcap~2", "stdin", "we_ird_.pcap.gz"]
        );
        assert_eq!(stems(&files[..1], Some("host/1")), vec!["host_1_x.pcap"]);
    }

    #[test]
    fn partition_of_a_capture_time() {
        // 2026-11-30T15:59:05Z
        let ts = 1_796_054_345_000_000_000i64;
        let p = Part::of(ts);
        assert_eq!(p.hour, 15);
        assert_eq!(p.dir(), PathBuf::from("date=2026-11-30/hour=15"));
        // Before the epoch: floor, not truncation.
        assert_eq!(Part::of(-1).dir(), PathBuf::from("date=1969-12-31/hour=23"));
    }

    #[test]
    fn stream_ids_name_the_capture() {
        let o = Origin {
            capture: "b1".into(),
            file: "x.pcap".into(),
        };
        assert_eq!(o.stream_id(3), "b1:x.pcap#3");
        let o = Origin {
            capture: "x.pcap".into(),
            file: "x.pcap".into(),
        };
        assert_eq!(o.stream_id(3), "x.pcap#3");
    }
}
