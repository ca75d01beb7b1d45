//! The ROCKETMQ binary header decoder: no panic, exact re-encoding.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rmqdump::remoting::command::{decode_binary_header, encode_binary_header};

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = decode_binary_header(data) {
        let mut out = Vec::new();
        encode_binary_header(&cmd, &mut out);
        assert_eq!(out, data);
    }
});
