//! fastjson's writer: the header re-encoded from its layout, or in fastjson's canonical
//! form (`RemotingSerializable.encode`).

use super::*;

pub(super) fn push_key(out: &mut Vec<u8>, key: &str) {
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

pub(super) fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    json::escape_fastjson_bytes(s, out);
    out.push(b'"');
}

pub(super) fn push_int(out: &mut Vec<u8>, n: i64) {
    use std::io::Write;
    let _ = write!(out, "{n}");
}

/// Writes a scalar field: the original form when it still says the same, else canonical.
pub(super) fn push_scalar<F: Fn(&mut Vec<u8>)>(
    out: &mut Vec<u8>,
    orig: &JValue,
    same: bool,
    canon: F,
) {
    if same {
        json::write_value(orig, out);
    } else {
        canon(out);
    }
}

pub(super) fn ext_canonical(out: &mut Vec<u8>, ext: &[(ExtString, ExtString)]) {
    out.push(b'{');
    for (i, (k, v)) in ext.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, k);
        out.push(b':');
        push_str(out, v);
    }
    out.push(b'}');
}

/// Writes the JSON header: fastjson's canonical form (sorted keys, nulls omitted, strings
/// escaped as fastjson does) or, for a decoded header, its recorded layout.
pub fn encode_json_header(cmd: &RemotingCommand, out: &mut Vec<u8>) {
    let layout = match &cmd.layout {
        HeaderLayout::Json(l) => l,
        _ => {
            encode_json_canonical(cmd, out);
            return;
        }
    };
    out.push(b'{');
    for (i, m) in layout.members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let k = match m {
            JsonMember::Other(k, v) => {
                json::write_value(k, out);
                out.push(b':');
                json::write_value(v, out);
                continue;
            }
            JsonMember::Code(k, _)
            | JsonMember::ExtFields(k, _)
            | JsonMember::Flag(k, _)
            | JsonMember::Language(k, _)
            | JsonMember::Opaque(k, _)
            | JsonMember::Remark(k, _)
            | JsonMember::SerializeType(k, _)
            | JsonMember::Version(k, _) => k,
        };
        json::write_jstr(k, out);
        out.push(b':');
        match m {
            JsonMember::Code(_, v) => push_scalar(out, v, int_of(v) == Some(cmd.code), |o| {
                push_int(o, cmd.code.into())
            }),
            JsonMember::Flag(_, v) => push_scalar(out, v, int_of(v) == Some(cmd.flag), |o| {
                push_int(o, cmd.flag.into())
            }),
            JsonMember::Opaque(_, v) => push_scalar(out, v, int_of(v) == Some(cmd.opaque), |o| {
                push_int(o, cmd.opaque.into())
            }),
            JsonMember::Version(_, v) => push_scalar(out, v, int_of(v) == Some(cmd.version), |o| {
                push_int(o, cmd.version.into())
            }),
            JsonMember::Language(_, v) => {
                // What is no string (null, an array) read as the name "".
                let name = cmd.language_str();
                push_scalar(out, v, v.as_text().unwrap_or_default() == name, |o| {
                    push_str(o, &name)
                })
            }
            JsonMember::SerializeType(_, v) => {
                push_scalar(out, v, true, |_| {});
            }
            JsonMember::Remark(_, v) => {
                let same = match (v, &cmd.remark) {
                    (JValue::Null, None) => true,
                    (JValue::Null, Some(_)) | (_, None) => false,
                    // An array or object was read as "".
                    (v, Some(r)) => v.as_text().unwrap_or_default() == *r,
                };
                push_scalar(out, v, same, |o| match &cmd.remark {
                    Some(r) => push_str(o, r),
                    None => o.extend_from_slice(b"null"),
                })
            }
            JsonMember::ExtFields(_, forms) => match (&cmd.ext_fields, forms) {
                (None, _) => out.extend_from_slice(b"null"),
                (Some(ext), Some(el)) if el.len == ext.len() => {
                    out.push(b'{');
                    for (i, (k, v)) in ext.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        let Some(f) = el.form(i) else {
                            push_str(out, k);
                            out.push(b':');
                            push_str(out, v);
                            continue;
                        };
                        if f.key.value == *k {
                            json::write_jstr(&f.key, out);
                        } else {
                            push_str(out, k);
                        }
                        out.push(b':');
                        let same = match &f.value {
                            JValue::Null => v.is_empty(),
                            JValue::Arr(_) | JValue::Obj(_) => {
                                let mut b = Vec::new();
                                json::write_value(&f.value, &mut b);
                                b == v.as_bytes()
                            }
                            fv => fv.as_text().as_deref() == Some(v.as_str()),
                        };
                        push_scalar(out, &f.value, same, |o| push_str(o, v));
                    }
                    out.push(b'}');
                }
                (Some(ext), _) => ext_canonical(out, ext),
            },
            JsonMember::Other(..) => unreachable!("handled above"),
        }
    }
    out.push(b'}');
    out.extend_from_slice(&layout.trailing);
}

/// fastjson's output for a `RemotingCommand`: keys sorted, `extFields`/`remark` omitted
/// when null, `serializeTypeCurrentRPC` always `"JSON"`.
pub(in crate::remoting) fn encode_json_canonical(cmd: &RemotingCommand, out: &mut Vec<u8>) {
    out.push(b'{');
    push_key(out, "code");
    push_int(out, cmd.code.into());
    if let Some(ext) = &cmd.ext_fields {
        out.push(b',');
        push_key(out, "extFields");
        ext_canonical(out, ext);
    }
    out.push(b',');
    push_key(out, "flag");
    push_int(out, cmd.flag.into());
    out.push(b',');
    push_key(out, "language");
    match (&cmd.language_name, cmd.language.name()) {
        (Some(n), _) => push_str(out, n),
        (None, Some(n)) => push_str(out, n),
        (None, None) => push_str(out, &cmd.language_str()),
    }
    out.push(b',');
    push_key(out, "opaque");
    push_int(out, cmd.opaque.into());
    if let Some(r) = &cmd.remark {
        out.push(b',');
        push_key(out, "remark");
        push_str(out, r);
    }
    out.push(b',');
    push_key(out, "serializeTypeCurrentRPC");
    push_str(out, "JSON");
    out.push(b',');
    push_key(out, "version");
    push_int(out, cmd.version.into());
    out.push(b'}');
}

/// The JSON header exactly as fastjson would write it, ignoring any recorded layout.
pub fn encode_json_header_canonical(cmd: &RemotingCommand) -> Vec<u8> {
    let mut out = Vec::new();
    encode_json_canonical(cmd, &mut out);
    out
}
