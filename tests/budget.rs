//! The per-frame message budget (`limits::Limits`: `max_messages_per_frame`,
//! `max_properties`, `max_inflated_per_frame`) on small forms of the hostile classes: a
//! frame whose stored messages each inflate to a lot, a batch of many tiny messages, a
//! message with many properties. Each gives what fits, ONE located limit problem with the
//! counts left out, and the other frames of the capture still decode.

use std::io::Write;

use rmqdump::analysis::{Event, FrameRecord, Options, ProblemKind};
use rmqdump::capture::writer::{PcapWriter, TcpConversation};
use rmqdump::output::{self, OutputOptions};
use rmqdump::remoting::command::{RemotingCommand, encode_frame};

const MAGIC_V1: u32 = 0xDAA3_20A7;

/// One stored record as `MessageDecoder.encode` writes it (IPv4 hosts, V1 topic length).
fn stored(queue_offset: i64, sys_flag: i32, body: &[u8], props: &str) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend_from_slice(&0i32.to_be_bytes());
    r.extend_from_slice(&MAGIC_V1.to_be_bytes());
    r.extend_from_slice(&0i32.to_be_bytes()); // bodyCRC
    r.extend_from_slice(&1i32.to_be_bytes()); // queueId
    r.extend_from_slice(&0i32.to_be_bytes()); // flag
    r.extend_from_slice(&queue_offset.to_be_bytes());
    r.extend_from_slice(&(4096 + queue_offset).to_be_bytes());
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
    let n = r.len() as i32;
    r[..4].copy_from_slice(&n.to_be_bytes());
    r
}

/// One batch item as `MessageDecoder.encodeMessage` writes it.
fn item(body: &[u8], props: &str) -> Vec<u8> {
    let mut r = Vec::new();
    let total = 20 + body.len() + 2 + props.len();
    r.extend_from_slice(&(total as i32).to_be_bytes());
    r.extend_from_slice(&0i32.to_be_bytes());
    r.extend_from_slice(&0i32.to_be_bytes());
    r.extend_from_slice(&0i32.to_be_bytes());
    r.extend_from_slice(&(body.len() as i32).to_be_bytes());
    r.extend_from_slice(body);
    r.extend_from_slice(&(props.len() as i16).to_be_bytes());
    r.extend_from_slice(props.as_bytes());
    r
}

fn zlib(n: usize) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&vec![b'z'; n]).unwrap();
    e.finish().unwrap()
}

fn request(code: i32, opaque: i32, ext: &[(&str, &str)], body: Vec<u8>) -> RemotingCommand {
    RemotingCommand {
        code,
        opaque,
        ext_fields: Some(
            ext.iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        ),
        body,
        ..Default::default()
    }
}

fn response(opaque: i32, body: Vec<u8>) -> RemotingCommand {
    RemotingCommand {
        code: 0,
        opaque,
        flag: 1,
        body,
        ..Default::default()
    }
}

fn send_ext(props: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("a", "PG"),
        ("b", "T"),
        ("e", "0"),
        ("f", "0"),
        ("i", props),
    ]
}

/// The capture: frames in order on one connection, requests from the client; then one
/// ordinary SEND_MESSAGE_V2 at the end that must still decode.
fn capture(frames: &[RemotingCommand]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let mut c = TcpConversation::new(
        "10.0.0.5:40000".parse().unwrap(),
        "10.0.0.9:10911".parse().unwrap(),
    );
    c.handshake(&mut w, 1_000_000_000).unwrap();
    for (i, f) in frames.iter().enumerate() {
        let from_client = f.flag & 1 == 0;
        c.send(
            &mut w,
            1_000_000_000 + i as i64,
            from_client,
            &encode_frame(f),
        )
        .unwrap();
    }
    let last = request(310, 999, &send_ext("TAGS\u{1}last\u{2}"), b"last".to_vec());
    c.send(&mut w, 2_000_000_000, true, &encode_frame(&last))
        .unwrap();
    w.into_inner()
}

/// Decodes every frame with `oo`; returns (frames, limit problems as (packet, message),
/// decode errors).
fn run(cap: &[u8], oo: &OutputOptions) -> (Vec<FrameRecord>, Vec<(u64, String)>) {
    let mut frames = Vec::new();
    let (_, err) = rmqdump::dissect(cap, Options::default(), |e| {
        if let Event::Frame(r) = e {
            frames.push(*r)
        }
    });
    assert!(err.is_none());
    let mut limits = Vec::new();
    for r in &frames {
        let d = output::decode_record(r, oo);
        for p in output::frame_problems(r, d.as_ref()) {
            assert_eq!(p.kind, ProblemKind::Limit, "{}", p.message);
            assert_eq!(p.stream, Some(0));
            limits.push((p.packet, p.message));
        }
    }
    (frames, limits)
}

