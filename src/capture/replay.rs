//! Replays of real captures for benchmarks: copies of each capture, every copy with its own
//! client addresses and shifted times, written one after another into one pcap, so a
//! benchmark file looks like production (many short connections from many clients, every
//! client's header style) while every frame stays a real one.
//!
//! Per capture, the clients are found first: the sender of a SYN (without ACK), else, for
//! connections seen mid-way, the side with the higher port. Copy `c` rewrites each client's
//! IPv4 address to the `c`-th block of 100.64.0.0/10 (one address per original client, at
//! most [`CLIENTS_PER_COPY`]); servers keep theirs. The IPv4 header checksum and the TCP
//! checksum are updated incrementally (RFC 1624), so a checksum that was right stays right
//! and one that was not (checksum offload) stays as it was; lengths do not change. Packets
//! that are not IPv4/TCP over Ethernet are copied unchanged.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::writer::PcapWriter;
use super::{CaptureError, Item, LinkType, decode_packet, for_each_packet};

/// Client addresses one capture may have; its copies use blocks of this many addresses.
pub const CLIENTS_PER_COPY: u32 = 16;

/// First address of the rewritten clients (100.64.0.0, RFC 6598 shared space).
const CLIENT_BASE: u32 = 0x6440_0000;

/// Copies that fit in 100.64.0.0/10.
pub const MAX_COPIES: u32 = (1 << 22) / CLIENTS_PER_COPY;

/// One capture loaded for replay (Ethernet link type).
pub struct Source {
    pub name: String,
    /// (time ns, orig_len, bytes), in capture order.
    packets: Vec<(i64, u32, Vec<u8>)>,
    /// Original client IPv4 address → its index in a copy's block.
    clients: HashMap<Ipv4Addr, u32>,
    /// Client endpoint of each connection, by its (lower, higher) endpoint pair.
    client_of: HashMap<(SocketAddr, SocketAddr), SocketAddr>,
    /// Bytes of one copy as written (record headers included).
    pub bytes: u64,
}

impl Source {
    /// Reads a capture (any format [`for_each_packet`] reads; Ethernet packets only).
    pub fn load<R: Read + Send>(name: &str, input: R) -> Result<Self, CaptureError> {
        let mut packets = Vec::new();
        let mut other_link = None;
        let mut damage = None;
        for_each_packet(input, |it| match it {
            Item::Packet(p) => {
                if p.link != LinkType::ETHERNET {
                    other_link = Some(p.link);
                }
                packets.push((p.ts, p.orig_len, p.data.to_vec()));
            }
            Item::Damage(d) => {
                damage.get_or_insert(d);
            }
        })?;
        if let Some(d) = damage {
            return Err(CaptureError::Corrupt {
                packets: d.after_packet,
                offset: d.offset,
                reason: format!("{name}: damaged capture ({d}); replay takes whole captures"),
            });
        }
        if let Some(l) = other_link {
            return Err(CaptureError::Corrupt {
                packets: 0,
                offset: 0,
                reason: format!("{name}: link type {} (replay takes Ethernet only)", l.0),
            });
        }
        let mut client_of: HashMap<(SocketAddr, SocketAddr), SocketAddr> = HashMap::new();
        for (_, _, d) in &packets {
            if let Ok(Some(s)) = decode_packet(LinkType::ETHERNET, d) {
                let key = (s.src.min(s.dst), s.src.max(s.dst));
                if s.syn && !s.ack {
                    client_of.insert(key, s.src);
                } else {
                    client_of
                        .entry(key)
                        .or_insert(if s.src.port() > s.dst.port() {
                            s.src
                        } else {
                            s.dst
                        });
                }
            }
        }
        let mut clients = HashMap::new();
        let mut ips: Vec<Ipv4Addr> = client_of
            .values()
            .filter_map(|a| match a.ip() {
                IpAddr::V4(v) => Some(v),
                IpAddr::V6(_) => None,
            })
            .collect();
        ips.sort();
        ips.dedup();
        if ips.len() > CLIENTS_PER_COPY as usize {
            return Err(CaptureError::Corrupt {
                packets: 0,
                offset: 0,
                reason: format!(
                    "{name}: {} client addresses (replay takes at most {CLIENTS_PER_COPY})",
                    ips.len()
                ),
            });
        }
        for (i, ip) in ips.into_iter().enumerate() {
            clients.insert(ip, i as u32);
        }
        let bytes = packets.iter().map(|(_, _, d)| 16 + d.len() as u64).sum();
        Ok(Self {
            name: name.to_string(),
            packets,
            clients,
            client_of,
            bytes,
        })
    }

    /// Connections in one copy.
    pub fn connections(&self) -> usize {
        self.client_of.len()
    }

    /// Writes copy number `copy` starting at time `start`; returns the time after its last
    /// packet (+1 ms).
    pub fn write_copy<W: Write>(
        &self,
        w: &mut PcapWriter<W>,
        copy: u32,
        start: i64,
    ) -> io::Result<i64> {
        assert!(copy < MAX_COPIES, "copy {copy} beyond {MAX_COPIES}");
        let first = self.packets.first().map(|p| p.0).unwrap_or(0);
        let mut last = start;
        let mut buf = Vec::new();
        for (ts, orig_len, data) in &self.packets {
            let t = start + (ts - first).max(0);
            last = last.max(t);
            buf.clear();
            buf.extend_from_slice(data);
            self.rewrite(&mut buf, copy);
            w.write_packet_orig(t, &buf, *orig_len)?;
        }
        Ok(last + 1_000_000)
    }

