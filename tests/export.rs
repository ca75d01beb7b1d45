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

/// The venv's python with duckdb and pyarrow, installing them if needed.
fn python() -> Option<PathBuf> {
    let env = std::env::var_os("RMQDUMP_PYENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/rmqdump/pyenv"))
        })?;
    let py = env.join("bin/python");
    let ok = |py: &Path| {
        Command::new(py)
            .args(["-c", "import duckdb, pyarrow"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ok(&py) {
        return Some(py);
    }
    let out = Command::new("bash")
        .arg(root().join("scripts/deps-duckdb.sh"))
        .output();
    if ok(&py) {
        return Some(py);
    }
    let why = match out {
        Ok(o) => format!(
            "scripts/deps-duckdb.sh failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => format!("cannot run scripts/deps-duckdb.sh: {e}"),
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
        let l = &c["latency_us"];
        if l["count"].as_u64().unwrap() > 0 {
            e["latency"] = json!({"count": l["count"], "max": l["max"], "p99": l["p99"]});
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
