//! The tolerant JSON header decoder and the JSON reader behind it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rmqdump::remoting::command::{HeaderLayout, decode_json_header, encode_json_header};
use rmqdump::remoting::json;

fuzz_target!(|data: &[u8]| {
    let _ = json::parse(data).map(|v| v.to_serde());
    if let Ok(cmd) = decode_json_header(data) {
        let mut out = Vec::new();
        encode_json_header(&cmd, &mut out);
        // Whitespace and extra commas between tokens are not kept; the layout says so.
        let irregular = matches!(&cmd.layout, HeaderLayout::Json(l) if l.irregular);
        if !irregular {
            assert_eq!(out, data);
        }
    }
});