fn opts(f: impl FnOnce(&mut rmqdump::limits::Limits)) -> OutputOptions {
    let mut oo = OutputOptions::default();
    f(&mut oo.decode.limits);
    oo
}

fn last_frame_decodes(frames: &[FrameRecord], oo: &OutputOptions) {
    let r = frames.last().unwrap();
    let d = output::decode_record(r, oo).unwrap();
    assert_eq!(d.messages.len(), 1);
    assert_eq!(&*d.messages[0].body, b"last");
    assert!(d.limit.is_none() && d.errors.is_empty());
}

#[test]
fn stored_messages_that_inflate_to_a_lot() {
    // A pull response of 6 records, each a 20 kB zlib body of 40 bytes on the wire; the frame
    // may inflate 50 kB in total: 2 inflate, the other 4 stay as on the wire.
    let z = zlib(20_000);
    let mut body = Vec::new();
    for i in 0..6 {
        body.extend(stored(i, 1, &z, "TAGS\u{1}t\u{2}"));
    }
    let cap = capture(&[
        request(11, 1, &[("topic", "T"), ("queueId", "1")], vec![]),
        response(1, body),
    ]);
    let oo = opts(|l| l.max_inflated_per_frame = 50_000);
    let (frames, limits) = run(&cap, &oo);
    assert_eq!(frames.len(), 3);
    assert_eq!(limits.len(), 1, "{limits:?}");
    let (packet, msg) = &limits[0];
    assert_eq!(*packet, frames[1].packet);
    assert!(
        msg.contains("4 compressed bodies left as on the wire past max_inflated_per_frame 50000"),
        "{msg}"
    );
    let d = output::decode_record(&frames[1], &oo).unwrap();
    assert_eq!(d.messages.len(), 6);
    let inflated: Vec<usize> = d.messages.iter().map(|m| m.body.len()).collect();
    assert_eq!(
        inflated,
        [20_000, 20_000, z.len(), z.len(), z.len(), z.len()]
    );
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    last_frame_decodes(&frames, &oo);
    // The JSON says which bodies were left compressed; the limit is in the frame's errors.
    let j = output::frame_json(&frames[1], Some(&d), &oo);
    assert!(
        j["messages"][2]["error"]
            .as_str()
            .unwrap()
            .starts_with("left compressed")
    );
    assert!(j["errors"][0].as_str().unwrap().starts_with("limit: "));
    // With the default limits everything inflates and nothing is reported.
    let (_, none) = run(&cap, &OutputOptions::default());
    assert!(none.is_empty());
}

#[test]
fn a_batch_of_many_tiny_messages() {
    let mut body = Vec::new();
    for i in 0..500 {
        body.extend(item(format!("{i}").as_bytes(), ""));
    }
    let mut ext = send_ext("");
    ext.push(("m", "true"));
    let cap = capture(&[request(320, 1, &ext, body)]);
    let oo = opts(|l| l.max_messages_per_frame = 100);
    let (frames, limits) = run(&cap, &oo);
    assert_eq!(limits.len(), 1, "{limits:?}");
    assert_eq!(limits[0].0, frames[0].packet);
    assert!(
        limits[0]
            .1
            .contains("400 messages left out past max_messages_per_frame 100 (100 decoded)"),
        "{}",
        limits[0].1
    );
    let d = output::decode_record(&frames[0], &oo).unwrap();
    assert_eq!(d.messages.len(), 100);
    assert_eq!(&*d.messages[99].body, b"99");
    last_frame_decodes(&frames, &oo);
}

#[test]
fn inner_batch_items_count_against_the_frame() {
    // Two stored records, each an inner batch of 5 items: with room for 8 messages the
    // first record and its 5 items, the second record and 1 item fit; 4 items are left out.
    let mut inner = Vec::new();
    for i in 0..5 {
        inner.extend(item(format!("i{i}").as_bytes(), "KEYS\u{1}k\u{2}"));
    }
    let mut body = stored(10, 0xC0, &inner, "INNER_NUM\u{1}5\u{2}");
    body.extend(stored(15, 0xC0, &inner, "INNER_NUM\u{1}5\u{2}"));
    let cap = capture(&[
        request(11, 1, &[("topic", "T"), ("queueId", "1")], vec![]),
        response(1, body),
    ]);
    let oo = opts(|l| l.max_messages_per_frame = 8);
    let (frames, limits) = run(&cap, &oo);
    assert_eq!(limits.len(), 1, "{limits:?}");
    assert!(
        limits[0].1.contains("4 messages left out"),
        "{}",
        limits[0].1
    );
    let d = output::decode_record(&frames[1], &oo).unwrap();
    let counts: Vec<usize> = d.messages.iter().map(|m| m.inner.len()).collect();
    assert_eq!(counts, [5, 1]);
    let offs: Vec<i64> = d.messages[0]
        .inner
        .iter()
        .map(|m| m.stored.as_ref().unwrap().queue_offset)
        .collect();
    assert_eq!(offs, [10, 11, 12, 13, 14]);
    last_frame_decodes(&frames, &oo);
}

