//! Protocol regression checks: compare a capture with a golden JSON Lines file
//! (`rmqdump check`), and compare the shape of two captures of the same scenario
//! (`rmqdump diff`). Both work on the JSON Lines objects of `rmqdump read --json`
//! (docs/json-lines.md), so what they compare is exactly what users see.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// Fields that change from run to run, ignored by `check` unless `--keep` names them.
/// A plain name matches that key anywhere; a dotted path matches from the top.
pub const DEFAULT_IGNORE: &[&str] = &[
    // capture and connection facts
    "ts",
    "packet",
    "stream",
    "src",
    "dst",
    "opaque",
    "latency_us",
    "frame_len",
    // ids
    "msgId",
    "msg_id",
    "offsetMsgIdDecoded",
    "uniq_key",
    "uniq_key_decoded",
    "UNIQ_KEY",
    "transactionId",
    "batchUniqId",
    "clientID",
    "clientId",
    "consumerIdList",
    // offsets and queue choice (the producer starts round robin at a random queue)
    "queueId",
    "queue_id",
    "queueOffset",
    "queue_offset",
    "commit_log_offset",
    "nextBeginOffset",
    "minOffset",
    "maxOffset",
    "offset",
    "commitOffset",
    "MIN_OFFSET",
    "MAX_OFFSET",
    // timestamps
    "bornTimestamp",
    "born_timestamp",
    "store_timestamp",
    "subVersion",
    "CONSUME_START_TIME",
    "heartbeatFingerprint",
    // hosts with ephemeral ports, and what depends on ids and times
    "born_host",
    "body_crc",
    "store_size",
    // the raw header values that carry ids and times (their typed forms are compared)
    "ext_fields.g",
    "ext_fields.i",
    "ext_fields.e",
    "ext_fields.properties",
    "header.properties",
];

/// Which fields to ignore.
#[derive(Clone, Debug)]
pub struct Ignore {
    names: BTreeSet<String>,
    paths: BTreeSet<String>,
}

impl Ignore {
    /// The default set, plus `ignore`, minus `keep`.
    pub fn new(ignore: &[String], keep: &[String]) -> Self {
        let mut all: BTreeSet<String> = DEFAULT_IGNORE.iter().map(|s| s.to_string()).collect();
        all.extend(ignore.iter().cloned());
        for k in keep {
            all.remove(k);
        }
        let (paths, names): (BTreeSet<String>, BTreeSet<String>) =
            all.into_iter().partition(|s| s.contains('.'));
        Self { names, paths }
    }

    fn ignored(&self, path: &str, key: &str) -> bool {
        self.names.contains(key) || self.paths.contains(path)
    }

    /// The value with every ignored field removed.
    pub fn normalize(&self, v: &Value) -> Value {
        self.norm(v, "")
    }

    fn norm(&self, v: &Value, path: &str) -> Value {
        match v {
            Value::Object(m) => {
                let mut o = Map::new();
                for (k, x) in m {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    if !self.ignored(&p, k) {
                        o.insert(k.clone(), self.norm(x, &p));
                    }
                }
                Value::Object(o)
            }
            // Array elements share their parent's path.
            Value::Array(a) => Value::Array(a.iter().map(|x| self.norm(x, path)).collect()),
            other => other.clone(),
        }
    }
}

/// One difference between an expected and an actual frame.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDiff {
    /// Index of the frame in the expected (golden) sequence, or in the actual one for
    /// extra frames.
    pub index: usize,
    /// Packet numbers of the frame in the golden file and in the capture.
    pub expected_packet: Option<u64>,
    pub actual_packet: Option<u64>,
    /// JSON path inside the frame (`messages[0].tags`), or `<frame>` for a missing or
    /// extra frame.
    pub path: String,
    pub expected: Option<Value>,
    pub actual: Option<Value>,
}

/// What a frame is, for alignment: a request by its code name, a response by its
/// request's (so a changed response code is a changed field, not a different frame).
fn frame_label(v: &Value) -> String {
    let kind = v["kind"].as_str().unwrap_or("?");
    let name = if kind == "response" {
        v["request"]["name"].as_str().unwrap_or("(unpaired)")
    } else {
        v["name"].as_str().unwrap_or("?")
    };
    format!("{name} {kind}")
}

fn diff_values(
    a: &Value,
    b: &Value,
    path: &str,
    out: &mut Vec<(String, Option<Value>, Option<Value>)>,
) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => diff_values(u, v, &p, out),
                    (u, v) => out.push((p, u.cloned(), v.cloned())),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                diff_values(u, v, &format!("{path}[{i}]"), out);
            }
        }
        (u, v) if u != v => out.push((path.to_string(), Some(u.clone()), Some(v.clone()))),
        _ => {}
    }
}

