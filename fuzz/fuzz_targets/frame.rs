//! Whole frames: decoding never panics, and whatever decodes re-encodes to the same bytes
//! (except JSON headers with whitespace or extra commas between tokens, which are not kept
//! and are flagged as irregular in their layout).
#![no_main]
use libfuzzer_sys::fuzz_target;
use rmqdump::remoting::command::{FrameLimits, HeaderLayout, decode_frame, encode_frame};

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = decode_frame(data, &FrameLimits::default()) {
        if !matches!(&cmd.layout, HeaderLayout::Json(l) if l.irregular) {
            assert_eq!(encode_frame(&cmd), data, "decoded frame must re-encode byte-exact");
        }
    }
});
