//! `rmqdump annotate`: a capture rewritten as pcapng with a packet comment (`opt_comment`)
//! on every packet where a RemotingCommand starts (its `read` text line without the packet
//! number, time and addresses Wireshark shows anyway: code, request/response, opaque, topic,
//! queueId, msgId, latency…) and on every packet a problem concerns, so that Wireshark shows
//! RocketMQ in its packet list and `frame.comment contains "SEND_MESSAGE_V2"` filters it.
//!
//! Two passes over the capture: the first dissects it as `read` does and keeps the comments
//! by packet number (memory: the comment text, about 100 bytes a RemotingCommand or
//! problem); the second copies every packet as an Enhanced Packet Block, its bytes, capture
//! length, original length and time unchanged (nanosecond resolution: `if_tsresol` 9), one
//! Interface Description Block per link type met. The blocks are written by pcap-parser's
//! serializer (`ToVec`, the crate that reads captures here). pcapng: IETF
//! draft-ietf-opsawg-pcapng, sections 4.1-4.3 (SHB, IDB, EPB) and 3.5 (`opt_comment`, code
//! 1, UTF-8, at most 65,535 bytes: a longer comment is cut at a character boundary and
//! ends with "…", said in the comment).
//!
//! Damaged stretches of the input are not copied (they are no packets); each is a `capture`
//! problem in the first pass, commented on the packet where it was found, and counted in
//! [`Annotated`].

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use pcap_parser::{
    EnhancedPacketBlock, InterfaceDescriptionBlock, Linktype, OptionCode, PcapNGOption,
    SectionHeaderBlock, ToVec,
};

use crate::analysis::{Event, Options, Problem};
use crate::capture::{self, CaptureError, Item, LinkType};
use crate::output::{self, OutputOptions};

/// The longest option value pcapng allows (its length is a u16).
const MAX_COMMENT: usize = u16::MAX as usize;

/// Bytes all comments held between the two passes may take (text plus about 64 bytes of
/// bookkeeping each); past it comments are counted, not kept, and the file says so.
pub const MAX_COMMENT_BYTES: usize = 64 << 20;

/// The comments of a capture's packets, from a dissection as `read` does it.
#[derive(Debug, Default)]
pub struct Comments {
    /// Packet number → its comments, in the order found.
    pub by_packet: BTreeMap<u64, Vec<String>>,
    pub frames: u64,
    pub problems: u64,
    /// Packets in the capture: comments on a packet outside 1..=packets (a problem of the
    /// whole capture) go to the section header's comment.
    pub packets: u64,
    /// Bytes the kept comments take (see [`MAX_COMMENT_BYTES`]).
    pub bytes: usize,
    /// Comments past [`MAX_COMMENT_BYTES`], not kept, and the packet of the first of them.
    pub dropped: u64,
    pub dropped_from: Option<u64>,
    /// The budget of [`Comments::bytes`] ([`MAX_COMMENT_BYTES`]).
    max_bytes: usize,
}

impl Comments {
    fn add(&mut self, packet: u64, text: String) {
        let cost = text.len() + 64;
        if self.bytes + cost > self.max_bytes {
            self.dropped += 1;
            self.dropped_from.get_or_insert(packet);
            return;
        }
        self.bytes += cost;
        self.by_packet.entry(packet).or_default().push(text);
    }

    /// A frame: its text line without packet number, time and addresses.
    fn frame(&mut self, line: &str, packet: u64) {
        self.frames += 1;
        self.add(packet, format!("rmqdump: {}", after_addresses(line)));
    }

    fn problem(&mut self, p: &Problem) {
        self.problems += 1;
        // The problem line of `read` ("packet N: kind (stream S): message") without its
        // packet number.
        let line = output::problem_line(p);
        let text = line.split_once(": ").map_or(line.as_str(), |(_, t)| t);
        self.add(p.packet, format!("rmqdump problem: {text}"));
    }
}

/// A `read` line past "N HH:MM:SS.ffffff SRC -> DST ".
fn after_addresses(line: &str) -> &str {
    match line.split_once(" -> ") {
        Some((_, rest)) => rest.split_once(' ').map_or("", |(_, r)| r),
        None => line,
    }
}

/// The first pass: every frame's line and every problem, by packet.
pub fn comments<R: Read + Send>(input: R, opts: Options) -> (Comments, Option<CaptureError>) {
    comments_within(input, opts, MAX_COMMENT_BYTES)
}

