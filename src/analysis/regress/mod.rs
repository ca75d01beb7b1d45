//! Protocol regression checks: compare a capture with a golden JSON Lines file
//! (`rmqdump check`), and compare the shape of two captures of the same scenario
//! (`rmqdump diff`). Both work on the JSON Lines objects of `rmqdump read --json`
//! (docs/json-lines.md), so what they compare is exactly what users see.
//!
//! Both stream: [`Checker`] aligns the capture's frames with the golden file's lines in a
//! window of [`CHECK_WINDOW`] frames a side, and [`ShapeBuilder`] folds frames into a
//! [`Shape`] whose size grows with connections and distinct names, not with frames. The
//! commands themselves (capture and golden file in, report out) are in [`run`].

pub mod run;
mod shape;

pub use shape::{Shape, ShapeBuilder, diff_shapes, shape};

use std::collections::{BTreeSet, VecDeque};

use serde_json::Value;

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
        let mut v = v.clone();
        self.strip(&mut v);
        v
    }

    /// Removes every ignored field, in place.
    pub fn strip(&self, v: &mut Value) {
        self.strip_at(v, &mut String::new());
    }

    fn strip_at(&self, v: &mut Value, path: &mut String) {
        match v {
            Value::Object(m) => m.retain(|k, x| {
                let len = path.len();
                if len > 0 {
                    path.push('.');
                }
                path.push_str(k);
                let keep = !self.ignored(path, k);
                if keep {
                    self.strip_at(x, path);
                }
                path.truncate(len);
                keep
            }),
            // Array elements share their parent's path.
            Value::Array(a) => a.iter_mut().for_each(|x| self.strip_at(x, path)),
            _ => {}
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

/// Compares golden frames with actual frames (both as `read --json` objects), all at once.
pub fn check(golden: &[Value], actual: &[Value], ignore: &Ignore) -> Vec<FieldDiff> {
    let mut c = Checker::new(ignore.clone(), golden.iter().cloned().map(Ok));
    let mut out = Vec::new();
    for v in actual {
        // The golden source cannot fail.
        let _ = c.push_actual(v.clone(), &mut |d| out.push(d));
    }
    let _ = c.finish(&mut |d| out.push(d));
    out
}

/// Frames held per side by [`Checker`]: inputs up to this many frames are aligned as one
/// longest common subsequence; longer ones in overlapping windows of this size.
pub const CHECK_WINDOW: usize = 512;

/// A frame waiting to be aligned: its normalized object, label and packet number.
struct Item {
    norm: Value,
    label: String,
    packet: Option<u64>,
}

/// `check`, streaming: golden frames and capture frames are pushed as they are read, and
/// differences come out as soon as they are settled. Memory is two windows of
/// [`CHECK_WINDOW`] frames and one alignment table of `CHECK_WINDOW²` cells.
///
/// Frames are aligned by label (name + kind) with a longest common subsequence, so that one
/// missing or extra frame shows as that, not as every later frame differing. When both
/// windows are full, the alignment of the two windows is computed and its pairs are
/// settled up to the middle of either window; the rest stays as context for the next
/// frames. Up to [`CHECK_WINDOW`] frames a side the result is exactly the whole-input
/// alignment.
pub struct Checker<G> {
    ignore: Ignore,
    /// The golden frames, read as they are needed.
    source: G,
    golden: VecDeque<Item>,
    actual: VecDeque<Item>,
    /// Index (in its whole sequence) of the first frame in each window.
    golden_base: usize,
    actual_base: usize,
    golden_ended: bool,
    /// Frames seen so far.
    pub golden_frames: usize,
    pub actual_frames: usize,
    /// Differences emitted so far.
    pub differences: usize,
}

impl<G: Iterator<Item = std::io::Result<Value>>> Checker<G> {
    /// A check against the golden frames `source` yields, in order.
    pub fn new(ignore: Ignore, source: G) -> Self {
        Self {
            ignore,
            source,
            golden: VecDeque::new(),
            actual: VecDeque::new(),
            golden_base: 0,
            actual_base: 0,
            golden_ended: false,
            golden_frames: 0,
            actual_frames: 0,
            differences: 0,
        }
    }

    fn item(&self, mut v: Value) -> Item {
        let packet = v["packet"].as_u64();
        self.ignore.strip(&mut v);
        Item {
            label: frame_label(&v),
            packet,
            norm: v,
        }
    }

    /// Reads golden frames until the golden window is full or the source ends.
    fn top_up(&mut self) -> std::io::Result<()> {
        while !self.golden_ended && self.golden.len() < CHECK_WINDOW {
            match self.source.next() {
                Some(v) => {
                    let it = self.item(v?);
                    self.golden.push_back(it);
                    self.golden_frames += 1;
                }
                None => self.golden_ended = true,
            }
        }
        Ok(())
    }

    /// The next frame of the capture; settles what it can once the actual window is full.
    /// Fails only when reading the golden source does.
    pub fn push_actual<F: FnMut(FieldDiff)>(
        &mut self,
        v: Value,
        out: &mut F,
    ) -> std::io::Result<()> {
        let it = self.item(v);
        self.actual.push_back(it);
        self.actual_frames += 1;
        while self.actual.len() >= CHECK_WINDOW {
            self.top_up()?;
            self.settle(false, out);
        }
        Ok(())
    }

    /// End of the capture: reads the rest of the golden source and settles everything.
    pub fn finish<F: FnMut(FieldDiff)>(&mut self, out: &mut F) -> std::io::Result<()> {
        loop {
            self.top_up()?;
            if self.golden_ended {
                self.settle(true, out);
                return Ok(());
            }
            self.settle(false, out);
        }
    }

    /// Aligns the two windows and emits the settled pairs: all of them at the end, else
    /// those before the middle of either window (at least one: the first pair holds the
    /// first frame of one window).
    fn settle<F: FnMut(FieldDiff)>(&mut self, all: bool, out: &mut F) {
        // Labels as small numbers: the alignment compares them n × m times.
        let mut ids: foldhash::HashMap<&str, u32> = Default::default();
        let (mut g, mut a) = (Vec::new(), Vec::new());
        for (side, items) in [(&mut g, &self.golden), (&mut a, &self.actual)] {
            for x in items {
                let n = ids.len() as u32;
                side.push(*ids.entry(x.label.as_str()).or_insert(n));
            }
        }
        let (gh, ah) = (g.len().div_ceil(2), a.len().div_ceil(2));
        let pairs = align(&g, &a);
        let (mut ng, mut na) = (0, 0);
        for (gi, ai) in pairs {
            if !all && (gi.is_some_and(|i| i >= gh) || ai.is_some_and(|j| j >= ah)) {
                break;
            }
            match (gi, ai) {
                (Some(i), Some(j)) => {
                    let (x, y) = (&self.golden[i], &self.actual[j]);
                    let mut d = Vec::new();
                    // Equal frames (the common case) without walking paths.
                    if x.norm != y.norm {
                        diff_values(&x.norm, &y.norm, "", &mut d);
                    }
                    for (path, e, v) in d {
                        self.differences += 1;
                        out(FieldDiff {
                            index: self.golden_base + i,
                            expected_packet: x.packet,
                            actual_packet: y.packet,
                            path,
                            expected: e,
                            actual: v,
                        });
                    }
                }
                (Some(i), None) => {
                    let x = &self.golden[i];
                    self.differences += 1;
                    out(FieldDiff {
                        index: self.golden_base + i,
                        expected_packet: x.packet,
                        actual_packet: None,
                        path: "<frame>".into(),
                        expected: Some(Value::String(x.label.clone())),
                        actual: None,
                    });
                }
                (None, Some(j)) => {
                    let y = &self.actual[j];
                    self.differences += 1;
                    out(FieldDiff {
                        index: self.actual_base + j,
                        expected_packet: None,
                        actual_packet: y.packet,
                        path: "<frame>".into(),
                        expected: None,
                        actual: Some(Value::String(y.label.clone())),
                    });
                }
                (None, None) => {}
            }
            ng += gi.is_some() as usize;
            na += ai.is_some() as usize;
        }
        self.golden.drain(..ng);
        self.actual.drain(..na);
        self.golden_base += ng;
        self.actual_base += na;
    }
}

/// Longest-common-subsequence alignment of two label sequences; pairs in order. Falls
/// back to position-by-position for very long inputs (bounded memory).
fn align<T: Eq>(a: &[T], b: &[T]) -> Vec<(Option<usize>, Option<usize>)> {
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

    /// A frame of a synthetic sequence: label from `name`, one compared field.
    fn frame(packet: u64, name: &str, v: u64) -> Value {
        json!({"packet": packet, "name": name, "kind": "request", "header": {"x": v}})
    }

    /// The alignment of the whole inputs at once (what `check` did before it streamed).
    fn whole(golden: &[Value], actual: &[Value], ig: &Ignore) -> Vec<FieldDiff> {
        let g: Vec<Value> = golden.iter().map(|v| ig.normalize(v)).collect();
        let a: Vec<Value> = actual.iter().map(|v| ig.normalize(v)).collect();
        let gl: Vec<String> = g.iter().map(frame_label).collect();
        let al: Vec<String> = a.iter().map(frame_label).collect();
        let gl: Vec<&str> = gl.iter().map(String::as_str).collect();
        let al: Vec<&str> = al.iter().map(String::as_str).collect();
        let mut out = Vec::new();
        for (gi, ai) in align(&gl, &al) {
            match (gi, ai) {
                (Some(i), Some(j)) => {
                    let mut d = Vec::new();
                    diff_values(&g[i], &a[j], "", &mut d);
                    for (path, e, x) in d {
                        out.push(FieldDiff {
                            index: i,
                            expected_packet: golden[i]["packet"].as_u64(),
                            actual_packet: actual[j]["packet"].as_u64(),
                            path,
                            expected: e,
                            actual: x,
                        });
                    }
                }
                (Some(i), None) => out.push(FieldDiff {
                    index: i,
                    expected_packet: golden[i]["packet"].as_u64(),
                    actual_packet: None,
                    path: "<frame>".into(),
                    expected: Some(Value::String(gl[i].to_string())),
                    actual: None,
                }),
                (None, Some(j)) => out.push(FieldDiff {
                    index: j,
                    expected_packet: None,
                    actual_packet: actual[j]["packet"].as_u64(),
                    path: "<frame>".into(),
                    expected: None,
                    actual: Some(Value::String(al[j].to_string())),
                }),
                (None, None) => {}
            }
        }
        out
    }

    /// A long sequence (several windows) with sparse edits: a frame missing, a frame
    /// extra, a changed field, a run of missing frames at the end. The streaming check
    /// reports exactly what aligning the whole inputs at once reports, and never holds
    /// more than a window a side.
    #[test]
    fn streaming_check_matches_the_whole_alignment_and_stays_in_its_windows() {
        let ig = Ignore::new(&[], &[]);
        let names = [
            "SEND_MESSAGE_V2",
            "HEART_BEAT",
            "GET_ROUTEINFO_BY_TOPIC",
            "PULL_MESSAGE",
        ];
        let n = 5 * CHECK_WINDOW as u64 + 37;
        let golden: Vec<Value> = (0..n)
            .map(|i| frame(i + 1, names[(i * 7 % 11 % 4) as usize], i % 5))
            .collect();
        let mut actual: Vec<Value> = Vec::new();
        for (i, g) in golden.iter().enumerate() {
            let i = i as u64;
            match i {
                700 => continue,                                            // missing
                1300 => actual.push(frame(90_000, "UNREGISTER_CLIENT", 0)), // extra
                _ if i >= n - 20 => continue,                               // missing at the end
                _ => {}
            }
            let mut a = g.clone();
            a["packet"] = json!(i + 10);
            if i == 2100 {
                a["header"]["x"] = json!(99);
            }
            actual.push(a);
        }
        let want = whole(&golden, &actual, &ig);
        // (The frame missing at 700 lies in a run of equal labels: the alignment pairs the
        // run's frames one later, so it shows as a changed field and a missing frame.)
        assert_eq!(want.len(), 2 + 1 + 1 + 20, "{want:?}");
        assert!(
            want.iter()
                .any(|d| d.actual_packet == Some(90_000) && d.expected.is_none())
        );
        assert!(
            want.iter()
                .any(|d| d.index == 2100 && d.actual == Some(json!(99)))
        );
        assert!(want[want.len() - 20..].iter().all(|d| d.actual.is_none()));
        let mut c = Checker::new(ig.clone(), golden.iter().cloned().map(Ok));
        let mut got = Vec::new();
        for a in &actual {
            c.push_actual(a.clone(), &mut |d| got.push(d)).unwrap();
            assert!(c.golden.len() <= CHECK_WINDOW && c.actual.len() < CHECK_WINDOW);
        }
        c.finish(&mut |d| got.push(d)).unwrap();
        assert_eq!(got, want);
        assert_eq!(
            (c.golden_frames, c.actual_frames),
            (golden.len(), actual.len())
        );
        assert_eq!(c.differences, want.len());
        // Identical inputs: nothing.
        assert!(check(&golden, &golden, &ig).is_empty());
        // A capture much shorter than its golden file: the rest reported missing, in order.
        let d = check(&golden, &golden[..10], &ig);
        assert_eq!(d.len(), golden.len() - 10);
        assert!(
            d.iter()
                .enumerate()
                .all(|(k, x)| x.index == k + 10 && x.actual.is_none())
        );
    }

    #[test]
    fn golden_lines_report_the_line_that_is_not_json() {
        let f = |p: u64| json!({"packet": p, "stream": 0, "frame_len": 20, "kind": "request"});
        let text = format!("{}\n\n{}\nnot json\n", f(1), f(2));
        let r: Vec<std::io::Result<Value>> =
            run::golden_lines(text.as_bytes(), "g.jsonl").collect();
        assert_eq!(r.len(), 3);
        assert_eq!(r[1].as_ref().unwrap(), &f(2));
        let e = r[2].as_ref().unwrap_err().to_string();
        assert!(e.starts_with("g.jsonl: line 4: not JSON:"), "{e}");
    }
}
