//! The report page: sections rendered from the `stats --json` document and the series.
//! Figures from the document carry `data-stat` (its JSON pointer) and `data-value` (the
//! value as JSON); figures the page computes carry `data-derived` (what it is) and
//! `data-value`.

use std::fmt::Write as _;

use serde_json::Value;

use super::Analysis;
use super::plots::{self, Line, Node, colour, error_colour, human_us};
use super::series::OTHER;
use crate::remoting::codes::{RequestCode, ResponseCode};

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

/// Request codes shown under "consumers" (`RequestCode.java`: pull, pop and offset codes).
const CONSUMER_CODES: [i32; 19] = [
    11, 14, 15, 29, 30, 31, 34, 36, 38, 41, 42, 361, 200050, 200051, 200052, 200053, 200054,
    200055, 200151,
];

/// Topics drawn (heatmap and queue picks), and producers drawn per topic: past them the
/// figures are in the tables only (a page of thousands of plots helps nobody).
const DRAWN_TOPICS: usize = 50;
const DRAWN_PRODUCERS: usize = 5;

/// Request code series drawn one by one (the rest together as "other").
const DRAWN_CODES: usize = 8;

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
fn tok(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// A figure of the document: `<span data-stat=… data-value=…>shown</span>`, or "n/a" when
/// the document has no such value.
fn stat(doc: &Value, ptr: &str, show: impl Fn(&Value) -> String) -> String {
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
fn plain(v: &Value) -> String {
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

fn micros(v: &Value) -> String {
    v.as_f64().map(human_us).unwrap_or_else(|| plain(v))
}

fn group(n: u64) -> String {
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
fn derived(what: &str, value: &Value, shown: &str) -> String {
    format!(
        "<span data-derived=\"{}\" data-value=\"{}\">{}</span>",
        esc(what),
        esc(&value.to_string()),
        esc(shown)
    )
}

fn code_name(c: i32) -> String {
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

/// Intervals drawn: every interval from the first to the last one with a frame (empty ones
/// drawn as 0), unless there would be more than [`MAX_DRAWN`] (an --interval much finer than
/// the capture): then only those with frames.
fn timeline(a: &Analysis) -> Vec<i64> {
    let s = &a.series;
    let (Some(&first), Some(&last)) = (s.by_code.keys().next(), s.by_code.keys().next_back())
    else {
        return Vec::new();
    };
    let step = s.interval_ns;
    if (last - first) / step >= MAX_DRAWN {
        return s.by_code.keys().copied().collect();
    }
    (0..=(last - first) / step)
        .map(|k| first + k * step)
        .collect()
}

const MAX_DRAWN: i64 = 4_096;

/// Seconds from the first interval.
fn secs(t: i64, t0: i64) -> f64 {
    (t - t0) as f64 / 1e9
}

fn throughput(o: &mut String, a: &Analysis) {
    let s = &a.series;
    let iv = s.interval_ns as f64 / 1e9;
    let times = timeline(a);
    let Some(&t0) = times.first() else {
        o.push_str("<p class=\"note\">No RemotingCommand in the capture.</p>");
        return;
    };
    // Codes by frames, the first DRAWN_CODES drawn one by one.
    let mut totals: Vec<(i32, u64)> = s
        .request_codes
        .iter()
        .chain(std::iter::once(&OTHER))
        .map(|&c| {
            (
                c,
                s.by_code
                    .values()
                    .filter_map(|m| m.get(&c))
                    .map(|b| b.frames)
                    .sum(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    totals.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let drawn: Vec<i32> = totals.iter().take(DRAWN_CODES).map(|(c, _)| *c).collect();
    let rest = totals.len() > drawn.len();
    type Pick = fn(&super::series::CodeBucket) -> u64;
    let metrics: [(&str, &str, Pick); 3] = [
        ("Frames per second, by request code", "frames/s", |b| {
            b.frames
        }),
        (
            "Messages sent per second, by request code",
            "messages/s",
            |b| b.messages,
        ),
        (
            "Bytes per second (frames), by request code",
            "bytes/s",
            |b| b.bytes,
        ),
    ];
    for (title, unit, pick) in metrics {
        let mut lines: Vec<Line> = Vec::new();
        for (k, &c) in drawn.iter().enumerate() {
            lines.push(Line {
                name: code_name(c),
                colour: colour(k),
                width: 2,
                points: times
                    .iter()
                    .map(|t| {
                        let n = s
                            .by_code
                            .get(t)
                            .and_then(|m| m.get(&c))
                            .map(pick)
                            .unwrap_or(0);
                        (secs(*t, t0), n as f64 / iv)
                    })
                    .collect(),
                dots: false,
            });
        }
        if rest {
            lines.push(Line {
                name: "other codes".into(),
                colour: plots::PALETTE[8],
                width: 1,
                points: times
                    .iter()
                    .map(|t| {
                        let n: u64 = s
                            .by_code
                            .get(t)
                            .into_iter()
                            .flatten()
                            .filter(|(c, _)| !drawn.contains(c))
                            .map(|(_, b)| pick(b))
                            .sum();
                        (secs(*t, t0), n as f64 / iv)
                    })
                    .collect(),
                dots: false,
            });
        }
        lines.retain(|l| l.points.iter().any(|p| p.1 > 0.0));
        if lines.is_empty() {
            o.push_str("<p class=\"note\">No message was sent in the capture.</p>");
            continue;
        }
        let _ = writeln!(
            o,
            "<div class=\"plot\">{}</div>",
            plots::time_lines(title, unit, &lines, false)
        );
    }
    // The figures per interval, from the statistics.
    o.push_str("<details><summary>Figures per interval</summary><div class=\"scroll\"><table><tr><th>start</th><th>frames</th><th>requests</th><th>requests by code (sum)</th><th>responses</th><th>errors</th><th>messages</th><th>bytes</th></tr>\n");
    let d = &a.doc;
    let n = d
        .pointer("/intervals")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    for k in 0..n {
        let by_code: u64 = a
            .interval_starts
            .get(k)
            .and_then(|t| s.by_code.get(t))
            .map(|m| m.values().map(|b| b.requests).sum())
            .unwrap_or(0);
        let _ = write!(
            o,
            "<tr><td>{}</td>",
            stat(d, &format!("/intervals/{k}/start"), plain)
        );
        for f in ["frames", "requests"] {
            let _ = write!(
                o,
                "<td class=\"n\">{}</td>",
                stat(d, &format!("/intervals/{k}/{f}"), plain)
            );
        }
        let _ = write!(
            o,
            "<td class=\"n\">{}</td>",
            derived(
                &format!("interval_requests_by_code/{k}"),
                &Value::from(by_code),
                &group(by_code)
            )
        );
        for f in ["responses", "errors", "messages", "bytes"] {
            let _ = write!(
                o,
                "<td class=\"n\">{}</td>",
                stat(d, &format!("/intervals/{k}/{f}"), plain)
            );
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table></div></details>\n");
}

fn latency(o: &mut String, a: &Analysis) {
    let d = &a.doc;
    let intervals = d.pointer("/intervals").and_then(Value::as_array);
    let t0 = timeline(a)
        .first()
        .copied()
        .into_iter()
        .chain(a.interval_starts.first().copied())
        .min();
    if let (Some(iv), Some(t0)) = (intervals, t0) {
        let line = |q: &str| -> Vec<(f64, f64)> {
            iv.iter()
                .zip(&a.interval_starts)
                .filter_map(|(b, t)| b["latency_us"][q].as_f64().map(|v| (secs(*t, t0), v)))
                .collect()
        };
        let lines = [
            Line {
                name: "p50".into(),
                colour: colour(0),
                width: 2,
                points: line("p50"),
                dots: false,
            },
            Line {
                name: "p99".into(),
                colour: colour(9),
                width: 2,
                points: line("p99"),
                dots: false,
            },
        ];
        if lines.iter().any(|l| !l.points.is_empty()) {
            let _ = writeln!(
                o,
                "<div class=\"plot\">{}</div>",
                plots::time_lines(
                    "Latency per interval, all request codes (log scale)",
                    "latency",
                    &lines,
                    true
                )
            );
        }
    }
    if a.series.latency_bins.iter().any(|&n| n > 0) {
        let _ = writeln!(
            o,
            "<div class=\"plot\">{}</div>",
            plots::latency_histogram(&a.series.latency_bins)
        );
        let n: u64 = a.series.latency_bins.iter().sum();
        let _ = writeln!(
            o,
            "<p class=\"note\">{} responses paired with their request in the histogram.</p>",
            derived("latency_histogram_count", &Value::from(n), &group(n))
        );
    } else {
        o.push_str("<p class=\"note\">No response paired with its request: no latency.</p>");
    }
    o.push_str("<div class=\"scroll\"><table><tr><th>request code</th><th>requests</th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>answered</th><th>error rate</th></tr>\n");
    let codes = d
        .pointer("/codes")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    for k in 0..codes {
        let p = |f: &str| format!("/codes/{k}/{f}");
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"n\">{}</td>",
            stat(d, &p("name"), plain),
            stat(d, &p("requests"), plain)
        );
        for q in ["p50", "p90", "p99", "max"] {
            let _ = write!(
                o,
                "<td class=\"n\">{}</td>",
                stat(d, &p(&format!("latency_us/{q}")), micros)
            );
        }
        let _ = writeln!(
            o,
            "<td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            stat(d, &p("latency_us/count"), plain),
            stat(d, &p("error_rate"), |v| v
                .as_f64()
                .map(|r| format!("{:.2} %", r * 100.0))
                .unwrap_or_default())
        );
    }
    o.push_str("</table></div>\n");
}

fn responses(o: &mut String, a: &Analysis) {
    let s = &a.series;
    let times = timeline(a);
    let Some(&t0) = times.first() else {
        o.push_str("<p class=\"note\">No response in the capture.</p>");
        return;
    };
    let iv = s.interval_ns as f64 / 1e9;
    let mut lines = Vec::new();
    let mut errs = 0;
    for &c in s.response_codes.iter().chain(std::iter::once(&OTHER)) {
        let points: Vec<(f64, f64)> = times
            .iter()
            .map(|t| {
                let n = s
                    .by_response
                    .get(t)
                    .and_then(|m| m.get(&c))
                    .copied()
                    .unwrap_or(0);
                (secs(*t, t0), n as f64 / iv)
            })
            .collect();
        if points.iter().all(|p| p.1 == 0.0) {
            continue;
        }
        let ok = c == 0;
        lines.push(Line {
            name: if c == OTHER {
                "other codes".into()
            } else {
                ResponseCode(c).to_string()
            },
            colour: if ok {
                plots::PALETTE[2]
            } else {
                errs += 1;
                error_colour(errs - 1)
            },
            width: if ok { 2 } else { 3 },
            points,
            dots: !ok,
        });
    }
    if lines.is_empty() {
        o.push_str("<p class=\"note\">No response in the capture.</p>");
    } else {
        let _ = writeln!(
            o,
            "<div class=\"plot\">{}</div>",
            plots::time_lines(
                "Responses per second by response code (errors: red, with dots)",
                "responses/s",
                &lines,
                false
            )
        );
    }
    let d = &a.doc;
    let errors = d
        .pointer("/problems/error_responses")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if errors == 0 {
        o.push_str("<p class=\"note\">No error response.</p>");
        return;
    }
    o.push_str("<div class=\"scroll\"><table><tr><th>request</th><th>response</th><th>remark</th><th>count</th><th>first packet</th></tr>\n");
    for k in 0..errors {
        let p = |f: &str| format!("/problems/error_responses/{k}/{f}");
        let _ = writeln!(
            o,
            "<tr class=\"err\"><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            stat(d, &p("request"), plain),
            stat(d, &p("response"), plain),
            stat(d, &p("remark"), plain),
            stat(d, &p("count"), plain),
            stat(d, &p("first_packet"), plain)
        );
    }
    o.push_str("</table></div>\n");
    let _ = writeln!(
        o,
        "<p class=\"note\">Kinds past the first 1,000: {}</p>",
        stat(d, "/problems/error_responses_more", plain)
    );
}

fn topics(o: &mut String, d: &Value) {
    let topics = d
        .pointer("/topics")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if topics.is_empty() {
        o.push_str("<p class=\"note\">No message was sent in the capture.</p>");
        return;
    }
    for (k, t) in topics.iter().enumerate() {
        let p = |f: &str| format!("/topics/{k}/{f}");
        let _ = writeln!(
            o,
            "<h4>{}</h4><p>{} messages, {} body bytes, {} send errors; tags: {}</p>",
            stat(d, &p("topic"), plain),
            stat(d, &p("messages"), plain),
            stat(d, &p("body_bytes"), plain),
            stat(d, &p("send_errors"), plain),
            stat(d, &p("tags"), plain)
        );
        let queues = t["queues"].as_array().cloned().unwrap_or_default();
        let draw = k < DRAWN_TOPICS;
        if !queues.is_empty() && draw {
            let mut rows: Vec<String> = queues
                .iter()
                .filter_map(|q| q["broker"].as_str().map(str::to_string))
                .collect();
            rows.sort();
            rows.dedup();
            let mut cols: Vec<i32> = queues
                .iter()
                .filter_map(|q| q["queue_id"].as_i64().map(|v| v as i32))
                .collect();
            cols.sort();
            cols.dedup();
            // A capture with thousands of queues would draw an unreadable map: the first 64 columns.
            cols.truncate(64);
            rows.truncate(24);
            let cell = |r: usize, c: usize| -> u64 {
                queues
                    .iter()
                    .filter(|q| {
                        q["broker"].as_str() == Some(rows[r].as_str())
                            && q["queue_id"].as_i64() == Some(cols[c] as i64)
                    })
                    .filter_map(|q| q["messages"].as_u64())
                    .sum()
            };
            let title = format!(
                "Messages per (broker, queueId): {}",
                t["topic"].as_str().unwrap_or("")
            );
            let _ = writeln!(
                o,
                "<div class=\"plot\">{}</div>",
                plots::heatmap(&title, &rows, &cols, &cell)
            );
        }
        if !queues.is_empty() {
            o.push_str("<details><summary>Messages per queue</summary><div class=\"scroll\"><table><tr><th>broker</th><th>address</th><th>queueId</th><th>messages</th></tr>\n");
            for j in 0..queues.len() {
                let q = |f: &str| format!("/topics/{k}/queues/{j}/{f}");
                let _ = writeln!(
                    o,
                    "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                    stat(d, &q("broker"), plain),
                    stat(d, &q("broker_addr"), plain),
                    stat(d, &q("queue_id"), plain),
                    stat(d, &q("messages"), plain)
                );
            }
            o.push_str("</table></div></details>\n");
        }
        let sel = t["queue_selection"].as_array().cloned().unwrap_or_default();
        for (j, s) in sel.iter().enumerate() {
            let q = |f: &str| format!("/topics/{k}/queue_selection/{j}/{f}");
            let strings = |v: &Value| -> Vec<String> {
                v.as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let list = strings(&s["queue_list"]);
            let picks = strings(&s["sequence"]);
            let _ = writeln!(
                o,
                "<p>Producer {}: {} picks; round robin: {} ({} of {} steps); queue list from the route: {}; unused queues: {}; spread (max/min): {}</p>",
                stat(d, &q("producer"), plain),
                stat(d, &q("picks"), plain),
                stat(d, &q("round_robin"), plain),
                stat(d, &q("round_robin_steps"), plain),
                stat(d, &q("steps"), plain),
                stat(d, &q("queue_list_from_route"), plain),
                stat(d, &q("unused_queues"), plain),
                stat(d, &q("spread"), |v| v
                    .as_f64()
                    .map(|x| format!("{x:.2}"))
                    .unwrap_or_default()),
            );
            if !picks.is_empty() && draw && j < DRAWN_PRODUCERS {
                let title = format!(
                    "Queue picks of {} (first {}) against the route's queue list",
                    s["producer"].as_str().unwrap_or(""),
                    picks.len()
                );
                let _ = writeln!(
                    o,
                    "<div class=\"plot\">{}</div>",
                    plots::picks(&title, &list, &picks)
                );
            }
        }
    }
    if topics.len() > DRAWN_TOPICS {
        let _ = writeln!(
            o,
            "<p class=\"note\">Plots drawn for the first {DRAWN_TOPICS} topics and {DRAWN_PRODUCERS} producers of each; the figures of all are above.</p>"
        );
    }
}

fn topology(o: &mut String, d: &Value) {
    let conns = d
        .pointer("/connections")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if conns.is_empty() {
        o.push_str("<p class=\"note\">No connection carried a RemotingCommand.</p>");
        return;
    }
    // Clients by (IP, language, version); servers by address and role.
    let mut clients: Vec<(String, String)> = Vec::new();
    let mut servers: Vec<(String, String)> = Vec::new();
    let mut edges: Vec<(usize, usize)> = Vec::new();
    const MAX_NODES: usize = 30;
    let mut left_out = 0;
    for c in &conns {
        let ip = c["client"]
            .as_str()
            .unwrap_or("")
            .rsplit_once(':')
            .map(|x| x.0)
            .unwrap_or("")
            .to_string();
        let lang = c["client_language"].as_str().unwrap_or("?");
        let ver = c["client_version_name"]
            .as_str()
            .map(str::to_string)
            .or_else(|| c["client_version"].as_i64().map(|v| v.to_string()))
            .unwrap_or_else(|| "?".into());
        let ck = (ip, format!("{lang} {ver}"));
        let sk = (
            c["server"].as_str().unwrap_or("").to_string(),
            c["role"].as_str().unwrap_or("").to_string(),
        );
        let ci = clients.iter().position(|x| *x == ck).or_else(|| {
            (clients.len() < MAX_NODES).then(|| {
                clients.push(ck);
                clients.len() - 1
            })
        });
        let si = servers.iter().position(|x| *x == sk).or_else(|| {
            (servers.len() < MAX_NODES).then(|| {
                servers.push(sk);
                servers.len() - 1
            })
        });
        match (ci, si) {
            (Some(a), Some(b)) => {
                if !edges.contains(&(a, b)) {
                    edges.push((a, b));
                }
            }
            _ => left_out += 1,
        }
    }
    let nodes = |v: &[(String, String)]| -> Vec<Node> {
        v.iter()
            .map(|(a, b)| Node {
                label: a.clone(),
                detail: b.clone(),
            })
            .collect()
    };
    let _ = writeln!(
        o,
        "<div class=\"plot\">{}</div>",
        plots::topology(&nodes(&clients), &nodes(&servers), &edges)
    );
    if left_out > 0 {
        let _ = writeln!(
            o,
            "<p class=\"note\">{left_out} connections not drawn (more than {MAX_NODES} clients or servers).</p>"
        );
    }
    let _ = writeln!(
        o,
        "<p>{} connections in all; the table lists the top ones by bytes, frames and errors ({} more).</p>",
        stat(d, "/connections_total/connections", plain),
        stat(d, "/connections_more", plain)
    );
    o.push_str("<div class=\"scroll\"><table><tr><th>stream</th><th>client</th><th>language</th><th>version</th><th>server</th><th>role</th><th>frames →/←</th><th>bytes →/←</th><th>errors</th></tr>\n");
    for k in 0..conns.len() {
        let p = |f: &str| format!("/connections/{k}/{f}");
        let _ = writeln!(
            o,
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{} / {}</td><td class=\"n\">{} / {}</td><td class=\"n\">{}</td></tr>",
            stat(d, &p("stream"), plain),
            stat(d, &p("client"), plain),
            stat(d, &p("client_language"), plain),
            stat(d, &p("client_version_name"), plain),
            stat(d, &p("server"), plain),
            stat(d, &p("role"), plain),
            stat(d, &p("frames_to_server"), plain),
            stat(d, &p("frames_to_client"), plain),
            stat(d, &p("bytes_to_server"), plain),
            stat(d, &p("bytes_to_client"), plain),
            stat(d, &p("errors"), plain),
        );
    }
    o.push_str("</table></div>\n");
}

fn consumers(o: &mut String, d: &Value) {
    // A consumer view of the statistics (when `stats --json` has one): every row as is.
    if let Some(rows) = d
        .get("consumers")
        .and_then(Value::as_array)
        .filter(|r| !r.is_empty())
    {
        generic_table(o, d, "/consumers", rows);
    }
    let codes = d
        .pointer("/codes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let shown: Vec<usize> = codes
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c["code"]
                .as_i64()
                .is_some_and(|x| CONSUMER_CODES.contains(&(x as i32)))
        })
        .map(|(k, _)| k)
        .collect();
    if shown.is_empty() {
        o.push_str("<p class=\"note\">No consumer request (pull, pop, offsets, heartbeat) in the capture.</p>");
        return;
    }
    o.push_str("<p class=\"note\">Consumer requests (pull, pop, offsets, heartbeats, rebalancing); offsets and lag over time are not yet in the statistics.</p>");
    o.push_str("<div class=\"scroll\"><table><tr><th>request code</th><th>requests</th><th>p50</th><th>p99</th><th>error rate</th><th>request bytes</th><th>response bytes</th></tr>\n");
    for k in shown {
        let p = |f: &str| format!("/codes/{k}/{f}");
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            stat(d, &p("name"), plain),
            stat(d, &p("requests"), plain),
            stat(d, &p("latency_us/p50"), micros),
            stat(d, &p("latency_us/p99"), micros),
            stat(d, &p("error_rate"), |v| v
                .as_f64()
                .map(|r| format!("{:.2} %", r * 100.0))
                .unwrap_or_default()),
            stat(d, &p("request_bytes"), plain),
            stat(d, &p("response_bytes"), plain),
        );
    }
    o.push_str("</table></div>\n");
}

/// Rows of objects as a table: the keys of the first row as columns.
fn generic_table(o: &mut String, d: &Value, at: &str, rows: &[Value]) {
    let keys: Vec<String> = rows[0]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    o.push_str("<div class=\"scroll\"><table><tr>");
    for k in &keys {
        let _ = write!(o, "<th>{}</th>", esc(k));
    }
    o.push_str("</tr>\n");
    for i in 0..rows.len().min(500) {
        o.push_str("<tr>");
        for k in &keys {
            let _ = write!(
                o,
                "<td>{}</td>",
                stat(d, &format!("{at}/{i}/{}", tok(k)), plain)
            );
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table></div>\n");
}

fn slowest(o: &mut String, d: &Value) {
    let n = d
        .pointer("/problems/slowest")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if n == 0 {
        o.push_str("<p class=\"note\">No response paired with its request.</p>");
        return;
    }
    o.push_str("<div class=\"scroll\"><table><tr><th>latency</th><th>request</th><th>request packet</th><th>response packet</th><th>stream</th></tr>\n");
    for k in 0..n {
        let p = |f: &str| format!("/problems/slowest/{k}/{f}");
        let _ = writeln!(
            o,
            "<tr><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            stat(d, &p("latency_us"), micros),
            stat(d, &p("request"), plain),
            stat(d, &p("request_packet"), plain),
            stat(d, &p("response_packet"), plain),
            stat(d, &p("stream"), plain),
        );
    }
    o.push_str("</table></div>\n<p class=\"note\">Packet numbers as Wireshark counts them (<code>frame.number</code>).</p>\n");
}

fn problems(o: &mut String, d: &Value) {
    let kinds = d
        .pointer("/problems/by_kind")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if kinds.is_empty() {
        o.push_str("<p class=\"note\">No problem found.</p>");
        return;
    }
    o.push_str("<div class=\"scroll\"><table><tr><th>kind</th><th>count</th><th>packet</th><th>first ones</th></tr>\n");
    for (kind, a) in &kinds {
        let ex = a["examples"].as_array().map_or(0, Vec::len);
        let base = format!("/problems/by_kind/{}", tok(kind));
        let _ = writeln!(
            o,
            "<tr class=\"err\"><td rowspan=\"{}\">{}</td><td class=\"n\" rowspan=\"{}\">{}</td>",
            ex.max(1),
            esc(kind),
            ex.max(1),
            stat(d, &format!("{base}/count"), plain)
        );
        if ex == 0 {
            o.push_str("<td></td><td></td></tr>\n");
        }
        for j in 0..ex {
            if j > 0 {
                o.push_str("<tr class=\"err\">");
            }
            let _ = writeln!(
                o,
                "<td class=\"n\">{}</td><td>{}</td></tr>",
                stat(d, &format!("{base}/examples/{j}/packet"), plain),
                stat(d, &format!("{base}/examples/{j}/message"), plain),
            );
        }
    }
    o.push_str("</table></div>\n");
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