/// Compares golden frames with actual frames (both as `read --json` objects).
pub fn check(golden: &[Value], actual: &[Value], ignore: &Ignore) -> Vec<FieldDiff> {
    let g: Vec<Value> = golden.iter().map(|v| ignore.normalize(v)).collect();
    let a: Vec<Value> = actual.iter().map(|v| ignore.normalize(v)).collect();
    // Align frames by label (name + kind) with a longest common subsequence, so that one
    // missing or extra frame shows as that, not as every later frame differing.
    let pairs = align(
        &g.iter().map(frame_label).collect::<Vec<_>>(),
        &a.iter().map(frame_label).collect::<Vec<_>>(),
    );
    let pkt = |v: &Value| v["packet"].as_u64();
    let mut out = Vec::new();
    for (gi, ai) in pairs {
        match (gi, ai) {
            (Some(i), Some(j)) => {
                let mut d = Vec::new();
                diff_values(&g[i], &a[j], "", &mut d);
                for (path, e, x) in d {
                    out.push(FieldDiff {
                        index: i,
                        expected_packet: pkt(&golden[i]),
                        actual_packet: pkt(&actual[j]),
                        path,
                        expected: e,
                        actual: x,
                    });
                }
            }
            (Some(i), None) => out.push(FieldDiff {
                index: i,
                expected_packet: pkt(&golden[i]),
                actual_packet: None,
                path: "<frame>".into(),
                expected: Some(Value::String(frame_label(&g[i]))),
                actual: None,
            }),
            (None, Some(j)) => out.push(FieldDiff {
                index: j,
                expected_packet: None,
                actual_packet: pkt(&actual[j]),
                path: "<frame>".into(),
                expected: None,
                actual: Some(Value::String(frame_label(&a[j]))),
            }),
            (None, None) => {}
        }
    }
    out
}

/// Longest-common-subsequence alignment of two label sequences; pairs in order. Falls
/// back to position-by-position for very long inputs (bounded memory).
fn align(a: &[String], b: &[String]) -> Vec<(Option<usize>, Option<usize>)> {
    let (n, m) = (a.len(), b.len());
    if n.saturating_mul(m) > 25_000_000 {
        return (0..n.max(m))
            .map(|i| ((i < n).then_some(i), (i < m).then_some(i)))
            .collect();
    }
    let mut t = vec![0u32; (n + 1) * (m + 1)];
    let w = m + 1;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i * w + j] = if a[i] == b[j] {
                t[(i + 1) * w + j + 1] + 1
            } else {
                t[(i + 1) * w + j].max(t[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push((Some(i), Some(j)));
            i += 1;
            j += 1;
        } else if j < m && (i == n || t[i * w + j + 1] >= t[(i + 1) * w + j]) {
            out.push((None, Some(j)));
            j += 1;
        } else {
            out.push((Some(i), None));
            i += 1;
        }
    }
    out
}

/// The shape of a capture, for `diff`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shape {
    /// Per connection (named by server role and order: `Broker#1`), the sequence of
    /// requests (`NAME` or `NAME(oneway)`, prefixed `←` when the server asks the client).
    pub sequences: BTreeMap<String, Vec<String>>,
    /// (code name, kind) → header keys (extFields) seen.
    pub header_keys: BTreeMap<String, BTreeSet<String>>,
    /// (code name, kind) → serialization types, languages, versions seen.
    pub serialize: BTreeMap<String, BTreeSet<String>>,
    pub languages: BTreeMap<String, BTreeSet<String>>,
    pub versions: BTreeMap<String, BTreeSet<String>>,
    /// Send/pull code → property keys of the messages.
    pub property_keys: BTreeMap<String, BTreeSet<String>>,
    /// Code → JSON body key paths.
    pub body_shapes: BTreeMap<String, BTreeSet<String>>,
    /// Request code → response codes (with counts).
    pub responses: BTreeMap<String, BTreeMap<String, u64>>,
}

