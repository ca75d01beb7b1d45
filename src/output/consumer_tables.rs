//! The consumer view's tables in `stats` text output, rendered from the `consumers` part of
//! the JSON document (docs/stats.md), like the other tables.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};
use serde_json::Value;

use super::tables::{TableOptions, emit};

/// Queue rows printed per table; the rest are counted in a last row (`--json` has all).
const ROWS: usize = 200;

fn table(headers: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers.iter().map(Cell::new));
    t
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(x) => x.clone(),
        other => other.to_string(),
    }
}

fn right(s: String) -> Cell {
    Cell::new(s).set_alignment(CellAlignment::Right)
}

/// A span `{count, first, last}` as `first→last (count)`.
fn span(v: &Value) -> String {
    match v["count"].as_u64() {
        None | Some(0) => "-".into(),
        Some(1) => text(&v["last"]["value"]),
        Some(n) => format!(
            "{}→{} ({n})",
            text(&v["first"]["value"]),
            text(&v["last"]["value"])
        ),
    }
}

fn strings(v: &Value) -> String {
    v.as_array()
        .map(|a| a.iter().map(text).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The consumer groups and their queues (nothing when the capture has no consumer).
pub fn render(c: &Value, opts: &TableOptions) -> String {
    let mut out = String::new();
    let groups = c["groups"].as_array().cloned().unwrap_or_default();
    if groups.is_empty() {
        return out;
    }
    let mut t = table(&[
        "Consumer group",
        "Clients (clientID)",
        "Client IPs",
        "Subscriptions",
        "Heartbeats",
        "Queues",
    ]);
    for g in &groups {
        let subs: Vec<String> = g["subscriptions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                format!(
                    "{} {} {}",
                    text(&s["topic"]),
                    text(&s["expression_type"]),
                    text(&s["sub_string"])
                )
            })
            .collect();
        t.add_row(vec![
            Cell::new(text(&g["group"])),
            Cell::new(strings(&g["clients"])),
            Cell::new(strings(&g["client_ips"])),
            Cell::new(subs.join("; ")),
            right(text(&g["heartbeats"])),
            right(g["queues"].as_array().map_or(0, Vec::len).to_string()),
        ]);
    }
    emit(
        &mut out,
        "Consumer groups (HEART_BEAT consumerDataSet)",
        t,
        opts,
    );

    let mut t = table(&[
        "Consumer group",
        "Topic",
        "Broker:queue",
        "Pulls (found/outcome/error)",
        "queueOffset",
        "nextBeginOffset",
        "Committed",
        "Max offset",
        "Lag",
        "Pops",
        "Popped offsets",
        "Acked (ack/batch/invisible)",
    ]);
    let mut intervals = table(&[
        "Start",
        "Consumer group",
        "Topic",
        "Broker:queue",
        "Pulls",
        "queueOffset",
        "nextBeginOffset",
        "Committed",
        "Lag",
        "Popped offsets",
    ]);
    let (mut rows, mut more, mut irows, mut imore) = (0, 0, 0, 0);
    for g in &groups {
        for q in g["queues"].as_array().into_iter().flatten() {
            if rows == ROWS {
                more += 1;
                continue;
            }
            rows += 1;
            let place = format!("{}:{}", text(&q["broker"]), text(&q["queue_id"]));
            t.add_row(vec![
                Cell::new(text(&g["group"])),
                Cell::new(text(&q["topic"])),
                Cell::new(&place),
                right(format!(
                    "{} ({}/{}/{})",
                    text(&q["pulls"]),
                    text(&q["pulls_found"]),
                    text(&q["pull_outcomes"]),
                    text(&q["pull_errors"])
                )),
                right(span(&q["pull_offset"])),
                right(span(&q["next_begin_offset"])),
                right(span(&q["committed_offset"])),
                // A popped queue: its max offset and lag are the pop side's.
                right(if q["lag"].is_null() && !q["pop_lag"].is_null() {
                    text(&q["pop_max_offset"]["value"])
                } else {
                    text(&q["max_offset"]["value"])
                }),
                right(if q["lag"].is_null() {
                    text(&q["pop_lag"])
                } else {
                    text(&q["lag"])
                }),
                right(text(&q["pops"])),
                right(span(&q["popped_offset"])),
                right(format!(
                    "{} ({}/{}/{}){}",
                    text(&q["acked_messages"]),
                    text(&q["acks"]),
                    text(&q["batch_ack_entries"]),
                    text(&q["invisible_time_changes"]),
                    match q["ack_failed_messages"].as_u64() {
                        Some(n) if n > 0 => format!(", {n} failed"),
                        _ => String::new(),
                    }
                )),
            ]);
            for i in q["intervals"].as_array().into_iter().flatten() {
                if irows == ROWS {
                    imore += 1;
                    continue;
                }
                irows += 1;
                intervals.add_row(vec![
                    Cell::new(text(&i["start"])),
                    Cell::new(text(&g["group"])),
                    Cell::new(text(&q["topic"])),
                    Cell::new(&place),
                    right(text(&i["pulls"])),
                    right(span(&i["pull_offset"])),
                    right(span(&i["next_begin_offset"])),
                    right(span(&i["committed_offset"])),
                    right(text(&i["lag"])),
                    right(span(&i["popped_offset"])),
                ]);
            }
        }
    }
    let more_of = |n: u64, extra: &Value| n + extra.as_u64().unwrap_or(0);
    let n = more_of(more, &c["queues_more"]);
    if n > 0 {
        t.add_row(vec![Cell::new(format!("{n} more queues (--json)"))]);
    }
    emit(
        &mut out,
        "Consumer queues (first→last (count); lag = max offset − committed offset, or for a popped queue max offset − last popped − 1)",
        t,
        opts,
    );
    if irows > 0 {
        if imore + c["intervals_more"].as_u64().unwrap_or(0) > 0 {
            intervals.add_row(vec![Cell::new(format!(
                "{} more (--json)",
                imore + c["intervals_more"].as_u64().unwrap_or(0)
            ))]);
        }
        emit(&mut out, "Consumer queues per interval", intervals, opts);
    }
    out
}
