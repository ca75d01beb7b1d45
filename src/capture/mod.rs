//! Capture input: pcap and pcapng files (also gzip-compressed, also from stdin), read in
//! constant memory with pcap-parser's streaming reader, and link-layer decoding down to
//! TCP segments with etherparse.
//!
//! Link types: Ethernet (with 802.1Q/QinQ), Linux cooked SLL and SLL2, BSD NULL/LOOP
//! (either byte order), raw IP, IPv4, IPv6.

pub mod hostile;
mod link;
#[cfg(target_os = "linux")]
pub mod live;
pub mod replay;
pub mod writer;

pub use link::{LinkType, TcpSegment, decode_packet};

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

use pcap_parser::pcapng::Block;
use pcap_parser::{PcapBlockOwned, PcapError};

/// A packet as read from a capture: number, time, link type and bytes.
#[derive(Debug)]
pub struct Packet<'a> {
    /// 1-based packet number, as Wireshark counts.
    pub number: u64,
    /// Nanoseconds since the Unix epoch.
    pub ts: i64,
    pub link: LinkType,
    pub data: &'a [u8],
    /// Original length on the wire (> data.len() when the capture was cut by snaplen).
    pub orig_len: u32,
}

/// Errors reading a capture file.
#[derive(Debug)]
pub enum CaptureError {
    Io(io::Error),
    /// The input is neither pcap nor pcapng (nor gzip of either).
    NotACapture,
    /// The file ends inside a block; `packets` were read before.
    Truncated {
        packets: u64,
        offset: u64,
    },
    /// A block could not be parsed.
    Corrupt {
        packets: u64,
        offset: u64,
        reason: String,
    },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Io(e) => write!(f, "read error: {e}"),
            CaptureError::NotACapture => {
                write!(f, "not a pcap or pcapng capture (unrecognised file header)")
            }
            CaptureError::Truncated { packets, offset } => write!(
                f,
                "capture truncated at byte {offset} inside the block after packet {packets}"
            ),
            CaptureError::Corrupt {
                packets,
                offset,
                reason,
            } => write!(
                f,
                "corrupt block at byte {offset} after packet {packets}: {reason}"
            ),
        }
    }
}

impl std::error::Error for CaptureError {}

impl From<io::Error> for CaptureError {
    fn from(e: io::Error) -> Self {
        CaptureError::Io(e)
    }
}

/// Opens a reader that transparently inflates gzip (sniffed by content, not by name).
pub fn open_input(path: &str) -> io::Result<Box<dyn Read + Send>> {
    let raw: Box<dyn Read + Send> = if path == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(std::fs::File::open(path)?)
    };
    let mut br = BufReader::with_capacity(1 << 16, raw);
    let head = br.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(br)))
    } else {
        Ok(Box::new(br))
    }
}

struct Iface {
    link: LinkType,
    /// Units per second of this interface's timestamps.
    resolution: u64,
    offset_s: i64,
}

/// Reads every packet of a capture, calling `f` for each. Returns the number of packets.
/// Blocks that are not packets (section headers, interface descriptions, statistics) are
/// handled internally; memory stays within the reader's buffer whatever the file size.
pub fn for_each_packet<R: Read + Send, F: FnMut(Packet<'_>)>(
    input: R,
    mut f: F,
) -> Result<u64, CaptureError> {
    let mut reader = match pcap_parser::create_reader(1 << 20, input) {
        Ok(r) => r,
        Err(PcapError::ReadError) => return Err(CaptureError::Io(io::Error::other("read failed"))),
        Err(PcapError::Eof) => return Err(CaptureError::NotACapture),
        Err(_) => return Err(CaptureError::NotACapture),
    };
    let mut number = 0u64;
    let mut consumed = 0u64;
    let mut legacy_link = LinkType(1);
    let mut legacy_nanos = false;
    let mut ifaces: Vec<Iface> = Vec::new();
    let mut big_buffer_tried = false;
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy_link = LinkType(h.network.0 as u32);
                        legacy_nanos = h.is_nanosecond_precision();
                    }
                    PcapBlockOwned::Legacy(b) => {
                        number += 1;
                        let sub = if legacy_nanos {
                            b.ts_usec as i64
                        } else {
                            b.ts_usec as i64 * 1000
                        };
                        let ts = b.ts_sec as i64 * 1_000_000_000 + sub;
                        let n = (b.caplen as usize).min(b.data.len());
                        f(Packet {
                            number,
                            ts,
                            link: legacy_link,
                            data: &b.data[..n],
                            orig_len: b.origlen,
                        });
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                        // Interface ids are per section.
                        ifaces.clear();
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        ifaces.push(Iface {
                            link: LinkType(idb.linktype.0 as u32),
                            resolution: idb.ts_resolution().unwrap_or(1_000_000),
                            offset_s: idb.ts_offset(),
                        });
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        number += 1;
                        let (link, res, off) = match ifaces.get(epb.if_id as usize) {
                            Some(i) => (i.link, i.resolution, i.offset_s),
                            None => (LinkType(u32::MAX), 1_000_000, 0),
                        };
                        let raw = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
                        let secs = ((raw / res.max(1)) as i64).saturating_add(off);
                        let frac = raw % res.max(1);
                        let nanos = (frac as u128 * 1_000_000_000 / res.max(1) as u128) as i64;
                        let n = (epb.caplen as usize).min(epb.data.len());
                        f(Packet {
                            number,
                            ts: secs.saturating_mul(1_000_000_000).saturating_add(nanos),
                            link,
                            data: &epb.data[..n],
                            orig_len: epb.origlen,
                        });
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        number += 1;
                        let link = ifaces.first().map(|i| i.link).unwrap_or(LinkType(u32::MAX));
                        let n = (spb.origlen as usize).min(spb.data.len());
                        f(Packet {
                            number,
                            ts: 0,
                            link,
                            data: &spb.data[..n],
                            orig_len: spb.origlen,
                        });
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                consumed += offset as u64;
                // No shift per block: the buffer is shifted once per refill, not every time half of
                // it was read (which copied the whole capture once more).
                reader.consume_noshift(offset);
                big_buffer_tried = false;
            }
            Err(PcapError::Eof) => return Ok(number),
            Err(PcapError::Incomplete(_)) => {
                let before = reader.data().len();
                reader.refill().map_err(|e| match e {
                    PcapError::BufferTooSmall => CaptureError::Corrupt {
                        packets: number,
                        offset: consumed,
                        reason: "block larger than the read buffer".into(),
                    },
                    _ => CaptureError::Io(io::Error::other("read failed")),
                })?;
                if reader.data().len() == before {
                    if reader.reader_exhausted() {
                        if before == 0 {
                            return Ok(number);
                        }
                        return Err(CaptureError::Truncated {
                            packets: number,
                            offset: consumed,
                        });
                    }
                    if big_buffer_tried {
                        return Err(CaptureError::Corrupt {
                            packets: number,
                            offset: consumed,
                            reason: "block larger than the 1 MiB read buffer".into(),
                        });
                    }
                    big_buffer_tried = true;
                }
            }
            Err(PcapError::UnexpectedEof) => {
                return Err(CaptureError::Truncated {
                    packets: number,
                    offset: consumed,
                });
            }
            Err(e) => {
                return Err(CaptureError::Corrupt {
                    packets: number,
                    offset: consumed,
                    reason: format!("{e:?}").chars().take(120).collect(),
                });
            }
        }
    }
}
