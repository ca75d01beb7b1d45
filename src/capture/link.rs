//! Link and network layers down to a TCP segment (etherparse, lax mode so that packets cut
//! by the snap length still yield what they carry).

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};

/// A pcap LINKTYPE_ value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: Self = Self(0);
    pub const ETHERNET: Self = Self(1);
    pub const RAW: Self = Self(101);
    pub const LOOP: Self = Self(108);
    pub const LINUX_SLL: Self = Self(113);
    pub const IPV4: Self = Self(228);
    pub const IPV6: Self = Self(229);
    pub const LINUX_SLL2: Self = Self(276);
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = match *self {
            Self::NULL => "NULL",
            Self::ETHERNET => "ETHERNET",
            Self::RAW | Self(12) | Self(14) => "RAW",
            Self::LOOP => "LOOP",
            Self::LINUX_SLL => "LINUX_SLL",
            Self::IPV4 => "IPV4",
            Self::IPV6 => "IPV6",
            Self::LINUX_SLL2 => "LINUX_SLL2",
            _ => return write!(f, "LINKTYPE {}", self.0),
        };
        f.write_str(n)
    }
}

/// A TCP segment out of a packet.
#[derive(Debug, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub syn: bool,
    pub ack: bool,
    /// The acknowledgment number (meaningful when `ack`).
    pub ack_number: u32,
    pub fin: bool,
    pub rst: bool,
    pub payload: &'a [u8],
    /// Payload bytes the IP length promises but the capture does not hold (snap length).
    pub missing: u32,
}

/// Why a packet yields no TCP segment. `Ok(None)` from [`decode_packet`] means "not TCP"
/// (ARP, UDP, ICMP…), which is not a problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkError(pub String);

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Decodes a packet of link type `link` to its TCP segment, if any.
pub fn decode_packet(link: LinkType, data: &[u8]) -> Result<Option<TcpSegment<'_>>, LinkError> {
    // Most captured packets are whole IPv4 TCP packets: read them straight, and leave the
    // rest (VLANs, IPv6, fragments, cut packets…) to etherparse.
    match fast_path(link, data) {
        Some(seg) => Ok(Some(seg)),
        None => slow_path(link, data),
    }
}

/// The IP packet inside Ethernet II or raw-IP framing, where [`ipv4_tcp`] may take it.
fn fast_ip(link: LinkType, data: &[u8]) -> Option<&[u8]> {
    match link {
        LinkType::ETHERNET if data.get(12..14) == Some(&[0x08, 0x00][..]) => data.get(14..),
        LinkType::RAW | LinkType(12) | LinkType(14) | LinkType::IPV4 => Some(data),
        _ => None,
    }
}

/// Ethernet II or raw-IP framing around a packet [`ipv4_tcp`] takes.
fn fast_path(link: LinkType, data: &[u8]) -> Option<TcpSegment<'_>> {
    ipv4_tcp(fast_ip(link, data)?)
}

/// The endpoints of a packet [`decode_packet`] reads straight (whole IPv4 TCP in Ethernet
/// II or raw-IP framing), read at their fixed offsets without decoding the rest: the
/// source and destination address octets and ports, exactly those of the segment
/// [`decode_packet`] gives; `None` for any other packet. Sharded passes use it to skip the
/// other shards' packets cheaply.
pub fn ipv4_tcp_ends(link: LinkType, data: &[u8]) -> Option<([u8; 4], u16, [u8; 4], u16)> {
    let ip = fast_ip(link, data)?;
    let (h, tcp) = ipv4_tcp_bounds(ip)?;
    let port = |o: usize| u16::from_be_bytes([tcp[o], tcp[o + 1]]);
    Some((
        [h[12], h[13], h[14], h[15]],
        port(0),
        [h[16], h[17], h[18], h[19]],
        port(2),
    ))
}

/// A whole, unfragmented IPv4 packet carrying a whole TCP header: its IP header and its
/// TCP part (header and payload), or `None`.
fn ipv4_tcp_bounds(ip: &[u8]) -> Option<(&[u8], &[u8])> {
    let h = ip.get(..20)?;
    if h[0] >> 4 != 4 || h[9] != 6 {
        return None;
    }
    let ihl = (h[0] & 0x0f) as usize * 4;
    let total = u16::from_be_bytes([h[2], h[3]]) as usize;
    // Fragment offset or more-fragments flag: a fragment.
    if ihl < 20 || total < ihl + 20 || total > ip.len() || h[6] & 0x3f != 0 || h[7] != 0 {
        return None;
    }
    let tcp = &ip[ihl..total];
    let doff = (tcp[12] >> 4) as usize * 4;
    if doff < 20 || doff > tcp.len() {
        return None;
    }
    Some((h, tcp))
}

