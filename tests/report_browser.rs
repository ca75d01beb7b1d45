//! `rmqdump report` in a real browser: headless Chromium (Debian's, installed by
//! scripts/deps.sh) opens the report of bundled captures, takes screenshots at 1280 px and
//! at a phone's width, logs no console message (the page has no script and its
//! Content-Security-Policy forbids fetching anything: a blocked fetch is logged), shows every
//! section, and every figure it shows (`data-stat` JSON pointer, `data-value`) equals
//! `stats --json --interval` (the report's interval) on the same capture; the figures the
//! page computes (`data-derived`) agree with that document too.
//!
//! Without Chromium the tests fail under CI and are skipped, saying so, elsewhere.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rmqdump"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The report's sections (`data-section`), as docs/report.md lists them.
const SECTIONS: [&str; 9] = [
    "overview",
    "throughput",
    "latency",
    "responses",
    "topics",
    "topology",
    "consumers",
    "slowest",
    "problems",
];

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn chromium_or_skip() -> Option<&'static str> {
    let c = chromium();
    if c.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is missing: scripts/deps.sh installs it"
        );
        eprintln!("SKIPPED: chromium is not installed (bash scripts/deps.sh installs it)");
    }
    c
}

/// What the browser made of a page: the DOM after loading, and the console messages it
/// logged.
struct Rendered {
    dom: String,
    console: Vec<String>,
}

