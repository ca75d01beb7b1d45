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

/// All tables for a stats document.
pub fn render(doc: &Value) -> String {
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
    let _ = writeln!(out, "{t}\n");

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
    let _ = writeln!(out, "{t}\n");

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
                Cell::new(list_more(
                    &p["producers"],
                    p["producers_more"].as_u64().unwrap_or(0),
                    4,
                )),
            ]);
        }
        let _ = writeln!(out, "{t}\n");
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
            if more > 0 {
                t.add_row(vec![
                    Cell::new(format!("… {more} more")),
                    Cell::new(s(&p["topic"])),
                ]);
            }
        }
        let _ = writeln!(
            out,
            "Queue selection (DefaultMQProducer send path: round robin over the route's writable queues; the top producers by sends)\n{t}\n"
        );
    }
    out.push_str(&super::consumer_tables::render(&doc["consumers"]));

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
        "Connections (the top ones by bytes, by frames and by error responses)\n"
    } else {
        ""
    };
    let _ = writeln!(out, "{title}{t}\n");

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
        let _ = writeln!(out, "Routes (GET_ROUTEINFO_BY_TOPIC answers)\n{t}\n");
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
        let _ = writeln!(out, "Error responses\n{t}\n");
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
        let _ = writeln!(out, "Slowest requests\n{t}\n");
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
        let _ = writeln!(out, "Problems\n{t}\n");
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
        let _ = writeln!(out, "Per {} s\n{t}\n", s(&doc["interval_seconds"]));
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
