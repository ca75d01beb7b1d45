use proptest::prelude::*;

use super::*;
use crate::remoting::command::encode_frame;

/// Pieces of string source text: every escape the reader knows (valid or not, upper- and
/// lowercase hex, surrogates), both quotes, control characters, U+0080–U+009F, U+2028,
/// other non-ASCII, a byte that is not UTF-8.
fn piece() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![
        Just(&b"a"[..]),
        Just(&b"TAGS"[..]),
        Just(&b"\""[..]),
        Just(&b"'"[..]),
        Just(&b"\\"[..]),
        Just(&b"\\\""[..]),
        Just(&b"\\'"[..]),
        Just(&b"\\\\"[..]),
        Just(&b"\\/"[..]),
        Just(&b"\\u0001"[..]),
        Just(&b"\\u001F"[..]),
        Just(&b"\\u001f"[..]),
        Just(&b"\\u0041"[..]),
        Just(&b"\\u2028"[..]),
        Just(&b"\\u007F"[..]),
        Just(&b"\\u0008"[..]),
        Just(&b"\\ud83d\\ude00"[..]),
        Just(&b"\\uD800"[..]),
        Just(&b"\\uDC00"[..]),
        Just(&b"\\u00"[..]),
        Just(&b"\\x41"[..]),
        Just(&b"\\xZ"[..]),
        Just(&b"\\n"[..]),
        Just(&b"\\t"[..]),
        Just(&b"\\b"[..]),
        Just(&b"\\q"[..]),
        Just(&b"\x01"[..]),
        Just(&b"\x7f"[..]),
        Just("é".as_bytes()),
        Just("\u{85}".as_bytes()),
        Just("\u{2028}".as_bytes()),
        Just("中".as_bytes()),
        Just(&b"\xff"[..]),
        Just(&b"\xc3"[..]),
        Just(&b"0"[..]),
    ]
}

fn text(parts: &[&[u8]], q: u8) -> Vec<u8> {
    let mut v = vec![q];
    for p in parts {
        v.extend_from_slice(p);
    }
    v.push(q);
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]
    /// The one-pass string reader gives the reference reader's value, quoting and
    /// source text kept (`raw`) for every string, and fails where it fails.
    #[test]
    fn strings_read_as_the_reference_reader(
        parts in proptest::collection::vec(piece(), 0..16),
        q in prop_oneof![Just(b'"'), Just(b'\'')],
        tail in prop_oneof![Just(&b""[..]), Just(&b",\"x\":1}"[..])],
    ) {
        let mut b = text(&parts, q);
        if tail.is_empty() {
            b.pop(); // unterminated
        } else {
            b.extend_from_slice(tail);
        }
        let mut reference = Parser { s: &b, i: 0, irregular: false };
        let want = reference.string(q).ok().map(|s| (s, reference.i));
        for whole in [None, std::str::from_utf8(&b).ok()] {
            let mut p = Parser { s: &b, i: 0, irregular: false };
            let got = string(&mut p, q, true, Cx { whole, exact: true }).map(|s| (s.to_jstr(), p.i));
            prop_assert_eq!(&got, &want, "{:?}", String::from_utf8_lossy(&b));
            // Not comparing the escaping: the same text, the same end.
            let mut p = Parser { s: &b, i: 0, irregular: false };
            let got = string(&mut p, q, true, Cx { whole, exact: false })
                .map(|s| (s.as_str().to_string(), p.i));
            prop_assert_eq!(got, want.as_ref().map(|(s, i)| (s.value.clone(), *i)));
        }
        // Stepping over without decoding ends at the same place.
        let mut p = Parser { s: &b, i: 0, irregular: false };
        let skipped = string(&mut p, q, false, Cx { whole: None, exact: true }).map(|_| p.i);
        prop_assert_eq!(skipped, want.map(|w| w.1));
    }

    /// Headers as any client might write them — members in any order, duplicates,
    /// unknown keys, every value form, quoting, escapes, whitespace, extra commas, a
    /// trailing newline — decode as the reference reader decodes them, in every layout
    /// mode; with the full layout they re-encode to the same bytes.
    #[test]
    fn headers_decode_as_the_reference_reader(
        members in proptest::collection::vec(
            (0usize..12, 0usize..6, proptest::collection::vec(piece(), 0..4),
             proptest::collection::vec((0usize..8, 0usize..6, proptest::collection::vec(piece(), 0..3)), 0..5)),
            0..11),
        ws in any::<bool>(),
        trailing in prop_oneof![Just(&b""[..]), Just(&b"\n"[..]), Just(&b" x"[..])],
    ) {
        let h = render(&members, ws, trailing);
        let reference = decode_json_header_tolerant(&h);
        for layout in [LayoutNeed::Full, LayoutNeed::ExtForms, LayoutNeed::None] {
            let o = JsonHeaderOptions { layout, ..Default::default() };
            let got = decode_json_header_with(&h, &o);
            match (&got, &reference) {
                (Ok(g), Ok(r)) => {
                    prop_assert_eq!(
                        (g.code, g.flag, g.opaque, g.version, g.language, &g.language_name, &g.remark, &g.ext_fields),
                        (r.code, r.flag, r.opaque, r.version, r.language, &r.language_name, &r.remark, &r.ext_fields),
                        "{:?}", String::from_utf8_lossy(&h));
                    let forms = |c: &RemotingCommand| match &c.layout {
                        HeaderLayout::Json(l) => l.members.iter().find_map(|m| match m {
                            JsonMember::ExtFields(_, Some(el)) => Some(el.exceptions.clone()),
                            _ => None,
                        }),
                        _ => None,
                    };
                    match layout {
                        LayoutNeed::Full => {
                            if let HeaderLayout::Json(_) = g.layout {
                                prop_assert_eq!(&g.layout, &r.layout);
                            }
                            let irregular = matches!(&r.layout, HeaderLayout::Json(l) if l.irregular);
                            if !irregular {
                                let mut out = Vec::new();
                                encode_json_header(g, &mut out);
                                prop_assert_eq!(out, h.clone(), "{:?}", String::from_utf8_lossy(&h));
                            }
                        }
                        // The extFields value kinds output shows are there.
                        LayoutNeed::ExtForms => {
                            let want = forms(r).filter(|e| !e.is_empty());
                            prop_assert_eq!(forms(g).filter(|e| !e.is_empty()), want);
                        }
                        LayoutNeed::None => {}
                    }
                }
                (Err(g), Err(r)) => prop_assert_eq!(g, r),
                _ => prop_assert!(false, "{:?}: {:?} vs {:?}", String::from_utf8_lossy(&h), got, reference),
            }
        }
    }
}

