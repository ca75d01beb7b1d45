//! The report page (sections over time in `over_time`, the parties and problems in
//! `parties`): sections rendered from the `stats --json` document and the series.
//! Figures from the document carry `data-stat` (its JSON pointer) and `data-value` (the
//! value as JSON); figures the page computes carry `data-derived` (what it is) and
//! `data-value`.

use std::fmt::Write as _;

use serde_json::Value;

use super::Analysis;
use super::over_time::{latency, responses, throughput};
use super::parties::{consumers, problems, slowest, topics, topology};
use super::plots::human_us;
use super::series::OTHER;
use crate::remoting::codes::RequestCode;

/// The sections of each capture's report, in order (`data-section` values; docs/report.md).
pub const SECTIONS: [&str; 9] = [
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

const CSS: &str = "
:root{--fg:#1d2327;--muted:#5f6b73;--line:#d8dee3;--bg:#f6f8fa;--err:#c62828}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);background:#fff}
header.top{background:#1f3b57;color:#fff;padding:14px 20px}
header.top h1{margin:0;font-size:1.35em}
main{max-width:1280px;margin:0 auto;padding:8px 16px 40px}
nav.toc{display:flex;flex-wrap:wrap;gap:6px 14px;margin:10px 0;font-size:.92em}
nav.toc a{color:#1f5f99}
article.capture>h2{border-bottom:2px solid #1f3b57;padding-bottom:4px;word-break:break-all}
section{margin:18px 0 26px}
section h3{margin:0 0 8px;font-size:1.15em}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}
.tile{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:8px 10px}
.tile .k{color:var(--muted);font-size:.85em}
.tile .v{font-size:1.35em;font-weight:600}
.tile.bad .v{color:var(--err)}
.plot{overflow-x:auto;-webkit-overflow-scrolling:touch}
.plot svg{width:100%;height:auto;display:block;border:1px solid var(--line);border-radius:4px;margin:6px 0}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;font-size:.9em;margin:6px 0}
th,td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}
th{background:var(--bg)}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.err td{color:var(--err)}
.note{color:var(--muted);font-size:.9em}
details{margin:6px 0}
summary{cursor:pointer;color:#1f5f99}
.plot-error{color:var(--err)}
@media (max-width:700px){body{font-size:14px}main{padding:6px 8px 30px}.tiles{grid-template-columns:repeat(2,1fr)}table{font-size:.82em}.plot svg{min-width:600px}}
";

/// Escapes text for HTML (element text and attribute values).
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// One reference token of a JSON pointer (RFC 6901).
pub(super) fn tok(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// A figure of the document: `<span data-stat=… data-value=…>shown</span>`, or "n/a" when
/// the document has no such value.
pub(super) fn stat(doc: &Value, ptr: &str, show: impl Fn(&Value) -> String) -> String {
    match doc.pointer(ptr) {
        Some(v) if !v.is_null() => format!(
            "<span data-stat=\"{}\" data-value=\"{}\">{}</span>",
            esc(ptr),
            esc(&v.to_string()),
            esc(&show(v))
        ),
        Some(_) => format!(
            "<span data-stat=\"{}\" data-value=\"null\">n/a</span>",
            esc(ptr)
        ),
        None => "n/a".to_string(),
    }
}

/// A figure shown as the document writes it (numbers grouped by thousands).
pub(super) fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_u64().map(group).unwrap_or_else(|| n.to_string()),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

pub(super) fn micros(v: &Value) -> String {
    v.as_f64().map(human_us).unwrap_or_else(|| plain(v))
}

pub(super) fn group(n: u64) -> String {
    let s = n.to_string();
    let mut o = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            o.push(',');
        }
        o.push(c);
    }
    o
}

/// A figure the page computes: `data-derived` names it.
pub(super) fn derived(what: &str, value: &Value, shown: &str) -> String {
    format!(
        "<span data-derived=\"{}\" data-value=\"{}\">{}</span>",
        esc(what),
        esc(&value.to_string()),
        esc(shown)
    )
}

pub(super) fn code_name(c: i32) -> String {
    match c {
        OTHER => "other".into(),
        c if c < 0 => "(unpaired responses)".into(),
        c => RequestCode(c).to_string(),
    }
}

/// The whole page.
pub fn page(captures: &[Analysis]) -> String {
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // Nothing is fetched: no script, no image, no font, no connection.
    o.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n");
    let title = captures
        .iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(o, "<title>rmqdump report: {}</title>", esc(&title));
    let _ = writeln!(o, "<style>{CSS}</style></head><body>");
    let _ = writeln!(
        o,
        "<header class=\"top\"><h1>RocketMQ traffic report</h1><div>{} · rmqdump {}</div></header><main>",
        esc(&title),
        env!("CARGO_PKG_VERSION")
    );
    for (i, a) in captures.iter().enumerate() {
        capture(&mut o, i, a);
    }
    o.push_str("</main></body></html>\n");
    o
}

fn capture(o: &mut String, i: usize, a: &Analysis) {
    let d = &a.doc;
    let _ = writeln!(
        o,
        "<article class=\"capture\" data-capture=\"{}\" id=\"c{i}\"><h2>{}</h2>",
        esc(&a.name),
        esc(&a.name)
    );
    o.push_str("<nav class=\"toc\">");
    for s in SECTIONS {
        let _ = write!(o, "<a href=\"#c{i}-{s}\">{s}</a>");
    }
    o.push_str("</nav>\n");
    if let Some(e) = &a.capture_error {
        let _ = writeln!(
            o,
            "<p class=\"note\">The capture is damaged or truncated: {}. Everything before that is counted.</p>",
            esc(e)
        );
    }
    let open = |o: &mut String, s: &str, title: &str| {
        let _ = writeln!(
            o,
            "<section id=\"c{i}-{s}\" data-section=\"{s}\"><h3>{title}</h3>"
        );
    };
    open(o, "overview", "Overview");
    overview(o, a);
    o.push_str("</section>\n");
    open(o, "throughput", "Throughput over time");
    throughput(o, a);
    o.push_str("</section>\n");
    open(o, "latency", "Latency");
    latency(o, a);
    o.push_str("</section>\n");
    open(o, "responses", "Response codes over time");
    responses(o, a);
    o.push_str("</section>\n");
    open(o, "topics", "Topics: messages per queue, queue selection");
    topics(o, d);
    o.push_str("</section>\n");
    open(o, "topology", "Topology: clients, NameServers and Brokers");
    topology(o, d);
    o.push_str("</section>\n");
    open(o, "consumers", "Consumers");
    consumers(o, d);
    super::offsets::offsets(o, a);
    o.push_str("</section>\n");
    open(o, "slowest", "Slowest requests");
    slowest(o, d);
    o.push_str("</section>\n");
    open(o, "problems", "Problems");
    problems(o, d);
    o.push_str("</section>\n</article>\n");
}

fn tile(o: &mut String, key: &str, value: String, bad: bool) {
    let _ = writeln!(
        o,
        "<div class=\"tile{}\"><div class=\"k\">{}</div><div class=\"v\">{}</div></div>",
        if bad { " bad" } else { "" },
        esc(key),
        value
    );
}

fn overview(o: &mut String, a: &Analysis) {
    let d = &a.doc;
    o.push_str("<div class=\"tiles\">\n");
    tile(
        o,
        "span",
        stat(d, "/overview/span/seconds", |v| {
            v.as_f64().map(|s| format!("{s:.3} s")).unwrap_or_default()
        }),
        false,
    );
    for (k, p) in [
        ("packets", "/overview/packets"),
        ("TCP connections", "/overview/tcp_connections"),
        ("RemotingCommands", "/overview/remoting_commands"),
        ("requests", "/overview/requests"),
        ("oneway requests", "/overview/oneways"),
        ("responses", "/overview/responses"),
        ("messages sent", "/overview/messages_sent"),
    ] {
        tile(o, k, stat(d, p, plain), false);
    }
    let responses = d
        .pointer("/overview/responses")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let errors = d
        .pointer("/connections_total/errors")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    tile(
        o,
        "error responses",
        stat(d, "/connections_total/errors", plain),
        errors > 0,
    );
    let rate = (responses > 0).then(|| errors as f64 / responses as f64);
    tile(
        o,
        "error rate",
        match rate {
            Some(r) => derived(
                "error_rate",
                &Value::from(r),
                &format!("{:.2} %", r * 100.0),
            ),
            None => derived("error_rate", &Value::Null, "n/a"),
        },
        errors > 0,
    );
    for (k, q, v) in [
        ("latency p50", "latency_p50_us", a.p50_us),
        ("latency p99", "latency_p99_us", a.p99_us),
    ] {
        let shown = v
            .map(|v| human_us(v as f64))
            .unwrap_or_else(|| "n/a".into());
        tile(
            o,
            k,
            derived(q, &v.map(Value::from).unwrap_or(Value::Null), &shown),
            false,
        );
    }
    let problems: u64 = d
        .pointer("/problems/by_kind")
        .and_then(Value::as_object)
        .map(|m| m.values().filter_map(|p| p["count"].as_u64()).sum())
        .unwrap_or(0);
    tile(
        o,
        "problems",
        derived("problems", &Value::from(problems), &group(problems)),
        problems > 0,
    );
    for (k, p) in [
        ("unanswered requests", "/overview/unanswered_requests"),
        ("undecodable frames", "/overview/undecodable_frames"),
        ("gaps", "/overview/gaps"),
    ] {
        let bad = d.pointer(p).and_then(Value::as_u64).unwrap_or(0) > 0;
        tile(o, k, stat(d, p, plain), bad);
    }
    o.push_str("</div>\n");
    let _ = writeln!(
        o,
        "<p class=\"note\">First packet {}, last {}. Interval of the plots: {}.</p>",
        stat(d, "/overview/span/first", plain),
        stat(d, "/overview/span/last", plain),
        stat(d, "/interval_seconds", |v| {
            v.as_f64().map(|s| human_us(s * 1e6)).unwrap_or_default()
        })
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::report::Series;
    use serde_json::json;

    #[test]
    fn names_from_the_wire_are_escaped() {
        // A topic, producer group, remark and problem text as hostile as a capture allows.
        let evil = "<script>alert(1)</script>\"'&";
        let doc = json!({
            "overview": {"responses": 1, "span": null},
            "connections_total": {"errors": 1, "connections": 1},
            "codes": [{"code": 10, "name": evil, "requests": 1, "latency_us": {"count": 0}}],
            "topics": [{"topic": evil, "messages": 1, "queues": [{"broker": evil, "broker_addr": "1.2.3.4:5", "queue_id": 0, "messages": 1}],
                        "queue_selection": [{"producer": evil, "picks": 1, "sequence": [evil], "queue_list": [evil]}]}],
            "connections": [{"client": evil, "server": evil, "role": evil, "client_language": evil}],
            "problems": {"error_responses": [{"remark": evil, "count": 1}], "slowest": [],
                         "by_kind": {"frame": {"count": 1, "examples": [{"packet": 1, "message": evil}]}}},
        });
        let a = Analysis {
            name: evil.into(),
            doc,
            series: Series::new(None),
            interval_starts: Vec::new(),
            p50_us: None,
            p99_us: None,
            totals: Default::default(),
            capture_error: Some(evil.into()),
        };
        let page = page(&[a]);
        assert!(!page.contains("<script"), "unescaped name in the page");
        assert!(page.contains("&lt;script&gt;"));
        for s in SECTIONS {
            assert!(page.contains(&format!("data-section=\"{s}\"")), "{s}");
        }
    }
}
