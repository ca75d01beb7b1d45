//! `read -w OUT.pcap`: the packets of the selected frames, written as they were captured.
//!
//! While frames are selected, each selected frame adds the packet range it came from
//! ([`PacketRanges::add`]: its direction, first and last packet), and a selected response
//! the range of its request (a response body is decoded by its request's code: without
//! the request, a pull response's messages could not be read back). A second reading of the
//! input ([`write_packets`]) writes every packet of such a direction within such a range
//! that carries TCP payload: the packets that carried bytes of a selected frame (a packet
//! shared with a frame that was not selected is written too: the bytes cannot be split).
//! Packets keep their original bytes, captured length, original length and timestamp
//! (nanoseconds: the file is a nanosecond pcap, magic `0xa1b23c4d`, which Wireshark and
//! tshark read). A pcap file has one link type: that of the first packet written; a packet
//! of another link type (several inputs, or a pcapng with several interfaces) is not written
//! and reported.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;

use crate::capture::merge::{Merged, for_each_merged};
use crate::capture::{CaptureError, decode_packet};

/// A direction of a connection in one file: (file, src, dst).
type Direction = (usize, SocketAddr, SocketAddr);

/// Packet ranges of the selected frames, per file and direction.
#[derive(Debug, Default)]
pub struct PacketRanges {
    ranges: HashMap<Direction, Vec<(u64, u64)>>,
    /// Frames added.
    pub frames: u64,
}

impl PacketRanges {
    /// A selected frame of file `file`, sent `src` → `dst`, from packet `first` to `last`
    /// (merged numbering). Consecutive frames sharing a packet extend one range.
    pub fn add(&mut self, file: usize, src: SocketAddr, dst: SocketAddr, first: u64, last: u64) {
        self.frames += 1;
        let v = self.ranges.entry((file, src, dst)).or_default();
        if let Some(r) = v.last_mut()
            && first >= r.0
            && first <= r.1
        {
            r.1 = r.1.max(last);
            return;
        }
        v.push((first, last.max(first)));
    }

    /// The ranges, each as (file, src, dst, first, last), for a writer that has the packets
    /// at hand (`live -w`).
    pub fn into_ranges(self) -> Vec<(usize, SocketAddr, SocketAddr, u64, u64)> {
        let mut v: Vec<_> = self
            .ranges
            .into_iter()
            .flat_map(|((f, s, d), r)| r.into_iter().map(move |(a, b)| (f, s, d, a, b)))
            .collect();
        v.sort_unstable_by_key(|r| r.3);
        v
    }

    /// Sorted, overlapping ranges joined, each direction's with a cursor (the first range
    /// not yet passed).
    fn finish(mut self) -> HashMap<Direction, (Vec<(u64, u64)>, usize)> {
        self.ranges
            .drain()
            .map(|(k, mut v)| {
                v.sort_unstable();
                let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
                for (a, b) in v {
                    match out.last_mut() {
                        Some(r) if a <= r.1 => r.1 = r.1.max(b),
                        _ => out.push((a, b)),
                    }
                }
                (k, (out, 0))
            })
            .collect()
    }
}

/// What [`write_packets`] wrote and what it could not.
#[derive(Debug, Default)]
pub struct Written {
    pub packets: u64,
    /// Packets of the selected frames not written: (merged packet number, why).
    pub skipped: Vec<(u64, String)>,
    /// Capture errors of the second reading, by file.
    pub errors: Vec<(usize, CaptureError)>,
}