const NAMES: [&str; 12] = [
    "code",
    "extFields",
    "flag",
    "language",
    "opaque",
    "remark",
    "serializeTypeCurrentRPC",
    "version",
    "zoneName",
    "x",
    "code",
    "language",
];

/// A key in one of the quote styles.
fn render_key(out: &mut Vec<u8>, name: &str, style: usize) {
    match style {
        0..=2 => out.extend_from_slice(format!("\"{name}\"").as_bytes()),
        3 => out.extend_from_slice(format!("'{name}'").as_bytes()),
        4 => out.extend_from_slice(name.as_bytes()),
        _ => out.extend_from_slice(b"\"c\\u006fde\""),
    }
}

/// A value: form `f` with string pieces `s`.
fn render_value(out: &mut Vec<u8>, name: &str, f: usize, s: &[&[u8]]) {
    match (name, f) {
        (_, 0) => out.extend_from_slice(b"null"),
        ("code" | "flag" | "opaque" | "version", 1) => out.extend_from_slice(b"-0"),
        ("code" | "flag" | "opaque" | "version", 2) => out.extend_from_slice(b"\"12\""),
        ("code" | "flag" | "opaque" | "version", 3) => out.extend_from_slice(b"01"),
        ("code" | "flag" | "opaque" | "version", 4) => out.extend_from_slice(b"4294967297"),
        ("code" | "flag" | "opaque" | "version", _) => out.extend_from_slice(b"310"),
        ("language", 1) => out.extend_from_slice(b"\"KOTLIN\""),
        ("language", 2) => out.extend_from_slice(b"7"),
        ("language", _) => out.extend_from_slice(b"\"CPP\""),
        ("serializeTypeCurrentRPC", 1) => out.extend_from_slice(b"\"JSON\""),
        (_, 1) => out.extend_from_slice(b"true"),
        (_, 2) => out.extend_from_slice(b"-1.5e3"),
        (_, 3) => out.extend_from_slice(b"[1,{\"y\":null}]"),
        _ => out.extend_from_slice(&text(s, b'"')),
    }
}

type Member<'a> = (
    usize,
    usize,
    Vec<&'a [u8]>,
    Vec<(usize, usize, Vec<&'a [u8]>)>,
);

