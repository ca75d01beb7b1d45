//! The reference reader: the whole header as a [`JValue`] tree, then the command with its
//! full layout.

use super::*;

pub(super) fn jstr_plain(s: &JStr) -> bool {
    s.quote == Quote::Double && s.raw.is_none()
}

pub(super) fn int_of(v: &JValue) -> Option<i32> {
    int_of_text(&v.as_text()?)
}

/// An integer field as fastjson reads it into an `int`: the text of a number or string,
/// trimmed, as an i32 (an i64 wraps).
pub(super) fn int_of_text(t: &str) -> Option<i32> {
    let t = t.trim();
    t.parse::<i32>()
        .ok()
        .or_else(|| t.parse::<i64>().ok().map(|x| x as i32))
}

/// The reference reader: the whole header read into a [`JValue`] tree first, then into the
/// command, always with its [`JsonLayout`]. [`decode_json_header_with`] falls back to it
/// for what the one-pass decoder does not handle, and the tests check the one-pass decoder
/// against it.
pub fn decode_json_header_tolerant(h: &[u8]) -> Result<RemotingCommand, FrameError> {
    let (v, end, irregular) =
        json::parse_prefix_info(h).map_err(|e| ferr(e.offset, "JSON header", e.reason))?;
    let trailing = &h[end..];
    if !trailing
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return Err(ferr(
            end,
            "JSON header",
            "unexpected bytes after the header object",
        ));
    }
    let JValue::Obj(members) = v else {
        return Err(ferr(0, "JSON header", "the header is not a JSON object"));
    };
    let mut cmd = RemotingCommand::default();
    let mut layout = JsonLayout {
        members: Vec::with_capacity(members.len()),
        trailing: trailing.to_vec(),
        irregular,
    };
    // Which member index holds the last occurrence of each known key.
    let last_of = |name: &str| {
        members
            .iter()
            .rposition(|(k, _)| matches!(k, JValue::Str(s) if s.value == name))
    };
    let known = [
        "code",
        "extFields",
        "flag",
        "language",
        "opaque",
        "remark",
        "serializeTypeCurrentRPC",
        "version",
    ];
    let lasts: Vec<Option<usize>> = known.iter().map(|k| last_of(k)).collect();
    for (i, (k, v)) in members.into_iter().enumerate() {
        let key = match k {
            JValue::Str(s) => s,
            other => {
                layout.members.push(JsonMember::Other(other, v));
                continue;
            }
        };
        let which = known.iter().position(|n| *n == key.value);
        let Some(which) = which.filter(|&w| lasts[w] == Some(i)) else {
            layout.members.push(JsonMember::Other(JValue::Str(key), v));
            continue;
        };
        let bad = |what: &'static str| ferr(0, what, format!("unexpected value {v:?}"));
        let m = match which {
            0 => {
                cmd.code = int_of(&v).ok_or_else(|| bad("code"))?;
                JsonMember::Code(key, v)
            }
            1 => match v {
                JValue::Null => JsonMember::ExtFields(key, None),
                JValue::Obj(entries) => {
                    let mut ext = Vec::with_capacity(entries.len());
                    let mut el = ExtLayout {
                        len: entries.len(),
                        exceptions: Vec::new(),
                    };
                    for (idx, (ek, ev)) in entries.into_iter().enumerate() {
                        match (ek, ev) {
                            (JValue::Str(ks), JValue::Str(vs))
                                if jstr_plain(&ks) && jstr_plain(&vs) =>
                            {
                                ext.push((ks.value.into(), vs.value.into()));
                            }
                            (ek, ev) => {
                                let ekey = match ek {
                                    JValue::Str(s) => s,
                                    other => {
                                        let mut b = Vec::new();
                                        json::write_value(&other, &mut b);
                                        JStr {
                                            value: String::from_utf8_lossy(&b).into_owned(),
                                            quote: Quote::Bare,
                                            raw: None,
                                        }
                                    }
                                };
                                let text = match &ev {
                                    JValue::Null => String::new(),
                                    JValue::Arr(_) | JValue::Obj(_) => {
                                        let mut b = Vec::new();
                                        json::write_value(&ev, &mut b);
                                        String::from_utf8_lossy(&b).into_owned()
                                    }
                                    other => other.as_text().unwrap_or_default(),
                                };
                                ext.push((ekey.value.as_str().into(), text.into()));
                                el.exceptions.push((
                                    idx,
                                    ExtForm {
                                        key: ekey,
                                        value: ev,
                                    },
                                ));
                            }
                        }
                    }
                    cmd.ext_fields = Some(ext);
                    JsonMember::ExtFields(key, Some(el))
                }
                _ => {
                    return Err(ferr(
                        0,
                        "extFields",
                        "extFields is neither an object nor null",
                    ));
                }
            },
            2 => {
                cmd.flag = int_of(&v).ok_or_else(|| bad("flag"))?;
                JsonMember::Flag(key, v)
            }
            3 => {
                let name = v.as_text().unwrap_or_default();
                match LanguageCode::from_name(&name) {
                    Some(l) => cmd.language = l,
                    None => {
                        cmd.language = LanguageCode(u8::MAX);
                        cmd.language_name = Some(name);
                    }
                }
                JsonMember::Language(key, v)
            }
            4 => {
                cmd.opaque = int_of(&v).ok_or_else(|| bad("opaque"))?;
                JsonMember::Opaque(key, v)
            }
            5 => {
                cmd.remark = match &v {
                    JValue::Null => None,
                    other => Some(other.as_text().unwrap_or_default()),
                };
                JsonMember::Remark(key, v)
            }
            6 => JsonMember::SerializeType(key, v),
            _ => {
                cmd.version = int_of(&v).ok_or_else(|| bad("version"))?;
                JsonMember::Version(key, v)
            }
        };
        layout.members.push(m);
    }
    cmd.serialize = SerializeType::Json;
    cmd.layout = HeaderLayout::Json(Box::new(layout));
    Ok(cmd)
}
