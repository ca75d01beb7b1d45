//! docs/scale.md's queries, run for real: DuckDB, Spark SQL (PyPI `pyspark`, one local[1]
//! session for all its queries) and ClickHouse (PyPI `chdb`, ClickHouse in-process) query
//! the bundled captures exported by two "hosts" (`--label hostA`, `--label hostB`, both with
//! `--partition-by date,hour`, into one folder, as docs/scale.md says to collect them).
//! The queries are read from docs/scale.md itself (tests/export/engines.py), so the document
//! shows exactly what ran. Checked: every question has its three forms and each runs; the
//! three engines give the same rows; the rows `stats` also computes equal `stats --json` on
//! each capture (latency count, max and p99 per request code; messages sent per topic).
//!
//! Skips (saying why) only when the engines cannot be installed (scripts/deps-spark-chdb.sh);
//! under CI (`CI` set) that fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's python with duckdb, pyspark and chdb (and `java` for Spark), installing them
/// if needed (scripts/deps-spark-chdb.sh; `$RMQDUMP_PYENV`, default `~/.cache/rmqdump/pyenv`).
fn python() -> Option<PathBuf> {
    let env = std::env::var_os("RMQDUMP_PYENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/rmqdump/pyenv"))
        });
    let ok = |py: &Path| {
        Command::new(py)
            .args(["-c", "import duckdb, pyspark, chdb"])
            .output()
            .is_ok_and(|o| o.status.success())
            && Command::new("java")
                .arg("-version")
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
                .arg(root().join("scripts/deps-spark-chdb.sh"))
                .output();
            if ok(&py) {
                return Some(py);
            }
            match out {
                Ok(o) => format!(
                    "scripts/deps-spark-chdb.sh failed: {}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                ),
                Err(e) => format!("cannot run scripts/deps-spark-chdb.sh: {e}"),
            }
        }
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "Spark and chDB are required under CI: {why}"
    );
    eprintln!("SKIPPED: Spark or chDB could not be installed: {why}");
    None
}

/// Every bundled capture (pcap, pcapng, gz), sorted.
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

fn rmqdump(args: &[&str]) -> Vec<u8> {
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
    out.stdout
}

/// Rows as a sorted list of their JSON texts: the engines' orders differ among ties.
fn sorted(rows: &Value) -> Vec<String> {
    let mut v: Vec<String> = rows
        .as_array()
        .unwrap_or_else(|| panic!("not rows: {rows}"))
        .iter()
        .map(Value::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn spark_and_clickhouse_answer_the_docs_queries_as_duckdb_and_stats_do() {
    let Some(py) = python() else { return };
    let files = captures();
    assert!(files.len() >= 10, "bundled captures: {files:?}");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("rmq");
    let (a, b) = files.split_at(files.len() / 2);
    for (label, part) in [("hostA", a), ("hostB", b)] {
        let mut args = vec![
            "export",
            "--label",
            label,
            "--partition-by",
            "date,hour",
            "--threads",
            "2",
            "-o",
            data.to_str().unwrap(),
        ];
        args.extend(part.iter().map(String::as_str));
        rmqdump(&args);
    }
    let out = Command::new(&py)
        .arg(root().join("tests/export/engines.py"))
        .arg(root().join("docs/scale.md"))
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "engines.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!("engines' wall seconds: {}", got["seconds"]);
    let answers = got["answers"].as_object().unwrap();
    let questions = [
        "p99 send latency per topic per hour",
        "Producer queue skew",
        "Consumer pull lag",
        "Checking an export against `rmqdump stats`",
    ];
    assert_eq!(
        answers.keys().map(String::as_str).collect::<Vec<_>>(),
        {
            let mut q = questions.to_vec();
            q.sort();
            q
        },
        "questions with queries in docs/scale.md"
    );
    for q in questions {
        let a = &answers[q];
        for e in ["duckdb", "spark", "clickhouse"] {
            assert!(a[e].is_array(), "{q}: {e}: {}", a[e]);
        }
        assert!(
            !a["duckdb"].as_array().unwrap().is_empty(),
            "{q}: no rows on the bundled captures"
        );
        assert_eq!(
            sorted(&a["spark"]),
            sorted(&a["duckdb"]),
            "{q}: Spark vs DuckDB"
        );
        assert_eq!(
            sorted(&a["clickhouse"]),
            sorted(&a["duckdb"]),
            "{q}: ClickHouse vs DuckDB"
        );
    }

    // Latency per capture file and request code: `stats --json`'s codes[].latency_us and
    // codes[].long_poll_latency_us (count, max, p99).
    let label = |f: &String| if a.contains(f) { "hostA" } else { "hostB" };
    let mut want = Vec::new();
    let mut topics: BTreeMap<String, u64> = BTreeMap::new();
    for f in &files {
        let s: Value = serde_json::from_slice(&rmqdump(&["stats", "--json", f])).unwrap();
        for c in s["codes"].as_array().unwrap() {
            for (field, long_poll) in [("latency_us", false), ("long_poll_latency_us", true)] {
                let l = &c[field];
                if l["count"].as_u64().unwrap_or(0) > 0 {
                    want.push(json!([
                        label(f),
                        f,
                        c["code"],
                        long_poll,
                        l["count"],
                        l["max"],
                        l["p99"]
                    ]));
                }
            }
        }
        for t in s["topics"].as_array().unwrap() {
            let n = t["messages"].as_u64().unwrap();
            if n > 0 {
                *topics
                    .entry(t["topic"].as_str().unwrap().into())
                    .or_default() += n;
            }
        }
    }
    let check = &answers["Checking an export against `rmqdump stats`"]["duckdb"];
    assert_eq!(
        sorted(check),
        sorted(&Value::Array(want)),
        "latency per code vs stats --json"
    );

    // Producer queue skew: the messages of every producer of a topic add up to the
    // topic's messages in `stats --json` (summed over the captures).
    let mut sent: BTreeMap<String, u64> = BTreeMap::new();
    for r in answers["Producer queue skew"]["duckdb"].as_array().unwrap() {
        // producer_group, producer, topic, queues, messages, …
        *sent.entry(r[2].as_str().unwrap().into()).or_default() += r[4].as_u64().unwrap();
    }
    assert_eq!(sent, topics, "messages per topic vs stats --json");
}