fn headless(chrome: &str, profile: &Path) -> Command {
    let mut c = Command::new(chrome);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

fn render(chrome: &str, page: &Path, dir: &Path) -> Rendered {
    let out = headless(chrome, &dir.join("profile"))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium --dump-dom failed: {out:?}");
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    Rendered {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console,
    }
}

fn screenshot(chrome: &str, page: &Path, dir: &Path, png: &Path, size: (u32, u32)) {
    let out = headless(chrome, &dir.join("profile"))
        .arg(format!("--window-size={},{}", size.0, size.1))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium --screenshot failed: {out:?}"
    );
    let bytes = std::fs::read(png).expect("screenshot written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    // The PNG's IHDR: width and height as asked.
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((w, h), size, "screenshot size");
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The value of attribute `name` in the start tag that begins at `tag`.
fn attr(tag: &str, name: &str) -> Option<String> {
    let end = tag.find('>')?;
    let tag = &tag[..end];
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[at..].find('"')?;
    Some(unescape(&tag[at..at + len]))
}

/// Every start tag carrying attribute `name`: (its value, the tag's `data-value`).
fn tagged(dom: &str, name: &str) -> Vec<(String, Option<String>)> {
    let mut v = Vec::new();
    let needle = format!(" {name}=\"");
    let mut from = 0;
    while let Some(p) = dom[from..].find(&needle) {
        let at = from + p;
        let start = dom[..at].rfind('<').expect("inside a tag");
        let tag = &dom[start..];
        v.push((attr(tag, name).expect("value"), attr(tag, "data-value")));
        from = at + needle.len();
    }
    v
}

/// The figures a page shows of one capture, checked against `stats --json` of it.
fn check_capture(capture: &str, chrome: &str, screenshots: bool) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let out = bin()
        .args(["report", capture, "-o"])
        .arg(&page)
        .output()
        .unwrap();
    assert!(out.status.success(), "{capture}: report failed: {out:?}");
    let r = render(chrome, &page, dir.path());
    assert!(
        r.console.is_empty(),
        "{capture}: console messages: {:#?}",
        r.console
    );
    for s in SECTIONS {
        assert_eq!(
            r.dom.matches(&format!("data-section=\"{s}\"")).count(),
            1,
            "{capture}: section {s}"
        );
    }
    assert!(r.dom.matches("<svg").count() >= 3, "{capture}: plots drawn");
    assert!(
        !r.dom.contains("plot not drawn"),
        "{capture}: a plot failed"
    );
    // The interval the report chose, then the statistics at that interval.
    let stats = tagged(&r.dom, "data-stat");
    let interval = stats
        .iter()
        .find(|(p, _)| p == "/interval_seconds")
        .and_then(|(_, v)| v.as_deref()?.parse::<f64>().ok())
        .expect("the interval is shown");
    let ns = (interval * 1e9).round() as i64;
    let out = bin()
        .args(["stats", "--json", "--threads", "1", "--interval"])
        .arg(format!("{ns}ns"))
        .arg(capture)
        .output()
        .unwrap();
    assert!(out.status.success(), "{capture}: stats failed");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (ptr, shown) in &stats {
        let shown: Value = serde_json::from_str(shown.as_deref().expect("data-value"))
            .unwrap_or_else(|e| panic!("{capture}: {ptr}: data-value not JSON: {e}"));
        let want = doc
            .pointer(ptr)
            .unwrap_or_else(|| panic!("{capture}: {ptr} is not in stats --json"));
        assert_eq!(&shown, want, "{capture}: {ptr}");
    }
    // What the page computes.
    let n = |p: &str| doc.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let derived = tagged(&r.dom, "data-derived");
    let get = |k: &str| -> Value {
        let v = derived
            .iter()
            .find(|(d, _)| d == k)
            .unwrap_or_else(|| panic!("{capture}: {k} not shown"));
        serde_json::from_str(v.1.as_deref().unwrap()).unwrap()
    };
    let responses = n("/overview/responses");
    let errors = n("/connections_total/errors");
    if responses > 0 {
        assert_eq!(
            get("error_rate").as_f64(),
            Some(errors as f64 / responses as f64)
        );
    }
    let problems: u64 = doc["problems"]["by_kind"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p["count"].as_u64().unwrap())
        .sum();
    assert_eq!(get("problems").as_u64(), Some(problems), "{capture}");
    let codes = doc["codes"].as_array().unwrap();
    let paired: u64 = codes
        .iter()
        .map(|c| c["latency_us"]["count"].as_u64().unwrap())
        .sum();
    if paired > 0 {
        assert_eq!(
            get("latency_histogram_count").as_u64(),
            Some(paired),
            "{capture}"
        );
        let max = codes
            .iter()
            .filter_map(|c| c["latency_us"]["max"].as_u64())
            .max()
            .unwrap();
        let (p50, p99) = (
            get("latency_p50_us").as_u64().unwrap(),
            get("latency_p99_us").as_u64().unwrap(),
        );
        assert!(p50 <= p99 && p99 <= max, "{capture}: {p50} {p99} {max}");
    }
    // Latency by request code: the plot is drawn when a request was answered, and each code's
    // figures over its intervals are those of codes[].latency_us (the same histogram over
    // the same responses); the codes drawn and "other" add up to every paired response.
    if paired > 0 {
        assert!(
            r.dom.contains("data-plot=\"latency-by-code\""),
            "{capture}: latency by code drawn"
        );
        let mut sum = 0;
        for (k, v) in &derived {
            let Some(rest) = k.strip_prefix("latency_by_code/") else {
                continue;
            };
            let (key, field) = rest.split_once('/').unwrap();
            let v: Value = serde_json::from_str(v.as_deref().unwrap()).unwrap();
            if field == "count" {
                sum += v.as_u64().unwrap();
            }
            if key == "other" {
                continue;
            }
            let code: i64 = key.parse().unwrap();
            let c = codes
                .iter()
                .find(|c| c["code"].as_i64() == Some(code))
                .unwrap_or_else(|| panic!("{capture}: code {code} not in stats --json"));
            assert_eq!(v, c["latency_us"][field], "{capture}: code {code} {field}");
        }
        assert_eq!(
            sum, paired,
            "{capture}: latency by code covers every response"
        );
    }
    // Consumers' offsets over time: drawn when a pull carried a queueOffset, and every
    // queue's figures shown (data-stat, compared above).
    let groups = doc["consumers"]["groups"].as_array().unwrap();
    let mut with_intervals = 0;
    for (g, gv) in groups.iter().enumerate() {
        for (q, qv) in gv["queues"].as_array().unwrap().iter().enumerate() {
            // Every queue is in the table, pulled or only popped (the breaker found the
            // popped ones left out), with its pop and ack figures.
            for f in ["pulls", "lag", "pops", "pop_lag", "acks", "acked_messages"] {
                let p = format!("/consumers/groups/{g}/queues/{q}/{f}");
                assert!(stats.iter().any(|(s, _)| *s == p), "{capture}: {p} shown");
            }
            if qv["intervals"].as_array().is_some_and(|i| !i.is_empty()) {
                with_intervals += 1;
            }
        }
    }
    if with_intervals > 0 {
        assert!(
            r.dom.contains("data-plot=\"pull_offset\""),
            "{capture}: pull offsets drawn"
        );
        let drawn = with_intervals.min(8);
        let more = derived
            .iter()
            .find(|(k, _)| k == "offsets_queues_more")
            .map_or(0, |(_, v)| v.as_deref().unwrap().parse::<usize>().unwrap());
        assert_eq!(
            drawn + more,
            with_intervals,
            "{capture}: queues drawn or said"
        );
        // The figures drawn are the statistics' per-interval offsets, and the lag over time
        // (each one a data-stat, so equal to `stats --json` as every figure is).
        assert!(
            stats
                .iter()
                .any(|(s, _)| s.contains("/intervals/0/pull_offset/last/value")),
            "{capture}: per-interval offsets shown"
        );
        assert!(
            stats.iter().any(|(s, _)| s.ends_with("/intervals/0/lag")),
            "{capture}: per-interval lag shown"
        );
        let any_lag = groups.iter().any(|g| {
            g["queues"].as_array().unwrap().iter().any(|q| {
                q["intervals"]
                    .as_array()
                    .is_some_and(|i| i.iter().any(|x| x["lag"].is_number()))
            })
        });
        assert_eq!(
            r.dom.contains("data-plot=\"lag\""),
            any_lag,
            "{capture}: lag over time drawn where an interval has one"
        );
    }
    // Per interval, the requests of every request code add up to the interval's requests.
    let intervals = doc["intervals"].as_array().unwrap();
    assert!(!intervals.is_empty(), "{capture}: intervals");
    for (k, b) in intervals.iter().enumerate() {
        assert_eq!(
            get(&format!("interval_requests_by_code/{k}")),
            b["requests"],
            "{capture}: interval {k}"
        );
    }
    // The figures shown cover every request code and connection listed.
    for (k, _) in codes.iter().enumerate() {
        let p = format!("/codes/{k}/requests");
        assert!(stats.iter().any(|(s, _)| *s == p), "{capture}: {p} shown");
    }
    for (k, _) in doc["connections"].as_array().unwrap().iter().enumerate() {
        let p = format!("/connections/{k}/role");
        assert!(stats.iter().any(|(s, _)| *s == p), "{capture}: {p} shown");
    }
    for (k, t) in doc["topics"].as_array().unwrap().iter().enumerate() {
        for j in 0..t["queues"].as_array().unwrap().len() {
            let p = format!("/topics/{k}/queues/{j}/messages");
            assert!(stats.iter().any(|(s, _)| *s == p), "{capture}: {p} shown");
        }
    }
    if !screenshots {
        return stats.len();
    }
    // Readable at 1280 px and on a phone: both render.
    screenshot(
        chrome,
        &page,
        dir.path(),
        &dir.path().join("wide.png"),
        (1280, 2000),
    );
    screenshot(
        chrome,
        &page,
        dir.path(),
        &dir.path().join("phone.png"),
        (390, 1600),
    );
    stats.len()
}

#[test]
fn report_figures_equal_stats_json_in_chromium() {
    let Some(chrome) = chromium_or_skip() else {
        return;
    };
    for (i, c) in [
        "captures/reference/async.pcap",
        "captures/public/newlife/rmq_4.9.7.pcap",
        "captures/cpp/rocketmq-cpp-dev.pcapng",
        "captures/node/rocketmq-node-dev.pcap",
        "captures/public/deepflow/rocketmq-pull-message.pcap",
        "captures/java/java5-broker5.pcap",
    ]
    .into_iter()
    .enumerate()
    {
        let capture = root().join(c);
        let shown = check_capture(capture.to_str().unwrap(), chrome, i < 2);
        assert!(shown > 30, "{c}: only {shown} figures shown");
        eprintln!("{c}: {shown} figures equal stats --json");
    }
}

/// The console check can fail: a page that fetches an image and runs a script (both
/// blocked by the report's Content-Security-Policy) logs console messages.
#[test]
fn console_messages_are_caught() {
    let Some(chrome) = chromium_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bad.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" \
         content=\"default-src 'none'; style-src 'unsafe-inline'\"></head><body>\
         <img src=\"http://example.invalid/a.png\"><script>console.error('x')</script>\
         </body></html>",
    )
    .unwrap();
    let r = render(chrome, &page, dir.path());
    assert!(r.console.len() >= 2, "{:#?}", r.console);
}
