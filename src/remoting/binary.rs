//! The ROCKETMQ binary header (`RocketMQSerializable.rocketMQProtocolEncode` /
//! `rocketMQProtocolDecode` in apache/rocketmq remoting; protocol.md section 3): big-endian
//! i16 code, u8 language, i16 version, i32 opaque, i32 flag, i32-length remark, i32-length
//! extFields map of (u16-length key, i32-length value) entries. Split from `command`,
//! which frames and dispatches.

use super::codes::{LanguageCode, SerializeType};
use super::command::{BinaryLayout, FrameError, HeaderLayout, RemotingCommand, ferr};

struct Rd<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], FrameError> {
        let end = self
            .i
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| {
                ferr(
                    self.i,
                    field,
                    format!(
                        "needs {n} bytes but only {} remain in the header",
                        self.b.len() - self.i
                    ),
                )
            })?;
        let s = &self.b[self.i..end];
        self.i = end;
        Ok(s)
    }
    fn u8(&mut self, f: &'static str) -> Result<u8, FrameError> {
        Ok(self.take(1, f)?[0])
    }
    fn i16(&mut self, f: &'static str) -> Result<i16, FrameError> {
        let s = self.take(2, f)?;
        Ok(i16::from_be_bytes([s[0], s[1]]))
    }
    fn i32(&mut self, f: &'static str) -> Result<i32, FrameError> {
        let s = self.take(4, f)?;
        Ok(i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
}

fn utf8(b: &[u8], at: usize, field: &'static str) -> Result<String, FrameError> {
    String::from_utf8(b.to_vec()).map_err(|_| ferr(at, field, "not valid UTF-8"))
}

/// Decodes a ROCKETMQ binary header (protocol.md section 3).
pub fn decode_binary_header(h: &[u8]) -> Result<RemotingCommand, FrameError> {
    decode_binary_header_keeping(h, usize::MAX)
}

/// [`decode_binary_header`] keeping at most `max_ext` extFields entries: the rest are still
/// read and checked (the header must decode whole) but only counted, in
/// `ext_fields_dropped`, so a header of many tiny entries costs no memory past the budget.
pub fn decode_binary_header_keeping(
    h: &[u8],
    max_ext: usize,
) -> Result<RemotingCommand, FrameError> {
    let mut r = Rd { b: h, i: 0 };
    let code = r.i16("code")? as i32;
    let language = LanguageCode(r.u8("language")?);
    let version = r.i16("version")? as i32;
    let opaque = r.i32("opaque")?;
    let flag = r.i32("flag")?;
    let at = r.i;
    let remark_len = r.i32("remark length")?;
    if remark_len < 0 {
        return Err(ferr(
            at,
            "remark length",
            format!("negative length {remark_len}"),
        ));
    }
    let at = r.i;
    let remark = if remark_len == 0 {
        None
    } else {
        Some(utf8(r.take(remark_len as usize, "remark")?, at, "remark")?)
    };
    let at = r.i;
    let ext_len = r.i32("extFields length")?;
    if ext_len < 0 {
        return Err(ferr(
            at,
            "extFields length",
            format!("negative length {ext_len}"),
        ));
    }
    let map = r.take(ext_len as usize, "extFields")?;
    let map_start = r.i - map.len();
    let mut ext = Vec::new();
    let mut dropped = 0usize;
    let mut m = Rd { b: map, i: 0 };
    while m.i < map.len() {
        let at = map_start + m.i;
        let kl = m.i16("extFields key length").map_err(|mut e| {
            e.offset += map_start;
            e
        })? as u16 as usize;
        let k = m.take(kl, "extFields key").map_err(|mut e| {
            e.offset += map_start;
            e
        })?;
        let vl_at = map_start + m.i;
        let vl = m.i32("extFields value length").map_err(|mut e| {
            e.offset += map_start;
            e
        })?;
        if vl < 0 {
            return Err(ferr(
                vl_at,
                "extFields value length",
                format!("negative length {vl}"),
            ));
        }
        let v = m.take(vl as usize, "extFields value").map_err(|mut e| {
            e.offset += map_start;
            e
        })?;
        let str_of =
            |b, at, field| std::str::from_utf8(b).map_err(|_| ferr(at, field, "not valid UTF-8"));
        let (k, v) = (
            str_of(k, at, "extFields key")?,
            str_of(v, vl_at, "extFields value")?,
        );
        if ext.len() < max_ext {
            ext.push((k.into(), v.into()));
        } else {
            dropped += 1;
        }
    }
    let trailing = h[r.i..].to_vec();
    let layout = if trailing.is_empty() {
        HeaderLayout::Canonical
    } else {
        HeaderLayout::Binary(Box::new(BinaryLayout { trailing }))
    };
    Ok(RemotingCommand {
        code,
        language,
        language_name: None,
        version,
        opaque,
        flag,
        remark,
        ext_fields: if ext_len == 0 { None } else { Some(ext) },
        serialize: SerializeType::RocketMq,
        body: Vec::new(),
        layout,
        ext_fields_dropped: dropped,
    })
}

/// Writes a ROCKETMQ binary header: i16 code (truncated like Java's `(short)`), u8
/// language, i16 version, i32 opaque, i32 flag, i32+remark, i32+map of
/// (u16 key length, key, i32 value length, value) entries.
pub fn encode_binary_header(cmd: &RemotingCommand, out: &mut Vec<u8>) {
    out.extend_from_slice(&(cmd.code as i16).to_be_bytes());
    out.push(cmd.language.0);
    out.extend_from_slice(&(cmd.version as i16).to_be_bytes());
    out.extend_from_slice(&cmd.opaque.to_be_bytes());
    out.extend_from_slice(&cmd.flag.to_be_bytes());
    let remark = cmd.remark.as_deref().unwrap_or("");
    out.extend_from_slice(&(remark.len() as i32).to_be_bytes());
    out.extend_from_slice(remark.as_bytes());
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    if let Some(ext) = &cmd.ext_fields {
        for (k, v) in ext {
            out.extend_from_slice(&(k.len() as u16).to_be_bytes());
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(&(v.len() as i32).to_be_bytes());
            out.extend_from_slice(v.as_bytes());
        }
    }
    let ext_len = (out.len() - len_at - 4) as i32;
    out[len_at..len_at + 4].copy_from_slice(&ext_len.to_be_bytes());
    if let HeaderLayout::Binary(l) = &cmd.layout {
        out.extend_from_slice(&l.trailing);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ROCKETMQ header keeps the first N extFields entries while read and counts the
    /// rest; every entry is still checked.
    #[test]
    fn binary_ext_fields_cut_while_read() {
        let mut cmd = RemotingCommand {
            code: 10,
            serialize: SerializeType::RocketMq,
            ext_fields: Some(
                (0..10)
                    .map(|i| (format!("k{i}").into(), "v".into()))
                    .collect(),
            ),
            ..Default::default()
        };
        let mut h = Vec::new();
        encode_binary_header(&cmd, &mut h);
        let c = decode_binary_header_keeping(&h, 3).unwrap();
        assert_eq!(c.ext_fields.as_ref().unwrap().len(), 3);
        assert_eq!(c.ext_fields.as_ref().unwrap()[2].0, "k2");
        assert_eq!(c.ext_fields_dropped, 7);
        assert!(c.ext_fields.as_ref().unwrap().capacity() < 10);
        // A bad entry past the budget still fails the header.
        cmd.ext_fields.as_mut().unwrap()[9].1 = "\u{e9}".into();
        let mut h = Vec::new();
        encode_binary_header(&cmd, &mut h);
        let at = h.len() - 2;
        h[at] = 0xff;
        let e = decode_binary_header_keeping(&h, 3).unwrap_err();
        assert_eq!(e.field, "extFields value");
    }
}
