//! Writing one table of one capture: Parquet (arrow-rs `parquet`, Snappy) or Arrow IPC
//! files, one per partition (`date=YYYY-MM-DD/hour=HH`, UTC) with `--partition-by`.
//!
//! Memory is bounded whatever the capture's size: rows are gathered in the table's builders
//! up to [`BATCH_ROWS`] rows or [`BATCH_BYTES`] bytes, then handed to the writer; the Parquet
//! writer closes a row group at [`ROW_GROUP_BYTES`] (estimated encoded bytes),
//! [`ROW_GROUP_ROWS`] rows, or when it holds [`ROW_GROUP_MEMORY`]; the Arrow IPC writer
//! writes each batch as it comes. At most
//! [`MAX_OPEN_PARTS`] partition files of a table are open at once; past that the one used
//! longest ago is closed (rows of its partition that come later go to a new file, `-2`, `-3`…).

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use arrow_ipc::writer::FileWriter;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::tables::Table;

/// Rows gathered before a batch is written.
pub const BATCH_ROWS: usize = 4096;
/// Bytes (estimated) gathered before a batch is written.
pub const BATCH_BYTES: usize = 1 << 20;
/// Parquet row group limits: rows, estimated encoded bytes, and the writer's estimate of
/// the memory it holds (encoded pages and values not yet encoded), checked after each batch.
/// With four tables written at once, each holds at most about `ROW_GROUP_MEMORY` in its
/// writer plus `BATCH_BYTES` in its builders (2 + 1 MiB; docs/export.md has the peaks
/// measured).
pub const ROW_GROUP_ROWS: usize = 128 * 1024;
pub const ROW_GROUP_BYTES: usize = 8 << 20;
pub const ROW_GROUP_MEMORY: usize = 2 << 20;
/// Parquet data and dictionary page size limits (the defaults, 1 MiB each, per column, let
/// a 35-column row group hold tens of MiB before its first page is written).
pub const PAGE_BYTES: usize = 256 << 10;
/// Partition files of one table open at once.
pub const MAX_OPEN_PARTS: usize = 4;

/// The file format written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Parquet,
    Arrow,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Arrow => "arrow",
        }
    }
}

/// A partition: UTC date and hour of a row's capture time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Part {
    pub days: i64,
    pub hour: u8,
}

impl Part {
    pub fn of(ts_ns: i64) -> Part {
        let secs = ts_ns.div_euclid(1_000_000_000);
        Part {
            days: secs.div_euclid(86_400),
            hour: (secs.rem_euclid(86_400) / 3600) as u8,
        }
    }

    /// `date=YYYY-MM-DD/hour=HH`.
    pub fn dir(self) -> PathBuf {
        let date = &crate::output::format_ts(self.days * 86_400 * 1_000_000_000)[..10];
        PathBuf::from(format!("date={date}")).join(format!("hour={:02}", self.hour))
    }
}

enum Writer {
    Parquet(ArrowWriter<File>),
    Arrow(FileWriter<BufWriter<File>>),
}

fn err(path: &Path, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{}: {e}", path.display()))
}

impl Writer {
    fn create(path: &Path, format: Format, schema: SchemaRef) -> io::Result<Writer> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
        }
        let f = File::create(path).map_err(|e| err(path, e))?;
        Ok(match format {
            Format::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                    .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
                    .set_data_page_size_limit(PAGE_BYTES)
                    .set_dictionary_page_size_limit(PAGE_BYTES)
                    .set_created_by(format!("rmqdump {}", env!("CARGO_PKG_VERSION")))
                    .build();
                Writer::Parquet(
                    ArrowWriter::try_new(f, schema, Some(props)).map_err(|e| err(path, e))?,
                )
            }
            Format::Arrow => Writer::Arrow(
                FileWriter::try_new(BufWriter::with_capacity(1 << 16, f), &schema)
                    .map_err(|e| err(path, e))?,
            ),
        })
    }

    fn write(&mut self, path: &Path, b: &arrow_array::RecordBatch) -> io::Result<()> {
        match self {
            Writer::Parquet(w) => {
                w.write(b).map_err(|e| err(path, e))?;
                if w.memory_size() > ROW_GROUP_MEMORY {
                    w.flush().map_err(|e| err(path, e))?;
                }
                Ok(())
            }
            Writer::Arrow(w) => w.write(b).map_err(|e| err(path, e)),
        }
    }

    fn close(self, path: &Path) -> io::Result<()> {
        match self {
            Writer::Parquet(w) => w.close().map(|_| ()).map_err(|e| err(path, e)),
            Writer::Arrow(mut w) => {
                w.finish().map_err(|e| err(path, e))?;
                let mut inner = w.into_inner().map_err(|e| err(path, e))?;
                io::Write::flush(&mut inner).map_err(|e| err(path, e))
            }
        }
    }
}