fn json_paths(v: &Value, path: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                // Map keys that are data (broker ids, topic names) are not shape.
                let key = if k.parse::<i64>().is_ok() {
                    "<n>"
                } else {
                    k.as_str()
                };
                let p = format!("{path}.{key}");
                out.insert(p.clone());
                json_paths(x, &p, out);
            }
        }
        Value::Array(a) => {
            for x in a {
                json_paths(x, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

/// Builds the shape of a capture from its frames.
pub fn shape(frames: &[Value]) -> Shape {
    let mut s = Shape::default();
    // Connection names: server role by port hint, then order of appearance per role.
    let mut names: BTreeMap<u64, String> = BTreeMap::new();
    let mut servers: BTreeMap<u64, String> = BTreeMap::new();
    let mut per_role: BTreeMap<&'static str, usize> = BTreeMap::new();
    for f in frames {
        let stream = f["stream"].as_u64().unwrap_or(0);
        let kind = f["kind"].as_str().unwrap_or("");
        if let std::collections::btree_map::Entry::Vacant(slot) = names.entry(stream) {
            let server = if kind == "response" {
                &f["src"]
            } else {
                &f["dst"]
            };
            servers.insert(stream, server.as_str().unwrap_or("").to_string());
            let port = server
                .as_str()
                .and_then(|a| a.rsplit_once(':'))
                .and_then(|(_, p)| p.parse::<u16>().ok());
            let role = match port {
                Some(9876) => "NameServer",
                Some(10909) => "BrokerVIP",
                _ => "Broker",
            };
            let n = per_role.entry(role).or_default();
            *n += 1;
            slot.insert(format!("{role}#{n}"));
        }
        let conn = names[&stream].clone();
        let name = f["name"].as_str().unwrap_or("?").to_string();
        let key = format!("{name} {kind}");
        if kind != "response" {
            let to_server = f["dst"].as_str() == servers.get(&stream).map(String::as_str);
            let item = format!(
                "{}{}{}",
                if to_server { "" } else { "←" },
                name,
                if kind == "oneway" { "(oneway)" } else { "" }
            );
            s.sequences.entry(conn).or_default().push(item);
        } else if let Some(req) = f["request"]["name"].as_str() {
            *s.responses
                .entry(req.to_string())
                .or_default()
                .entry(name.clone())
                .or_default() += 1;
        }
        if let Some(ext) = f["ext_fields"].as_object() {
            s.header_keys
                .entry(key.clone())
                .or_default()
                .extend(ext.keys().cloned());
        }
        for (map, field) in [
            (&mut s.serialize, "serialize"),
            (&mut s.languages, "language"),
            (&mut s.versions, "version_name"),
        ] {
            if let Some(x) = f[field].as_str() {
                map.entry(key.clone()).or_default().insert(x.to_string());
            }
        }
        if let Some(ms) = f["messages"].as_array() {
            let e = s.property_keys.entry(key.clone()).or_default();
            for m in ms {
                if let Some(p) = m["properties"].as_object() {
                    e.extend(p.keys().cloned());
                }
            }
        }
        if let Some(j) = f["body"].get("json") {
            let mut paths = BTreeSet::new();
            json_paths(j, "", &mut paths);
            s.body_shapes.entry(key).or_default().extend(paths);
        }
    }
    s
}

/// Differences between two shapes, as readable lines.
pub fn diff_shapes(a: &Shape, b: &Shape) -> Vec<String> {
    let mut out = Vec::new();
    let conns: BTreeSet<&String> = a.sequences.keys().chain(b.sequences.keys()).collect();
    for c in conns {
        let x = a.sequences.get(c).cloned().unwrap_or_default();
        let y = b.sequences.get(c).cloned().unwrap_or_default();
        if x != y {
            let at = x
                .iter()
                .zip(&y)
                .position(|(p, q)| p != q)
                .unwrap_or(x.len().min(y.len()));
            out.push(format!(
                "connection {c}: request sequence differs at request {} (A has {} requests, B {}): A={} B={}",
                at + 1,
                x.len(),
                y.len(),
                x.get(at).map(String::as_str).unwrap_or("<end>"),
                y.get(at).map(String::as_str).unwrap_or("<end>")
            ));
        }
    }
    let sets = [
        ("header keys", &a.header_keys, &b.header_keys),
        ("serialization", &a.serialize, &b.serialize),
        ("language", &a.languages, &b.languages),
        ("version", &a.versions, &b.versions),
        ("property keys", &a.property_keys, &b.property_keys),
        ("body shape", &a.body_shapes, &b.body_shapes),
    ];
    for (what, x, y) in sets {
        let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
        for k in keys {
            let empty = BTreeSet::new();
            let u = x.get(k).unwrap_or(&empty);
            let v = y.get(k).unwrap_or(&empty);
            if u != v {
                let added: Vec<&String> = v.difference(u).collect();
                let removed: Vec<&String> = u.difference(v).collect();
                out.push(format!(
                    "{k}: {what}: added {:?}, removed {:?}",
                    added, removed
                ));
            }
        }
    }
    let reqs: BTreeSet<&String> = a.responses.keys().chain(b.responses.keys()).collect();
    for r in reqs {
        let empty = BTreeMap::new();
        let u = a.responses.get(r).unwrap_or(&empty);
        let v = b.responses.get(r).unwrap_or(&empty);
        let u: BTreeSet<&String> = u.keys().collect();
        let v: BTreeSet<&String> = v.keys().collect();
        if u != v {
            out.push(format!("{r}: response codes: A {:?}, B {:?}", u, v));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ignores_and_aligns() {
        let ig = Ignore::new(&[], &[]);
        let g = vec![
            json!({"packet": 1, "name": "A", "kind": "request", "opaque": 1, "header": {"topic": "t", "queueId": 3}}),
            json!({"packet": 2, "name": "B", "kind": "request", "code": 1}),
        ];
        let a = vec![
            json!({"packet": 7, "name": "X", "kind": "request"}),
            json!({"packet": 8, "name": "A", "kind": "request", "opaque": 9, "header": {"topic": "u", "queueId": 0}}),
            json!({"packet": 9, "name": "B", "kind": "request", "code": 1}),
        ];
        let d = check(&g, &a, &ig);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(d[0].path, "<frame>");
        assert_eq!(d[0].actual_packet, Some(7));
        assert_eq!(d[1].path, "header.topic");
        assert_eq!(
            (d[1].expected_packet, d[1].actual_packet),
            (Some(1), Some(8))
        );
        // --keep brings a field back; --ignore drops one.
        let ig = Ignore::new(&["topic".into()], &["queueId".into()]);
        let d = check(&g, &a[1..], &ig);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "header.queueId");
    }
}