/// [`comments`] keeping at most `max_bytes` of them.
pub fn comments_within<R: Read + Send>(
    input: R,
    opts: Options,
    max_bytes: usize,
) -> (Comments, Option<CaptureError>) {
    let mut oo = OutputOptions::default();
    oo.decode.limits = opts.limits;
    let mut c = Comments {
        max_bytes,
        ..Comments::default()
    };
    // Remembers send requests' UNIQ_KEYs: a send response's line names its msgId.
    let mut sends = output::FrameWriter::new(false, false);
    let (totals, err) = crate::dissect(input, opts, |ev| match ev {
        Event::Frame(r) => {
            let d = output::decode_record(&r, &oo);
            let uniq = sends.note(&r, d.as_ref());
            c.frame(
                &output::frame_line(&r, d.as_ref(), &oo, uniq.as_deref()),
                r.packet,
            );
            for p in output::frame_problems(&r, d.as_ref()) {
                c.problem(&p);
            }
        }
        Event::Problem(p) => c.problem(&p),
    });
    c.packets = totals.packets;
    if let Some(from) = c.dropped_from {
        // On no packet: the section header's comment.
        c.by_packet.entry(0).or_default().push(format!(
            "rmqdump: {} comments from packet {from} on not written: past the {} bytes the comments may take",
            c.dropped, c.max_bytes
        ));
    }
    (c, err)
}

/// What the second pass wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Annotated {
    pub packets: u64,
    /// Packets that carry at least one comment.
    pub commented: u64,
    /// Damaged stretches of the input skipped (not packets, so not in the output).
    pub damaged: u64,
    /// Packets not copied because their link type has no pcapng form (a pcapng packet of
    /// an interface never described), and the first of them with why.
    pub skipped: u64,
    pub first_skipped: Option<(u64, String)>,
}

/// A comment as an `opt_comment` value, cut to what the option can hold.
fn comment_option(text: &str) -> PcapNGOption<'static> {
    let mut t = text;
    let cut;
    let value = if t.len() > MAX_COMMENT {
        const MORE: &str = " … (comment cut at 65,535 bytes)";
        let mut end = MAX_COMMENT - MORE.len();
        while !t.is_char_boundary(end) {
            end -= 1;
        }
        t = &t[..end];
        cut = format!("{t}{MORE}");
        cut.as_bytes().to_vec()
    } else {
        t.as_bytes().to_vec()
    };
    PcapNGOption {
        code: OptionCode::Comment,
        len: value.len() as u16,
        value: Cow::Owned(value),
    }
}

fn serialize_error(e: impl std::fmt::Debug) -> io::Error {
    io::Error::other(format!("writing a pcapng block: {e:?}"))
}

