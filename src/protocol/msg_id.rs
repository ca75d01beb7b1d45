//! The offset msgId a broker assigns (`MessageDecoder.createMessageId` / `decodeMessageId`:
//! store host and commit-log offset); the client's UNIQ_KEY is in [`super::uniq_key`].
//! Sources (apache/rocketmq): `common/.../message/MessageDecoder.java`,
//! `MessageClientIDSetter.java`; protocol.md section 11.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Uppercase hex.
pub fn hex_upper(b: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(H[(x >> 4) as usize] as char);
        s.push(H[(x & 15) as usize] as char);
    }
    s
}

/// Hex (either case) to bytes; `None` on an odd length or a non-hex digit.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// `storeHost ip + port (i32) + commit-log offset (i64)` as uppercase hex.
pub fn create_offset_msg_id(store: SocketAddr, offset: i64) -> String {
    let mut b = Vec::with_capacity(28);
    match store.ip() {
        IpAddr::V4(a) => b.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => b.extend_from_slice(&a.octets()),
    }
    b.extend_from_slice(&(store.port() as i32).to_be_bytes());
    b.extend_from_slice(&offset.to_be_bytes());
    hex_upper(&b)
}

/// A decoded offset message id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetMsgId {
    pub store_host: SocketAddr,
    pub commit_log_offset: i64,
}

/// Splits an offset msgId (32 hex chars IPv4, 56 IPv6) like `MessageDecoder.decodeMessageId`.
pub fn decode_offset_msg_id(id: &str) -> Option<OffsetMsgId> {
    let b = unhex(id)?;
    let (ip, rest): (IpAddr, &[u8]) = match b.len() {
        16 => (Ipv4Addr::new(b[0], b[1], b[2], b[3]).into(), &b[4..]),
        28 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[..16]);
            (Ipv6Addr::from(a).into(), &b[16..])
        }
        _ => return None,
    };
    let port = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
    let off = i64::from_be_bytes(rest[4..12].try_into().ok()?);
    Some(OffsetMsgId {
        store_host: SocketAddr::new(ip, u16::try_from(port).ok()?),
        commit_log_offset: off,
    })
}
