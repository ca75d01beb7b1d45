//! Message bodies on the wire: batch bodies (send), stored messages (pull, pop, peek,
//! query, view, transaction check, consume-directly) and inner batches, decoded within one
//! per-frame [`Budget`].
//!
//! Sources (apache/rocketmq @ 8fc57f14): `common/.../message/MessageDecoder.java`
//! (`decodesBatch`, `decode` lines 420-560, `decodeMessages`/`decodeMessage(ByteBuffer)` for
//! batch items, `decodeMessage(MessageExt, List)` for inner batches),
//! `client/.../consumer/PullAPIWrapper.processPullResult` (unwrap when INNER_BATCH and
//! NEED_UNWRAP are both set).
//!
//! Stored message (`MessageDecoder.encode`):
//! ```text
//! totalSize i32 | magic i32 | bodyCRC i32 | queueId i32 | flag i32 | queueOffset i64 |
//! physicalOffset i64 | sysFlag i32 | bornTimestamp i64 | bornHost 4|16 + port i32 |
//! storeTimestamp i64 | storeHost 4|16 + port i32 | reconsumeTimes i32 |
//! preparedTransactionOffset i64 | bodyLen i32 | body | topicLen u8 (V1) or i16 (V2) |
//! topic | propertiesLen i16 | properties
//! ```
//! Batch item / inner-batch item (`MessageDecoder.encodeMessage`):
//! `totalSize i32 | magic i32 | bodyCRC i32 | flag i32 | bodyLen i32 | body |
//! propertiesLen i16 | properties`.

use super::cursor::Cur;
use std::borrow::Cow;

use super::message::{Message, StoredInfo, sysflag};
use crate::limits::Limits;

/// What one frame may still decode: messages (batch items, stored messages and inner items
/// together), inflated bytes; and what was left out past the limits. A frame reports at
/// most one limit problem ([`Budget::report`]).
#[derive(Clone, Debug)]
pub struct Budget {
    limits: Limits,
    max_body: usize,
    messages: usize,
    inflated: usize,
    /// Messages not decoded because `max_messages_per_frame` was reached.
    pub messages_left_out: usize,
    /// Messages whose properties were cut at `max_properties`, and the properties dropped.
    pub messages_properties_cut: usize,
    pub properties_dropped: usize,
    /// Compressed bodies left as on the wire because `max_inflated_per_frame` was spent.
    pub bodies_not_inflated: usize,
}

impl Budget {
    /// A frame's budget. `max_body` is the largest one body may inflate to (0: bodies are
    /// kept as on the wire).
    pub fn new(limits: Limits, max_body: usize) -> Self {
        Budget {
            limits,
            max_body,
            messages: 0,
            inflated: 0,
            messages_left_out: 0,
            messages_properties_cut: 0,
            properties_dropped: 0,
            bodies_not_inflated: 0,
        }
    }

