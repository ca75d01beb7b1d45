//! The `stats` tables (comfy-table), rendered from the same JSON document `--json` prints,
//! so the two outputs cannot disagree.

use std::fmt::Write as _;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};
use serde_json::Value;

fn table(headers: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers.iter().map(Cell::new));
    t
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(x) => x.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.3}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn num(v: &Value) -> Cell {
    Cell::new(s(v)).set_alignment(CellAlignment::Right)
}

fn pct(v: &Value) -> Cell {
    Cell::new(
        v.as_f64()
            .map(|f| format!("{:.1}%", f * 100.0))
            .unwrap_or_else(|| "-".into()),
    )
    .set_alignment(CellAlignment::Right)
}

fn list(v: &Value, max: usize) -> String {
    list_more(v, 0, max)
}

/// The first `max` items of a list that leaves out `more` others already.
fn list_more(v: &Value, more: u64, max: usize) -> String {
    let items: Vec<String> = v
        .as_array()
        .map(|a| a.iter().map(s).collect())
        .unwrap_or_default();
    let left = items.len().saturating_sub(max) as u64 + more;
    let shown = items[..items.len().min(max)].join(" ");
    if left > 0 {
        format!("{shown} … (+{left})")
    } else {
        shown
    }
}

/// All tables for a stats document, as wide as their content.
pub fn render(doc: &Value) -> String {
    render_with(doc, &TableOptions::default())
}

/// How `stats` prints its tables.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableOptions {
    /// Fit each table in this many columns, cutting cells with an ellipsis (`None`: as
    /// wide as the content).
    pub width: Option<u16>,
    /// CSV instead of drawn tables (docs/stats.md, "CSV").
    pub csv: bool,
}

/// The width tables are fitted to: none with `--wide`; else `COLUMNS` when set; else the
/// terminal's width when standard output is a terminal; else none (a pipe or file gets
/// the whole content).
pub fn terminal_width(wide: bool) -> Option<u16> {
    use std::io::IsTerminal;
    if wide {
        return None;
    }
    if let Some(c) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|&c| c > 0)
    {
        return Some(c);
    }
    if !std::io::stdout().is_terminal() {
        return None;
    }
    Some(
        terminal_size::terminal_size()
            .map(|(w, _)| w.0)
            .unwrap_or(80),
    )
}

/// Writes one table under its title: drawn (fitted to `opts.width`), or as CSV: a line
/// `# <title>` (the first column's header when the table has no title), the header
/// record, the rows, an empty line.
pub(super) fn emit(out: &mut String, title: &str, mut t: Table, opts: &TableOptions) {
    if opts.csv {
        let name = if title.is_empty() {
            t.header()
                .and_then(|h| h.cell_iter().next())
                .map(|c| c.content())
                .unwrap_or_default()
        } else {
            title.to_string()
        };
        let _ = writeln!(out, "# {name}");
        let mut w = csv::Writer::from_writer(Vec::new());
        // Every record as wide as the widest row (a "… N more" row has fewer cells).
        let rows: Vec<Vec<String>> = t
            .header()
            .into_iter()
            .chain(t.row_iter())
            .map(|r| r.cell_iter().map(|c| c.content()).collect())
            .collect();
        let width = rows.iter().map(Vec::len).max().unwrap_or(0);
        for mut r in rows {
            r.resize(width, String::new());
            let _ = w.write_record(&r);
        }
        let bytes = w.into_inner().unwrap_or_default();
        out.push_str(&String::from_utf8_lossy(&bytes));
        out.push('\n');
        return;
    }
    if let Some(width) = opts.width {
        let (widths, readable) = fit(&t, width);
        if !readable {
            super::table_blocks::write_blocks(out, title, &t, width);
            return;
        }
        t.set_constraints(widths.into_iter().map(|w| {
            // A fixed width counts the padding (one space each side).
            comfy_table::ColumnConstraint::Absolute(comfy_table::Width::Fixed(w + 2))
        }));
        t.set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(width)
            .set_truncation_indicator("…");
        for r in t.row_iter_mut() {
            r.max_height(1);
        }
    }
    if !title.is_empty() {
        match opts.width.map(usize::from) {
            Some(w) if title.chars().count() > w => {
                let cut: String = title.chars().take(w.saturating_sub(1)).collect();
                let _ = writeln!(out, "{cut}…");
            }
            _ => {
                let _ = writeln!(out, "{title}");
            }
        }
    }
    let _ = writeln!(out, "{t}\n");
}

