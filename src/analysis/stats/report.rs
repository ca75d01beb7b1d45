//! What the statistics say: the queue-selection audit, server roles, and the JSON
//! document (`stats --json`, docs/stats.md) the tables are rendered from.

use super::*;

impl Stats {
    /// A broker address as shown: its name from a route answer (or its VIP channel's), else
    /// the address.
    pub fn broker_label(&self, a: SocketAddr) -> String {
        self.broker_names
            .get(&a.to_string())
            .cloned()
            .unwrap_or_else(|| a.to_string())
    }

    /// The route's writable queue list for a topic, as the producer builds it
    /// (`topicRouteData2TopicPublishInfo`): QueueData sorted by brokerName, writable ones
    /// (perm & 2) with a master address, `writeQueueNums` queues each.
    pub fn publish_queues(&self, topic: &str) -> Option<Vec<(String, i32)>> {
        let route = self.routes.iter().rev().find(|r| r.topic == topic)?;
        let mut brokers: Vec<&RouteBroker> = route.brokers.iter().collect();
        brokers.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        let mut v = Vec::new();
        for b in brokers {
            if b.perm & 2 == 0 || !b.addrs.contains_key("0") {
                continue;
            }
            for q in 0..b.write_queue_nums.clamp(0, 1 << 16) {
                v.push((b.broker_name.clone(), q as i32));
            }
        }
        Some(v)
    }

    /// The audit of one producer's picks: (queue list used, steps that followed +1 round
    /// robin, steps, max/min share).
    pub fn audit(&self, ip: IpAddr, group: &str, topic: &str) -> Option<Audit> {
        let a = self.producers.get(&ip)?.get(group)?.get(topic)?;
        let from_route = self.publish_queues(topic);
        // Labels once per broker, not once per pick: the picks are walked as indexes.
        let labels: Vec<String> = self.brokers.iter().map(|b| self.broker_label(*b)).collect();
        let named = |(addr, q): &(SocketAddr, i32)| (self.broker_label(*addr), *q);
        let mut counts: BTreeMap<(String, i32), u64> = BTreeMap::new();
        for (k, n) in &a.counts {
            *counts.entry(named(k)).or_default() += n;
        }
        let list = match &from_route {
            Some(l) if !l.is_empty() => l.clone(),
            _ => counts.keys().cloned().collect(),
        };
        let n = list.len();
        let positions: foldhash::HashMap<(&str, i32), usize> = list
            .iter()
            .enumerate()
            .map(|(i, (b, q))| ((b.as_str(), *q), i))
            .collect();
        // A stored pick's place in the list (None: not in it), looked up once per distinct
        // (broker, queue).
        let mut places: foldhash::HashMap<(u16, u16), Option<usize>> = foldhash::HashMap::default();
        let mut place = |&(b, q): &(u16, u16)| {
            *places.entry((b, q)).or_insert_with(|| {
                labels
                    .get(b as usize)
                    .and_then(|l| positions.get(&(l.as_str(), q as i32)).copied())
            })
        };
        let mut steps = 0u64;
        let mut rr = 0u64;
        let stored: Vec<&(u16, u16)> = a
            .sequence
            .iter()
            .filter(|(b, _)| (*b as usize) < labels.len())
            .collect();
        let mut prev: Option<Option<usize>> = None;
        for p in &stored {
            let here = place(p);
            if let Some(before) = prev {
                steps += 1;
                if let (Some(i), Some(j)) = (before, here)
                    && n > 0
                    && (i + 1) % n == j
                {
                    rr += 1;
                }
            }
            prev = Some(here);
        }
        let sequence: Vec<(String, i32)> = stored
            .iter()
            .take(SHOWN_PICKS)
            .map(|&&(b, q)| (labels[b as usize].clone(), q as i32))
            .collect();
        let unused = list.iter().filter(|q| !counts.contains_key(*q)).count();
        let outside: u64 = counts
            .iter()
            .filter(|((b, q), _)| !positions.contains_key(&(b.as_str(), *q)))
            .map(|(_, c)| c)
            .sum();
        let max = counts.values().copied().max().unwrap_or(0);
        let min = if unused > 0 {
            0
        } else {
            counts.values().copied().min().unwrap_or(0)
        };
        Some(Audit {
            sequence,
            sequence_stored: stored.len(),
            queue_list: list,
            from_route: from_route.is_some(),
            steps,
            round_robin_steps: rr,
            unused_queues: unused,
            picks_outside_route: outside,
            max_share: max,
            min_share: min,
        })
    }

