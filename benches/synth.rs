//! Synthetic producer traffic for benchmarks: many connections, each a Java-style producer
//! sending SEND_MESSAGE_V2 requests (1 KiB bodies, realistic V2 headers and properties)
//! answered by broker responses, written as a pcap with correct TCP sequence numbers.

use std::io::{self, Write};

use rmqdump::capture::writer::{PcapWriter, TcpConversation};
use rmqdump::protocol::message::encode_properties;
use rmqdump::remoting::codes::LanguageCode;
use rmqdump::remoting::command::{RemotingCommand, encode_frame_into};

/// Writes producer traffic until at least `target_bytes` of capture are written.
pub fn producer_capture<W: Write>(w: W, target_bytes: u64) -> io::Result<u64> {
    let mut pw = PcapWriter::new(io::BufWriter::with_capacity(1 << 20, w))?;
    let mut written = 24u64;
    let mut ts: i64 = 1_795_519_000_000_000_000;
    let mut conn = 0u32;
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut opaque = 0i32;
    while written < target_bytes {
        conn += 1;
        let client = format!(
            "10.0.{}.{}:{}",
            (conn >> 8) & 255,
            conn & 255,
            40000 + conn % 20000
        )
        .parse()
        .unwrap();
        let server = "10.0.0.1:10911".parse().unwrap();
        let mut c = TcpConversation::new(client, server);
        c.handshake(&mut pw, ts)?;
        for i in 0..2000u32 {
            let queue = i % 8;
            let body: Vec<u8> = (0..1024).map(|_| (next() % 26) as u8 + b'a').collect();
            let uniq = format!(
                "0A000001{:04X}0D71636169{:06X}{:04X}",
                conn & 0xFFFF,
                i,
                i & 0xFFFF
            );
            let props = encode_properties(&[
                ("KEYS".into(), format!("order-{conn}-{i}")),
                ("UNIQ_KEY".into(), uniq),
                ("WAIT".into(), "true".into()),
                ("TAGS".into(), "TagA".into()),
            ]);
            opaque += 2;
            let req = send_request(opaque, queue, ts / 1_000_000, props, body);
            let resp = RemotingCommand {
                code: 0,
                flag: 1,
                version: 401,
                opaque,
                ext_fields: Some(vec![
                    ("queueId".into(), queue.to_string().into()),
                    ("TRACE_ON".into(), "true".into()),
                    ("MSG_REGION".into(), "DefaultRegion".into()),
                    (
                        "msgId".into(),
                        format!("0A00000100002A9F{:016X}", (conn as u64) << 32 | i as u64).into(),
                    ),
                    ("queueOffset".into(), (i / 8).to_string().into()),
                ]),
                ..Default::default()
            };
            let mut buf = Vec::with_capacity(1600);
            encode_frame_into(&req, &mut buf);
            ts += 50_000;
            c.send(&mut pw, ts, true, &buf)?;
            written += buf.len() as u64 + 16 + 54;
            buf.clear();
            encode_frame_into(&resp, &mut buf);
            ts += 150_000;
            c.send(&mut pw, ts, false, &buf)?;
            written += buf.len() as u64 + 16 + 54;
        }
        c.close(&mut pw, ts)?;
    }
    pw.flush()?;
    Ok(written)
}

/// A Java producer's SEND_MESSAGE_V2 request (the V2 header's letters, as
/// `SendMessageRequestHeaderV2` writes them) to queue `queue` of BenchTopic.
pub fn send_request(
    opaque: i32,
    queue: u32,
    born_ms: i64,
    props: String,
    body: Vec<u8>,
) -> RemotingCommand {
    RemotingCommand {
        code: 310,
        language: LanguageCode::JAVA,
        version: 401,
        opaque,
        ext_fields: Some(vec![
            ("a".into(), "bench_producer_group".into()),
            ("b".into(), "BenchTopic".into()),
            ("c".into(), "TBW102".into()),
            ("d".into(), "4".into()),
            ("e".into(), queue.to_string().into()),
            ("f".into(), "0".into()),
            ("g".into(), born_ms.to_string().into()),
            ("h".into(), "0".into()),
            ("i".into(), props.into()),
            ("j".into(), "0".into()),
            ("k".into(), "false".into()),
            ("m".into(), "false".into()),
        ]),
        body,
        ..Default::default()
    }
}
