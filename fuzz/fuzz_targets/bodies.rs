//! Body decoders: stored messages (pull responses), batch items, properties, compression,
//! message ids, compressed RegisterBrokerBody, and the typed decode of every
//! message-carrying code with the input as its body, under small per-frame limits.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rmqdump::protocol::{self, DecodeOptions, message};
use rmqdump::remoting::command::RemotingCommand;

fuzz_target!(|data: &[u8]| {
    let _ = message::decode_stored_messages(data, 1 << 20);
    let _ = message::decode_batch(data, "t", Some(0));
    let s = String::from_utf8_lossy(data);
    let _ = message::parse_properties(&s);
    let _ = message::decode_uniq_key(&s, Some(0));
    let _ = message::decode_offset_msg_id(&s);
    for f in [1, 0x101, 0x201, 0x301] {
        let _ = message::decompress(f, data, 1 << 20);
    }
    let mut opts = DecodeOptions {
        max_inflated: 1 << 20,
        inflate: true,
        ..Default::default()
    };
    opts.limits.max_messages_per_frame = 64;
    opts.limits.max_properties = 16;
    opts.limits.max_inflated_per_frame = 4 << 20;
    opts.limits.max_body_entries = 64;
    opts.limits.max_json_nodes = 4096;
    let _ = protocol::register_broker::decode_compressed(data, 413, 1 << 20, &opts.limits);
    for (code, flag) in [
        (310, 0),
        (320, 0),
        (326, 0),
        (39, 0),
        (309, 0),
        (103, 0),
        (11, 1),
        (200050, 1),
        (12, 1),
        (33, 1),
        (105, 1),
        (34, 0),
    ] {
        let cmd = RemotingCommand {
            code: if flag == 1 { 0 } else { code },
            flag,
            ext_fields: Some(vec![
                ("f".into(), "1".into()),
                ("m".into(), "false".into()),
                ("compressed".into(), "true".into()),
            ]),
            body: data.to_vec(),
            ..Default::default()
        };
        let _ = protocol::decode(&cmd, Some(code), &opts);
    }
});
