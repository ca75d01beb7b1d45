//! The report's sections on who talked to whom: topics (queues, queue selection),
//! topology, consumers, the slowest requests and the problems.

use std::fmt::Write as _;

use serde_json::Value;

use super::html::{esc, micros, plain, stat, tok};
use super::plots::{self, Node};

/// Request codes shown under "consumers" (`RequestCode.java`: pull, pop and offset codes).
const CONSUMER_CODES: [i32; 19] = [
    11, 14, 15, 29, 30, 31, 34, 36, 38, 41, 42, 361, 200050, 200051, 200052, 200053, 200054,
    200055, 200151,
];

/// Topics drawn (heatmap and queue picks), and producers drawn per topic: past them the
/// figures are in the tables only (a page of thousands of plots helps nobody).
const DRAWN_TOPICS: usize = 50;
const DRAWN_PRODUCERS: usize = 5;

pub(super) fn topics(o: &mut String, d: &Value) {
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
        // Producers not listed, and the sends of those whose audit was not kept.
        let more = t["queue_selection_more"].as_u64().unwrap_or(0);
        let folded = t["queue_selection_folded_sends"].as_u64().unwrap_or(0);
        if more > 0 || folded > 0 {
            let _ = writeln!(
                o,
                "<p class=\"note\">{more} more producers audited, not listed; {folded} sends of producers not audited (past the 1,000 kept)</p>"
            );
        }
    }
    if topics.len() > DRAWN_TOPICS {
        let _ = writeln!(
            o,
            "<p class=\"note\">Plots drawn for the first {DRAWN_TOPICS} topics and {DRAWN_PRODUCERS} producers of each; the figures of all are above.</p>"
        );
    }
}

pub(super) fn topology(o: &mut String, d: &Value) {
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

pub(super) fn consumers(o: &mut String, d: &Value) {
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
    o.push_str(
        "<p class=\"note\">Consumer requests (pull, pop, offsets, heartbeats, rebalancing).</p>",
    );
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

pub(super) fn slowest(o: &mut String, d: &Value) {
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

pub(super) fn problems(o: &mut String, d: &Value) {
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
