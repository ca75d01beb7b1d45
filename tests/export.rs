//! `rmqdump export` read by a real engine: DuckDB (PyPI `duckdb`, with `pyarrow` for the
//! Arrow IPC files, installed by scripts/deps-duckdb.sh into a venv) queries the Parquet and
//! Arrow exports of every bundled capture. Its counts per code and per topic and its p99
//! latency per code must equal `rmqdump stats --json` on the same captures; Parquet and
//! Arrow must hold the same rows; `--partition-by date,hour` the same rows, each in the
//! folder of its UTC date and hour.
//!
//! Skips (saying why) only when DuckDB cannot be installed; under CI (`CI` set) that fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's python with duckdb and pyarrow, installing them if needed
/// (scripts/deps-duckdb.sh; the same place: `$RMQDUMP_PYENV`, default
/// `~/.cache/rmqdump/pyenv`).
fn python() -> Option<PathBuf> {
    let env = std::env::var_os("RMQDUMP_PYENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/rmqdump/pyenv"))
        });
    let ok = |py: &Path| {
        Command::new(py)
            .args(["-c", "import duckdb, pyarrow"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let why = match &env {
        None => "neither RMQDUMP_PYENV nor HOME is set".to_string(),
        Some(env) => {
            let py = env.join("bin/python");
            if ok(&py) {
                return Some(py);
            }
            let out = Command::new("bash")
                .arg(root().join("scripts/deps-duckdb.sh"))
                .output();
            if ok(&py) {
                return Some(py);
            }
            match out {
                Ok(o) => format!(
                    "scripts/deps-duckdb.sh failed: {}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                ),
                Err(e) => format!("cannot run scripts/deps-duckdb.sh: {e}"),
            }
        }
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "DuckDB is required under CI: {why}"
    );
    eprintln!("SKIPPED: DuckDB could not be installed: {why}");
    None
}

/// Every bundled capture (pcap, pcapng), sorted.
fn captures() -> Vec<String> {
    fn walk(d: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p
                .extension()
                .is_some_and(|x| x == "pcap" || x == "pcapng" || x == "gz")
            {
                out.push(p.to_string_lossy().into_owned());
            }
        }
    }
    let mut v = Vec::new();
    walk(&root().join("captures"), &mut v);
    v.sort();
    v
}

fn rmqdump(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "rmqdump {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn export(files: &[String], dir: &Path, extra: &[&str]) {
    let mut args = vec!["export", "-o", dir.to_str().unwrap(), "--threads", "2"];
    args.extend_from_slice(extra);
    args.extend(files.iter().map(String::as_str));
    rmqdump(&args);
}

/// What the DuckDB summary holds for one capture, from `stats --json`: per request code
/// the requests, oneways, responses by name and latency (count, max, p99), and the messages
/// sent per topic.
fn expected(capture: &str) -> Value {
    let out = rmqdump(&["stats", "--json", capture]);
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut codes = serde_json::Map::new();
    for c in s["codes"].as_array().unwrap() {
        let mut e = json!({
            "requests": c["requests"],
            "oneways": c["oneways"],
            "responses": c["responses"],
        });
        // Long polls are a latency class of their own (the export's `long_poll` column).
        for (field, key) in [
            ("latency_us", "latency"),
            ("long_poll_latency_us", "long_poll_latency"),
        ] {
            let l = &c[field];
            if l["count"].as_u64().unwrap_or(0) > 0 {
                e[key] = json!({"count": l["count"], "max": l["max"], "p99": l["p99"]});
            }
        }
        codes.insert(c["code"].to_string(), e);
    }
    let mut topics = serde_json::Map::new();
    for t in s["topics"].as_array().unwrap() {
        if t["messages"].as_u64().unwrap() > 0 {
            topics.insert(
                t["topic"].as_str().unwrap().to_string(),
                t["messages"].clone(),
            );
        }
    }
    json!({"codes": codes, "topics": topics})
}

#[test]
fn duckdb_agrees_with_stats_and_parquet_with_arrow() {
    let Some(py) = python() else { return };
    let files = captures();
    assert!(files.len() >= 10, "bundled captures: {files:?}");
    let tmp = tempfile::tempdir().unwrap();
    let (pq, ar, part) = (
        tmp.path().join("parquet"),
        tmp.path().join("arrow"),
        tmp.path().join("partitioned"),
    );
    export(&files, &pq, &[]);
    export(&files, &ar, &["--format", "arrow"]);
    export(&files, &part, &["--partition-by", "date,hour"]);
    let out = Command::new(&py)
        .arg(root().join("tests/export/queries.py"))
        .args([&pq, &ar, &part])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "queries.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Something was exported: every table of the bundled captures has rows.
    for t in ["frames", "messages", "connections", "problems"] {
        assert!(got["rows"][t].as_u64().unwrap() > 0, "{t}: {}", got["rows"]);
    }
    let mut want = BTreeMap::new();
    for f in &files {
        want.insert(f.clone(), expected(f));
    }
    let want = serde_json::to_value(&want).unwrap();
    // Captures with no frame at all have no row to group by.
    let mut want_nonempty = want.clone();
    want_nonempty
        .as_object_mut()
        .unwrap()
        .retain(|_, v| v["codes"].as_object().is_some_and(|c| !c.is_empty()));
    assert_eq!(
        got["parquet"], want_nonempty,
        "DuckDB on Parquet vs stats --json"
    );
    assert_eq!(
        got["arrow"], want_nonempty,
        "DuckDB on Arrow vs stats --json"
    );
    for t in ["frames", "messages", "connections", "problems"] {
        assert_eq!(
            got["except"][t],
            json!([0, 0]),
            "{t}: Parquet vs Arrow rows"
        );
        let p = &got["partitioned"][t];
        assert_eq!(p["rows"], got["rows"][t], "{t}: partitioned rows");
        assert_eq!(p["misplaced"], 0, "{t}: rows in another hour's folder");
        assert_eq!(p["not_in_unpartitioned"], 0, "{t}");
    }
}

/// Reads every row group of a Parquet file as record batches.
fn parquet_batches(path: &Path) -> Vec<arrow_array::RecordBatch> {
    let f = std::fs::File::open(path).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

fn i64_col(b: &arrow_array::RecordBatch, name: &str, i: usize) -> Option<i64> {
    use arrow_array::Array;
    let c = b.column_by_name(name).unwrap();
    if c.is_null(i) {
        return None;
    }
    if let Some(a) = c.as_any().downcast_ref::<arrow_array::Int64Array>() {
        Some(a.value(i))
    } else {
        let a = c
            .as_any()
            .downcast_ref::<arrow_array::Int32Array>()
            .unwrap();
        Some(a.value(i) as i64)
    }
}

fn str_col(b: &arrow_array::RecordBatch, name: &str, i: usize) -> Option<String> {
    use arrow_array::Array;
    let a = b
        .column_by_name(name)
        .unwrap()
        .as_any()
        .downcast_ref::<arrow_array::StringArray>()
        .unwrap();
    (!a.is_null(i)).then(|| a.value(i).to_string())
}

/// Without an engine: every bundled capture's `frames` rows are its `read --json` objects
/// (same order; packet, stream, kind, code, name, opaque, request, latency, topic, header
/// and errors), its `messages` rows its messages, its `problems` rows the problem lines
/// `read` prints on stderr.
#[test]
fn rows_are_the_json_lines_and_problem_lines_of_read() {
    let tmp = tempfile::tempdir().unwrap();
    let files = captures();
    export(&files, tmp.path(), &[]);
    for f in &files {
        let out = rmqdump(&["read", "--json", f]);
        let lines: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let problem_lines: Vec<String> = String::from_utf8(out.stderr)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with(&format!("{f}: packet ")))
            .map(|l| l[f.len() + 2..].to_string())
            .collect();
        let stem = Path::new(f).file_name().unwrap().to_str().unwrap();
        let frames = parquet_batches(&tmp.path().join(format!("frames/{stem}.parquet")));
        let mut rows = Vec::new();
        for b in &frames {
            for i in 0..b.num_rows() {
                rows.push((b, i));
            }
        }
        assert_eq!(rows.len(), lines.len(), "{f}: frames rows");
        // One connections row per connection that carried a frame or a problem (requests
        // pending or unanswered at the end of the capture opened a second, empty row for
        // their connection, already written).
        let conns: usize = parquet_batches(&tmp.path().join(format!("connections/{stem}.parquet")))
            .iter()
            .map(|b| b.num_rows())
            .sum();
        let mut streams: std::collections::BTreeSet<u64> =
            lines.iter().filter_map(|j| j["stream"].as_u64()).collect();
        streams.extend(problem_lines.iter().filter_map(|l| {
            l.split("(stream ")
                .nth(1)?
                .split(')')
                .next()?
                .parse::<u64>()
                .ok()
        }));
        assert_eq!(conns, streams.len(), "{f}: connections rows");
        let mut sent = 0;
        for ((b, i), j) in rows.iter().zip(&lines) {
            let (b, i) = (*b, *i);
            let at = format!("{f} packet {}", j["packet"]);
            assert_eq!(i64_col(b, "packet", i), j["packet"].as_i64(), "{at}");
            assert_eq!(i64_col(b, "stream", i), j["stream"].as_i64(), "{at}");
            assert_eq!(
                str_col(b, "stream_id", i),
                Some(format!("{f}#{}", j["stream"])),
                "{at}"
            );
            assert_eq!(str_col(b, "kind", i).as_deref(), j["kind"].as_str(), "{at}");
            assert_eq!(i64_col(b, "code", i), j["code"].as_i64(), "{at}");
            assert_eq!(str_col(b, "name", i).as_deref(), j["name"].as_str(), "{at}");
            assert_eq!(i64_col(b, "opaque", i), j["opaque"].as_i64(), "{at}");
            assert_eq!(
                i64_col(b, "latency_us", i),
                j["latency_us"].as_i64(),
                "{at}"
            );
            assert_eq!(
                i64_col(b, "request_packet", i),
                j["request"]["packet"].as_i64(),
                "{at}"
            );
            assert_eq!(
                i64_col(b, "request_code", i),
                j["request"]["code"].as_i64(),
                "{at}"
            );
            let header: Option<Value> =
                str_col(b, "header", i).map(|h| serde_json::from_str(&h).unwrap());
            let want = Some(j["header"].clone()).filter(|h| !h.is_null());
            assert_eq!(header, want, "{at}");
            if let Some(t) = j["header"]["topic"].as_str() {
                assert_eq!(str_col(b, "topic", i).as_deref(), Some(t), "{at}");
            }
            let n = j["messages"].as_array().map_or(0, |m| {
                m.iter()
                    .map(|x| 1 + x["inner_messages"].as_array().map_or(0, Vec::len))
                    .sum::<usize>()
            });
            assert_eq!(
                i64_col(b, "message_count", i),
                j["kind"].as_str().map(|_| n as i64),
                "{at}"
            );
            sent += n;
            use arrow_array::Array;
            let errs = b
                .column_by_name("errors")
                .unwrap()
                .as_any()
                .downcast_ref::<arrow_array::ListArray>()
                .unwrap()
                .value(i);
            let errs = errs
                .as_any()
                .downcast_ref::<arrow_array::StringArray>()
                .unwrap();
            let errs: Vec<Value> = (0..errs.len()).map(|k| json!(errs.value(k))).collect();
            assert_eq!(Value::Array(errs), j["errors"], "{at}");
        }
        let messages = parquet_batches(&tmp.path().join(format!("messages/{stem}.parquet")));
        let m: usize = messages.iter().map(|b| b.num_rows()).sum();
        assert_eq!(m, sent, "{f}: messages rows");
        let problems = parquet_batches(&tmp.path().join(format!("problems/{stem}.parquet")));
        let mut got = Vec::new();
        for b in &problems {
            for i in 0..b.num_rows() {
                let stream = i64_col(b, "stream", i)
                    .map(|s| format!(" (stream {s})"))
                    .unwrap_or_default();
                got.push(format!(
                    "packet {}: {}{stream}: {}",
                    i64_col(b, "packet", i).unwrap(),
                    str_col(b, "kind", i).unwrap(),
                    str_col(b, "message", i).unwrap()
                ));
            }
        }
        got.sort();
        let mut want = problem_lines.clone();
        want.sort();
        assert_eq!(got, want, "{f}: problems rows vs read's problem lines");
    }
}

/// A file that is not a capture is reported and exits 2; the other captures are exported.
#[test]
fn a_file_that_is_not_a_capture_does_not_stop_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.pcap");
    std::fs::write(&bad, b"this is not a capture at all, just text").unwrap();
    let good = root().join("captures/reference/async.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args(["export", "-o"])
        .arg(tmp.path().join("out"))
        .arg(&bad)
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // An error line, prefixed as every error of the command line is.
    let bad_line = err.lines().find(|l| l.contains("bad.pcap: not exported: "));
    assert!(
        bad_line.is_some_and(
            |l| l.starts_with("rmqdump: ") && l.contains("bad.pcap: not exported: not a pcap")
        ),
        "{err}"
    );
    assert!(
        err.contains("async.pcap: 30 frames, 12 messages, 2 connections, 0 problems"),
        "{err}"
    );
    let frames = parquet_batches(&tmp.path().join("out/frames/async.pcap.parquet"));
    assert_eq!(frames.iter().map(|b| b.num_rows()).sum::<usize>(), 30);
}