/// The second pass: the capture as pcapng with the comments.
pub fn write<R: Read + Send, W: Write>(
    input: R,
    comments: &Comments,
    mut out: W,
) -> io::Result<(Annotated, Option<CaptureError>)> {
    let mut shb = SectionHeaderBlock {
        block_type: 0,
        block_len1: 0,
        bom: 0,
        major_version: 1,
        minor_version: 0,
        section_len: -1,
        options: vec![PcapNGOption {
            code: OptionCode::ShbUserAppl,
            len: 0,
            value: Cow::Owned(
                format!("rmqdump {} annotate", env!("CARGO_PKG_VERSION")).into_bytes(),
            ),
        }],
        block_len2: 0,
    };
    if let Some(o) = shb.options.first_mut() {
        o.len = o.value.len() as u16;
    }
    // Comments on no packet of the capture (packet 0, or past the last): the section's.
    let outside = comments
        .by_packet
        .iter()
        .filter(|(n, _)| **n == 0 || **n > comments.packets);
    for (n, texts) in outside {
        for t in texts {
            shb.options
                .push(comment_option(&format!("packet {n}: {t}")));
        }
    }
    out.write_all(&shb.to_vec().map_err(serialize_error)?)?;
    let mut interfaces: Vec<LinkType> = Vec::new();
    let mut done = Annotated::default();
    let mut failed: Option<io::Error> = None;
    let res = capture::for_each_packet(input, |it| {
        if failed.is_some() {
            return;
        }
        let r = (|| -> io::Result<()> {
            let p = match it {
                Item::Packet(p) => p,
                Item::Damage(_) => {
                    done.damaged += 1;
                    return Ok(());
                }
            };
            let if_id = match interfaces.iter().position(|l| *l == p.link) {
                Some(i) => i,
                None => {
                    let Some(linktype) = i32::try_from(p.link.0)
                        .ok()
                        .filter(|l| *l <= u16::MAX as i32)
                    else {
                        // Reported (as `read` reports the packet), not copied; the others are.
                        done.skipped += 1;
                        done.first_skipped.get_or_insert_with(|| {
                            (
                                p.number,
                                format!("link type {} does not fit a pcapng interface", p.link.0),
                            )
                        });
                        return Ok(());
                    };
                    let mut idb = InterfaceDescriptionBlock {
                        block_type: 0,
                        block_len1: 0,
                        linktype: Linktype(linktype),
                        reserved: 0,
                        snaplen: 0,
                        options: Vec::new(),
                        block_len2: 0,
                        if_tsresol: 9,
                        if_tsoffset: 0,
                    };
                    out.write_all(&idb.to_vec().map_err(serialize_error)?)?;
                    interfaces.push(p.link);
                    interfaces.len() - 1
                }
            };
            let options: Vec<PcapNGOption> = comments
                .by_packet
                .get(&p.number)
                .into_iter()
                .flatten()
                .map(|c| comment_option(c))
                .collect();
            if !options.is_empty() {
                done.commented += 1;
            }
            // Nanoseconds since the epoch (a time before 1970 is written as the epoch).
            let ts = p.ts.max(0) as u64;
            let mut epb = EnhancedPacketBlock {
                block_type: 0,
                block_len1: 0,
                if_id: if_id as u32,
                ts_high: (ts >> 32) as u32,
                ts_low: ts as u32,
                caplen: p.data.len() as u32,
                origlen: p.orig_len.max(p.data.len() as u32),
                data: p.data,
                options,
                block_len2: 0,
            };
            out.write_all(&epb.to_vec().map_err(serialize_error)?)?;
            done.packets += 1;
            Ok(())
        })();
        if let Err(e) = r {
            failed = Some(e);
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    out.flush()?;
    Ok((done, res.err()))
}

/// `rmqdump annotate`: `file` rewritten to `write` (`-`: `out`) with its comments; the
/// summary line and a damaged capture reported to `diag`. Standard input is refused: the
/// capture is read twice.
pub fn run<W: Write + 'static>(
    file: &str,
    opts: Options,
    write_to: &str,
    out: W,
    diag: &mut dyn Write,
) -> std::io::Result<()> {
    use super::read::{capture_error, open};
    use std::io;
    if file == "-" {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "annotate reads the capture twice: give a file, not standard input",
        ));
    }
    if write_to != "-" {
        super::read::refuse_overwrite(write_to, &[file])?;
    }
    let (comments, err) = comments(open(file)?, opts);
    if let Some(e) = err {
        capture_error(file, e, diag)?;
    }
    if let Some(from) = comments.dropped_from {
        writeln!(
            diag,
            "rmqdump: {file}: {} comments from packet {from} on not written: past the {} MiB the comments may take",
            comments.dropped,
            MAX_COMMENT_BYTES >> 20
        )?;
    }
    let sink: Box<dyn Write> = if write_to == "-" {
        Box::new(out)
    } else {
        Box::new(
            std::fs::File::create(write_to)
                .map_err(|e| io::Error::new(e.kind(), format!("{write_to}: {e}")))?,
        )
    };
    // The first pass reported the capture's damage: the second only copies.
    let (done, _) = write(open(file)?, &comments, io::BufWriter::new(sink))?;
    writeln!(
        diag,
        "{file}: wrote {} packets to {write_to}, {} with comments ({} RemotingCommands, {} problems){}",
        done.packets,
        done.commented,
        comments.frames,
        comments.problems,
        if done.damaged > 0 {
            format!("; {} damaged stretches not copied", done.damaged)
        } else {
            String::new()
        }
    )?;
    if let Some((n, why)) = &done.first_skipped {
        writeln!(
            diag,
            "rmqdump: {file}: {} packets not copied, the first packet {n}: {why}",
            done.skipped
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past the comment budget, comments are counted, not kept, and the section header
    /// says from which packet (memory stays bounded however many packets and problems).
    #[test]
    fn comments_past_the_budget_are_counted_not_kept() {
        let f = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/captures/rust/rocketmq-rust-dev.pcap"
        );
        let all = comments(std::fs::File::open(f).unwrap(), Options::default()).0;
        assert_eq!(all.dropped, 0);
        let kept: usize = all.by_packet.values().map(Vec::len).sum();
        let small = comments_within(std::fs::File::open(f).unwrap(), Options::default(), 4096).0;
        assert!(small.bytes <= 4096, "{}", small.bytes);
        let small_kept: usize = small.by_packet.values().map(Vec::len).sum();
        // The kept ones, the dropped ones and the one note add up to all of them.
        assert_eq!(small_kept - 1 + small.dropped as usize, kept);
        assert!(small.by_packet[&0][0].contains("comments from packet"));
        assert_eq!(small.frames, all.frames);
    }

    #[test]
    fn comment_is_the_line_after_the_addresses() {
        assert_eq!(
            after_addresses(
                "    11 14:02:49.513831 127.0.0.1:48888 -> 127.0.0.1:10911 SEND_MESSAGE_V2 request opaque=2"
            ),
            "SEND_MESSAGE_V2 request opaque=2"
        );
        assert_eq!(
            after_addresses("     1 00:00:00.000000 [::1]:1 -> [::1]:9876 HEART_BEAT request"),
            "HEART_BEAT request"
        );
    }

    #[test]
    fn long_comments_are_cut_at_a_char_boundary() {
        let long = "é".repeat(40_000); // 80,000 bytes
        let o = comment_option(&long);
        assert!(o.value.len() <= MAX_COMMENT);
        assert_eq!(o.len as usize, o.value.len());
        let s = std::str::from_utf8(&o.value).expect("UTF-8");
        assert!(s.ends_with("(comment cut at 65,535 bytes)"));
        let short = comment_option("rmqdump: HEART_BEAT request");
        assert_eq!(&short.value[..], b"rmqdump: HEART_BEAT request");
    }
}
