//! The report's consumer offsets over time: per consumer group and queue, the pulls'
//! `queueOffset` and the answers' `nextBeginOffset` (the last of each interval), from the
//! consumer view of the statistics (`stats --json` `consumers.groups[].queues[].intervals`,
//! src/analysis/stats/consumers.rs), and per queue the committed offset, the broker's max
//! offset and the lag where both were seen. Every figure of the tables is a `data-stat` of
//! that document.
//!
//! The lag over time is each interval's `lag` (the last pull-answer `maxOffset` − the last
//! committed offset seen by the interval's end), and the popped offsets those POP_MESSAGE
//! answers name per interval.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::Analysis;
use super::html::{esc, plain, stat};
use super::plots::{self, Line, colour};

/// Queues drawn (those with the most pulls); the others are said as "N more".
pub const DRAWN_QUEUES: usize = 8;

/// (group index, queue index, pulls) of every queue (`with_intervals`: only those with
/// per-interval records).
fn queues(d: &Value, with_intervals: bool) -> Vec<(usize, usize, u64)> {
    let mut v = Vec::new();
    let groups = d
        .pointer("/consumers/groups")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (g, gv) in groups.iter().enumerate() {
        let qs = gv["queues"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (q, qv) in qs.iter().enumerate() {
            if !with_intervals || qv["intervals"].as_array().is_some_and(|i| !i.is_empty()) {
                v.push((g, q, qv["pulls"].as_u64().unwrap_or(0)));
            }
        }
    }
    v.sort_by(|a, b| b.2.cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
    v
}

fn label(d: &Value, g: usize, q: usize) -> String {
    let gv = &d["consumers"]["groups"][g];
    let qv = &gv["queues"][q];
    format!(
        "{} · {} · {} · q{}",
        gv["group"].as_str().unwrap_or(""),
        qv["topic"].as_str().unwrap_or(""),
        qv["broker"].as_str().unwrap_or(""),
        qv["queue_id"]
    )
}

pub(super) fn offsets(o: &mut String, a: &Analysis) {
    let d = &a.doc;
    let every = queues(d, false);
    if every.is_empty() {
        o.push_str("<p class=\"note\">No consumer queue in the capture: no offsets.</p>");
        return;
    }
    let all = queues(d, true);
    // Interval start (as the document writes it) → ns, from the statistics' intervals.
    let starts: HashMap<&str, i64> = d
        .pointer("/intervals")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .zip(&a.interval_starts)
        .filter_map(|(b, t)| Some((b["start"].as_str()?, *t)))
        .collect();
    let t0 = a.interval_starts.first().copied().unwrap_or(0);
    let drawn = &all[..all.len().min(DRAWN_QUEUES)];
    for (field, title) in [
        (
            "pull_offset",
            "Pull offsets (queueOffset, last per interval) by group and queue",
        ),
        (
            "next_begin_offset",
            "nextBeginOffset of the pull answers (last per interval) by group and queue",
        ),
        (
            "lag",
            "Lag (max offset − committed offset, at each interval's end) by group and queue",
        ),
        (
            "popped_offset",
            "Popped offsets (POP_MESSAGE answers' msgOffsetInfo, last per interval) by group and queue",
        ),
    ] {
        let lines: Vec<Line> = drawn
            .iter()
            .enumerate()
            .map(|(k, &(g, q, _))| Line {
                name: label(d, g, q),
                colour: colour(k),
                width: 2,
                points: d["consumers"]["groups"][g]["queues"][q]["intervals"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|s| {
                        let t = starts.get(s["start"].as_str()?)?;
                        let v = if field == "lag" {
                            s[field].as_f64()?
                        } else {
                            s[field]["last"]["value"].as_f64()?
                        };
                        Some(((t - t0) as f64 / 1e9, v))
                    })
                    .collect(),
                dots: true,
            })
            .filter(|l: &Line| !l.points.is_empty())
            .collect();
        if lines.is_empty() {
            let _ = writeln!(o, "<p class=\"note\">{}: none seen.</p>", esc(title));
            continue;
        }
        let _ = writeln!(
            o,
            "<div class=\"plot\" data-plot=\"{field}\">{}</div>",
            plots::time_lines_legend_below(title, "offset", &lines, false)
        );
    }
    if all.len() > drawn.len() {
        let n = all.len() - drawn.len();
        let _ = writeln!(
            o,
            "<p class=\"note\" data-derived=\"offsets_queues_more\" data-value=\"{n}\">{n} more {} not drawn (the {DRAWN_QUEUES} with the most pulls are; all are in the table).</p>",
            if n == 1 { "queue" } else { "queues" },
        );
    }
    // Every queue at the end: the offsets and the lag, pulled and popped.
    o.push_str("<div class=\"scroll\"><table><tr><th>group · topic · broker · queue</th><th>pulls</th><th>first queueOffset</th><th>last queueOffset</th><th>last nextBeginOffset</th><th>committed</th><th>max offset</th><th>lag</th><th>pops</th><th>last popped offset</th><th>pop max offset</th><th>pop lag</th><th>acks</th><th>acked messages</th><th>ack failed</th></tr>\n");
    for &(g, q, _) in &every {
        let p = |f: &str| format!("/consumers/groups/{g}/queues/{q}/{f}");
        let _ = write!(o, "<tr><td>{}</td>", esc(&label(d, g, q)));
        for f in [
            "pulls",
            "pull_offset/first/value",
            "pull_offset/last/value",
            "next_begin_offset/last/value",
            "committed_offset/last/value",
            "max_offset/value",
            "lag",
            "pops",
            "popped_offset/last/value",
            "pop_max_offset/value",
            "pop_lag",
            "acks",
            "acked_messages",
            "ack_failed_messages",
        ] {
            let _ = write!(o, "<td class=\"n\">{}</td>", stat(d, &p(f), plain));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table></div>\n");
    // The figures drawn, per interval.
    o.push_str("<details><summary>Offsets per interval of the queues drawn</summary><div class=\"scroll\"><table><tr><th>queue</th><th>start</th><th>pulls</th><th>last queueOffset</th><th>last nextBeginOffset</th><th>last committed</th><th>lag</th><th>last popped offset</th></tr>\n");
    for &(g, q, _) in drawn {
        let n = d["consumers"]["groups"][g]["queues"][q]["intervals"]
            .as_array()
            .map_or(0, Vec::len);
        for k in 0..n {
            let p = |f: &str| format!("/consumers/groups/{g}/queues/{q}/intervals/{k}/{f}");
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&label(d, g, q)),
                stat(d, &p("start"), plain),
                stat(d, &p("pulls"), plain),
                stat(d, &p("pull_offset/last/value"), plain),
                stat(d, &p("next_begin_offset/last/value"), plain),
                stat(d, &p("committed_offset/last/value"), plain),
                stat(d, &p("lag"), plain),
                stat(d, &p("popped_offset/last/value"), plain),
            );
        }
    }
    o.push_str("</table></div></details>\n");
    o.push_str("<p class=\"note\">Lag: the last max offset a pull answer gave minus the last committed offset, at each interval's end (the table's lag is the end of the capture's, where GET_MAX_OFFSET answers count too). For a popped queue see pop_lag in stats --json.</p>\n");
}