fn render(members: &[Member<'_>], ws: bool, trailing: &[u8]) -> Vec<u8> {
    let mut h = b"{".to_vec();
    for (i, (n, f, s, entries)) in members.iter().enumerate() {
        if i > 0 {
            h.extend_from_slice(if ws && i == 1 { b", " } else { b"," });
        }
        let name = NAMES[*n];
        render_key(&mut h, name, *f);
        h.push(b':');
        if name == "extFields" && *f != 0 {
            h.push(b'{');
            for (j, (kf, vf, vs)) in entries.iter().enumerate() {
                if j > 0 {
                    h.push(b',');
                }
                let k = ["a", "topic", "i", "KEYS", "é", "b", "c", "a"][*kf];
                render_key(&mut h, k, *vf % 5);
                h.push(b':');
                match vf {
                    0 => h.extend_from_slice(b"4"),
                    1 => h.extend_from_slice(b"false"),
                    2 => h.extend_from_slice(b"null"),
                    _ => h.extend_from_slice(&text(vs, if *vf == 5 { b'\'' } else { b'"' })),
                }
            }
            h.push(b'}');
        } else {
            render_value(&mut h, name, *f, s);
        }
    }
    h.push(b'}');
    h.extend_from_slice(trailing);
    h
}

/// Headers in exactly fastjson's form need no layout (they re-encode from the fields);
/// any other header keeps one, and both re-encode byte-exact.
#[test]
fn fastjson_form_needs_no_layout() {
    let accepted: &[&[u8]] = &[
        br#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":373}"#,
        br#"{"code":310,"extFields":{"i":"UNIQ_KEY\u0001AB\u0002\"q\"\\\n"},"flag":0,"language":"JAVA","opaque":-6,"remark":"x","serializeTypeCurrentRPC":"JSON","version":373}"#,
        br#"{"code":0,"extFields":{},"flag":1,"language":"RUST","opaque":2147483647,"serializeTypeCurrentRPC":"JSON","version":474}"#,
    ];
    let rejected: &[&[u8]] = &[
        br#"{"code":01,"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
        br#"{"code":1,"flag":0,"language":"JAVA","opaque":-0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
        br#"{"code":1,"extFields":{"a":"\u0041"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
        br#"{"code":1,"extFields":{"a":"\u001f"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
        br#"{"code":1,"extFields":{"a":"\/"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
        br#"{"code":1,"flag":0,"language":"KOTLIN","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
        br#"{"code":1,"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1} "#,
        br#"{"code":1,"flag":0,"language":"JAVA","opaque":0,"version":1}"#,
        br#"{"code":1,"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1,"x":2}"#,
        br#"{"flag":0,"code":1,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":1}"#,
        b"{\"code\":1,\"extFields\":{\"a\":\"\x01\"},\"flag\":0,\"language\":\"JAVA\",\"opaque\":0,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":1}",
        "{\"code\":1,\"remark\":\"\u{85}\",\"flag\":0,\"language\":\"JAVA\",\"opaque\":0,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":1}".as_bytes(),
    ];
    for (h, canonical) in accepted
        .iter()
        .map(|h| (h, true))
        .chain(rejected.iter().map(|h| (h, false)))
    {
        let c = decode_json_header(h).unwrap();
        let r = decode_json_header_tolerant(h).unwrap();
        assert_eq!(
            (
                c.code,
                c.flag,
                c.opaque,
                c.version,
                c.language,
                &c.remark,
                &c.ext_fields
            ),
            (
                r.code,
                r.flag,
                r.opaque,
                r.version,
                r.language,
                &r.remark,
                &r.ext_fields
            )
        );
        assert_eq!(
            matches!(c.layout, HeaderLayout::Canonical),
            canonical,
            "{}",
            String::from_utf8_lossy(h)
        );
        // The one-pass decoder alone (the fastjson-form scanner goes first) tells the
        // same.
        let Scan::Done(one) = scan(
            h,
            std::str::from_utf8(h).ok(),
            &JsonHeaderOptions::default(),
            false,
        ) else {
            panic!("{}", String::from_utf8_lossy(h));
        };
        assert_eq!(one.layout, c.layout, "{}", String::from_utf8_lossy(h));
        if !canonical {
            // Built from where the header leaves fastjson's form on, the members
            // before it from the fields: the same layout as the reference reader's.
            assert_eq!(c.layout, r.layout, "{}", String::from_utf8_lossy(h));
        }
        let mut out = Vec::new();
        encode_json_header(&c, &mut out);
        assert_eq!(out, **h);
    }
}

