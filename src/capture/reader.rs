//! Reading pcap and pcapng files block by block, in constant memory, and recovering from
//! damage where the format allows: a pcapng block carries its length twice (a block whose
//! two lengths agree but whose body does not parse is skipped by its length; otherwise the
//! next valid block is searched for), and a legacy pcap record is re-found by scanning for a
//! plausible record header (caplen within the limit and <= origlen, sub-second field in
//! range, time near the last record's, and the record after it plausible too). Every
//! recovery is reported ([`Damage`]: file offset, bytes skipped, why).
//!
//! Formats: pcap (both byte orders, µs and ns; tcpdump's `pcap-savefile(5)`), pcapng
//! (draft-ietf-opsawg-pcapng: block type, total length, body, total length again). Block
//! bodies are parsed with pcap-parser; framing, limits and recovery are here.

use std::io::{self, Read};

use pcap_parser::pcapng::{Block, parse_block_be, parse_block_le};

use super::{CaptureError, LinkType, Packet};

/// Largest pcapng block or pcap record accepted (a packet of the largest snap length,
/// 262,144 bytes, fits many times; anything larger is treated as damage).
pub const MAX_BLOCK: usize = 16 << 20;
/// The record length a legacy pcap file may hold at least, whatever its header's snap
/// length says (Wireshark's `WTAP_MAX_PACKET_SIZE_STANDARD`).
pub const STANDARD_MAX_PACKET: u32 = 262_144;

/// A damaged stretch of the capture file that was skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// File offset (of the uncompressed capture) where the damage was found.
    pub offset: u64,
    /// Bytes skipped from there to the next block or record read.
    pub skipped: u64,
    /// Packets read before it.
    pub after_packet: u64,
    pub reason: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "damaged capture at file offset {} (after packet {}): {}; skipped {} bytes, reading again at offset {}",
            self.offset,
            self.after_packet,
            self.reason,
            self.skipped,
            self.offset + self.skipped
        )
    }
}

/// What the reader hands on.
#[derive(Debug)]
pub enum Item<'a> {
    Packet(Packet<'a>),
    Damage(Damage),
}

/// A window on the input: `buf[start..end]` holds file bytes from offset `base + start`.
struct Window<R> {
    r: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    base: u64,
    eof: bool,
}

impl<R: Read> Window<R> {
    fn new(r: R) -> Self {
        Self {
            r,
            buf: vec![0; 1 << 20],
            start: 0,
            end: 0,
            base: 0,
            eof: false,
        }
    }

