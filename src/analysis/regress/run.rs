//! `rmqdump check` and `rmqdump diff` over captures: the capture is dissected and each
//! frame turned into its `read --json` object as it comes, the golden file read line by
//! line, and the report written as differences settle. Memory does not grow with the
//! capture (see [`super::Checker`] and [`super::ShapeBuilder`]).

use std::io::{self, BufRead, Read, Write};

use serde_json::Value;

use super::{Checker, FieldDiff, Ignore, Shape, ShapeBuilder, diff_shapes};
use crate::analysis::{Event, Options};
use crate::capture::CaptureError;
use crate::output::{self, OutputOptions};

/// What to do with a capture error (truncated, corrupt, not a capture) of the named
/// capture: `Ok(_)` goes on (everything before it was used), an error stops the command.
pub type OnCaptureError<'a> = &'a mut dyn FnMut(&str, CaptureError) -> io::Result<bool>;

/// Calls `f` with the `read --json` object of every frame of the capture.
fn frames<R: Read + Send>(
    capture: R,
    opts: Options,
    mut f: impl FnMut(Value),
) -> Option<CaptureError> {
    let oo = OutputOptions::default();
    let (_, err) = crate::dissect(capture, opts, |ev| {
        if let Event::Frame(r) = ev {
            let d = output::decode_record(&r, &oo);
            f(output::frame_json(&r, d.as_ref(), &oo));
        }
    });
    err
}

/// The frames of a golden JSON Lines file, one line at a time (blank lines skipped). A
/// line that is JSON but not a frame object (`[1,2]`, `{"a":1}`, a `stats --json` object)
/// is an error naming the line (exit 2), not a source of differences: the file is not a
/// golden file.
pub fn golden_lines<G: BufRead>(golden: G, name: &str) -> impl Iterator<Item = io::Result<Value>> {
    golden
        .lines()
        .enumerate()
        .filter(|(_, l)| l.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map(move |(i, l)| {
            let l = l.map_err(|e| io::Error::new(e.kind(), format!("{name}: {e}")))?;
            let bad = |why: String| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{name}: line {}: {why}; a golden file holds `rmqdump read --json` frames, as written by `check --bless`",
                        i + 1
                    ),
                )
            };
            let v: Value = serde_json::from_str(&l).map_err(|e| bad(format!("not JSON: {e}")))?;
            match not_a_frame(&v) {
                Some(why) => Err(bad(why)),
                None => Ok(v),
            }
        })
}

/// Why `v` is not a frame object of `read --json` (docs/json-lines.md): every frame has
/// `packet`, `stream` and `frame_len` numbers and a `kind` (null when undecodable).
fn not_a_frame(v: &Value) -> Option<String> {
    let Some(o) = v.as_object() else {
        let what = match v {
            Value::Array(_) => "an array",
            Value::String(_) => "a string",
            Value::Number(_) => "a number",
            Value::Bool(_) => "a boolean",
            _ => "null",
        };
        return Some(format!("{what}, not a frame object"));
    };
    let missing: Vec<&str> = ["packet", "stream", "frame_len"]
        .into_iter()
        .filter(|k| !o.get(*k).is_some_and(Value::is_u64))
        .chain(["kind"].into_iter().filter(|k| !o.contains_key(*k)))
        .collect();
    (!missing.is_empty()).then(|| format!("not a frame object (no {})", missing.join(", ")))
}