    /// Rewrites the client address of one Ethernet/IPv4/TCP packet in place.
    fn rewrite(&self, p: &mut [u8], copy: u32) {
        let Ok(Some(s)) = decode_packet(LinkType::ETHERNET, p) else {
            return;
        };
        let key = (s.src.min(s.dst), s.src.max(s.dst));
        let Some(client) = self.client_of.get(&key).copied() else {
            return;
        };
        let IpAddr::V4(cip) = client.ip() else { return };
        let Some(&k) = self.clients.get(&cip) else {
            return;
        };
        let new = Ipv4Addr::from(CLIENT_BASE + copy * CLIENTS_PER_COPY + k);
        // Plain Ethernet II + IPv4 only (the bundled captures); anything else unchanged.
        if p.len() < 34 || p[12..14] != [0x08, 0x00] || p[14] >> 4 != 4 {
            return;
        }
        let ihl = (p[14] & 0x0f) as usize * 4;
        let at = if client == s.src { 14 + 12 } else { 14 + 16 };
        let old: [u8; 4] = p[at..at + 4].try_into().unwrap_or([0; 4]);
        if old != cip.octets() {
            return;
        }
        p[at..at + 4].copy_from_slice(&new.octets());
        update_checksum(p, 14 + 10, &old, &new.octets());
        // TCP checksum (covers the pseudo header), when captured.
        let tcp = 14 + ihl;
        if p.len() >= tcp + 18 {
            update_checksum(p, tcp + 16, &old, &new.octets());
        }
    }
}

/// RFC 1624 incremental update of the 16-bit one's complement checksum at `at` for a
/// 4-byte field changing from `old` to `new`: HC' = ~(~HC + ~m + m').
fn update_checksum(p: &mut [u8], at: usize, old: &[u8; 4], new: &[u8; 4]) {
    let hc = u16::from_be_bytes([p[at], p[at + 1]]);
    let mut sum = (!hc) as u32;
    for i in [0, 2] {
        sum += (!u16::from_be_bytes([old[i], old[i + 1]])) as u32;
        sum += u16::from_be_bytes([new[i], new[i + 1]]) as u32;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    p[at..at + 2].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

/// How a replay was made: copies per source.
#[derive(Debug, Default)]
pub struct Replay {
    /// (source name, copies written, connections per copy).
    pub copies: Vec<(String, u32, usize)>,
    pub bytes: u64,
    pub packets: u64,
}

/// Writes copies of `groups` of sources until `target_bytes` are written, the groups in
/// equal byte shares (the group with the fewest bytes so far goes next; within a group the
/// sources take turns). Copies follow each other in time from `start`.
pub fn replay<W: Write>(
    w: W,
    groups: &[Vec<Source>],
    target_bytes: u64,
    start: i64,
) -> io::Result<Replay> {
    let mut pw = PcapWriter::new(io::BufWriter::with_capacity(1 << 20, w))?;
    let mut written = vec![0u64; groups.len()];
    let mut turn = vec![0usize; groups.len()];
    let mut copies: Vec<Vec<u32>> = groups.iter().map(|g| vec![0; g.len()]).collect();
    let mut total = 24u64;
    let mut copy = 0u32;
    let mut t = start;
    while total < target_bytes && groups.iter().any(|g| !g.is_empty()) {
        let Some(g) = (0..groups.len())
            .filter(|&g| !groups[g].is_empty())
            .min_by_key(|&g| written[g])
        else {
            break;
        };
        let i = turn[g] % groups[g].len();
        turn[g] += 1;
        let src = &groups[g][i];
        if copy >= MAX_COPIES {
            break;
        }
        t = src.write_copy(&mut pw, copy, t)?;
        copy += 1;
        copies[g][i] += 1;
        written[g] += src.bytes;
        total += src.bytes;
    }
    pw.flush()?;
    let packets = pw.packets;
    let mut r = Replay {
        bytes: total,
        packets,
        ..Default::default()
    };
    for (g, srcs) in groups.iter().enumerate() {
        for (i, s) in srcs.iter().enumerate() {
            r.copies
                .push((s.name.clone(), copies[g][i], s.connections()));
        }
    }
    Ok(r)
}

/// The bundled real captures in five groups (C++ client, Node client, Rust client, the
/// public Java 4.x / .NET captures, the bundled producer's own), relative to the
/// repository root. The `.pcapng` copy of the C++ capture is the same traffic and left out.
pub const BUNDLED_GROUPS: &[&[&str]] = &[
    &["captures/cpp"],
    &["captures/node"],
    &["captures/rust"],
    &["captures/public/deepflow", "captures/public/newlife"],
    &["captures/reference"],
];

/// Loads every `*.pcap` of the groups' directories (sorted by name).
pub fn load_groups(root: &std::path::Path, groups: &[&[&str]]) -> io::Result<Vec<Vec<Source>>> {
    groups
        .iter()
        .map(|dirs| {
            let mut files = Vec::new();
            for d in *dirs {
                for e in std::fs::read_dir(root.join(d))? {
                    let p = e?.path();
                    if p.extension().is_some_and(|x| x == "pcap") {
                        files.push(p);
                    }
                }
            }
            files.sort();
            files
                .iter()
                .map(|p| {
                    let name = p
                        .strip_prefix(root)
                        .unwrap_or(p)
                        .to_string_lossy()
                        .into_owned();
                    let f = std::fs::File::open(p)
                        .map_err(|e| io::Error::new(e.kind(), format!("{name}: {e}")))?;
                    Source::load(&name, f).map_err(|e| io::Error::other(format!("{name}: {e}")))
                })
                .collect()
        })
        .collect()
}