    fn avail(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    /// Makes at least `need` bytes available (`need` <= 2 * MAX_BLOCK + 64, checked by the
    /// callers), or all that is left at the end of the input.
    fn fill(&mut self, need: usize) -> io::Result<()> {
        while self.end - self.start < need && !self.eof {
            if self.start + need > self.buf.len() {
                self.buf.copy_within(self.start..self.end, 0);
                self.base += self.start as u64;
                self.end -= self.start;
                self.start = 0;
                if need > self.buf.len() {
                    self.buf.resize(need.next_power_of_two(), 0);
                }
            }
            match self.r.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn consume(&mut self, n: usize) {
        self.start += n.min(self.end - self.start);
    }
}

#[derive(Clone, Copy)]
enum Endian {
    Le,
    Be,
}

impl Endian {
    fn u32(self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        match self {
            Endian::Le => u32::from_le_bytes(a),
            Endian::Be => u32::from_be_bytes(a),
        }
    }
}

struct Iface {
    link: LinkType,
    /// Units per second of this interface's timestamps.
    resolution: u64,
    offset_s: i64,
}

const SHB: u32 = 0x0A0D_0D0A;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// pcapng block types this reader knows (others are skipped by their length).
fn block_name(t: u32) -> Option<&'static str> {
    Some(match t {
        SHB => "section header",
        1 => "interface description",
        2 => "packet (obsolete)",
        3 => "simple packet",
        4 => "name resolution",
        5 => "interface statistics",
        6 => "enhanced packet",
        9 => "systemd journal export",
        0x0A => "decryption secrets",
        0x0B..=0x0E => "custom",
        0x8000_0001 => "process information",
        0x0000_0BAD | 0x4000_0BAD => "custom",
        _ => return None,
    })
}

/// Reads a capture, calling `f` for each packet and each damaged stretch skipped. Returns
/// the number of packets, or the error that ended reading (everything before it was
/// handed on).
pub fn read_capture<R: Read, F: FnMut(Item<'_>)>(input: R, mut f: F) -> Result<u64, CaptureError> {
    let mut w = Window::new(input);
    w.fill(24)?;
    let head = w.avail();
    if head.len() < 4 {
        return Err(CaptureError::NotACapture);
    }
    let magic = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    match magic {
        0xA1B2_C3D4 | 0xD4C3_B2A1 | 0xA1B2_3C4D | 0x4D3C_B2A1 => legacy(&mut w, &mut f),
        SHB => pcapng(&mut w, &mut f),
        _ => Err(CaptureError::NotACapture),
    }
}

/// The legacy record header at the front of `b` (16 bytes): (ts_sec, sub-second, caplen,
/// origlen).
fn record(b: &[u8], e: Endian) -> (u32, u32, u32, u32) {
    (e.u32(b), e.u32(&b[4..]), e.u32(&b[8..]), e.u32(&b[12..]))
}

fn legacy<R: Read, F: FnMut(Item<'_>)>(w: &mut Window<R>, f: &mut F) -> Result<u64, CaptureError> {
    let h = w.avail();
    if h.len() < 24 {
        return Err(CaptureError::Truncated {
            packets: 0,
            offset: 0,
            end: h.len() as u64,
            what: "24-byte file header",
        });
    }
    let m = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let e = if m == 0xA1B2_C3D4 || m == 0xA1B2_3C4D {
        Endian::Le
    } else {
        Endian::Be
    };
    let nanos = m == 0xA1B2_3C4D || m == 0x4D3C_B2A1;
    let snaplen = e.u32(&h[16..]);
    // pcap-savefile(5): link type in the low 28 bits (FCS bits above).
    let link = LinkType(e.u32(&h[20..]) & 0x0FFF_FFFF);
    let limit = snaplen.max(STANDARD_MAX_PACKET).min(MAX_BLOCK as u32 - 16);
    let sub_max = if nanos { 1_000_000_000 } else { 1_000_000 };
    w.consume(24);
    let mut number = 0u64;
    let mut last_ts: Option<u32> = None;
    loop {
        w.fill(16)?;
        let a = w.avail();
        if a.is_empty() {
            return Ok(number);
        }
        if a.len() < 16 {
            return Err(CaptureError::Truncated {
                packets: number,
                offset: w.offset(),
                end: w.offset() + a.len() as u64,
                what: "16-byte record header",
            });
        }
        let (ts, sub, caplen, origlen) = record(a, e);
        if caplen > limit {
            let at = w.offset();
            let reason = limit_reason(caplen, snaplen, limit);
            let skipped = resync_legacy(w, e, limit, sub_max, last_ts)?;
            f(Item::Damage(Damage {
                offset: at,
                skipped,
                after_packet: number,
                reason,
            }));
            continue;
        }
        let total = 16 + caplen as usize;
        w.fill(total)?;
        if w.avail().len() < total {
            return Err(CaptureError::Truncated {
                packets: number,
                offset: w.offset(),
                end: w.offset() + w.avail().len() as u64,
                what: "record",
            });
        }
        number += 1;
        last_ts = Some(ts);
        let sub = if nanos { sub as i64 } else { sub as i64 * 1000 };
        f(Item::Packet(Packet {
            number,
            ts: ts as i64 * 1_000_000_000 + sub,
            link,
            data: &w.avail()[16..total],
            orig_len: origlen,
        }));
        w.consume(total);
    }
}

/// Why a record length is over `limit`, naming the limit actually applied: the header's
/// snap length, raised to Wireshark's standard 262,144 and capped at the largest block
/// this reader accepts ([`MAX_BLOCK`]).
fn limit_reason(caplen: u32, snaplen: u32, limit: u32) -> String {
    let why = if snaplen > limit {
        format!("the file header's snap length {snaplen} capped at the {limit}-byte record limit")
    } else if snaplen < STANDARD_MAX_PACKET {
        format!(
            "the file header's snap length {snaplen} raised to the standard {STANDARD_MAX_PACKET}"
        )
    } else {
        "the file header's snap length".to_string()
    };
    format!("record length {caplen} exceeds the limit of {limit} bytes ({why})")
}

/// A record header at `b` that a writer could have written after a record at time `last`.
/// It holds at least one byte: pcap-savefile(5) allows an empty record, but no capture tool
/// writes one (every link type has a header), and zero bytes (a preallocated or zero-filled
/// stretch after the damage) would otherwise be taken as a run of empty packets. tshark
/// stops at the oversize record ("File has N-byte packet, bigger than maximum of 262144");
/// we scan on, and only to a record that carries bytes.
fn plausible_record(b: &[u8], e: Endian, limit: u32, sub_max: u32, last: Option<u32>) -> bool {
    let (ts, sub, caplen, origlen) = record(b, e);
    caplen > 0
        && caplen <= limit
        && caplen <= origlen
        && origlen <= MAX_BLOCK as u32
        && sub < sub_max
        // Monotonic-ish: an hour back, a day forward.
        && last.is_none_or(|l| ts >= l.saturating_sub(3600) && ts <= l.saturating_add(86_400))
}

/// Skips to the next offset where a plausible record starts and the one after it too (or
/// the file ends right after it). Returns the bytes skipped (at least 1).
fn resync_legacy<R: Read>(
    w: &mut Window<R>,
    e: Endian,
    limit: u32,
    sub_max: u32,
    last: Option<u32>,
) -> io::Result<u64> {
    let mut skipped = 1u64;
    w.consume(1);
    let need = 32 + limit as usize;
    loop {
        w.fill(need)?;
        let a = w.avail();
        let mut found = None;
        let mut more_from = None;
        for i in 0..a.len().saturating_sub(15) {
            if !plausible_record(&a[i..], e, limit, sub_max, last) {
                continue;
            }
            let next = i + 16 + record(&a[i..], e).2 as usize;
            if next + 16 <= a.len() {
                let ts = record(&a[i..], e).0;
                if plausible_record(&a[next..], e, limit, sub_max, Some(ts)) {
                    found = Some(i);
                    break;
                }
            } else if w.eof {
                // The file ends inside or right after this one: take it (a cut last
                // record is then reported as truncation).
                found = Some(i);
                break;
            } else {
                more_from = Some(i);
                break;
            }
        }
        match (found, more_from) {
            (Some(i), _) => {
                w.consume(i);
                return Ok(skipped + i as u64);
            }
            (None, Some(i)) => {
                w.consume(i);
                skipped += i as u64;
                if i == 0 {
                    // The window holds `need` bytes from a candidate: cannot happen unless
                    // at the end; guard against spinning anyway.
                    w.consume(1);
                    skipped += 1;
                }
            }
            (None, None) => {
                let n = if w.eof {
                    a.len()
                } else {
                    a.len().saturating_sub(15)
                };
                w.consume(n);
                skipped += n as u64;
                if w.eof {
                    return Ok(skipped);
                }
            }
        }
    }
}

fn pcapng<R: Read, F: FnMut(Item<'_>)>(w: &mut Window<R>, f: &mut F) -> Result<u64, CaptureError> {
    let mut number = 0u64;
    let mut e = Endian::Le;
    let mut ifaces: Vec<Iface> = Vec::new();
    loop {
        w.fill(12)?;
        let a = w.avail();
        if a.is_empty() {
            return Ok(number);
        }
        let at = w.offset();
        if a.len() < 12 {
            return Err(CaptureError::Truncated {
                packets: number,
                offset: at,
                end: at + a.len() as u64,
                what: "block header",
            });
        }
        let btype = e.u32(a);
        if u32::from_le_bytes([a[0], a[1], a[2], a[3]]) == SHB {
            match u32::from_le_bytes([a[8], a[9], a[10], a[11]]) {
                BYTE_ORDER_MAGIC => e = Endian::Le,
                m if m.swap_bytes() == BYTE_ORDER_MAGIC => e = Endian::Be,
                m => {
                    let reason = format!("section header with byte-order magic {m:#010x}");
                    damage_ng(w, f, e, number, at, reason)?;
                    continue;
                }
            }
        }
        let len = e.u32(&a[4..]) as usize;
        if len < 12 || !len.is_multiple_of(4) || len > MAX_BLOCK {
            let reason =
                format!("block length {len} is not a multiple of 4 between 12 and {MAX_BLOCK}");
            damage_ng(w, f, e, number, at, reason)?;
            continue;
        }
        w.fill(len)?;
        let a = w.avail();
        if a.len() < len {
            return Err(CaptureError::Truncated {
                packets: number,
                offset: at,
                end: at + a.len() as u64,
                what: "block",
            });
        }
        let len2 = e.u32(&a[len - 4..]) as usize;
        if len2 != len {
            let reason = format!(
                "block length {len} at its start but {len2} at its end (block type {btype:#x})"
            );
            damage_ng(w, f, e, number, at, reason)?;
            continue;
        }
        let parsed = match e {
            Endian::Le => parse_block_le(&a[..len]),
            Endian::Be => parse_block_be(&a[..len]),
        };
        let block = match parsed {
            Ok((_, b)) => b,
            Err(_) => {
                // Both lengths agree: the block is delimited; skip just it.
                let name = block_name(btype).unwrap_or("unknown");
                f(Item::Damage(Damage {
                    offset: at,
                    skipped: len as u64,
                    after_packet: number,
                    reason: format!(
                        "the body of this {len}-byte {name} block (type {btype:#x}) does not parse"
                    ),
                }));
                w.consume(len);
                continue;
            }
        };
        match block {
            Block::SectionHeader(_) => ifaces.clear(),
            Block::InterfaceDescription(idb) => {
                let resolution = match ts_resolution(idb.if_tsresol) {
                    Some(r) => r,
                    None => {
                        // Said, not guessed silently: its packets' times are read as µs.
                        f(Item::Damage(Damage {
                            offset: at,
                            skipped: 0,
                            after_packet: number,
                            reason: format!(
                                "interface {} has if_tsresol {:#04x}, no resolution a u64 counts in: its packets' times are read as microseconds",
                                ifaces.len(),
                                idb.if_tsresol
                            ),
                        }));
                        1_000_000
                    }
                };
                ifaces.push(Iface {
                    link: LinkType(idb.linktype.0 as u32),
                    resolution,
                    offset_s: idb.ts_offset(),
                })
            }
            Block::EnhancedPacket(epb) => {
                number += 1;
                let (link, res, off) = match ifaces.get(epb.if_id as usize) {
                    Some(i) => (i.link, i.resolution, i.offset_s),
                    None => (LinkType(u32::MAX), 1_000_000, 0),
                };
                let raw = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
                let res = res.max(1);
                let secs = ((raw / res) as i64).saturating_add(off);
                let nanos = ((raw % res) as u128 * 1_000_000_000 / res as u128) as i64;
                let n = (epb.caplen as usize).min(epb.data.len());
                f(Item::Packet(Packet {
                    number,
                    ts: secs.saturating_mul(1_000_000_000).saturating_add(nanos),
                    link,
                    data: &epb.data[..n],
                    orig_len: epb.origlen,
                }));
            }
            Block::SimplePacket(spb) => {
                number += 1;
                let link = ifaces.first().map(|i| i.link).unwrap_or(LinkType(u32::MAX));
                let n = (spb.origlen as usize).min(spb.data.len());
                f(Item::Packet(Packet {
                    number,
                    ts: 0,
                    link,
                    data: &spb.data[..n],
                    orig_len: spb.origlen,
                }));
            }
            _ => {}
        }
        w.consume(len);
    }
}

/// Reports a block that cannot be delimited and skips to the next valid block.
fn damage_ng<R: Read, F: FnMut(Item<'_>)>(
    w: &mut Window<R>,
    f: &mut F,
    e: Endian,
    number: u64,
    at: u64,
    reason: String,
) -> Result<(), CaptureError> {
    let skipped = resync_ng(w, e)?;
    f(Item::Damage(Damage {
        offset: at,
        skipped,
        after_packet: number,
        reason,
    }));
    Ok(())
}

/// A block at the front of `b` (which holds it whole, or the file ends within it): a known
/// type, a plausible length, and the same length at its end.
fn plausible_block(b: &[u8], e: Endian) -> Option<bool> {
    if b.len() < 12 {
        return None;
    }
    let le = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let (e, btype) = if le == SHB {
        match u32::from_le_bytes([b[8], b[9], b[10], b[11]]) {
            BYTE_ORDER_MAGIC => (Endian::Le, SHB),
            m if m.swap_bytes() == BYTE_ORDER_MAGIC => (Endian::Be, SHB),
            _ => return Some(false),
        }
    } else {
        (e, e.u32(b))
    };
    let len = e.u32(&b[4..]) as usize;
    if block_name(btype).is_none() || len < 12 || !len.is_multiple_of(4) || len > MAX_BLOCK {
        return Some(false);
    }
    if b.len() < len {
        return None;
    }
    Some(e.u32(&b[len - 4..]) as usize == len)
}

/// Skips to the next offset where a plausible block starts. Returns the bytes skipped (at
/// least 1).
fn resync_ng<R: Read>(w: &mut Window<R>, e: Endian) -> io::Result<u64> {
    let mut skipped = 1u64;
    w.consume(1);
    loop {
        w.fill(MAX_BLOCK + 12)?;
        let a = w.avail();
        let mut step = None;
        for i in 0..a.len() {
            match plausible_block(&a[i..], e) {
                Some(true) => {
                    w.consume(i);
                    return Ok(skipped + i as u64);
                }
                Some(false) => {}
                None if w.eof => {}
                None => {
                    step = Some(i);
                    break;
                }
            }
        }
        let n = match step {
            Some(i) => i.max(1),
            None => a.len(),
        };
        let eof = w.eof && step.is_none();
        w.consume(n);
        skipped += n as u64;
        if eof {
            return Ok(skipped);
        }
    }
}

/// Units per second of an interface's `if_tsresol` (pcapng spec, 4.2): bit 7 clear, 10 to
/// the power of the rest (at most 19 in a u64); set, 2 to the power of the rest (at most
/// 63). pcap-parser 0.17's `ts_resolution` refuses every binary resolution (it compares
/// the byte with its bit 7 still set), which read 2^-30 timestamps as microseconds.
fn ts_resolution(r: u8) -> Option<u64> {
    let e = u32::from(r & 0x7f);
    if r & 0x80 == 0 {
        (e <= 19).then(|| 10u64.pow(e))
    } else {
        (e <= 63).then(|| 1u64 << e)
    }
}
