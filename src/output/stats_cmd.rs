//! `rmqdump stats`: statistics of a capture ([`crate::stats`], several passes side by side)
//! printed as tables or one JSON document, with a progress bar on a terminal for large files.

use std::io::{self, BufWriter, IsTerminal, Read, Write};

use super::read::{capture_error, open};
use crate::analysis::Options;
use crate::analysis::stats::StatsOptions;

/// A reader that moves a progress bar by the bytes read.
struct Counting<R> {
    inner: R,
    bar: Option<indicatif::ProgressBar>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        if let Some(b) = &self.bar {
            b.inc(k as u64);
        }
        Ok(k)
    }
}

/// How `stats` runs and prints.
pub struct StatsConfig {
    pub opts: Options,
    pub stats: StatsOptions,
    /// Passes side by side (`None`: the CPUs, at most 4); always 1 for standard input.
    pub threads: Option<usize>,
    /// One JSON document instead of tables.
    pub json: bool,
    /// How tables are drawn (width, CSV); unused with `json`.
    pub tables: super::tables::TableOptions,
}

/// `rmqdump stats` of the captures named `files` (`-`: standard input), several merged by
/// packet time into one result ([`crate::stats_files`]).
pub fn stats<W: Write>(
    files: &[String],
    cfg: StatsConfig,
    out: W,
    diag: &mut dyn Write,
) -> io::Result<()> {
    super::read::refuse_stdin_twice(files)?;
    let size: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    // A progress bar for large files, only when stderr is a terminal.
    let bar = (io::stderr().is_terminal() && size > 64 << 20).then(|| {
        let b = indicatif::ProgressBar::new(size);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {bytes}/{total_bytes} {wide_bar} {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let threads = if files.iter().any(|f| f == "-") {
        1
    } else {
        cfg.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get().min(4))
                .unwrap_or(1)
        })
    };
    // One pass opens the input once, so standard input works too.
    let run = crate::stats_files(
        |i, f| -> io::Result<Counting<Box<dyn Read + Send>>> {
            // The first pass moves the progress bar (by the bytes of every file).
            Ok(Counting {
                inner: open(&files[f])?,
                bar: if i == 0 { bar.clone() } else { None },
            })
        },
        files.len(),
        cfg.opts,
        cfg.stats,
        threads,
    )?;
    let (mut st, totals) = (run.stats, run.totals);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    for (f, e) in run.capture_errors {
        capture_error(&files[f], e, diag)?;
    }
    st.finish_roles();
    let doc = st.to_json(&totals);
    let mut w = BufWriter::new(out);
    if cfg.json {
        serde_json::to_writer_pretty(&mut w, &doc).map_err(io::Error::from)?;
        w.write_all(b"\n")?;
    } else {
        w.write_all(super::tables::render_with(&doc, &cfg.tables).as_bytes())?;
    }
    w.flush()
}