/// Content widths of the columns so that the drawn table is at most `width` columns wide
/// (each column takes its content width plus 3 for padding and separator, plus 1 for the
/// border). A column needs its widest cell and its longest header word (headers wrap at
/// spaces); when they do not all fit, the widest columns are narrowed first, to a common
/// cap, none below its longest header word (at most 12) while that fits.
#[cfg(test)]
fn fit_widths(t: &Table, width: u16) -> Vec<u16> {
    fit(t, width).0
}

/// [`fit_widths`], and whether every column keeps its longest header word (at most 12):
/// when not, the drawn table would be unreadable and [`emit`] writes blocks instead.
fn fit(t: &Table, width: u16) -> (Vec<u16>, bool) {
    let words: Vec<u16> = t
        .header()
        .map(|h| {
            h.cell_iter()
                .map(|c| {
                    let w = c
                        .content()
                        .split_whitespace()
                        .map(|w| w.chars().count())
                        .max();
                    w.unwrap_or(1) as u16
                })
                .collect()
        })
        .unwrap_or_default();
    let mut need: Vec<u16> = words.clone();
    for r in t.row_iter() {
        for (i, c) in r.cell_iter().enumerate() {
            let w = c
                .content()
                .lines()
                .map(|l| l.chars().count())
                .max()
                .unwrap_or(0);
            let w = u16::try_from(w).unwrap_or(u16::MAX);
            match need.get_mut(i) {
                Some(n) => *n = (*n).max(w),
                None => need.push(w),
            }
        }
    }
    for n in &mut need {
        *n = (*n).max(1);
    }
    let n = need.len() as u32;
    let avail = u32::from(width).saturating_sub(3 * n + 1);
    let floor = |i: usize, w: u16, floors: bool| {
        if floors {
            words.get(i).copied().unwrap_or(1).min(12).min(w).max(1)
        } else {
            1
        }
    };
    let total = |cap: u16, floors: bool| -> u32 {
        need.iter()
            .enumerate()
            .map(|(i, &w)| u32::from(w.min(cap.max(floor(i, w, floors)))))
            .sum()
    };
    let max = need.iter().copied().max().unwrap_or(1);
    if total(max, false) <= avail {
        return (need, true);
    }
    // Floors kept when they fit, else every column may go down to one character.
    let floors = total(0, true) <= avail;
    // The largest cap that fits (binary search; cap 1 is the last resort).
    let (mut lo, mut hi) = (1u16, max);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if total(mid, floors) <= avail {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let widths = need
        .iter()
        .enumerate()
        .map(|(i, &w)| w.min(lo.max(floor(i, w, floors))))
        .collect();
    (widths, floors)
}

/// All tables for a stats document.
pub fn render_with(doc: &Value, opts: &TableOptions) -> String {
    let mut out = String::new();
    let o = &doc["overview"];
    let mut t = table(&["Overview", ""]);
    let span = &o["span"];
    t.add_row(vec![
        Cell::new("capture span"),
        Cell::new(if span.is_null() {
            "-".to_string()
        } else {
            format!(
                "{} .. {} ({:.3} s)",
                s(&span["first"]),
                s(&span["last"]),
                span["seconds"].as_f64().unwrap_or(0.0)
            )
        }),
    ]);
    for (k, label) in [
        ("packets", "packets"),
        ("bytes", "bytes"),
        ("tcp_connections", "TCP connections"),
        ("remoting_commands", "RemotingCommands"),
        ("requests", "requests"),
        ("responses", "responses"),
        ("oneways", "oneways"),
        ("unanswered_requests", "unanswered requests"),
        ("pending_at_end", "requests pending at the end"),
        ("unmatched_responses", "responses without request"),
        ("undecodable_frames", "undecodable frames"),
        ("messages_sent", "messages sent"),
        ("gaps", "gaps"),
        ("gap_bytes", "bytes lost in gaps"),
        ("retransmitted_bytes", "retransmitted bytes (seen twice)"),
        ("skipped_bytes", "bytes skipped to resynchronise"),
        ("dropped_by_limits", "dropped by memory limits"),
    ] {
        t.add_row(vec![Cell::new(label), num(&o[k])]);
    }
    emit(&mut out, "", t, opts);

    let mut t = table(&[
        "Request code",
        "Requests",
        "Responses",
        "Error rate",
        "Outcomes",
        "p50 µs",
        "p90 µs",
        "p99 µs",
        "max µs",
        "Long-poll p99/max µs",
        "Req bytes",
        "Resp bytes",
    ]);
    for c in doc["codes"].as_array().into_iter().flatten() {
        let resp = c["responses"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let l = &c["latency_us"];
        let req = if c["oneways"].as_u64().unwrap_or(0) > 0 {
            format!("{} ({} oneway)", s(&c["requests"]), s(&c["oneways"]))
        } else {
            s(&c["requests"])
        };
        t.add_row(vec![
            Cell::new(s(&c["name"])),
            Cell::new(req).set_alignment(CellAlignment::Right),
            Cell::new(resp),
            pct(&c["error_rate"]),
            num(&c["outcomes"]),
            num(&l["p50"]),
            num(&l["p90"]),
            num(&l["p99"]),
            num(&l["max"]),
            {
                let lp = &c["long_poll_latency_us"];
                Cell::new(if lp["count"].as_u64().unwrap_or(0) > 0 {
                    format!("{}/{}", s(&lp["p99"]), s(&lp["max"]))
                } else {
                    "-".into()
                })
                .set_alignment(CellAlignment::Right)
            },
            num(&c["request_bytes"]),
            num(&c["response_bytes"]),
        ]);
    }
    emit(&mut out, "", t, opts);

    let topics = doc["topics"].as_array().cloned().unwrap_or_default();
    if !topics.is_empty() {
        let mut t = table(&[
            "Topic",
            "Messages",
            "Body bytes",
            "Send errors",
            "Per queue (broker:queue=n)",
            "Tags",
            "Producers",
        ]);
        for p in &topics {
            let queues = p["queues"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|q| {
                            format!(
                                "{}:{}={}",
                                s(&q["broker"]),
                                s(&q["queue_id"]),
                                s(&q["messages"])
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            t.add_row(vec![
                Cell::new(s(&p["topic"])),
                num(&p["messages"]),
                num(&p["body_bytes"]),
                num(&p["send_errors"]),
                Cell::new(queues),
                Cell::new(list(&p["tags"], 8)),
                Cell::new({
                    let names = list_more(
                        &p["producers"],
                        p["producers_more"].as_u64().unwrap_or(0),
                        4,
                    );
                    match p["producers_folded_sends"].as_u64().unwrap_or(0) {
                        0 => names,
                        n => format!("{names} (+{n} sends from more addresses)"),
                    }
                }),
            ]);
        }
        emit(&mut out, "", t, opts);
        let mut t = table(&[
            "Producer",
            "Topic",
            "Sends",
            "Round robin",
            "Spread max/min",
            "Queue list",
            "Picks (first 12)",
        ]);
        for p in &topics {
            for a in p["queue_selection"].as_array().into_iter().flatten() {
                let rr = match a["round_robin"].as_bool() {
                    Some(b) => format!(
                        "{} ({}/{} steps)",
                        if b { "yes" } else { "no" },
                        s(&a["round_robin_steps"]),
                        s(&a["steps"])
                    ),
                    None => "-".into(),
                };
                let spread = match a["spread"].as_f64() {
                    Some(f) => format!("{f:.2} ({}/{})", s(&a["max_share"]), s(&a["min_share"])),
                    None => format!(
                        "- ({}/{}, {} queues unused)",
                        s(&a["max_share"]),
                        s(&a["min_share"]),
                        s(&a["unused_queues"])
                    ),
                };
                let src = if a["queue_list_from_route"] == true {
                    "route"
                } else {
                    "observed"
                };
                t.add_row(vec![
                    Cell::new(s(&a["producer"])),
                    Cell::new(s(&p["topic"])),
                    num(&a["picks"]),
                    Cell::new(rr),
                    Cell::new(spread),
                    Cell::new(format!("{} ({src})", list(&a["queue_list"], 8))),
                    Cell::new(list(&a["sequence"], 12)),
                ]);
            }
            let more = p["queue_selection_more"].as_u64().unwrap_or(0);
            let folded = p["queue_selection_folded_sends"].as_u64().unwrap_or(0);
            if more > 0 || folded > 0 {
                let what = match (more, folded) {
                    (m, 0) => format!("… {m} more"),
                    (0, _) => "… more producers, not audited".to_string(),
                    (m, _) => format!("… {m} more, and more not audited"),
                };
                let mut row = vec![Cell::new(what), Cell::new(s(&p["topic"]))];
                if folded > 0 {
                    row.push(Cell::new(format!("{folded} (not audited)")));
                }
                t.add_row(row);
            }
        }
        emit(
            &mut out,
            "Queue selection (DefaultMQProducer send path: round robin over the route's writable queues; the top producers by sends)",
            t,
            opts,
        );
    }
    out.push_str(&super::consumer_tables::render(&doc["consumers"], opts));

    let mut t = table(&[
        "Stream",
        "Client",
        "Server",
        "Role",
        "Client lang/version",
        "Frames →/←",
        "Bytes →/←",
        "Errors",
        "First",
        "Last",
    ]);
    for c in doc["connections"].as_array().into_iter().flatten() {
        let lang = match (
            c["client_language"].as_str(),
            c["client_version_name"].as_str(),
        ) {
            (Some(l), Some(v)) => format!("{l} {v}"),
            (Some(l), None) => format!("{l} {}", s(&c["client_version"])),
            _ => "-".into(),
        };
        t.add_row(vec![
            num(&c["stream"]),
            Cell::new(s(&c["client"])),
            Cell::new(s(&c["server"])),
            Cell::new(s(&c["role"])),
            Cell::new(lang),
            Cell::new(format!(
                "{}/{}",
                s(&c["frames_to_server"]),
                s(&c["frames_to_client"])
            ))
            .set_alignment(CellAlignment::Right),
            Cell::new(format!(
                "{}/{}",
                s(&c["bytes_to_server"]),
                s(&c["bytes_to_client"])
            ))
            .set_alignment(CellAlignment::Right),
            num(&c["errors"]),
            Cell::new(s(&c["first"])),
            Cell::new(s(&c["last"])),
        ]);
    }
    // The rows are the top ones; the totals count every connection.
    let more = doc["connections_more"].as_u64().unwrap_or(0);
    if more > 0 {
        t.add_row(vec![Cell::new("…"), Cell::new(format!("{more} more"))]);
    }
    let tot = &doc["connections_total"];
    if tot.is_object() {
        t.add_row(vec![
            Cell::new("total"),
            Cell::new(format!("{} connections", s(&tot["connections"]))),
            Cell::new(""),
            Cell::new(""),
            Cell::new(""),
            Cell::new(format!(
                "{}/{}",
                s(&tot["frames_to_server"]),
                s(&tot["frames_to_client"])
            ))
            .set_alignment(CellAlignment::Right),
            Cell::new(format!(
                "{}/{}",
                s(&tot["bytes_to_server"]),
                s(&tot["bytes_to_client"])
            ))
            .set_alignment(CellAlignment::Right),
            num(&tot["errors"]),
        ]);
    }
    let title = if more > 0 {
        "Connections (the top ones by bytes, by frames and by error responses)"
    } else {
        ""
    };
    emit(&mut out, title, t, opts);

    let routes = doc["routes"].as_array().cloned().unwrap_or_default();
    if !routes.is_empty() {
        let mut t = table(&[
            "Packet",
            "Topic",
            "Client",
            "Broker",
            "Addresses (id=addr)",
            "Read/write queues",
            "Perm",
            "Producers sent there",
        ]);
        for r in &routes {
            let used = r["producers_sent_to"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for b in r["brokers"].as_array().into_iter().flatten() {
                let addrs = b["addrs"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={}", s(v)))
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default();
                let sent: Vec<String> = used
                    .iter()
                    .filter(|u| {
                        b["addrs"]
                            .as_object()
                            .is_some_and(|m| m.values().any(|v| v == &u["addr"]))
                    })
                    .map(|u| {
                        format!(
                            "{}: {}",
                            s(&u["addr"]),
                            if u["used"] == true { "yes" } else { "no" }
                        )
                    })
                    .collect();
                t.add_row(vec![
                    num(&r["packet"]),
                    Cell::new(s(&r["topic"])),
                    Cell::new(s(&r["client"])),
                    Cell::new(s(&b["broker_name"])),
                    Cell::new(addrs),
                    Cell::new(format!(
                        "{}/{}",
                        s(&b["read_queue_nums"]),
                        s(&b["write_queue_nums"])
                    )),
                    num(&b["perm"]),
                    Cell::new(sent.join(" ")),
                ]);
            }
        }
        emit(&mut out, "Routes (GET_ROUTEINFO_BY_TOPIC answers)", t, opts);
    }

    let p = &doc["problems"];
    let errs = p["error_responses"].as_array().cloned().unwrap_or_default();
    if !errs.is_empty() {
        let mut t = table(&["Request", "Response", "Count", "First packet", "Remark"]);
        for e in &errs {
            t.add_row(vec![
                Cell::new(s(&e["request"])),
                Cell::new(format!("{} ({})", s(&e["response"]), s(&e["code"]))),
                num(&e["count"]),
                num(&e["first_packet"]),
                Cell::new(s(&e["remark"])),
            ]);
        }
        let more = p["error_responses_more"].as_u64().unwrap_or(0);
        if more > 0 {
            t.add_row(vec![
                Cell::new("…"),
                Cell::new("(more kinds)"),
                num(&p["error_responses_more"]),
            ]);
        }
        emit(&mut out, "Error responses", t, opts);
    }
    let slow = p["slowest"].as_array().cloned().unwrap_or_default();
    if !slow.is_empty() {
        let mut t = table(&[
            "Latency µs",
            "Request",
            "Request packet",
            "Response packet",
            "Stream",
        ]);
        for x in &slow {
            t.add_row(vec![
                num(&x["latency_us"]),
                Cell::new(s(&x["request"])),
                num(&x["request_packet"]),
                num(&x["response_packet"]),
                num(&x["stream"]),
            ]);
        }
        emit(&mut out, "Slowest requests", t, opts);
    }
    if let Some(kinds) = p["by_kind"].as_object()
        && !kinds.is_empty()
    {
        let mut t = table(&["Problem", "Count", "Examples (packet: message)"]);
        for (k, v) in kinds {
            let ex = v["examples"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|e| format!("{}: {}", s(&e["packet"]), s(&e["message"])))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
            t.add_row(vec![Cell::new(k), num(&v["count"]), Cell::new(ex)]);
        }
        emit(&mut out, "Problems", t, opts);
    }

    if let Some(iv) = doc["intervals"].as_array() {
        let mut t = table(&[
            "Start",
            "Frames",
            "Requests",
            "Responses",
            "Errors",
            "Messages",
            "Bytes",
            "p50 µs",
            "p99 µs",
            "max µs",
        ]);
        for b in iv {
            let l = &b["latency_us"];
            t.add_row(vec![
                Cell::new(s(&b["start"])),
                num(&b["frames"]),
                num(&b["requests"]),
                num(&b["responses"]),
                num(&b["errors"]),
                num(&b["messages"]),
                num(&b["bytes"]),
                num(&l["p50"]),
                num(&l["p99"]),
                num(&l["max"]),
            ]);
        }
        emit(
            &mut out,
            &format!("Per {} s", s(&doc["interval_seconds"])),
            t,
            opts,
        );
    }
    out
}

/// Parses an interval such as `1s`, `500ms`, `2.5s`, `1m`, `1h` into nanoseconds.
pub fn parse_interval(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map(|i| s.split_at(i))
        .unwrap_or((s, "s"));
    let v: f64 = num
        .parse()
        .map_err(|_| format!("{s:?}: not a duration like 1s, 500ms, 1m"))?;
    let mul = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?} (ns, us, ms, s, m, h)"
            ));
        }
    };
    let ns = v * mul;
    if !(1e3..1e18).contains(&ns) {
        return Err(format!("{s:?}: out of range"));
    }
    Ok(ns as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = table(&["Request code", "Count", "Remark"]);
        t.add_row(vec!["GET_ROUTEINFO_BY_TOPIC", "12", &"x".repeat(60)]);
        t.add_row(vec!["PULL_MESSAGE", "3", "short"]);
        t
    }

    #[test]
    fn widest_columns_narrowed_first() {
        let t = sample();
        // Room for everything: the content widths.
        assert_eq!(fit_widths(&t, 200), vec![22, 5, 60]);
        // 50 columns: 40 for content; the narrow "Count" keeps its 5, the two wide ones
        // share the rest at a common cap.
        let w = fit_widths(&t, 50);
        assert_eq!(w, vec![17, 5, 17]);
        assert!(w.iter().map(|&x| u32::from(x) + 3).sum::<u32>() < 50);
        // Too narrow for the header words: every column may shrink.
        let w = fit_widths(&t, 20);
        assert!(
            w.iter().map(|&x| u32::from(x) + 3).sum::<u32>() < 20,
            "{w:?}"
        );
    }

    #[test]
    fn drawn_lines_fit_and_csv_is_whole() {
        let doc = serde_json::json!({"overview": {}, "codes": []});
        // A table of N columns cannot be narrower than 4 per column + 1: the codes table
        // has 12 (with the outcome and long-poll columns), so from 49.
        for width in [49u16, 60, 90] {
            let out = render_with(
                &doc,
                &TableOptions {
                    width: Some(width),
                    csv: false,
                },
            );
            assert!(out.lines().all(|l| l.chars().count() <= usize::from(width)));
        }
        let mut out = String::new();
        emit(
            &mut out,
            "Title, with comma",
            sample(),
            &TableOptions {
                width: Some(20),
                csv: true,
            },
        );
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("# Title, with comma"));
        assert_eq!(lines.next(), Some("Request code,Count,Remark"));
        assert_eq!(
            lines.next(),
            Some(format!("GET_ROUTEINFO_BY_TOPIC,12,{}", "x".repeat(60)).as_str())
        );
    }
}
