//! The whole pipeline on arbitrary capture files: reader, link layers, reassembly, framing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rmqdump::analysis::Options;

fuzz_target!(|data: &[u8]| {
    let _ = rmqdump::dissect(data, Options::default(), |_| {});
});