/// Reads `inputs` again (merged as in the first reading) and writes the packets of
/// `ranges` to `out` as a nanosecond pcap. The input must be the same as the first reading's.
pub fn write_packets<R: Read + Send, W: Write>(
    inputs: Vec<R>,
    ranges: PacketRanges,
    out: W,
) -> io::Result<Written> {
    let mut ranges = ranges.finish();
    let mut w = NsPcapWriter::new(out);
    let mut done = Written::default();
    let mut err: Option<io::Error> = None;
    let stop = AtomicBool::new(false);
    for_each_merged(inputs, &stop, |it| match it {
        Merged::Packet { file, packet, .. } => {
            if err.is_some() {
                return;
            }
            let Ok(Some(seg)) = decode_packet(packet.link, packet.data) else {
                return;
            };
            if seg.payload.is_empty() {
                return;
            }
            let Some((v, cursor)) = ranges.get_mut(&(file, seg.src, seg.dst)) else {
                return;
            };
            let n = packet.number;
            while *cursor < v.len() && v[*cursor].1 < n {
                *cursor += 1;
            }
            if v.get(*cursor).is_none_or(|r| r.0 > n) {
                return;
            }
            match w.write(packet.link.0, packet.ts, packet.data, packet.orig_len) {
                Ok(true) => done.packets += 1,
                Ok(false) => done.skipped.push((
                    n,
                    format!(
                        "link type {} differs from the file's {} (a pcap file has one link type)",
                        packet.link.0,
                        w.linktype.unwrap_or_default()
                    ),
                )),
                Err(e) => err = Some(e),
            }
        }
        Merged::Damage { .. } => {}
        Merged::End { file, result, .. } => {
            if let Err(e) = result {
                done.errors.push((file, e));
            }
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    w.finish()?;
    Ok(done)
}

/// A pcap writer with nanosecond timestamps and the link type of its first packet.
pub struct NsPcapWriter<W: Write> {
    w: W,
    linktype: Option<u32>,
    snaplen: u32,
}

impl<W: Write> NsPcapWriter<W> {
    pub fn new(w: W) -> Self {
        Self {
            w,
            linktype: None,
            snaplen: 262_144,
        }
    }

    /// Writes one packet; false (nothing written) when its link type is not the file's.
    pub fn write(
        &mut self,
        linktype: u32,
        ts: i64,
        data: &[u8],
        orig_len: u32,
    ) -> io::Result<bool> {
        match self.linktype {
            None => {
                self.header(linktype)?;
                self.linktype = Some(linktype);
            }
            Some(l) if l != linktype => return Ok(false),
            Some(_) => {}
        }
        let secs = ts.div_euclid(1_000_000_000) as u32;
        let nanos = ts.rem_euclid(1_000_000_000) as u32;
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        self.w.write_all(&secs.to_le_bytes())?;
        self.w.write_all(&nanos.to_le_bytes())?;
        self.w.write_all(&len.to_le_bytes())?;
        self.w.write_all(&orig_len.max(len).to_le_bytes())?;
        self.w.write_all(data)?;
        Ok(true)
    }

    fn header(&mut self, linktype: u32) -> io::Result<()> {
        self.w.write_all(&0xa1b2_3c4du32.to_le_bytes())?;
        self.w.write_all(&2u16.to_le_bytes())?;
        self.w.write_all(&4u16.to_le_bytes())?;
        self.w.write_all(&0i32.to_le_bytes())?;
        self.w.write_all(&0u32.to_le_bytes())?;
        // Packets up to the reader's largest block are accepted by rmqdump; Wireshark
        // takes the snap length as a hint.
        self.w.write_all(&self.snaplen.max(262_144).to_le_bytes())?;
        self.w.write_all(&linktype.to_le_bytes())
    }

    /// Flushes; a file with no packet still gets its header (Ethernet), so it is a
    /// readable, empty capture.
    pub fn finish(mut self) -> io::Result<W> {
        if self.linktype.is_none() {
            self.header(1)?;
        }
        self.w.flush()?;
        Ok(self.w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_join_frames_that_share_packets() {
        let a: SocketAddr = "10.0.0.1:1".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:2".parse().unwrap();
        let mut r = PacketRanges::default();
        r.add(0, a, b, 5, 7);
        r.add(0, a, b, 7, 9);
        r.add(0, a, b, 12, 12);
        r.add(0, b, a, 8, 8);
        r.add(0, a, b, 2, 3);
        let f = r.finish();
        assert_eq!(f[&(0, a, b)].0, [(2, 3), (5, 9), (12, 12)]);
        assert_eq!(f[&(0, b, a)].0, [(8, 8)]);
    }

    #[test]
    fn one_link_type_per_file() {
        let mut w = NsPcapWriter::new(Vec::new());
        assert!(w.write(1, 1_500_000_000_123_456_789, b"abc", 3).unwrap());
        assert!(!w.write(113, 0, b"x", 1).unwrap());
        let out = w.finish().unwrap();
        assert_eq!(out.len(), 24 + 16 + 3);
        assert_eq!(&out[..4], &0xa1b2_3c4du32.to_le_bytes());
        assert_eq!(&out[20..24], &1u32.to_le_bytes());
        assert_eq!(&out[28..32], &123_456_789u32.to_le_bytes());
    }
}