#[test]
fn a_message_with_many_properties() {
    let props: String = (0..300).map(|i| format!("k{i}\u{1}v{i}\u{2}")).collect();
    let cap = capture(&[request(310, 1, &send_ext(&props), b"x".to_vec())]);
    let oo = opts(|l| l.max_properties = 16);
    let (frames, limits) = run(&cap, &oo);
    assert_eq!(limits.len(), 1, "{limits:?}");
    assert_eq!(limits[0].0, frames[0].packet);
    assert!(
        limits[0]
            .1
            .contains("284 properties of 1 messages dropped past max_properties 16"),
        "{}",
        limits[0].1
    );
    let d = output::decode_record(&frames[0], &oo).unwrap();
    let m = &d.messages[0];
    assert_eq!(m.properties.len(), 16);
    assert_eq!(m.property("k15"), Some("v15"));
    assert_eq!(m.properties_dropped, 284);
    let j = output::frame_json(&frames[0], Some(&d), &oo);
    assert_eq!(j["messages"][0]["properties_dropped"], 284);
    last_frame_decodes(&frames, &oo);
}

/// Every code whose body holds stored messages decodes them (the `MessageDecoder.decode*`
/// callers): responses to PULL_MESSAGE, LITE_PULL_MESSAGE, QUERY_MESSAGE, VIEW_MESSAGE_BY_ID,
/// POP_MESSAGE, PEEK_MESSAGE; requests CHECK_TRANSACTION_STATE and CONSUME_MESSAGE_DIRECTLY.
/// A non-SUCCESS response's body is not read as messages.
#[test]
fn every_stored_message_code_decodes_its_body() {
    use rmqdump::protocol::{DecodeOptions, decode};
    let mut body = stored(5, 0, b"one", "KEYS\u{1}K1\u{2}");
    body.extend(stored(6, 0, b"two", "KEYS\u{1}K2\u{2}"));
    let opts = DecodeOptions::default();
    for code in [11, 361, 12, 33, 200050, 200052] {
        let r = response(1, body.clone());
        let d = decode(&r, Some(code), &opts);
        assert_eq!(d.messages.len(), 2, "response to {code}");
        assert_eq!(d.messages[1].keys(), Some("K2"));
        let mut failed = response(1, body.clone());
        failed.code = 1;
        assert!(decode(&failed, Some(code), &opts).messages.is_empty());
    }
    for code in [39, 309] {
        let q = request(code, 1, &[], body[..body.len() / 2].to_vec());
        let d = decode(&q, None, &opts);
        assert_eq!(d.messages.len(), 1, "request {code}");
        assert_eq!(&*d.messages[0].body, b"one");
    }
    // PUSH_REPLY_MESSAGE_TO_CLIENT: one message described by ReplyMessageRequestHeader, its
    // body inflated per sysFlag (`ClientRemotingProcessor.receiveReplyMessage`).
    let z = zlib(100);
    let ext = [
        ("topic", "Reply_topic"),
        ("sysFlag", "1"),
        ("properties", "CORRELATION_ID\u{1}c-1\u{2}"),
    ];
    let q = request(326, 1, &ext, z);
    let d = decode(&q, None, &opts);
    assert_eq!(d.messages.len(), 1);
    assert_eq!(d.messages[0].topic, "Reply_topic");
    assert_eq!(d.messages[0].body.len(), 100);
    assert_eq!(d.messages[0].property("CORRELATION_ID"), Some("c-1"));
    // Not for other codes: a SEND_BACK response body is not a stored message.
    assert!(
        decode(&response(1, body), Some(36), &opts)
            .messages
            .is_empty()
    );
}

/// What a frame's body decoding could not decode is reported on stderr by `read`, located
/// by packet and stream, in text mode too (it used to be in the JSON `errors` only); the
/// frames after it still print, and `--strict` exits 1.
#[test]
fn body_decode_errors_are_reported_by_read() {
    let mut body = stored(5, 0, b"one", "");
    let good = body.len();
    body.extend(stored(6, 0, b"two", ""));
    body.truncate(good + 30);
    let cap = capture(&[
        request(11, 1, &[("topic", "T"), ("queueId", "1")], vec![]),
        response(1, body),
    ]);
    let path = std::env::temp_dir().join(format!("rmqdump-budget-{}.pcap", std::process::id()));
    std::fs::write(&path, &cap).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args(["read", "--strict", path.to_str().unwrap()])
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    let packet: u64 = lines[1].split_whitespace().next().unwrap().parse().unwrap();
    let want = format!(
        "packet {packet}: frame (stream 0): decoding: stored message 1 at body offset {good}: "
    );
    assert!(stderr.contains(&want), "{stderr}");
    // The record before the cut is decoded and shown.
    assert!(lines[1].contains("body=3B"), "{}", lines[1]);
}
