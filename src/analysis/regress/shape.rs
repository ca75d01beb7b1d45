//! The shape of a capture for `rmqdump diff`, built frame by frame.

use std::collections::{BTreeMap, BTreeSet};

use compact_str::CompactString;
use serde_json::Value;

/// Runs of one request name kept per connection; requests after them are counted and
/// hashed only (a connection that alternates names forever stays bounded).
pub const MAX_RUNS: usize = 4096;

/// Connections whose request sequence is kept, in order of their first frame; the
/// connections after them are counted per server role only (a capture of a million
/// connections keeps a bounded shape: `diff` compares their number, not their sequences).
pub const MAX_CONNECTIONS: usize = 16_384;

/// The requests of one connection in order, run-length encoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sequence {
    /// (item, how many times in a row), the first [`MAX_RUNS`] runs.
    pub runs: Vec<(CompactString, u64)>,
    /// Items in all.
    pub len: u64,
    /// Items in the runs.
    kept: u64,
    /// FNV-1a over the items after the kept runs.
    tail_hash: u64,
}

impl Sequence {
    fn push(&mut self, item: CompactString) {
        self.len += 1;
        if self.kept == self.len - 1 {
            if let Some((last, n)) = self.runs.last_mut()
                && *last == item
            {
                *n += 1;
                self.kept += 1;
                return;
            }
            if self.runs.len() < MAX_RUNS {
                self.runs.push((item, 1));
                self.kept += 1;
                return;
            }
        }
        let mut h = if self.tail_hash == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.tail_hash
        };
        for b in item.bytes().chain([0]) {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
        self.tail_hash = h;
    }

    /// The item at `i`, if within the kept runs.
    fn at(&self, mut i: u64) -> Option<&str> {
        for (s, n) in &self.runs {
            if i < *n {
                return Some(s);
            }
            i -= n;
        }
        None
    }

    /// Where two sequences first differ: `Ok(position)` within the kept runs, or
    /// `Err(kept)` when they differ only after the kept runs; `None` when equal.
    fn first_difference(&self, other: &Sequence) -> Option<Result<u64, u64>> {
        if self == other {
            return None;
        }
        let mut pos = 0u64;
        for ((x, n), (y, m)) in self.runs.iter().zip(&other.runs) {
            if x != y {
                return Some(Ok(pos));
            }
            if n != m {
                return Some(Ok(pos + n.min(m)));
            }
            pos += n;
        }
        let (a, b) = (self.runs.len(), other.runs.len());
        if a != b && (a < MAX_RUNS || b < MAX_RUNS) {
            // One side ends (or goes on past its runs) where the other has more runs.
            return Some(Ok(pos));
        }
        Some(Err(pos))
    }
}

/// The shape of a capture, for `diff`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shape {
    /// Per connection (named by server role and order: `Broker#1`), the sequence of
    /// requests (`NAME` or `NAME(oneway)`, prefixed `←` when the server asks the client).
    pub sequences: BTreeMap<String, Sequence>,
    /// Server role → connections past [`MAX_CONNECTIONS`] (no sequence kept for them).
    pub connections_beyond: BTreeMap<String, u64>,
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
    let mut b = ShapeBuilder::default();
    for f in frames {
        b.push(f);
    }
    b.finish()
}

/// A set of stream numbers: a bitmap for the dense numbers the dissector gives (one bit a
/// stream), a tree for any past [`StreamSet::DENSE`] (frames from elsewhere).
#[derive(Default)]
struct StreamSet {
    bits: Vec<u64>,
    sparse: BTreeSet<u64>,
}

impl StreamSet {
    /// Streams below this go in the bitmap (at most 16 MiB of it).
    const DENSE: u64 = 1 << 27;

    fn contains(&self, stream: u64) -> bool {
        if stream < Self::DENSE {
            self.bits
                .get((stream / 64) as usize)
                .is_some_and(|w| w & (1 << (stream % 64)) != 0)
        } else {
            self.sparse.contains(&stream)
        }
    }

