//! `rmqdump report`: one self-contained HTML file (inline CSS and SVG, no script, nothing
//! fetched) showing a capture's statistics with plots.
//!
//! The figures come from the same one-pass analysis as `stats` ([`crate::stats_pass_observed`],
//! same memory bound): the page is rendered from the `stats --json` document
//! ([`Stats::to_json`], schema docs/stats.md) and from [`Series`], what the plots need per
//! interval beyond it. Every figure taken from that document is shown in an element with a
//! `data-stat` attribute holding its JSON pointer and a `data-value` holding the value as
//! JSON, so that a test (tests/report_browser.rs) can read them back from the page a browser
//! rendered and compare them with `stats --json` (see docs/report.md).

mod html;
mod offsets;
mod over_time;
mod parties;
mod plots;
pub mod series;

use std::io::Read;

use serde_json::Value;

pub use series::Series;

use crate::analysis::stats::StatsOptions;
use crate::analysis::{Options, Totals};
use crate::capture::CaptureError;

/// One capture analysed for the report.
pub struct Analysis {
    /// The capture's name as shown.
    pub name: String,
    /// The `stats --json` document (with the interval of `series`).
    pub doc: Value,
    pub series: Series,
    /// The start (ns since the epoch) of each of the document's `intervals`, in order.
    pub interval_starts: Vec<i64>,
    /// Latency quantiles over all requests (µs): p50, p99.
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
    pub totals: Totals,
    /// How the capture ended when it was damaged or truncated (everything before counted).
    pub capture_error: Option<String>,
}

/// Analyses one capture: the statistics pass of `stats` with the report's series beside it.
/// `interval_ns`: the interval asked for, or none (chosen from the capture's span).
/// Returns the capture error as well ("not a capture" and I/O errors are the caller's to
/// map to exit 2).
pub fn analyse<R: Read + Send>(
    name: &str,
    input: R,
    opts: Options,
    interval_ns: Option<i64>,
    top: usize,
) -> (Analysis, Option<CaptureError>) {
    let mut series = Series::new(interval_ns);
    let so = StatsOptions {
        interval_ns: Some(series.interval_ns),
        top,
    };
    let ((mut st, totals, _), err) =
        crate::stats_pass_observed(input, opts, so, |st, r| series.handle_frame(st, r));
    let span = match (totals.first_ts, totals.last_ts) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => 0,
    };
    series.finish(&mut st, span);
    st.finish_roles();
    let all = st.all_latency();
    let doc = st.to_json(&totals);
    let interval_starts = st.buckets.keys().copied().collect();
    let analysis = Analysis {
        name: name.to_string(),
        doc,
        series,
        interval_starts,
        p50_us: all.quantile(0.5),
        p99_us: all.quantile(0.99),
        totals,
        capture_error: err.as_ref().map(|e| e.to_string()),
    };
    (analysis, err)
}

/// The HTML page of one or more analysed captures.
pub fn render(captures: &[Analysis]) -> String {
    html::page(captures)
}

/// `rmqdump report`: the page of `files` written to `output` (`-`: `out`); a truncated or
/// damaged capture is reported to `diag` and reported on up to the damage.
pub fn run<W: std::io::Write>(
    files: &[String],
    opts: crate::analysis::Options,
    interval: Option<i64>,
    top: usize,
    output: &str,
    mut out: W,
    diag: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    use super::read::{capture_error, open, refuse_overwrite, refuse_stdin_twice};
    refuse_stdin_twice(files)?;
    if output != "-" {
        let inputs: Vec<&str> = files.iter().map(String::as_str).collect();
        refuse_overwrite(output, &inputs)?;
    }
    let mut done = Vec::new();
    for file in files {
        let (analysis, err) = analyse(file, open(file)?, opts, interval, top);
        if let Some(e) = err {
            capture_error(file, e, diag)?;
        }
        done.push(analysis);
    }
    let page = render(&done);
    if output == "-" {
        out.write_all(page.as_bytes())?;
        out.flush()
    } else {
        std::fs::write(output, page)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{output}: {e}")))
    }
}
