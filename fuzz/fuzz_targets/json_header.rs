#![no_main]
use libfuzzer_sys::fuzz_target;
use rmqdump::remoting::command::{
    HeaderLayout, RemotingCommand, decode_json_header, decode_json_header_tolerant,
    encode_json_header,
};
use rmqdump::remoting::json;

/// The fields a header decodes to (the layout aside: the one-pass decoder keeps none for a
/// header in fastjson's form).
fn fields(c: &RemotingCommand) -> impl PartialEq + std::fmt::Debug + '_ {
    (
        (c.code, c.flag, c.opaque, c.version, c.language),
        (&c.language_name, &c.remark, &c.ext_fields),
    )
}

fuzz_target!(|data: &[u8]| {
    let _ = json::parse(data).map(|v| v.to_serde());
    let one_pass = decode_json_header(data);
    // The one-pass decoder reads what the reference reader reads, and fails where it fails.
    match (&one_pass, &decode_json_header_tolerant(data)) {
        (Ok(a), Ok(b)) => {
            assert_eq!(fields(a), fields(b));
            if let HeaderLayout::Json(_) = a.layout {
                assert_eq!(a.layout, b.layout);
            }
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("one-pass {a:?} vs reference {b:?}"),
    }
    if let Ok(cmd) = one_pass {
        let mut out = Vec::new();
        encode_json_header(&cmd, &mut out);
        let irregular = matches!(&cmd.layout, HeaderLayout::Json(l) if l.irregular);
        if !irregular {
            assert_eq!(out, data);
        }
    }
});