    /// No per-frame limits (the single-body limit `max_body` still holds).
    pub fn unlimited(max_body: usize) -> Self {
        Self::new(
            Limits {
                max_messages_per_frame: usize::MAX,
                max_properties: usize::MAX,
                max_inflated_per_frame: usize::MAX,
                ..Limits::default()
            },
            max_body,
        )
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// Messages decoded so far.
    pub fn messages(&self) -> usize {
        self.messages
    }

    /// Takes one message from the budget; false when the frame's limit is reached.
    fn take_message(&mut self) -> bool {
        if self.messages < self.limits.max_messages_per_frame {
            self.messages += 1;
            true
        } else {
            false
        }
    }

    /// The most the next body may inflate to, and whether that bound is the frame's
    /// remaining budget (rather than the single-body limit).
    pub fn inflate_limit(&self) -> (usize, bool) {
        let left = self
            .limits
            .max_inflated_per_frame
            .saturating_sub(self.inflated);
        if left < self.max_body {
            (left, true)
        } else {
            (self.max_body, false)
        }
    }

    pub fn note_inflated(&mut self, n: usize) {
        self.inflated = self.inflated.saturating_add(n);
    }

    /// A body did not fit in what was left: the budget counts as spent, so the bodies after
    /// it are not inflated either (each attempt would cost up to the rest of the budget).
    pub fn note_not_inflated(&mut self) {
        self.bodies_not_inflated += 1;
        self.inflated = self.inflated.max(self.limits.max_inflated_per_frame);
    }

    pub fn note_properties_dropped(&mut self, n: usize) {
        if n > 0 {
            self.messages_properties_cut += 1;
            self.properties_dropped += n;
        }
    }

    /// The frame's one limit problem, if any limit was reached: what was left out, with
    /// counts and the limits that applied.
    pub fn report(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.messages_left_out > 0 {
            parts.push(format!(
                "{} messages left out past max_messages_per_frame {} ({} decoded)",
                self.messages_left_out, self.limits.max_messages_per_frame, self.messages
            ));
        }
        if self.properties_dropped > 0 {
            parts.push(format!(
                "{} properties of {} messages dropped past max_properties {}",
                self.properties_dropped, self.messages_properties_cut, self.limits.max_properties
            ));
        }
        if self.bodies_not_inflated > 0 {
            parts.push(format!(
                "{} compressed bodies left as on the wire past max_inflated_per_frame {}",
                self.bodies_not_inflated, self.limits.max_inflated_per_frame
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// Counts the records left in `b` from offset `at` by stepping over their totalSize
/// fields (`MessageDecoder.countInnerMsgNum`), without decoding or allocating; a record
/// whose size does not fit counts as one and ends the walk.
fn count_records(b: &[u8], mut at: usize) -> usize {
    let mut n = 0;
    while at < b.len() {
        n += 1;
        let size = b
            .get(at..at + 4)
            .map(|s| i32::from_be_bytes([s[0], s[1], s[2], s[3]]));
        match size {
            Some(s) if s > 0 => at = at.saturating_add(s as usize),
            _ => break,
        }
    }
    n
}

/// Splits a batch body (SEND_BATCH_MESSAGE, or V2 with `m=true`) into its messages
/// (`MessageDecoder.decodeMessages`). Items: totalSize, magic, bodyCRC, flag, bodyLen,
/// body, i16 propertiesLen, properties. An item that does not decode stops the split (Java
/// throws); a totalSize that disagrees with the item's fields is reported and the split goes
/// on, as Java reads the item field by field and skips totalSize. Returns the messages and
/// the problems.
pub fn decode_batch<'a>(
    body: &'a [u8],
    topic: &str,
    queue_id: Option<i32>,
) -> (Vec<Message<'a>>, Vec<String>) {
    decode_batch_in(body, topic, queue_id, &mut Budget::unlimited(0))
}

/// [`decode_batch`] within a frame's budget.
pub fn decode_batch_in<'a>(
    body: &'a [u8],
    topic: &str,
    queue_id: Option<i32>,
    budget: &mut Budget,
) -> (Vec<Message<'a>>, Vec<String>) {
    let (items, err) = decode_items(body, budget, "batch item");
    let msgs = items
        .into_iter()
        .map(|mut m| {
            m.topic = Cow::Owned(topic.to_string());
            m.queue_id = queue_id;
            m
        })
        .collect();
    (msgs, err)
}

/// Batch items (`MessageDecoder.decodeMessages` / `decodeMessage(ByteBuffer)`, and the
/// broker's `MessageExtEncoder.encodeBatch`), bodies and properties as written (no sysFlag:
/// never inflated). Java reads totalSize and ignores it, then reads field by field while
/// bytes remain: a totalSize that disagrees is a located problem on that item, and the next
/// item starts where this one's fields end.
fn decode_items<'a>(
    body: &'a [u8],
    budget: &mut Budget,
    what: &str,
) -> (Vec<Message<'a>>, Vec<String>) {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    let mut c = Cur::new(body);
    while c.i < body.len() {
        let start = c.i;
        if !budget.take_message() {
            budget.messages_left_out += count_records(body, start);
            break;
        }
        let r: Result<Message<'a>, String> = (|| {
            let total = c.i32("totalSize")?;
            let _magic = c.i32("magic")?;
            let _crc = c.i32("bodyCRC")?;
            let flag = c.i32("flag")?;
            let bl = c.i32("bodyLen")?;
            let bl = c.len(bl as i64, "bodyLen")?;
            let b = c.take(bl, "body")?;
            let pl = c.i16("propertiesLen")?;
            let pl = c.len(pl as i64, "propertiesLen")?;
            let p = c.take(pl, "properties")?;
            if total as i64 != (c.i - start) as i64 {
                errors.push(format!(
                    "{what} {} at body offset {start}: totalSize {total} but the item is {} \
                     bytes (kept as read; decoded by its fields as Java does)",
                    out.len(),
                    c.i - start
                ));
            }
            let mut m = Message::with_body_in(
                Cow::Borrowed(""),
                0,
                String::from_utf8_lossy(p),
                Cow::Borrowed(b),
                budget,
            );
            m.flag = flag;
            Ok(m)
        })();
        match r {
            Ok(m) => out.push(m),
            Err(e) => {
                let n = out.len();
                errors.push(format!("{what} {n} at body offset {start}: {e}"));
                break;
            }
        }
    }
    (out, errors)
}

/// How a body left compressed by the per-frame inflate budget is marked in
/// `Message::error` (the frame reports it once, as a limit problem).
pub const LEFT_COMPRESSED: &str = "left compressed";

/// Magic codes of stored messages.
pub const MAGIC_V1: u32 = 0xDAA3_20A7;
pub const MAGIC_V2: u32 = 0xDAA3_20AB;

/// Splits a body of stored messages (`MessageDecoder.decodesBatch`), inflating compressed
/// bodies up to `max_body`, with no per-frame limits.
pub fn decode_stored_messages(body: &[u8], max_body: usize) -> (Vec<Message<'_>>, Vec<String>) {
    decode_stored_in(body, &mut Budget::unlimited(max_body))
}

/// Splits a body of stored messages within a frame's budget and unwraps inner batches.
/// Returns the messages and the problems (a record that does not decode stops the split, as
/// Java's `decode` then returns null and `decodesBatch` stops; a totalSize that disagrees
/// with the record's fields is reported and the split goes on; an inner batch that does not
/// decode keeps its outer record).
pub fn decode_stored_in<'a>(
    body: &'a [u8],
    budget: &mut Budget,
) -> (Vec<Message<'a>>, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut c = Cur::new(body);
    while c.i < body.len() {
        let start = c.i;
        if !budget.take_message() {
            budget.messages_left_out += count_records(body, start);
            break;
        }
        match decode_stored(&mut c, budget) {
            Ok((mut m, size)) => {
                let n = out.len();
                if let Some(s) = &m.stored
                    && s.store_size as i64 != size as i64
                {
                    errors.push(format!(
                        "stored message {n} at body offset {start}: totalSize {} but the \
                         record is {size} bytes (kept as read; decoded by its fields as Java \
                         does)",
                        s.store_size
                    ));
                }
                if let Some(e) = &m.error
                    && !e.starts_with(LEFT_COMPRESSED)
                {
                    errors.push(format!("stored message {n} body: {e}"));
                }
                if let Err(e) = unwrap_inner(&mut m, budget) {
                    errors.push(format!(
                        "stored message {n} at body offset {start}: inner batch: {e}"
                    ));
                }
                out.push(m);
            }
            Err(e) => {
                let n = out.len();
                errors.push(format!("stored message {n} at body offset {start}: {e}"));
                break;
            }
        }
    }
    (out, errors)
}