    /// Overall latency histogram.
    pub fn all_latency(&self) -> Histogram {
        let mut h = Histogram::default();
        for c in self.codes.values() {
            h.merge(&c.latency);
        }
        h
    }

    /// Whether producers sent to the addresses a route gave.
    pub fn route_used(&self, r: &RouteAnswer) -> Vec<(String, bool)> {
        let mut v = Vec::new();
        for b in &r.brokers {
            for a in b.addrs.values() {
                let used = [Some(a.clone()), vip_of(a)]
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.parse::<SocketAddr>().ok())
                    .any(|x| self.sent_to.get(&x).is_some_and(|t| t.contains(&r.topic)));
                v.push((a.clone(), used));
            }
        }
        v
    }

    /// Server roles, decided from what each connection carried (ports only as hints).
    pub fn finish_roles(&mut self) {
        self.rejoin_ended();
        let broker_ports: BTreeSet<String> = self.broker_names.keys().cloned().collect();
        let vips: BTreeSet<String> = broker_ports.iter().filter_map(|b| vip_of(b)).collect();
        for c in self.conns.values_mut() {
            let (namesrv, broker) = (c.namesrv_codes, c.broker_codes);
            let addr = c.server.to_string();
            c.role = if namesrv && !broker {
                "NameServer"
            } else if broker || broker_ports.contains(&addr) {
                if vips.contains(&addr)
                    || (c.server.port() == 10909 && !broker_ports.contains(&addr))
                {
                    "Broker (VIP channel)"
                } else {
                    "Broker"
                }
            } else if c.server.port() == 10912 {
                "HA"
            } else if c.server.port() == 9876 {
                "NameServer"
            } else {
                "unknown"
            };
        }
    }
}

impl Stats {
    /// The connections the report lists, by stream: the top [`Stats::top`] by bytes (both
    /// directions), by frames and by error responses (those with any), ties to the lower
    /// stream. Bounded heaps, one walk over the connections: no sort of them all.
    pub fn top_connections(&self) -> BTreeSet<u64> {
        top_of(&self.conns, self.top)
    }
}

/// The streams of `conns` among the top `n` by bytes (both directions), by frames and by
/// error responses (those with any), ties to the lower stream.
pub(super) fn top_of(conns: &BTreeMap<u64, ConnStats>, n: usize) -> BTreeSet<u64> {
    let by = |key: &dyn Fn(&ConnStats) -> u64| -> Vec<u64> {
        top_n(
            conns
                .iter()
                .map(|(s, c)| (key(c), *s))
                .filter(|(k, _)| *k > 0),
            n,
        )
    };
    let mut shown = BTreeSet::new();
    shown.extend(by(&|c| c.bytes[0] + c.bytes[1]));
    shown.extend(by(&|c| c.frames[0] + c.frames[1]));
    shown.extend(by(&|c| c.errors));
    shown
}

/// The streams of the `n` largest keys, ties to the lower stream: a min-heap of `n`.
fn top_n(items: impl Iterator<Item = (u64, u64)>, n: usize) -> Vec<u64> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    // Reverse((key, Reverse(stream))): the heap's top is the worst kept.
    let mut heap: BinaryHeap<Reverse<(u64, Reverse<u64>)>> = BinaryHeap::new();
    for (k, s) in items {
        let e = Reverse((k, Reverse(s)));
        if heap.len() < n {
            heap.push(e);
        } else if heap.peek().is_some_and(|w| e < *w) {
            heap.pop();
            heap.push(e);
        }
    }
    heap.into_iter().map(|Reverse((_, Reverse(s)))| s).collect()
}