    fn insert(&mut self, stream: u64) {
        if stream < Self::DENSE {
            let i = (stream / 64) as usize;
            if i >= self.bits.len() {
                self.bits.resize(i + 1, 0);
            }
            self.bits[i] |= 1 << (stream % 64);
        } else {
            self.sparse.insert(stream);
        }
    }
}

/// Folds frames (`read --json` objects, in capture order) into a [`Shape`]. Holds the
/// shape, and per connection its name and server address.
#[derive(Default)]
pub struct ShapeBuilder {
    s: Shape,
    /// Stream → (connection name, server address) of the first [`MAX_CONNECTIONS`]
    /// connections.
    conns: BTreeMap<u64, (CompactString, CompactString)>,
    /// The streams past [`MAX_CONNECTIONS`] (counted once, nothing else kept): one bit per
    /// stream, so a million one-packet connections cost 128 KiB, not an entry each.
    beyond: StreamSet,
    /// Connections named so far.
    named: usize,
    per_role: BTreeMap<&'static str, usize>,
    /// Frames pushed.
    pub frames: u64,
}

impl ShapeBuilder {
    pub fn push(&mut self, f: &Value) {
        self.frames += 1;
        let s = &mut self.s;
        let stream = f["stream"].as_u64().unwrap_or(0);
        let kind = f["kind"].as_str().unwrap_or("");
        // Connection names: server role by port hint, then order of appearance per role.
        let named = &mut self.named;
        let per_role = &mut self.per_role;
        let beyond = &mut s.connections_beyond;
        if self.beyond.contains(stream) {
            let key = format!("{} {kind}", f["name"].as_str().unwrap_or("?"));
            return self.push_rest(f, key);
        }
        if !self.conns.contains_key(&stream) {
            let server = if kind == "response" {
                &f["src"]
            } else {
                &f["dst"]
            };
            let port = server
                .as_str()
                .and_then(|a| a.rsplit_once(':'))
                .and_then(|(_, p)| p.parse::<u16>().ok());
            let role = match port {
                Some(9876) => "NameServer",
                Some(10909) => "BrokerVIP",
                _ => "Broker",
            };
            if *named >= MAX_CONNECTIONS {
                *beyond.entry(role.to_string()).or_default() += 1;
                self.beyond.insert(stream);
                let key = format!("{} {kind}", f["name"].as_str().unwrap_or("?"));
                return self.push_rest(f, key);
            }
            *named += 1;
            let n = per_role.entry(role).or_default();
            *n += 1;
            let server = CompactString::from(server.as_str().unwrap_or(""));
            let conn = compact_str::format_compact!("{role}#{n}");
            self.conns.insert(stream, (conn, server));
        }
        let (conn, server) = &self.conns[&stream];
        let name = f["name"].as_str().unwrap_or("?");
        let key = format!("{name} {kind}");
        if kind != "response" {
            let to_server = f["dst"].as_str() == Some(server.as_str());
            let item = compact_str::format_compact!(
                "{}{}{}",
                if to_server { "" } else { "←" },
                name,
                if kind == "oneway" { "(oneway)" } else { "" }
            );
            if let Some(seq) = s.sequences.get_mut(conn.as_str()) {
                seq.push(item);
            } else {
                let mut seq = Sequence::default();
                seq.push(item);
                s.sequences.insert(conn.to_string(), seq);
            }
        } else if let Some(req) = f["request"]["name"].as_str() {
            *s.responses
                .entry(req.to_string())
                .or_default()
                .entry(name.to_string())
                .or_default() += 1;
        }
        self.push_rest(f, key);
    }

