//! The report's sections over time: throughput, latency, response codes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::Analysis;
use super::html::{code_name, derived, group, micros, plain, stat};
use super::plots::{self, Line, colour, error_colour};
use super::series::OTHER;
use crate::analysis::stats::Histogram;
use crate::remoting::codes::ResponseCode;

/// Request code series drawn one by one (the rest together as "other").
const DRAWN_CODES: usize = 8;

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

pub(super) fn throughput(o: &mut String, a: &Analysis) {
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

pub(super) fn latency(o: &mut String, a: &Analysis) {
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
    latency_by_code(o, a);
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

/// Request codes whose latency is drawn one by one (p50 and p99 each); the rest are folded
/// into "other codes".
const DRAWN_LATENCY_CODES: usize = 5;

/// p50 and p99 per interval of the request codes with the most answered requests, on a log
/// scale, and the figures over all intervals (count, p50, p99, max per code: those of
/// `stats --json` `codes[].latency_us`, the same histogram over the same responses).
fn latency_by_code(o: &mut String, a: &Analysis) {
    let s = &a.series;
    let times = timeline(a);
    let Some(&t0) = times.first() else {
        return;
    };
    let mut per: BTreeMap<i32, Histogram> = BTreeMap::new();
    for m in s.by_code.values() {
        for (c, b) in m {
            per.entry(*c).or_default().merge(&b.latency);
        }
    }
    let mut ranked: Vec<(i32, u64)> = per
        .iter()
        .filter(|(_, h)| h.count > 0)
        .map(|(c, h)| (*c, h.count))
        .collect();
    if ranked.is_empty() {
        return;
    }
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let drawn: Vec<i32> = ranked
        .iter()
        .map(|r| r.0)
        .filter(|&c| c != OTHER)
        .take(DRAWN_LATENCY_CODES)
        .collect();
    let folded: Vec<i32> = ranked
        .iter()
        .map(|r| r.0)
        .filter(|c| !drawn.contains(c))
        .collect();
    // Each interval's histogram of a set of codes.
    let at = |t: &i64, codes: &[i32]| -> Histogram {
        let mut h = Histogram::default();
        if let Some(m) = s.by_code.get(t) {
            for c in codes {
                if let Some(b) = m.get(c) {
                    h.merge(&b.latency);
                }
            }
        }
        h
    };
    let mut lines: Vec<Line> = Vec::new();
    let mut series: Vec<(String, Vec<i32>, plotters::style::RGBColor)> = drawn
        .iter()
        .enumerate()
        .map(|(k, &c)| (code_name(c), vec![c], colour(k)))
        .collect();
    if !folded.is_empty() {
        series.push(("other codes".into(), folded.clone(), plots::PALETTE[8]));
    }
    for (name, codes, col) in &series {
        let hs: Vec<(f64, Histogram)> = times
            .iter()
            .map(|t| (secs(*t, t0), at(t, codes)))
            .filter(|(_, h)| h.count > 0)
            .collect();
        for (q, width, dots) in [(0.5, 1, false), (0.99, 2, true)] {
            lines.push(Line {
                name: format!("{name} p{}", (q * 100.0) as u32),
                colour: *col,
                width,
                points: hs
                    .iter()
                    .filter_map(|(x, h)| h.quantile(q).map(|v| (*x, v as f64)))
                    .collect(),
                dots,
            });
        }
    }
    let _ = writeln!(
        o,
        "<div class=\"plot\" data-plot=\"latency-by-code\">{}</div>",
        plots::time_lines_legend_below(
            "Latency per interval by request code: p50 thin, p99 thick with dots (log scale)",
            "latency",
            &lines,
            true
        )
    );
    o.push_str("<details><summary>Latency by request code over all intervals</summary><div class=\"scroll\"><table><tr><th>request code</th><th>answered</th><th>p50</th><th>p99</th><th>max</th></tr>\n");
    let row = |o: &mut String, key: &str, name: &str, h: &Histogram| {
        let _ = write!(o, "<tr><td>{}</td>", super::html::esc(name));
        let count = Value::from(h.count);
        let _ = write!(
            o,
            "<td class=\"n\">{}</td>",
            derived(
                &format!("latency_by_code/{key}/count"),
                &count,
                &group(h.count)
            )
        );
        for (f, v) in [
            ("p50", h.quantile(0.5)),
            ("p99", h.quantile(0.99)),
            ("max", Some(h.max)),
        ] {
            let v = Value::from(v);
            let _ = write!(
                o,
                "<td class=\"n\">{}</td>",
                derived(&format!("latency_by_code/{key}/{f}"), &v, &micros(&v))
            );
        }
        o.push_str("</tr>\n");
    };
    for &c in &drawn {
        row(o, &c.to_string(), &code_name(c), &per[&c]);
    }
    if !folded.is_empty() {
        let mut h = Histogram::default();
        for c in &folded {
            h.merge(&per[c]);
        }
        row(o, "other", &format!("other codes ({})", folded.len()), &h);
    }
    o.push_str("</table></div></details>\n");
}

pub(super) fn responses(o: &mut String, a: &Analysis) {
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