fn vip_of(addr: &str) -> Option<String> {
    let (h, p) = addr.rsplit_once(':')?;
    let p: u16 = p.parse().ok()?;
    (p >= 2).then(|| format!("{h}:{}", p - 2))
}

/// The queue-selection audit of one producer on one topic.
#[derive(Clone, Debug)]
pub struct Audit {
    /// The first picks (at most the 64 shown), as (broker, queueId).
    pub sequence: Vec<(String, i32)>,
    /// Picks stored for the audit (the first 1,024 of each producer and topic).
    pub sequence_stored: usize,
    pub queue_list: Vec<(String, i32)>,
    pub from_route: bool,
    pub steps: u64,
    pub round_robin_steps: u64,
    pub unused_queues: usize,
    pub picks_outside_route: u64,
    pub max_share: u64,
    pub min_share: u64,
}

impl Audit {
    /// Round robin when every step went to the next queue of the list.
    pub fn is_round_robin(&self) -> bool {
        self.steps > 0 && self.round_robin_steps == self.steps && self.picks_outside_route == 0
    }
    pub fn spread(&self) -> Option<f64> {
        (self.min_share > 0).then(|| self.max_share as f64 / self.min_share as f64)
    }
}

/// A latency histogram's `p50`, `p90`, `p99`, `max` and `count` (null quantiles when empty).
fn latency_json(h: &Histogram) -> Value {
    json!({
        "p50": us(h.quantile(0.5)),
        "p90": us(h.quantile(0.9)),
        "p99": us(h.quantile(0.99)),
        "max": if h.count > 0 { Value::from(h.max) } else { Value::Null },
        "count": h.count,
    })
}

fn us(v: Option<u64>) -> Value {
    v.map(Value::from).unwrap_or(Value::Null)
}

fn rfc3339(ts: i64) -> String {
    crate::output::format_ts(ts)
}

/// Whether a not-remoting problem sits on a RocketMQ port (TLS or another protocol there).
pub fn on_rocketmq_port(p: &Problem, conns: &BTreeMap<u64, (SocketAddr, SocketAddr)>) -> bool {
    p.stream
        .and_then(|s| conns.get(&s))
        .is_some_and(|(a, b)| RMQ_PORTS.contains(&a.port()) || RMQ_PORTS.contains(&b.port()))
}

