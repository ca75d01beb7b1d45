//! The compressed REGISTER_BROKER body (`compressed=true` in `RegisterBrokerRequestHeader`),
//! decoded as `RegisterBrokerBody.decode(byte[], boolean, MQVersion.Version)` does
//! (apache/rocketmq @ 8fc57f14 `remoting/.../protocol/body/RegisterBrokerBody.java`), into
//! the JSON shape of the uncompressed body.
//!
//! ```text
//! zlib( dataVersionLen i32 | dataVersion JSON |
//!       topicCount i32 | { len i32 | TopicConfig.encode() text }* |
//!       filterServerListLen i32 | filterServerList JSON |
//!       [5.0+] mappingCount i32 | { len i32 | TopicQueueMappingInfo JSON }* )
//! ```
//! `TopicConfig.encode()` is `topicName readQueueNums writeQueueNums perm topicFilterType
//! attributesJSON`, space-separated (`TopicConfig.decode`).
//!
//! The inflated size is bounded (the caller's limit); counts are never used to allocate:
//! every entry is read from what was inflated, and a count larger than what is there is
//! reported. What is built from it is bounded too: at most `Limits::max_body_entries`
//! entries (topic configs and mappings together) and `Limits::max_json_nodes` tree nodes
//! (a topic config counts 6 plus its attributes); past either, the remaining entries are
//! stepped over, counted, and reported as one limit problem.

use super::cursor::Cur;
use serde_json::{Map, Value, json};

use super::json_bound;
use super::message::decompress_bounded;
use crate::limits::Limits;
use crate::remoting::json;

/// `MQVersion.Version.V5_0_0.ordinal()`: from this broker version on the body ends with the
/// topic queue mappings.
const V5_0_0: i32 = 413;

/// What may still be built from one body: entries and tree nodes.
struct Built<'l> {
    limits: &'l Limits,
    entries: usize,
    nodes: usize,
    /// Topic configs and mappings stepped over past the budget.
    left_out: [usize; 2],
}

impl Built<'_> {
    /// Takes one entry of `nodes` nodes from the budget; false when it does not fit.
    fn take(&mut self, nodes: usize) -> bool {
        if self.entries >= self.limits.max_body_entries
            || self.nodes.saturating_add(nodes) > self.limits.max_json_nodes
        {
            return false;
        }
        self.entries += 1;
        self.nodes += nodes;
        true
    }

    fn report(&self) -> Option<String> {
        let [t, m] = self.left_out;
        (t + m > 0).then(|| {
            format!(
                "RegisterBrokerBody: {t} topic configs and {m} topic queue mappings stepped \
                 over past max_body_entries {} / max_json_nodes {} ({} entries, {} nodes \
                 decoded)",
                self.limits.max_body_entries, self.limits.max_json_nodes, self.entries, self.nodes
            )
        })
    }
}

fn json_of(b: &[u8], what: &str, limits: &Limits) -> Result<Value, String> {
    json_bound::check(what, b, limits)?;
    json::parse(b)
        .map(|v| v.to_serde())
        .map_err(|e| format!("{what}: {e}"))
}

/// `TopicConfig.decode`: the space-separated text form, as an object with the Java field
/// names.
fn topic_config(text: &str, limits: &Limits) -> Result<Value, String> {
    let parts: Vec<&str> = text.splitn(6, ' ').collect();
    if parts.len() < 5 {
        return Err(format!("topic config {text:?}: fewer than 5 fields"));
    }
    let int = |s: &str| {
        s.parse::<i32>()
            .map_err(|_| format!("topic config {text:?}: {s:?} is not an int"))
    };
    let mut o = Map::new();
    o.insert("topicName".into(), json!(parts[0]));
    o.insert("readQueueNums".into(), json!(int(parts[1])?));
    o.insert("writeQueueNums".into(), json!(int(parts[2])?));
    o.insert("perm".into(), json!(int(parts[3])?));
    o.insert("topicFilterType".into(), json!(parts[4]));
    if let Some(a) = parts.get(5) {
        // Java ignores attributes that do not parse.
        if let Ok(v) = json_of(a.as_bytes(), "attributes", limits) {
            o.insert("attributes".into(), v);
        }
    }
    Ok(Value::Object(o))
}

/// Nodes a topic config entry costs: an object of 5 fields, plus the count of its text
/// (1 when it has no attributes).
fn topic_config_nodes(b: &[u8], limits: &Limits) -> usize {
    json_bound::OBJECT_NODES + 5 + json_bound::count_nodes(b, limits.max_json_nodes)
}