/// `rmqdump check --bless`: writes the capture's JSON Lines to `golden`; returns the number
/// of frames.
pub fn bless<R: Read + Send, W: Write>(
    capture: (&str, R),
    opts: Options,
    golden: W,
    on_capture_error: OnCaptureError<'_>,
) -> io::Result<u64> {
    let mut w = io::BufWriter::new(golden);
    let mut n = 0u64;
    let mut err = None;
    let cap_err = frames(capture.1, opts, |v| {
        if err.is_none() {
            n += 1;
            let r = serde_json::to_writer(&mut w, &v)
                .map_err(io::Error::from)
                .and_then(|_| w.write_all(b"\n"));
            err = r.err();
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    if let Some(e) = cap_err {
        on_capture_error(capture.0, e)?;
    }
    w.flush()?;
    Ok(n)
}

/// A value for a report line, cut at 200 bytes.
fn show(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".to_string(),
        Some(x) => {
            let t = x.to_string();
            if t.len() > 200 {
                format!("{}…", &t[..t.floor_char_boundary(200)])
            } else {
                t
            }
        }
    }
}

/// One report line of `check`.
pub fn diff_line(d: &FieldDiff) -> String {
    let pk = |p: Option<u64>| p.map(|x| x.to_string()).unwrap_or_else(|| "-".into());
    format!(
        "frame {} (golden packet {}, capture packet {}): {}: expected {}, actual {}",
        d.index + 1,
        pk(d.expected_packet),
        pk(d.actual_packet),
        d.path,
        show(&d.expected),
        show(&d.actual)
    )
}

/// `rmqdump check`: compares the capture with the golden file, writing one line per
/// difference and a summary to `w`. Returns the number of differences.
pub fn check<R: Read + Send, G: BufRead, W: Write>(
    capture: (&str, R),
    opts: Options,
    golden: (&str, G),
    ignore: Ignore,
    w: &mut W,
    on_capture_error: OnCaptureError<'_>,
) -> io::Result<usize> {
    let (file, capture) = capture;
    let mut c = Checker::new(ignore, golden_lines(golden.1, golden.0));
    let mut err: Option<io::Error> = None;
    let emit = |d: FieldDiff, err: &mut Option<io::Error>, w: &mut W| {
        if err.is_none()
            && let Err(e) = writeln!(w, "{}", diff_line(&d))
        {
            *err = Some(e);
        }
    };
    let cap_err = frames(capture, opts, |v| {
        if err.is_none()
            && let Err(e) = c.push_actual(v, &mut |d| emit(d, &mut err, w))
        {
            err = Some(e);
        }
    });
    if let Some(e) = err.take() {
        return Err(e);
    }
    if let Some(e) = cap_err {
        on_capture_error(file, e)?;
    }
    c.finish(&mut |d| emit(d, &mut err, w))?;
    if let Some(e) = err {
        return Err(e);
    }
    writeln!(
        w,
        "{file}: {} frames vs {} golden frames, {} differences",
        c.actual_frames, c.golden_frames, c.differences
    )?;
    Ok(c.differences)
}

/// The shape of a capture and its number of frames.
pub fn shape_of<R: Read + Send>(
    capture: (&str, R),
    opts: Options,
    on_capture_error: OnCaptureError<'_>,
) -> io::Result<(Shape, u64)> {
    let mut b = ShapeBuilder::default();
    let cap_err = frames(capture.1, opts, |v| b.push(&v));
    if let Some(e) = cap_err {
        on_capture_error(capture.0, e)?;
    }
    let n = b.frames;
    Ok((b.finish(), n))
}

/// `rmqdump diff`: the shapes of two captures compared, one line per difference and a
/// summary to `w`. Returns the number of differences.
pub fn diff<R: Read + Send, S: Read + Send, W: Write>(
    a: (&str, R),
    b: (&str, S),
    opts: Options,
    w: &mut W,
    on_capture_error: OnCaptureError<'_>,
) -> io::Result<usize> {
    let (sa, fa) = shape_of((a.0, a.1), opts, &mut *on_capture_error)?;
    let (sb, fb) = shape_of((b.0, b.1), opts, on_capture_error)?;
    let lines = diff_shapes(&sa, &sb);
    for l in &lines {
        writeln!(w, "{l}")?;
    }
    writeln!(
        w,
        "A={} ({fa} frames) B={} ({fb} frames): {} differences",
        a.0,
        b.0,
        lines.len()
    )?;
    Ok(lines.len())
}