/// Unwraps an inner batch as `PullAPIWrapper.processPullResult` and
/// `MessageDecoder.decodeMessage(MessageExt, List)` do: when the stored sysFlag has both
/// INNER_BATCH and NEED_UNWRAP, the (inflated) body is a batch; item `i` gets the outer
/// topic, queueId, sysFlag, hosts, times and commit-log offset, queueOffset = outer + i,
/// and its own flag, body and properties. The outer record keeps its body.
fn unwrap_inner<'a>(m: &mut Message<'a>, budget: &mut Budget) -> Result<(), String> {
    let both = sysflag::INNER_BATCH | sysflag::NEED_UNWRAP;
    if m.sys_flag & both != both || m.error.is_some() {
        return Ok(());
    }
    let (items, err): (Vec<Message<'a>>, _) = match &m.body {
        Cow::Borrowed(b) => decode_items(b, budget, "inner item"),
        Cow::Owned(o) => {
            let (v, e) = decode_items(o, budget, "inner item");
            (v.into_iter().map(Message::into_owned).collect(), e)
        }
    };
    let mut err = err.into_iter();
    let first = err.next();
    // More than one problem in one inner batch: the first is returned, the rest follow it.
    let rest: Vec<String> = err.collect();
    for (i, mut x) in items.into_iter().enumerate() {
        x.topic = m.topic.clone();
        x.queue_id = m.queue_id;
        x.sys_flag = m.sys_flag;
        x.born_timestamp = m.born_timestamp;
        // What `decodeMessage(MessageExt, List)` copies; the rest of the new
        // MessageClientExt (bodyCRC, storeSize, reconsumeTimes, preparedTransactionOffset)
        // stays 0.
        x.stored = m.stored.clone().map(|s| StoredInfo {
            queue_offset: s.queue_offset.saturating_add(i as i64),
            body_crc: 0,
            store_size: 0,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            ..s
        });
        m.inner.push(x);
    }
    match first {
        None => Ok(()),
        Some(f) if rest.is_empty() => Err(f),
        Some(f) => Err(format!("{f}; {}", rest.join("; "))),
    }
}