    /// What a frame tells beside its connection's sequence: header keys, kinds, property
    /// keys, body shape, under `key` (`NAME kind`).
    fn push_rest(&mut self, f: &Value, key: String) {
        let s = &mut self.s;
        if let Some(ext) = f["ext_fields"].as_object() {
            let e = s.header_keys.entry(key.clone()).or_default();
            for k in ext.keys() {
                if !e.contains(k) {
                    e.insert(k.clone());
                }
            }
        }
        for (map, field) in [
            (&mut s.serialize, "serialize"),
            (&mut s.languages, "language"),
            (&mut s.versions, "version_name"),
        ] {
            if let Some(x) = f[field].as_str() {
                let e = map.entry(key.clone()).or_default();
                if !e.contains(x) {
                    e.insert(x.to_string());
                }
            }
        }
        if let Some(ms) = f["messages"].as_array() {
            let e = s.property_keys.entry(key.clone()).or_default();
            for m in ms {
                if let Some(p) = m["properties"].as_object() {
                    for k in p.keys() {
                        if !e.contains(k) {
                            e.insert(k.clone());
                        }
                    }
                }
            }
        }
        if let Some(j) = f["body"].get("json") {
            let mut paths = BTreeSet::new();
            json_paths(j, "", &mut paths);
            s.body_shapes.entry(key).or_default().extend(paths);
        }
    }

    pub fn finish(self) -> Shape {
        self.s
    }
}