struct Open<T> {
    part: Option<Part>,
    path: PathBuf,
    table: T,
    writer: Writer,
    used: u64,
    rows: u64,
}

/// One table of one capture: its open partition files.
pub struct Sink<T> {
    /// `DIR/TABLE`.
    dir: PathBuf,
    /// File name without extension.
    stem: String,
    format: Format,
    partitioned: bool,
    schema: SchemaRef,
    open: Vec<Open<T>>,
    /// Files opened so far per partition (for the `-2`, `-3` names after a reopen).
    opened: std::collections::HashMap<Option<Part>, u32>,
    clock: u64,
    /// Files written: (path, rows).
    pub files: Vec<(PathBuf, u64)>,
    pub rows: u64,
}

impl<T: Table + Default> Sink<T> {
    pub fn new(dir: PathBuf, stem: String, format: Format, partitioned: bool) -> io::Result<Self> {
        let schema = T::default()
            .schema()
            .map_err(|e| io::Error::other(format!("{}: schema: {e}", dir.display())))?;
        Ok(Sink {
            dir,
            stem,
            format,
            partitioned,
            schema,
            open: Vec::new(),
            opened: Default::default(),
            clock: 0,
            files: Vec::new(),
            rows: 0,
        })
    }

    /// Appends rows with `f` to the table of the partition of `ts_ns`, writing a batch when
    /// the builders are full.
    pub fn push(&mut self, ts_ns: i64, f: impl FnOnce(&mut T)) -> io::Result<()> {
        let part = self.partitioned.then(|| Part::of(ts_ns));
        self.clock += 1;
        let i = match self.open.iter().position(|o| o.part == part) {
            Some(i) => i,
            None => self.open_part(part)?,
        };
        let o = &mut self.open[i];
        o.used = self.clock;
        let before = o.table.rows();
        f(&mut o.table);
        let added = (o.table.rows() - before) as u64;
        o.rows += added;
        self.rows += added;
        if o.table.rows() >= BATCH_ROWS || o.table.bytes() >= BATCH_BYTES {
            Self::write_batch(o)?;
        }
        Ok(())
    }

    fn write_batch(o: &mut Open<T>) -> io::Result<()> {
        if o.table.rows() == 0 {
            return Ok(());
        }
        let b = o.table.take().map_err(|e| err(&o.path, e))?;
        o.writer.write(&o.path, &b)
    }

    fn open_part(&mut self, part: Option<Part>) -> io::Result<usize> {
        if self.open.len() >= MAX_OPEN_PARTS
            && let Some((i, _)) = self.open.iter().enumerate().min_by_key(|(_, o)| o.used)
        {
            let o = self.open.swap_remove(i);
            self.close_one(o)?;
        }
        let n = self.opened.entry(part).or_default();
        *n += 1;
        let name = if *n == 1 {
            format!("{}.{}", self.stem, self.format.extension())
        } else {
            format!("{}-{n}.{}", self.stem, self.format.extension())
        };
        let dir = match part {
            Some(p) => self.dir.join(p.dir()),
            None => self.dir.clone(),
        };
        let path = dir.join(name);
        let writer = Writer::create(&path, self.format, self.schema.clone())?;
        self.open.push(Open {
            part,
            path,
            table: T::default(),
            writer,
            used: self.clock,
            rows: 0,
        });
        Ok(self.open.len() - 1)
    }

    fn close_one(&mut self, mut o: Open<T>) -> io::Result<()> {
        Self::write_batch(&mut o)?;
        o.writer.close(&o.path)?;
        self.files.push((o.path, o.rows));
        Ok(())
    }

    /// Writes what is left and closes every file. A table with no row at all still gets
    /// one (empty) file, in the partition of `ts_ns` (the capture's first packet) when
    /// partitioned, so that every table can be queried.
    pub fn finish(mut self, ts_ns: i64) -> io::Result<(Vec<(PathBuf, u64)>, u64)> {
        if self.open.is_empty() && self.files.is_empty() {
            let part = self.partitioned.then(|| Part::of(ts_ns));
            self.open_part(part)?;
        }
        for o in std::mem::take(&mut self.open) {
            self.close_one(o)?;
        }
        Ok((self.files, self.rows))
    }
}