/// A whole, unfragmented IPv4 packet carrying a whole TCP header: the segment, exactly as
/// the etherparse path gives it (the property tests compare them); `None` for anything
/// else, which then takes that path.
fn ipv4_tcp(ip: &[u8]) -> Option<TcpSegment<'_>> {
    let (h, tcp) = ipv4_tcp_bounds(ip)?;
    let doff = (tcp[12] >> 4) as usize * 4;
    let src_ip = IpAddr::from([h[12], h[13], h[14], h[15]]);
    let dst_ip = IpAddr::from([h[16], h[17], h[18], h[19]]);
    let be32 = |o: usize| u32::from_be_bytes([tcp[o], tcp[o + 1], tcp[o + 2], tcp[o + 3]]);
    let flags = tcp[13];
    Some(TcpSegment {
        src: SocketAddr::new(src_ip, u16::from_be_bytes([tcp[0], tcp[1]])),
        dst: SocketAddr::new(dst_ip, u16::from_be_bytes([tcp[2], tcp[3]])),
        seq: be32(4),
        syn: flags & 0x02 != 0,
        ack: flags & 0x10 != 0,
        ack_number: be32(8),
        fin: flags & 0x01 != 0,
        rst: flags & 0x04 != 0,
        payload: &tcp[doff..],
        missing: 0,
    })
}

/// [`decode_packet`] through etherparse.
fn slow_path(link: LinkType, data: &[u8]) -> Result<Option<TcpSegment<'_>>, LinkError> {
    let sliced = match link {
        LinkType::ETHERNET => {
            LaxSlicedPacket::from_ethernet(data).map_err(|e| LinkError(format!("Ethernet: {e}")))?
        }
        LinkType::NULL | LinkType::LOOP => {
            if data.len() < 4 {
                return Err(LinkError("loopback header shorter than 4 bytes".into()));
            }
            let le = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
            let be = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
            let fam = if le < 256 { le } else { be };
            match fam {
                2 | 24 | 28 | 30 => {}
                _ => return Ok(None),
            }
            ip(&data[4..])?
        }
        LinkType::LINUX_SLL => {
            if data.len() < 16 {
                return Err(LinkError(
                    "Linux cooked (SLL) header shorter than 16 bytes".into(),
                ));
            }
            let proto = u16::from_be_bytes([data[14], data[15]]);
            LaxSlicedPacket::from_ether_type(EtherType(proto), &data[16..])
        }
        LinkType::LINUX_SLL2 => {
            if data.len() < 20 {
                return Err(LinkError(
                    "Linux cooked (SLL2) header shorter than 20 bytes".into(),
                ));
            }
            let proto = u16::from_be_bytes([data[0], data[1]]);
            LaxSlicedPacket::from_ether_type(EtherType(proto), &data[20..])
        }
        LinkType::RAW | LinkType(12) | LinkType(14) | LinkType::IPV4 | LinkType::IPV6 => ip(data)?,
        other => return Err(LinkError(format!("unsupported link type {other}"))),
    };
    let (src_ip, dst_ip, fragmented, ip_payload_len, incomplete): (
        IpAddr,
        IpAddr,
        bool,
        Option<usize>,
        bool,
    ) = match &sliced.net {
        Some(LaxNetSlice::Ipv4(v4)) => {
            let h = v4.header();
            let p = v4.payload();
            let total = h.total_len() as usize;
            let ihl = h.ihl() as usize * 4;
            // 0 is what TSO/GSO captures hold before the NIC fills it in: the captured
            // length stands. Anything else must cover the header (and, for TCP, the
            // 20-byte minimum TCP header).
            let min = if h.protocol() == etherparse::IpNumber::TCP {
                ihl + 20
            } else {
                ihl
            };
            if total != 0 && total < min && !v4.is_payload_fragmented() {
                return Err(LinkError(format!(
                    "malformed IPv4 packet {} -> {}: total length {total} is less than the {min} bytes of its IPv4{} header{}",
                    h.source_addr(),
                    h.destination_addr(),
                    if min > ihl { " and TCP" } else { "" },
                    if min > ihl { "s" } else { "" },
                )));
            }
            (
                h.source_addr().into(),
                h.destination_addr().into(),
                v4.is_payload_fragmented(),
                total.checked_sub(ihl).filter(|_| total != 0),
                p.incomplete,
            )
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            let h = v6.header();
            let p = v6.payload();
            (
                h.source_addr().into(),
                h.destination_addr().into(),
                v6.is_payload_fragmented(),
                None,
                p.incomplete,
            )
        }
        _ => {
            // No IP layer: not IP at all (ARP, LLDP…), or an IP header that is malformed
            // (IPv4 IHL < 5, wrong version…), which is reported.
            if let Some((e, layer)) = &sliced.stop_err {
                return Err(LinkError(format!("malformed packet at the {layer}: {e}")));
            }
            return Ok(None);
        }
    };
    if fragmented {
        return Err(LinkError(format!(
            "IP fragment {src_ip} -> {dst_ip}: fragments are not reassembled"
        )));
    }
    let tcp = match sliced.transport {
        Some(TransportSlice::Tcp(t)) => t,
        _ => {
            // A header after IP that could not be read: cut by the snap length, or
            // malformed (IPv6 extension headers running past the packet, TCP data offset
            // below 5 or past the packet…). Either way reported, not dropped silently.
            if let Some((e, layer)) = &sliced.stop_err {
                let what = if incomplete {
                    "packet cut short"
                } else {
                    "malformed packet"
                };
                return Err(LinkError(format!(
                    "{what} {src_ip} -> {dst_ip} at the {layer}: {e}"
                )));
            }
            return Ok(None);
        }
    };
    let payload = tcp.payload();
    let missing = match ip_payload_len {
        Some(n) if incomplete => n
            .saturating_sub(tcp.header_len())
            .saturating_sub(payload.len()) as u32,
        _ => 0,
    };
    Ok(Some(TcpSegment {
        src: SocketAddr::new(src_ip, tcp.source_port()),
        dst: SocketAddr::new(dst_ip, tcp.destination_port()),
        seq: tcp.sequence_number(),
        syn: tcp.syn(),
        ack: tcp.ack(),
        ack_number: tcp.acknowledgment_number(),
        fin: tcp.fin(),
        rst: tcp.rst(),
        payload,
        missing,
    }))
}