/// One stored record as `MessageDecoder.decode` reads it: totalSize is read and kept
/// (`msgExt.setStoreSize`) but not used; every field after it is read in turn. Returns the
/// message and the size its fields took (the caller reports a totalSize that disagrees).
fn decode_stored<'a>(c: &mut Cur<'a>, budget: &mut Budget) -> Result<(Message<'a>, usize), String> {
    let start = c.i;
    let total = c.i32("totalSize")?;
    let magic = c.i32("magicCode")? as u32;
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Err(format!("unknown magic code {magic:#010X}"));
    }
    let body_crc = c.i32("bodyCRC")?;
    let queue_id = c.i32("queueId")?;
    let flag = c.i32("flag")?;
    let queue_offset = c.i64("queueOffset")?;
    let commit_log_offset = c.i64("physicalOffset")?;
    let sys_flag = c.i32("sysFlag")?;
    let born_timestamp = c.i64("bornTimestamp")?;
    let born_host = c.host(sys_flag & sysflag::BORNHOST_V6 != 0, "bornHost")?;
    let store_timestamp = c.i64("storeTimestamp")?;
    let store_host = c.host(sys_flag & sysflag::STOREHOST_V6 != 0, "storeHost")?;
    let reconsume_times = c.i32("reconsumeTimes")?;
    let prepared = c.i64("preparedTransactionOffset")?;
    let bl = c.i32("bodyLen")?;
    let bl = c.len(bl as i64, "bodyLen")?;
    let body = c.take(bl, "body")?;
    let tl = if magic == MAGIC_V2 {
        c.i16("topicLen")? as u16 as usize
    } else {
        c.take(1, "topicLen")?[0] as usize
    };
    let topic = c.take(tl, "topic")?;
    let pl = c.i16("propertiesLen")?;
    let pl = c.len(pl as i64, "propertiesLen")?;
    let props = c.take(pl, "properties")?;
    let size = c.i - start;
    let mut m = Message::with_body_in(
        String::from_utf8_lossy(topic),
        sys_flag,
        String::from_utf8_lossy(props),
        Cow::Borrowed(body),
        budget,
    );
    m.queue_id = Some(queue_id);
    m.flag = flag;
    m.born_timestamp = Some(born_timestamp);
    m.stored = Some(StoredInfo {
        magic,
        body_crc,
        queue_offset,
        commit_log_offset,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset: prepared,
        store_size: total,
    });
    Ok((m, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored record as `MessageDecoder.encode` writes it (IPv4 hosts, V1 topic length),
    /// with `total` written as totalSize (None: the true size).
    fn stored(total: Option<i32>, sys_flag: i32, body: &[u8], props: &str) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend_from_slice(&0i32.to_be_bytes());
        r.extend_from_slice(&MAGIC_V1.to_be_bytes());
        r.extend_from_slice(&0i32.to_be_bytes()); // bodyCRC
        r.extend_from_slice(&1i32.to_be_bytes()); // queueId
        r.extend_from_slice(&0i32.to_be_bytes()); // flag
        r.extend_from_slice(&5i64.to_be_bytes()); // queueOffset
        r.extend_from_slice(&4096i64.to_be_bytes()); // physicalOffset
        r.extend_from_slice(&sys_flag.to_be_bytes());
        r.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
        r.extend_from_slice(&[10, 0, 0, 5, 0, 0, 0x9c, 0x40]);
        r.extend_from_slice(&1_700_000_000_001i64.to_be_bytes());
        r.extend_from_slice(&[10, 0, 0, 9, 0, 0, 0x2a, 0x9f]);
        r.extend_from_slice(&0i32.to_be_bytes()); // reconsumeTimes
        r.extend_from_slice(&0i64.to_be_bytes()); // preparedTransactionOffset
        r.extend_from_slice(&(body.len() as i32).to_be_bytes());
        r.extend_from_slice(body);
        r.push(1);
        r.push(b'T');
        r.extend_from_slice(&(props.len() as i16).to_be_bytes());
        r.extend_from_slice(props.as_bytes());
        let n = total.unwrap_or(r.len() as i32);
        r[..4].copy_from_slice(&n.to_be_bytes());
        r
    }

    /// A batch item as `MessageDecoder.encodeMessage` writes it.
    fn item(total: Option<i32>, body: &[u8], props: &str) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend_from_slice(&0i32.to_be_bytes());
        r.extend_from_slice(&0i32.to_be_bytes()); // magic
        r.extend_from_slice(&0i32.to_be_bytes()); // bodyCRC
        r.extend_from_slice(&0i32.to_be_bytes()); // flag
        r.extend_from_slice(&(body.len() as i32).to_be_bytes());
        r.extend_from_slice(body);
        r.extend_from_slice(&(props.len() as i16).to_be_bytes());
        r.extend_from_slice(props.as_bytes());
        let n = total.unwrap_or(r.len() as i32);
        r[..4].copy_from_slice(&n.to_be_bytes());
        r
    }

    fn keys(ms: &[Message]) -> Vec<String> {
        ms.iter()
            .map(|m| m.keys().unwrap_or("").to_string())
            .collect()
    }

    /// `MessageDecoder.decode` keeps totalSize (setStoreSize) and reads by fields:
    /// whatever totalSize says (too small, zero, too big, negative), every record comes
    /// out, with its storeSize as read, and the mismatch is reported on that record.
    #[test]
    fn stored_total_size_is_kept_and_reported_not_trusted() {
        for lie in [8, 0, 100_000, -1] {
            let mut body = stored(Some(lie), 0, b"first", "KEYS\u{1}A\u{2}");
            let second_at = body.len();
            body.extend(stored(None, 0, b"second", "KEYS\u{1}B\u{2}"));
            body.extend(stored(Some(lie), 0, b"third", "KEYS\u{1}C\u{2}"));
            let (ms, errs) = decode_stored_messages(&body, 1 << 20);
            assert_eq!(keys(&ms), ["A", "B", "C"], "totalSize {lie}");
            assert_eq!(ms[0].stored.as_ref().unwrap().store_size, lie);
            assert_eq!(
                ms[1].stored.as_ref().unwrap().store_size,
                second_at as i32 + 1
            );
            assert_eq!(ms[2].body.as_ref(), b"third");
            assert_eq!(errs.len(), 2, "{errs:?}");
            assert!(
                errs[0].starts_with(&format!(
                    "stored message 0 at body offset 0: totalSize {lie} but the record is {second_at} bytes"
                )),
                "{errs:?}"
            );
            assert!(
                errs[1].starts_with("stored message 2 at body offset "),
                "{errs:?}"
            );
        }
        // A record whose fields do not fit still stops the split (Java's decode fails).
        let mut body = stored(None, 0, b"ok", "KEYS\u{1}A\u{2}");
        body.extend(&stored(None, 0, b"cut", "")[..30]);
        let (ms, errs) = decode_stored_messages(&body, 1 << 20);
        assert_eq!(ms.len(), 1);
        assert!(
            errs[0].starts_with("stored message 1 at body offset"),
            "{errs:?}"
        );
    }

    /// Batch items (`decodeMessages`) and inner-batch items ignore totalSize too.
    #[test]
    fn item_total_size_is_reported_not_trusted() {
        let mut body = item(Some(0), b"x", "KEYS\u{1}A\u{2}");
        body.extend(item(None, b"y", "KEYS\u{1}B\u{2}"));
        body.extend(item(Some(50_000), b"z", "KEYS\u{1}C\u{2}"));
        let (ms, errs) = decode_batch(&body, "T", Some(2));
        assert_eq!(keys(&ms), ["A", "B", "C"]);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].starts_with("batch item 0 at body offset 0: totalSize 0"));
        assert!(errs[1].starts_with("batch item 2 at body offset "));
        // The same items as an inner batch of a stored record.
        let both = sysflag::INNER_BATCH | sysflag::NEED_UNWRAP;
        let rec = stored(None, both, &body, "");
        let (ms, errs) = decode_stored_messages(&rec, 1 << 20);
        assert_eq!(keys(&ms[0].inner), ["A", "B", "C"]);
        assert_eq!(ms[0].inner[2].stored.as_ref().unwrap().queue_offset, 7);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].contains("inner item 0 at body offset 0: totalSize 0"));
        assert!(errs[0].contains("; inner item 2 at body offset "));
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// What a failed inflation produced is charged to `max_inflated_per_frame` too, so a
    /// frame of bodies each just over the single-body limit costs one frame budget of
    /// inflating and reports once (the breaker's s19: 200 such bodies gave 200 errors).
    #[test]
    fn failed_inflations_are_charged_to_the_frame() {
        let bomb = zlib(&[0u8; 1500]);
        let mut body = Vec::new();
        for i in 0..5 {
            body.extend(stored(
                None,
                sysflag::COMPRESSED,
                &bomb,
                &format!("KEYS\u{1}{i}\u{2}"),
            ));
        }
        let limits = Limits {
            max_inflated_per_frame: 2500,
            ..Limits::default()
        };
        let mut budget = Budget::new(limits, 1000);
        let (ms, errs) = decode_stored_in(&body, &mut budget);
        assert_eq!(ms.len(), 5);
        // Two attempts fail at the 1000-byte body limit, each charged 1001 bytes; the third
        // may inflate only the 498 left and fails there: the budget is spent, the rest are
        // not tried.
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(
            errs.iter().all(|e| e.contains("1000-byte limit")),
            "{errs:?}"
        );
        assert_eq!(budget.bodies_not_inflated, 3);
        assert!(
            ms[2..]
                .iter()
                .all(|m| m.error.as_deref().unwrap().starts_with(LEFT_COMPRESSED))
        );
        assert_eq!(
            budget.report().unwrap(),
            "3 compressed bodies left as on the wire past max_inflated_per_frame 2500"
        );
        // Corrupt data is charged what it inflated before the error.
        let mut cut = zlib(&[7u8; 3000]);
        cut.truncate(cut.len() - 6);
        let mut budget = Budget::new(limits, 4000);
        let rec = stored(None, sysflag::COMPRESSED, &cut, "");
        let (ms, _) = decode_stored_in(&rec, &mut budget);
        assert!(ms[0].error.as_deref().unwrap().contains("inflate failed"));
        assert!(
            budget.inflate_limit().0 < 2500,
            "{:?}",
            budget.inflate_limit()
        );
    }
}