impl Stats {
    /// Everything as one JSON document (the `--json` output; schema in docs/stats.md).
    pub fn to_json(&self, t: &Totals) -> Value {
        let span = match (t.first_ts, t.last_ts) {
            (Some(a), Some(b)) => {
                json!({"first": rfc3339(a), "last": rfc3339(b), "seconds": (b - a) as f64 / 1e9})
            }
            _ => Value::Null,
        };
        let overview = json!({
            "span": span,
            "packets": t.packets,
            "bytes": t.bytes,
            "tcp_connections": t.streams,
            "remoting_commands": t.frames,
            "requests": t.requests,
            "responses": t.responses,
            "oneways": t.oneways,
            "unanswered_requests": t.unanswered,
            "pending_at_end": t.pending_at_end,
            "unmatched_responses": t.unmatched_responses,
            "undecodable_frames": t.undecodable,
            "messages_sent": self.messages,
            "gaps": self.problems.get(&ProblemKind::Gap).map(|p| p.count).unwrap_or(0),
            "gap_bytes": t.gap_bytes,
            "retransmitted_bytes": t.retransmitted_bytes,
            "skipped_bytes": t.skipped_bytes,
            "dropped_by_limits": t.dropped_by_limits,
        });
        let codes: Vec<Value> = self
            .codes
            .iter()
            .map(|(code, c)| {
                let responses: Map<String, Value> = c
                    .responses
                    .iter()
                    .map(|(rc, n)| (ResponseCode(*rc).to_string(), json!(n)))
                    .collect();
                json!({
                    "code": code,
                    "name": if *code < 0 { "(unpaired responses)".to_string() } else { RequestCode(*code).to_string() },
                    "requests": c.requests,
                    "oneways": c.oneways,
                    "responses": responses,
                    "errors": if *code < 0 { Value::Null } else { Value::from(c.errors()) },
                    "outcomes": c.outcomes(),
                    // What answers an unknown request is no error rate.
                    "error_rate": if *code >= 0 && c.answered() > 0 { Value::from(c.errors() as f64 / c.answered() as f64) } else { Value::Null },
                    "latency_us": latency_json(&c.latency),
                    "long_poll_latency_us": latency_json(&c.long_poll_latency),
                    "request_bytes": c.request_bytes,
                    "response_bytes": c.response_bytes,
                })
            })
            .collect();
        // Each topic's producers in (client IP, group) order: one walk over them all.
        let mut by_topic: BTreeMap<&str, Vec<(IpAddr, &str, &ProducerAudit)>> = BTreeMap::new();
        for (ip, groups) in &self.producers {
            for (group, topics) in groups {
                for (topic, a) in topics {
                    by_topic
                        .entry(topic.as_str())
                        .or_default()
                        .push((*ip, group.as_str(), a));
                }
            }
        }
        let topics: Vec<Value> = self
            .topics
            .iter()
            .map(|(name, s)| {
                let queues: Vec<Value> = s
                    .queues
                    .iter()
                    .map(|((b, q), n)| json!({"broker": self.broker_label(*b), "broker_addr": b.to_string(), "queue_id": q, "messages": n}))
                    .collect();
                // The top producers by sends, listed in (client IP, group) order.
                let all = by_topic.get(name.as_str()).map(Vec::as_slice).unwrap_or(&[]);
                let mut shown = top_n(
                    all.iter().enumerate().map(|(i, (_, _, a))| (a.picks, i as u64)),
                    self.top,
                );
                shown.sort_unstable();
                let mut producers: Vec<Value> = Vec::new();
                for &(ip, group, p) in shown.iter().map(|&i| &all[i as usize]) {
                    let a = self.audit(ip, group, name);
                    producers.push(json!({
                        "producer": format!("{group}@{ip}"),
                        "picks": p.picks,
                        // The first picks (the audit used up to 1,024 of them).
                        "sequence": a.as_ref().map(|a| a.sequence.iter().map(|(b, q)| format!("{b}:{q}")).collect::<Vec<_>>()),
                        "sequence_stored": a.as_ref().map(|a| a.sequence_stored),
                        "queue_list": a.as_ref().map(|a| a.queue_list.iter().map(|(b, q)| format!("{b}:{q}")).collect::<Vec<_>>()),
                        "queue_list_from_route": a.as_ref().map(|a| a.from_route),
                        "round_robin": a.as_ref().map(|a| a.is_round_robin()),
                        "round_robin_steps": a.as_ref().map(|a| a.round_robin_steps),
                        "steps": a.as_ref().map(|a| a.steps),
                        "unused_queues": a.as_ref().map(|a| a.unused_queues),
                        "max_share": a.as_ref().map(|a| a.max_share),
                        "min_share": a.as_ref().map(|a| a.min_share),
                        "spread": a.as_ref().and_then(|a| a.spread()),
                    }));
                }
                let producer_count: usize = s.producers.values().map(|p| p.groups.len()).sum();
                let producer_names: Vec<String> = s
                    .producers
                    .iter()
                    .flat_map(|(ip, p)| p.groups.iter().map(move |g| format!("{g}@{ip}")))
                    .take(self.top)
                    .collect();
                json!({
                    "topic": name,
                    "messages": s.messages,
                    "body_bytes": s.body_bytes,
                    "send_errors": s.send_errors,
                    "queues": queues,
                    "tags": s.tags,
                    "producers": producer_names,
                    "producers_more": producer_count - producer_names.len(),
                    "producers_folded_sends": s.producers_folded_sends,
                    "queue_selection": producers,
                    "queue_selection_more": all.len() - shown.len(),
                    "queue_selection_folded_sends": s.queue_selection_folded_sends,
                })
            })
            .collect();
        let shown = self.top_connections();
        let conns: Vec<Value> = shown
            .iter()
            .filter_map(|i| self.conns.get(i).map(|c| (i, c)))
            .map(|(i, c)| {
                json!({
                    "stream": i,
                    "client": c.client.to_string(),
                    "server": c.server.to_string(),
                    "role": c.role,
                    "client_language": c.language_str(),
                    "client_version": c.version,
                    "client_version_name": c.version.and_then(version_name),
                    "frames_to_server": c.frames[0],
                    "frames_to_client": c.frames[1],
                    "bytes_to_server": c.bytes[0],
                    "bytes_to_client": c.bytes[1],
                    "errors": c.errors,
                    "first": rfc3339(c.first_ts),
                    "last": rfc3339(c.last_ts),
                })
            })
            .collect();
        let routes: Vec<Value> = self
            .routes
            .iter()
            .map(|r| {
                json!({
                    "packet": r.packet,
                    "ts": rfc3339(r.ts),
                    "topic": r.topic,
                    "client": r.client.to_string(),
                    "brokers": r.brokers.iter().map(|b| json!({
                        "broker_name": b.broker_name,
                        "addrs": b.addrs,
                        "read_queue_nums": b.read_queue_nums,
                        "write_queue_nums": b.write_queue_nums,
                        "perm": b.perm,
                    })).collect::<Vec<_>>(),
                    "producers_sent_to": self.route_used(r).into_iter().map(|(a, u)| json!({"addr": a, "used": u})).collect::<Vec<_>>(),
                })
            })
            .collect();
        let errors: Vec<Value> = self
            .errors
            .iter()
            .map(|((req, resp, remark), e)| {
                json!({
                    "request": RequestCode(*req).to_string(),
                    "response": ResponseCode(*resp).to_string(),
                    "code": resp,
                    "remark": remark,
                    "count": e.count,
                    "first_packet": e.first_packet,
                })
            })
            .collect();
        let slow: Vec<Value> = self
            .slow
            .iter()
            .map(|s| {
                json!({
                    "latency_us": s.latency_us,
                    "request": RequestCode(s.code).to_string(),
                    "request_packet": s.request_packet,
                    "response_packet": s.response_packet,
                    "stream": s.stream,
                })
            })
            .collect();
        let problems: Map<String, Value> = self
            .problems
            .iter()
            .map(|(k, a)| {
                (
                    k.as_str().to_string(),
                    json!({
                        "count": a.count,
                        "examples": a.examples.iter().map(|(p, m)| json!({"packet": p, "message": m})).collect::<Vec<_>>(),
                    }),
                )
            })
            .collect();
        let mut out = json!({
            "overview": overview,
            "codes": codes,
            "topics": topics,
            "connections": conns,
            "connections_more": self.conn_totals.connections as usize - shown.len(),
            "connections_total": {
                "connections": self.conn_totals.connections,
                "frames_to_server": self.conn_totals.frames[0],
                "frames_to_client": self.conn_totals.frames[1],
                "bytes_to_server": self.conn_totals.bytes[0],
                "bytes_to_client": self.conn_totals.bytes[1],
                "errors": self.conn_totals.errors,
            },
            "routes": routes,
            "problems": {
                "error_responses": errors,
                "error_responses_more": self.errors_more,
                "slowest": slow,
                "by_kind": problems,
            },
        });
        out["consumers"] = self.consumers.to_json(&|a| self.broker_label(a), &rfc3339);
        if let Some(i) = self.interval_ns {
            let b: Vec<Value> = self
                .buckets
                .iter()
                .map(|(t, b)| {
                    json!({
                        "start": rfc3339(*t),
                        "frames": b.frames,
                        "requests": b.requests,
                        "responses": b.responses,
                        "errors": b.errors,
                        "messages": b.messages,
                        "bytes": b.bytes,
                        "latency_us": {"p50": us(b.latency.quantile(0.5)), "p99": us(b.latency.quantile(0.99)), "max": if b.latency.count > 0 { Value::from(b.latency.max) } else { Value::Null }},
                    })
                })
                .collect();
            out["interval_seconds"] = json!(i as f64 / 1e9);
            out["intervals"] = Value::Array(b);
        }
        out
    }
}