fn ip(data: &[u8]) -> Result<LaxSlicedPacket<'_>, LinkError> {
    LaxSlicedPacket::from_ip(data).map_err(|e| LinkError(format!("IP: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An Ethernet + IPv4 + TCP packet from raw field values, some of them nonsense.
    #[allow(clippy::too_many_arguments)]
    fn packet(
        ether_type: u16,
        version_ihl: u8,
        total_delta: i32,
        frag: u16,
        proto: u8,
        doff_flags: u16,
        opts: usize,
        payload: usize,
        cut: usize,
    ) -> Vec<u8> {
        let mut p = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
        p.extend_from_slice(&ether_type.to_be_bytes());
        let ihl = ((version_ihl & 0x0f) as usize * 4).max(20);
        let tcp_len = 20 + opts + payload;
        let total = (ihl + tcp_len) as i32 + total_delta;
        let mut ip = vec![0u8; ihl];
        ip[0] = version_ihl;
        ip[2..4].copy_from_slice(&(total.clamp(0, 65535) as u16).to_be_bytes());
        ip[6..8].copy_from_slice(&frag.to_be_bytes());
        ip[8] = 64;
        ip[9] = proto;
        ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
        ip[16..20].copy_from_slice(&[10, 0, 0, 2]);
        let mut tcp = vec![0u8; 20 + opts];
        tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&10911u16.to_be_bytes());
        tcp[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        tcp[8..12].copy_from_slice(&0x9abc_def0u32.to_be_bytes());
        tcp[12..14].copy_from_slice(&doff_flags.to_be_bytes());
        p.extend_from_slice(&ip);
        p.extend_from_slice(&tcp);
        p.extend((0..payload).map(|i| i as u8));
        // Ethernet padding, then the snap length cut.
        p.extend_from_slice(&[0; 6]);
        p.truncate(p.len().saturating_sub(cut));
        p
    }

    proptest! {
        /// Wherever the direct IPv4 path answers, etherparse gives the same segment.
        #[test]
        fn fast_path_agrees_with_etherparse(
            ether_type in prop_oneof![6 => Just(0x0800u16), 1 => Just(0x86dd), 1 => Just(0x8100), 1 => any::<u16>()],
            version_ihl in prop_oneof![6 => Just(0x45u8), 2 => Just(0x46), 1 => Just(0x4f), 1 => Just(0x44), 1 => any::<u8>()],
            total_delta in prop_oneof![6 => Just(0i32), 2 => -30i32..30],
            frag in prop_oneof![4 => Just(0x4000u16), 2 => Just(0), 1 => Just(0x2000), 1 => Just(0x0001), 1 => any::<u16>()],
            proto in prop_oneof![6 => Just(6u8), 1 => Just(17), 1 => any::<u8>()],
            doff_flags in prop_oneof![4 => Just(0x5018u16), 2 => Just(0x8018), 1 => Just(0x5002), 1 => Just(0x4010), 1 => any::<u16>()],
            opts in prop_oneof![4 => Just(0usize), 2 => Just(12), 1 => 0usize..44],
            payload in 0usize..200,
            cut in prop_oneof![4 => Just(0usize), 2 => Just(6), 1 => 0usize..80],
        ) {
            let p = packet(ether_type, version_ihl, total_delta, frag, proto, doff_flags, opts, payload, cut);
            for (link, data) in [(LinkType::ETHERNET, &p[..]), (LinkType::RAW, p.get(14..).unwrap_or(&[]))] {
                let ends = ipv4_tcp_ends(link, data);
                prop_assert_eq!(ends.is_some(), fast_path(link, data).is_some());
                if let Some(f) = fast_path(link, data) {
                    // The fixed-offset endpoints are the segment's.
                    let (sip, sport, dip, dport) = ends.unwrap_or_default();
                    prop_assert_eq!(f.src, SocketAddr::from((sip, sport)));
                    prop_assert_eq!(f.dst, SocketAddr::from((dip, dport)));
                    prop_assert_eq!(Ok(Some(f)), slow_path(link, data));
                }
            }
        }
    }

    /// Malformed IP/TCP packets are reported with the reason, never dropped as "not TCP".
    #[test]
    fn malformed_packets_are_reported_with_the_reason() {
        let eth = |p: Vec<u8>| slow_path(LinkType::ETHERNET, &p).map(|s| s.is_some());
        let err = |p: Vec<u8>| match eth(p) {
            Err(e) => e.0,
            Ok(x) => panic!("not reported: {x:?}"),
        };
        // IPv4 IHL 4 (< 5).
        let e = err(packet(0x0800, 0x44, 0, 0x4000, 6, 0x5018, 0, 10, 0));
        assert!(
            e.starts_with("malformed packet at the IP header: IPv4 Header Error: The 'internet header length' value '4'"),
            "{e}"
        );
        // Total length below the IPv4 header, and below IPv4 + TCP headers.
        let e = err(packet(0x0800, 0x45, -30, 0x4000, 6, 0x5018, 0, 0, 0));
        assert!(
            e.contains("total length 10 is less than the 40 bytes of its IPv4 and TCP headers"),
            "{e}"
        );
        let e = err(packet(0x0800, 0x45, -10, 0x4000, 6, 0x5018, 0, 0, 0));
        assert!(
            e.contains("total length 30 is less than the 40 bytes"),
            "{e}"
        );
        // TCP data offset 4 (< 5), and 15 (60 bytes) past a 30-byte TCP segment.
        let e = err(packet(0x0800, 0x45, 0, 0x4000, 6, 0x4018, 0, 10, 0));
        assert!(
            e.contains("malformed packet 10.0.0.1 -> 10.0.0.2 at the TCP header"),
            "{e}"
        );
        let e = err(packet(0x0800, 0x45, 0, 0x4000, 6, 0xf018, 0, 10, 0));
        assert!(
            e.contains("malformed packet 10.0.0.1 -> 10.0.0.2 at the TCP header"),
            "{e}"
        );
        // IPv6 with a hop-by-hop extension header whose length runs past the packet.
        let mut v6 = vec![0x60, 0, 0, 0, 0, 16, 0, 64];
        v6.extend([0u8; 15]);
        v6.push(1);
        v6.extend([0u8; 15]);
        v6.push(2);
        v6.extend([6, 200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let e = match slow_path(LinkType::RAW, &v6) {
            Err(e) => e.0,
            Ok(x) => panic!("not reported: {x:?}"),
        };
        assert!(e.contains("::1 -> ::2") && e.contains("IPv6"), "{e}");
        // An unknown link type.
        let e = slow_path(LinkType(147), &[0; 40]).unwrap_err().0;
        assert_eq!(e, "unsupported link type LINKTYPE 147");
        // Still fine: total length 0 (TSO), UDP, an unknown EtherType.
        assert_eq!(
            eth(packet(0x0800, 0x45, -50, 0x4000, 6, 0x5018, 0, 10, 0)),
            Ok(true)
        );
        assert_eq!(
            eth(packet(0x0800, 0x45, 0, 0x4000, 17, 0x5018, 0, 10, 0)),
            Ok(false)
        );
        assert_eq!(
            eth(packet(0x88cc, 0x45, 0, 0x4000, 6, 0x5018, 0, 10, 0)),
            Ok(false)
        );
    }

    #[test]
    fn typical_packets_take_the_fast_path() {
        let p = packet(0x0800, 0x45, 0, 0x4000, 6, 0x8018, 12, 100, 0);
        let s = ipv4_tcp(&p[14..]).expect("fast path");
        assert_eq!(s.payload.len(), 100);
        assert_eq!(Ok(Some(s)), slow_path(LinkType::ETHERNET, &p));
    }
}
