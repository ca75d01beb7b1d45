//! Capture input: pcap and pcapng files (also gzip-compressed, also from stdin), read in
//! constant memory block by block (`reader`: framing, limits and recovery from damage;
//! pcap-parser parses pcapng block bodies), and link-layer decoding down to TCP segments
//! with etherparse.
//!
//! Link types: Ethernet (with 802.1Q/QinQ), Linux cooked SLL and SLL2, BSD NULL/LOOP
//! (either byte order), raw IP, IPv4, IPv6.

mod gzip;
pub mod hostile;
mod link;
#[cfg(target_os = "linux")]
pub mod live;
pub mod merge;
mod reader;
pub mod replay;
pub mod writer;

pub use gzip::GzipDamage;
pub use link::{LinkType, TcpSegment, decode_packet, ipv4_tcp_ends};
pub use reader::{Damage, Item, MAX_BLOCK};

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

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
    /// The file ends at byte `end`, inside the `what` (a block, a record, the file header)
    /// that starts at byte `offset`; `packets` were read before.
    Truncated {
        packets: u64,
        offset: u64,
        end: u64,
        what: &'static str,
    },
    /// A block could not be parsed.
    Corrupt {
        packets: u64,
        offset: u64,
        reason: String,
    },
    /// The gzip stream around the capture is damaged; `packets` were read before.
    Gzip {
        packets: u64,
        damage: GzipDamage,
    },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Io(e) => write!(f, "read error: {e}"),
            CaptureError::NotACapture => {
                write!(f, "not a pcap or pcapng capture (unrecognised file header)")
            }
            CaptureError::Truncated {
                packets,
                offset,
                end,
                what,
            } => write!(
                f,
                "capture truncated: the file ends at byte {end}, {} bytes into the {what} that starts at byte {offset} (after packet {packets})",
                end - offset
            ),
            CaptureError::Corrupt {
                packets,
                offset,
                reason,
            } => write!(
                f,
                "corrupt block at byte {offset} after packet {packets}: {reason}"
            ),
            CaptureError::Gzip { packets, damage } => {
                write!(f, "{damage}; {packets} packets were read before it")
            }
        }
    }
}

impl std::error::Error for CaptureError {}

impl CaptureError {
    /// A damaged or truncated end of a capture file (everything before it was read): a
    /// located `capture` problem, not an error that stops the command. None for "not a
    /// capture", a gzip stream damaged before its first inflated byte, and I/O errors.
    pub fn damaged_end(&self) -> Option<u64> {
        match self {
            // Nothing came out of the gzip stream: no capture was ever seen, so this is
            // "not a capture", an error (exit 2), as random bytes are.
            CaptureError::Gzip { damage, .. } if damage.uncompressed_offset == 0 => None,
            CaptureError::Truncated { packets, .. }
            | CaptureError::Corrupt { packets, .. }
            | CaptureError::Gzip { packets, .. } => Some(*packets),
            CaptureError::NotACapture | CaptureError::Io(_) => None,
        }
    }
}

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
        Ok(Box::new(gzip::GzipInput::new(br)))
    } else {
        Ok(Box::new(br))
    }
}

/// Reads every packet of a capture, calling `f` for each packet and for each damaged
/// stretch of the file that was skipped ([`Damage`]); returns the number of packets, or the
/// error that ended reading (everything before it was handed on). Memory stays within a
/// window of the file (1 MiB, up to 32 MiB while recovering from damage), whatever its size.
pub fn for_each_packet<R: Read + Send, F: FnMut(Item<'_>)>(
    input: R,
    mut f: F,
) -> Result<u64, CaptureError> {
    let mut packets = 0u64;
    reader::read_capture(input, |it| {
        packets += matches!(it, Item::Packet(_)) as u64;
        f(it)
    })
    .map_err(|e| match e {
        CaptureError::Io(io) => gzip::classify(io, packets),
        other => other,
    })
}
