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
#[derive(Debug)]
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
        _ => return Ok(None),
    };
    if fragmented {
        return Err(LinkError(format!(
            "IP fragment {src_ip} -> {dst_ip}: fragments are not reassembled"
        )));
    }
    let tcp = match sliced.transport {
        Some(TransportSlice::Tcp(t)) => t,
        _ => {
            if let Some((e, layer)) = &sliced.stop_err
                && incomplete
            {
                return Err(LinkError(format!(
                    "packet cut short at the {layer} layer: {e}"
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