/// What each client writes (bundled captures) is read in one pass, never by the
/// reference reader; only a header off fastjson's form is read a second time, and only
/// when its extFields kinds are asked for and it left fastjson's form before them.
#[test]
fn every_client_takes_the_one_pass_path() {
    let clients: &[(&[u8], bool)] = &[
        // C++ (captures/cpp): numbers and booleans in extFields, trailing newline
        (b"{\"code\":310,\"extFields\":{\"a\":\"g\",\"d\":4,\"e\":0,\"k\":false},\"flag\":0,\"language\":\"CPP\",\"opaque\":3,\"remark\":\"\",\"version\":333}\n", false),
        // rocketmq-rust (captures/rust): serde order, nulls
        (br#"{"code":0,"language":"RUST","version":474,"opaque":1,"flag":1,"remark":null,"extFields":null,"serializeTypeCurrentRPC":"JSON"}"#, false),
        // NewLife .NET: raw control characters, no flag, remark last
        (b"{\"code\":310,\"extFields\":{\"i\":\"TAGS\x01T\x02\"},\"language\":\"DOTNET\",\"opaque\":1,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":373,\"remark\":\"SEND_MESSAGE_V2\"}", false),
        // Node (captures/node)
        (br#"{"code":105,"language":"JAVA","opaque":1,"flag":0,"version":121,"extFields":{"topic":"CapDev_node_topic"}}"#, false),
        // Java: fastjson's form
        (br#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":373}"#, false),
        // Numbers in extFields after the header left fastjson's form: read again for
        // their kinds.
        (br#"{"language":"CPP","code":310,"extFields":{"d":4}}"#, true),
    ];
    for &(h, again) in clients {
        for layout in [LayoutNeed::None, LayoutNeed::ExtForms, LayoutNeed::Full] {
            let o = JsonHeaderOptions {
                layout,
                ..Default::default()
            };
            let first = scan(h, std::str::from_utf8(h).ok(), &o, false);
            assert!(
                match first {
                    Scan::Done(_) => true,
                    Scan::NeedLayout => again && layout == LayoutNeed::ExtForms,
                    Scan::Fallback => false,
                },
                "{} {layout:?}",
                String::from_utf8_lossy(h)
            );
        }
    }
}

/// Light decoding keeps the asked-for keys and no layout; a value it skips is still
/// checked (a bad escape fails the header as in a full decode).
#[test]
fn light_decoding_keeps_only_what_is_asked() {
    let h = b"{\"code\":310,\"extFields\":{\"a\":\"g\",\"b\":\"T\",\"d\":4,\"k\":false},\"language\":\"CPP\",\"opaque\":3,\"remark\":\"\",\"version\":333}\n";
    let o = JsonHeaderOptions {
        keep: Some(|_, k| k == "b"),
        layout: LayoutNeed::None,
        ..Default::default()
    };
    let c = decode_json_header_with(h, &o).unwrap();
    assert_eq!(c.ext_fields, Some(vec![("b".into(), "T".into())]));
    assert_eq!(c.layout, HeaderLayout::Canonical);
    assert_eq!((c.code, c.opaque, c.version), (310, 3, 333));
    let bad = br#"{"code":1,"extFields":{"a":"\q","b":"T"},"language":"CPP","opaque":3}"#;
    assert_eq!(
        decode_json_header_with(bad, &o),
        decode_json_header_tolerant(bad).map(|_| unreachable!())
    );
    // The extFields value kinds survive where output needs them.
    let o = JsonHeaderOptions {
        layout: LayoutNeed::ExtForms,
        ..Default::default()
    };
    let c = decode_json_header_with(h, &o).unwrap();
    assert!(matches!(c.layout, HeaderLayout::Json(_)));
    let frame = {
        let mut f = ((h.len() + 4) as u32).to_be_bytes().to_vec();
        f.extend_from_slice(&(h.len() as u32).to_be_bytes());
        f.extend_from_slice(h);
        f
    };
    assert_eq!(encode_frame(&c), frame);
}

/// The key filter is given the header's code when the code comes before the extFields
/// (fastjson's form, the one-pass decoder, the reference reader's fallback), `None` when
/// it comes after.
#[test]
fn light_decoding_gives_the_code_to_the_key_filter() {
    let o = JsonHeaderOptions {
        keep: Some(|code, k| match code {
            Some(c) => k == "b" && c == 310,
            None => k == "a",
        }),
        layout: LayoutNeed::None,
        ..Default::default()
    };
    let keys = |h: &[u8]| -> Vec<String> {
        let c = decode_json_header_with(h, &o).unwrap();
        c.ext_fields
            .unwrap_or_default()
            .iter()
            .map(|(k, _)| k.to_string())
            .collect()
    };
    // fastjson's form (the canonical scanner)
    let java = br#"{"code":310,"extFields":{"a":"g","b":"T"},"flag":0,"language":"JAVA","opaque":3,"serializeTypeCurrentRPC":"JSON","version":433}"#;
    assert_eq!(keys(java), ["b"]);
    // another order, code first (the one-pass decoder)
    let rust = br#"{"code":310,"language":"RUST","extFields":{"a":"g","b":"T"},"opaque":3}"#;
    assert_eq!(keys(rust), ["b"]);
    // code after the extFields
    let late = br#"{"extFields":{"a":"g","b":"T"},"code":310,"opaque":3}"#;
    assert_eq!(keys(late), ["a"]);
    // a duplicate member: the reference reader, then the filter with the code read
    let dup = br#"{"code":310,"opaque":1,"opaque":3,"extFields":{"a":"g","b":"T"}}"#;
    assert_eq!(keys(dup), ["b"]);
}