/// Inflates (at most `max_inflated` bytes) and decodes a compressed RegisterBrokerBody sent
/// by a broker of `version` (the command's version ordinal), building at most what
/// `limits` allows. Returns the body and the limit problem, if entries were left out.
pub fn decode_compressed(
    body: &[u8],
    version: i32,
    max_inflated: usize,
    limits: &Limits,
) -> Result<(Value, Option<String>), String> {
    let data = decompress_bounded(0, body, max_inflated).map_err(|e| e.to_string())?;
    let mut r = Cur::new(&data);
    let mut built = Built {
        limits,
        entries: 0,
        nodes: 0,
        left_out: [0, 0],
    };
    let dv = r.chunk("dataVersion")?;
    let data_version = json_of(dv, "dataVersion", limits)?;
    built.nodes += json_bound::count_nodes(dv, limits.max_json_nodes);
    let topics = r.i32("topic config count")?;
    let mut table = Map::new();
    for i in 0..topics.max(0) {
        let b = r
            .chunk("topic config")
            .map_err(|e| format!("topic config {i} of {topics}: {e}"))?;
        if !built.take(topic_config_nodes(b, limits)) {
            built.left_out[0] += 1;
            continue;
        }
        let cfg = topic_config(&String::from_utf8_lossy(b), limits)
            .map_err(|e| format!("topic config {i} of {topics}: {e}"))?;
        let name = cfg["topicName"].as_str().unwrap_or_default().to_string();
        table.insert(name, cfg);
    }
    let filter = json_of(r.chunk("filterServerList")?, "filterServerList", limits)?;
    let mut wrapper = Map::new();
    wrapper.insert("dataVersion".into(), data_version);
    wrapper.insert("topicConfigTable".into(), Value::Object(table));
    if version >= V5_0_0 {
        let n = r.i32("topic queue mapping count")?;
        let mut mappings = Map::new();
        for i in 0..n.max(0) {
            let b = r
                .chunk("topic queue mapping")
                .map_err(|e| format!("topic queue mapping {i} of {n}: {e}"))?;
            if !built.take(json_bound::count_nodes(b, limits.max_json_nodes)) {
                built.left_out[1] += 1;
                continue;
            }
            let info = json_of(b, "topic queue mapping", limits)?;
            let topic = info["topic"].as_str().unwrap_or_default().to_string();
            mappings.insert(topic, info);
        }
        wrapper.insert("topicQueueMappingInfoMap".into(), Value::Object(mappings));
    }
    if r.i != data.len() {
        return Err(format!(
            "{} bytes after the body at inflated offset {}",
            data.len() - r.i,
            r.i
        ));
    }
    Ok((
        json!({
            "topicConfigSerializeWrapper": Value::Object(wrapper),
            "filterServerList": filter,
        }),
        built.report(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A body written as `RegisterBrokerBody.encode(true)` writes it.
    fn encode(topics: &[&str], mappings: Option<&[&str]>) -> Vec<u8> {
        let mut raw = Vec::new();
        let chunk = |raw: &mut Vec<u8>, s: &str| {
            raw.extend_from_slice(&(s.len() as i32).to_be_bytes());
            raw.extend_from_slice(s.as_bytes());
        };
        chunk(
            &mut raw,
            r#"{"counter":7,"stateVersion":0,"timestamp":1764460000000}"#,
        );
        raw.extend_from_slice(&(topics.len() as i32).to_be_bytes());
        for t in topics {
            chunk(&mut raw, t);
        }
        chunk(&mut raw, "[]");
        if let Some(m) = mappings {
            raw.extend_from_slice(&(m.len() as i32).to_be_bytes());
            for x in m {
                chunk(&mut raw, x);
            }
        }
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&raw).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn compressed_body_like_java() {
        let z = encode(
            &[
                "TopicA 8 8 6 SINGLE_TAG {}",
                "TopicB 4 4 7 MULTI_TAG {\"+message.type\":\"FIFO\"}",
            ],
            Some(&[r#"{"topic":"TopicA","bname":"b","epoch":1}"#]),
        );
        let v = decode_compressed(&z, 413, 1 << 20, &Limits::default())
            .unwrap()
            .0;
        let w = &v["topicConfigSerializeWrapper"];
        assert_eq!(w["dataVersion"]["counter"], 7);
        assert_eq!(w["topicConfigTable"]["TopicA"]["readQueueNums"], 8);
        assert_eq!(w["topicConfigTable"]["TopicB"]["perm"], 7);
        assert_eq!(
            w["topicConfigTable"]["TopicB"]["topicFilterType"],
            "MULTI_TAG"
        );
        assert_eq!(
            w["topicConfigTable"]["TopicB"]["attributes"]["+message.type"],
            "FIFO"
        );
        assert_eq!(w["topicQueueMappingInfoMap"]["TopicA"]["epoch"], 1);
        assert_eq!(v["filterServerList"], json!([]));
        // A 4.x broker's body has no mapping section.
        let old = encode(&["TopicA 8 8 6 SINGLE_TAG {}"], None);
        let v = decode_compressed(&old, 401, 1 << 20, &Limits::default())
            .unwrap()
            .0;
        assert!(v["topicConfigSerializeWrapper"]["topicQueueMappingInfoMap"].is_null());
        // Read as a 5.x body, the missing section is reported, not guessed.
        assert!(decode_compressed(&old, 413, 1 << 20, &Limits::default()).is_err());
    }

    #[test]
    fn register_broker_request_with_compressed_true() {
        use crate::protocol::{DecodeOptions, decode};
        use crate::remoting::command::RemotingCommand;
        let z = encode(&["TopicA 8 8 6 SINGLE_TAG {}"], Some(&[]));
        let mut cmd = RemotingCommand {
            code: 103,
            version: 413,
            ext_fields: Some(vec![
                ("brokerName".into(), "broker-a".into()),
                ("compressed".into(), "true".into()),
            ]),
            body: z.clone(),
            ..Default::default()
        };
        let d = decode(&cmd, None, &DecodeOptions::default());
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        let v = d.body_json.unwrap();
        assert_eq!(
            v["topicConfigSerializeWrapper"]["topicConfigTable"]["TopicA"]["writeQueueNums"],
            8
        );
        // The per-frame inflate budget bounds it too.
        let mut opts = DecodeOptions::default();
        opts.limits.max_inflated_per_frame = 10;
        let d = decode(&cmd, None, &opts);
        assert!(d.errors[0].contains("10-byte limit"), "{:?}", d.errors);
        // compressed=false: the body is JSON as usual (here it is not).
        cmd.ext_fields = Some(vec![("compressed".into(), "false".into())]);
        let d = decode(&cmd, None, &DecodeOptions::default());
        assert!(d.body_json.is_none());
    }

    #[test]
    fn hostile_counts_and_sizes_are_reported() {
        // A count of 2^31-1 topic configs with one present: reported at the second.
        let mut z = encode(&["TopicA 8 8 6 SINGLE_TAG {}"], None);
        let mut raw = decompress_bounded(0, &z, 1 << 20).unwrap();
        let at = 4 + r#"{"counter":7,"stateVersion":0,"timestamp":1764460000000}"#.len();
        raw[at..at + 4].copy_from_slice(&i32::MAX.to_be_bytes());
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&raw).unwrap();
        z = e.finish().unwrap();
        let err = decode_compressed(&z, 401, 1 << 20, &Limits::default()).unwrap_err();
        assert!(err.contains(&format!("of {}", i32::MAX)), "{err}");
        // The inflated size is bounded.
        let err = decode_compressed(&z, 401, 16, &Limits::default()).unwrap_err();
        assert!(err.contains("16-byte limit"), "{err}");
    }

    /// Many small topic configs (the breaker's r10: 2.8M entries inflating under the
    /// inflate limit cost 6 GB in trees): at most `max_body_entries` entries and
    /// `max_json_nodes` nodes are built, the rest stepped over and counted in one limit
    /// problem; the frame still decodes.
    #[test]
    fn entries_past_the_budget_are_stepped_over_and_counted() {
        use crate::protocol::{DecodeOptions, decode};
        use crate::remoting::command::RemotingCommand;
        let names: Vec<String> = (0..10).map(|i| format!("t{i} 1 1 6 S")).collect();
        let topics: Vec<&str> = names.iter().map(String::as_str).collect();
        let z = encode(&topics, Some(&[r#"{"topic":"t0"}"#, r#"{"topic":"t1"}"#]));
        let limits = Limits {
            max_body_entries: 3,
            ..Limits::default()
        };
        let (v, limit) = decode_compressed(&z, 413, 1 << 20, &limits).unwrap();
        let w = &v["topicConfigSerializeWrapper"];
        let table = w["topicConfigTable"].as_object().unwrap();
        assert_eq!(table.keys().collect::<Vec<_>>(), ["t0", "t1", "t2"]);
        assert!(
            w["topicQueueMappingInfoMap"]
                .as_object()
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            limit.unwrap(),
            "RegisterBrokerBody: 7 topic configs and 2 topic queue mappings stepped over \
             past max_body_entries 3 / max_json_nodes 262144 (3 entries, 88 nodes decoded)"
        );
        // The node budget: dataVersion (22 nodes by count: `{` 16, 3 `:`, 2 `,`, plus one)
        // and 22 per topic config (16 + 5, plus the 1 of its attribute-less text): two fit.
        let limits = Limits {
            max_json_nodes: 22 + 22 * 2,
            ..Limits::default()
        };
        let (v, limit) = decode_compressed(&z, 413, 1 << 20, &limits).unwrap();
        assert_eq!(
            v["topicConfigSerializeWrapper"]["topicConfigTable"]
                .as_object()
                .unwrap()
                .len(),
            2
        );
        assert!(
            limit
                .unwrap()
                .starts_with("RegisterBrokerBody: 8 topic configs and 2")
        );
        // Through `decode`: the body is kept, the limit is the frame's one limit problem.
        let cmd = RemotingCommand {
            code: 103,
            version: 413,
            ext_fields: Some(vec![("compressed".into(), "true".into())]),
            body: z,
            ..Default::default()
        };
        let mut opts = DecodeOptions::default();
        opts.limits.max_body_entries = 3;
        let d = decode(&cmd, None, &opts);
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        assert!(d.body_json.is_some());
        assert!(d.limit.unwrap().contains("7 topic configs"));
    }
}