/// Differences between two shapes, as readable lines.
pub fn diff_shapes(a: &Shape, b: &Shape) -> Vec<String> {
    let mut out = Vec::new();
    let conns: BTreeSet<&String> = a.sequences.keys().chain(b.sequences.keys()).collect();
    let empty = Sequence::default();
    for c in conns {
        let x = a.sequences.get(c).unwrap_or(&empty);
        let y = b.sequences.get(c).unwrap_or(&empty);
        match x.first_difference(y) {
            None => {}
            Some(Ok(at)) => out.push(format!(
                "connection {c}: request sequence differs at request {} (A has {} requests, B {}): A={} B={}",
                at + 1,
                x.len,
                y.len,
                x.at(at).unwrap_or("<end>"),
                y.at(at).unwrap_or("<end>")
            )),
            Some(Err(kept)) => out.push(format!(
                "connection {c}: request sequence differs after request {kept} (A has {} requests, B {}; only the first {MAX_RUNS} runs of names are kept)",
                x.len, y.len
            )),
        }
    }
    let roles: BTreeSet<&String> = a
        .connections_beyond
        .keys()
        .chain(b.connections_beyond.keys())
        .collect();
    for r in roles {
        let x = a.connections_beyond.get(r).copied().unwrap_or(0);
        let y = b.connections_beyond.get(r).copied().unwrap_or(0);
        if x != y {
            out.push(format!(
                "{r} connections past the first {MAX_CONNECTIONS} (counted, sequences not kept): A has {x}, B {y}"
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

    fn req(stream: u64, name: &str) -> Value {
        json!({"stream": stream, "name": name, "kind": "request",
               "src": "10.0.0.1:40000", "dst": "10.0.0.2:10911"})
    }

    fn shape_of(names: &[&str]) -> Shape {
        let mut b = ShapeBuilder::default();
        for n in names {
            b.push(&req(0, n));
        }
        b.finish()
    }

    #[test]
    fn sequences_are_run_length_encoded_and_diff_says_where_they_part() {
        let mut x = vec!["HEART_BEAT"];
        x.extend(std::iter::repeat_n("SEND_MESSAGE_V2", 100_000));
        let mut y = x.clone();
        y[50_000] = "PULL_MESSAGE";
        let (a, b) = (shape_of(&x), shape_of(&y));
        // 100,001 requests in two runs.
        assert_eq!(a.sequences["Broker#1"].runs.len(), 2);
        assert_eq!(a.sequences["Broker#1"].len, 100_001);
        assert_eq!(
            diff_shapes(&a, &b),
            vec![
                "connection Broker#1: request sequence differs at request 50001 (A has 100001 requests, B 100001): A=SEND_MESSAGE_V2 B=PULL_MESSAGE"
            ]
        );
        // One side shorter.
        let c = shape_of(&x[..10]);
        assert_eq!(
            diff_shapes(&c, &a),
            vec![
                "connection Broker#1: request sequence differs at request 11 (A has 10 requests, B 100001): A=<end> B=SEND_MESSAGE_V2"
            ]
        );
        assert!(diff_shapes(&a, &shape_of(&x)).is_empty());
    }

    #[test]
    fn alternating_sequences_keep_a_bounded_prefix_and_still_differ() {
        let n = 4 * MAX_RUNS;
        let x: Vec<&str> = (0..n).map(|i| if i % 2 == 0 { "A" } else { "B" }).collect();
        let mut y = x.clone();
        y[n - 1] = "C";
        let (a, b) = (shape_of(&x), shape_of(&y));
        assert_eq!(a.sequences["Broker#1"].runs.len(), MAX_RUNS);
        assert_eq!(
            diff_shapes(&a, &b),
            vec![format!(
                "connection Broker#1: request sequence differs after request {MAX_RUNS} (A has {n} requests, B {n}; only the first {MAX_RUNS} runs of names are kept)"
            )]
        );
        assert!(diff_shapes(&a, &shape_of(&x)).is_empty());
        // A difference inside the kept runs is still located exactly.
        let mut z = x.clone();
        z[10] = "C";
        assert_eq!(
            diff_shapes(&a, &shape_of(&z)),
            vec![format!(
                "connection Broker#1: request sequence differs at request 11 (A has {n} requests, B {n}): A=A B=C"
            )]
        );
    }

    #[test]
    fn connections_past_the_cap_keep_one_bit_each() {
        // A million one-packet connections must not keep an entry each (diff on
        // /work/bench/flows-1M.pcap grew to 213 MiB by this map).
        let extra = 100_000u64;
        let mut b = ShapeBuilder::default();
        for stream in 0..MAX_CONNECTIONS as u64 + extra {
            b.push(&req(stream, "SEND_MESSAGE_V2"));
            // A second frame of a connection past the cap is not counted again.
            b.push(&req(stream, "SEND_MESSAGE_V2"));
        }
        assert_eq!(b.conns.len(), MAX_CONNECTIONS);
        assert!(b.beyond.bits.len() as u64 <= (MAX_CONNECTIONS as u64 + extra) / 64 + 1);
        // Stream numbers past the bitmap's range still count once.
        b.push(&req(u64::MAX, "SEND_MESSAGE_V2"));
        b.push(&req(u64::MAX, "SEND_MESSAGE_V2"));
        let s = b.finish();
        assert_eq!(s.connections_beyond.get("Broker"), Some(&(extra + 1)));
        assert_eq!(s.sequences.len(), MAX_CONNECTIONS);
    }

    #[test]
    fn connections_past_the_cap_are_counted_not_kept() {
        let build = |conns: u64| {
            let mut b = ShapeBuilder::default();
            for stream in 0..conns {
                b.push(&req(stream, "HEART_BEAT"));
                b.push(&req(stream, "SEND_MESSAGE_V2"));
            }
            b.finish()
        };
        let extra = 3;
        let a = build(MAX_CONNECTIONS as u64 + extra);
        assert_eq!(a.sequences.len(), MAX_CONNECTIONS);
        assert_eq!(a.connections_beyond.get("Broker"), Some(&extra));
        // The frames of uncounted connections still shape the header keys and kinds.
        assert!(diff_shapes(&a, &build(MAX_CONNECTIONS as u64 + extra)).is_empty());
        assert_eq!(
            diff_shapes(&a, &build(MAX_CONNECTIONS as u64 + 1)),
            vec![format!(
                "Broker connections past the first {MAX_CONNECTIONS} (counted, sequences not kept): A has {extra}, B 1"
            )]
        );
    }
}
