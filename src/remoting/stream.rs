//! Splitting one direction of a reassembled TCP stream into frames.
//!
//! Sans-IO: [`FrameSplitter::push`] takes in-order stream bytes tagged with the packet
//! number and capture time they came from, and calls back with whole frames (borrowed, no
//! copy when a frame lies inside one chunk) and with problems. A gap resets the splitter to
//! hunting mode: it looks for the next offset where a plausible frame starts (a valid
//! length word and a header that decodes), like the Java decoder would have if it had
//! started there, and reports the bytes it skipped.
//!
//! A frame whose length word is plausible but whose serialize-type byte or header length is
//! not is still delimited by its length, as Java's `NettyDecoder` (a
//! `LengthFieldBasedFrameDecoder`) does before `RemotingCommand.decode` rejects it: it is
//! passed on as a frame (its decode fails and is reported once) and splitting goes on right
//! after it. Only an implausible length word makes the splitter hunt.
//!
//! This holds for the first frame of a connection too: a bad first frame is reported and
//! skipped (by its length, or by hunting), not taken as proof that the connection carries
//! something else. A direction is given up as not remoting only on evidence: a TLS, PROXY,
//! HTTP/2 or HTTP/1 prologue, or no frame that decodes within [`HUNT_WINDOW`] bytes while
//! nothing says the connection is RocketMQ (see [`FrameSplitter::set_peer_remoting`] and
//! [`FrameSplitter::give_up`], which the dissector calls when neither direction decoded).

use std::collections::VecDeque;

use super::command::{
    FrameCheck, FrameLimits, check_frame, decode_binary_header, decode_json_header,
};

/// A capture timestamp in nanoseconds since the Unix epoch.
pub type Ts = i64;

/// A whole frame and where it came from.
#[derive(Debug)]
pub struct FrameRef<'a> {
    pub bytes: &'a [u8],
    /// Stream offset of the first byte.
    pub offset: u64,
    /// Packet number (1-based) and time of the packet holding the first byte.
    pub packet: u64,
    pub ts: Ts,
    /// Packet holding the last byte.
    pub last_packet: u64,
}

/// Something that went wrong while splitting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitProblem {
    pub packet: u64,
    pub offset: u64,
    pub reason: String,
}

/// Events from [`FrameSplitter`].
#[derive(Debug)]
pub enum SplitEvent<'a> {
    Frame(FrameRef<'a>),
    Problem(SplitProblem),
    /// The splitter decided this direction is not RocketMQ remoting traffic.
    NotRemoting(SplitProblem),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// At a known frame boundary.
    Synced,
    /// Looking for a plausible frame start.
    Hunting,
    /// Not remoting traffic; bytes are ignored.
    Ignored,
}

/// How many bytes a splitter scans for a first frame before it gives up on a stream.
pub const HUNT_WINDOW: usize = 64 * 1024;

/// Splits one direction of a TCP stream into RemotingCommand frames.
#[derive(Debug)]
pub struct FrameSplitter {
    limits: FrameLimits,
    mode: Mode,
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    buf_offset: u64,
    /// (stream offset, packet, ts) of each chunk that contributed to `buf`.
    chunks: VecDeque<(u64, u64, Ts)>,
    /// Next stream offset expected.
    next: u64,
    /// Bytes scanned in hunting mode without a frame since the last frame.
    hunted: usize,
    /// Frames seen so far (bad ones delimited by their length included).
    pub frames: u64,
    /// Frames whose header decodes (the evidence that this direction is remoting).
    pub good: u64,
    /// The other direction carries RocketMQ frames, or the connection is on a RocketMQ
    /// port: hunting never gives the direction up.
    peer_remoting: bool,
    /// Bytes passed over after the direction was given up as not remoting (with those
    /// skipped before), and the stream offset of the first of them.
    pub ignored: u64,
    first_passed: Option<u64>,
    /// Bytes skipped while hunting.
    pub skipped: u64,
    /// The run of bytes being skipped: (start offset, packet, bytes, why it began).
    run: Option<(u64, u64, u64, String)>,
}

impl FrameSplitter {
    /// A splitter for a stream whose first byte is a frame boundary (the SYN was seen).
    pub fn new(limits: FrameLimits, at_boundary: bool) -> Self {
        Self {
            limits,
            mode: if at_boundary {
                Mode::Synced
            } else {
                Mode::Hunting
            },
            buf: Vec::new(),
            buf_offset: 0,
            chunks: VecDeque::new(),
            next: 0,
            hunted: 0,
            frames: 0,
            good: 0,
            peer_remoting: false,
            ignored: 0,
            first_passed: None,
            skipped: 0,
            run: None,
        }
    }

    pub fn is_ignored(&self) -> bool {
        self.mode == Mode::Ignored
    }

    /// Says whether the connection is known to be RocketMQ from elsewhere (the other
    /// direction decodes, or a RocketMQ port): then a direction without a frame in the
    /// first [`HUNT_WINDOW`] bytes is still hunted through, its bytes reported as skipped.
    pub fn set_peer_remoting(&mut self, yes: bool) {
        self.peer_remoting = yes;
    }

    /// Nothing in this direction decoded although something was judged (a bad frame,
    /// bytes skipped, or hunting under way): a candidate for [`Self::give_up`].
    pub fn nothing_decoded(&self) -> bool {
        self.good == 0
            && self.mode != Mode::Ignored
            && (self.frames > 0 || self.skipped > 0 || self.mode == Mode::Hunting)
    }

    /// Gives the direction up as not remoting (`reason` says why), when nothing in it
    /// decoded: the skipped bytes and the run being skipped are dropped, not reported.
    pub fn give_up<F: FnMut(SplitEvent<'_>)>(&mut self, packet: u64, reason: String, out: &mut F) {
        if self.mode == Mode::Ignored {
            return;
        }
        let (offset, packet) = self
            .run
            .take()
            .map(|r| (r.0, r.1))
            .unwrap_or((self.buf_offset, packet));
        self.mode = Mode::Ignored;
        self.ignored += self.skipped + self.buf.len() as u64;
        out(SplitEvent::NotRemoting(SplitProblem {
            packet,
            offset,
            reason,
        }));
    }

    /// Bytes held waiting for the rest of a frame.
    pub fn buffered(&self) -> usize {
        self.buf.capacity()
    }

    /// Feeds in-order bytes starting at stream offset `offset`.
    pub fn push<F: FnMut(SplitEvent<'_>)>(
        &mut self,
        offset: u64,
        data: &[u8],
        packet: u64,
        ts: Ts,
        out: &mut F,
    ) {
        if self.mode == Mode::Ignored || data.is_empty() {
            if self.mode == Mode::Ignored {
                self.ignored += data.len() as u64;
            }
            self.next = offset + data.len() as u64;
            return;
        }
        if offset != self.next && self.buf.is_empty() {
            self.next = offset;
        }
        let mut data = data;
        let mut offset = offset;
        if self.buf.is_empty() {
            // Fast path: frames straight from the caller's slice.
            let used = self.scan(data, offset, packet, ts, packet, out);
            data = &data[used..];
            offset += used as u64;
            if data.is_empty() || self.mode == Mode::Ignored {
                if self.mode == Mode::Ignored {
                    self.ignored += data.len() as u64;
                }
                self.next = offset + data.len() as u64;
                return;
            }
            self.buf_offset = offset;
        }
        self.chunks.push_back((offset, packet, ts));
        self.buf.extend_from_slice(data);
        self.next = offset + data.len() as u64;
        let buf = std::mem::take(&mut self.buf);
        let (first_packet, first_ts) = self.packet_at(self.buf_offset);
        let used = self.scan_buffered(&buf, first_packet, first_ts, packet, out);
        self.buf = buf;
        self.buf.drain(..used);
        self.buf_offset += used as u64;
        if self.mode == Mode::Ignored {
            self.ignored += self.buf.len() as u64;
            self.buf_offset += self.buf.len() as u64;
            self.buf.clear();
        }
        while self.chunks.len() > 1 && self.chunks[1].0 <= self.buf_offset {
            self.chunks.pop_front();
        }
        if self.buf.is_empty() {
            // Nothing held: give the memory back. An idle connection keeps no buffer, so
            // `--max-flows` idle connections that each once carried a large frame do not
            // keep its size each (the fast path above needs no buffer at all).
            self.chunks = VecDeque::new();
            self.buf = Vec::new();
        }
    }

    fn packet_at(&self, off: u64) -> (u64, Ts) {
        let mut r = self.chunks.front().map(|c| (c.1, c.2)).unwrap_or((0, 0));
        for c in &self.chunks {
            if c.0 <= off {
                r = (c.1, c.2);
            } else {
                break;
            }
        }
        r
    }

    fn scan_buffered<F: FnMut(SplitEvent<'_>)>(
        &mut self,
        buf: &[u8],
        _p: u64,
        _t: Ts,
        last: u64,
        out: &mut F,
    ) -> usize {
        // Frames inside the buffer may start in different packets: look each one up.
        let mut used = 0;
        loop {
            let off = self.buf_offset + used as u64;
            let (p, t) = self.packet_at(off);
            let n = self.scan_one(&buf[used..], off, p, t, last, out);
            if n == 0 {
                return used;
            }
            used += n;
            if used == buf.len() || self.mode == Mode::Ignored {
                return used;
            }
        }
    }

    /// Emits every whole frame at the front of `data`; returns the bytes consumed.
    fn scan<F: FnMut(SplitEvent<'_>)>(
        &mut self,
        data: &[u8],
        offset: u64,
        packet: u64,
        ts: Ts,
        last: u64,
        out: &mut F,
    ) -> usize {
        let mut used = 0;
        while used < data.len() && self.mode != Mode::Ignored {
            let n = self.scan_one(&data[used..], offset + used as u64, packet, ts, last, out);
            if n == 0 {
                break;
            }
            used += n;
        }
        used
    }

    /// One step: a frame, a skipped run of bytes, or 0 when more data is needed.
    fn scan_one<F: FnMut(SplitEvent<'_>)>(
        &mut self,
        data: &[u8],
        offset: u64,
        packet: u64,
        ts: Ts,
        last: u64,
        out: &mut F,
    ) -> usize {
        match self.mode {
            Mode::Ignored => {
                self.ignored += data.len() as u64;
                data.len()
            }
            Mode::Synced => match check_frame(data, &self.limits) {
                FrameCheck::Complete(n) => {
                    self.frames += 1;
                    if self.good > 0 || header_decodes(&data[..n]) {
                        self.good += 1;
                    }
                    self.hunted = 0;
                    out(SplitEvent::Frame(FrameRef {
                        bytes: &data[..n],
                        offset,
                        packet,
                        ts,
                        last_packet: last,
                    }));
                    n
                }
                FrameCheck::NeedMore(_) => 0,
                // The connection's first bytes are another protocol's prologue: not
                // remoting traffic. Any other bad first frame is one bad frame, handled
                // below like a bad frame anywhere else.
                FrameCheck::Invalid(_)
                    if self.frames == 0 && offset == 0 && prologue(data).is_some() =>
                {
                    let p = prologue(data).unwrap_or("another protocol");
                    out(SplitEvent::NotRemoting(SplitProblem {
                        packet,
                        offset,
                        reason: format!("{p} on this connection, not plaintext remoting"),
                    }));
                    self.mode = Mode::Ignored;
                    self.ignored += data.len() as u64;
                    self.first_passed.get_or_insert(offset);
                    data.len()
                }
                // The length word is plausible (only the serialize type or the header
                // length is wrong): Java's decoder (NettyDecoder, a
                // LengthFieldBasedFrameDecoder) has already delimited this frame by its
                // length before RemotingCommand.decode rejects it, so it is one bad frame,
                // passed on whole to be reported as undecodable, and the next frame starts
                // right after it.
                FrameCheck::Invalid(e) if e.offset > 0 => {
                    let total = frame_total(data);
                    if data.len() < total {
                        return 0;
                    }
                    self.frames += 1;
                    // Until a frame decodes, bad frames count towards the window after
                    // which the direction may be given up.
                    if self.good == 0 {
                        self.hunted += total;
                    } else {
                        self.hunted = 0;
                    }
                    out(SplitEvent::Frame(FrameRef {
                        bytes: &data[..total],
                        offset,
                        packet,
                        ts,
                        last_packet: last,
                    }));
                    total
                }
                FrameCheck::Invalid(e) => {
                    self.run = Some((offset, packet, 0, format!("malformed frame: {e}")));
                    self.mode = Mode::Hunting;
                    // Skip at least one byte so hunting starts past the bad word.
                    self.skip(data, offset, packet, 1, out)
                }
            },
            Mode::Hunting => match find_frame_start(data, &self.limits) {
                Hunt::At(0) => {
                    self.end_run(out);
                    self.mode = Mode::Synced;
                    self.scan_one(data, offset, packet, ts, last, out)
                }
                Hunt::At(i) => self.skip(data, offset, packet, i, out),
                Hunt::NeedMoreFrom(i) => {
                    if i > 0 {
                        self.skip(data, offset, packet, i, out)
                    } else {
                        self.hunted_check(data.len(), offset, packet, out);
                        0
                    }
                }
                Hunt::Nothing => {
                    let n = data.len();
                    self.skip(data, offset, packet, n, out)
                }
            },
        }
    }

    fn hunted_check<F: FnMut(SplitEvent<'_>)>(
        &mut self,
        pending: usize,
        offset: u64,
        packet: u64,
        out: &mut F,
    ) {
        if self.good == 0 && !self.peer_remoting && self.hunted + pending > HUNT_WINDOW {
            self.mode = Mode::Ignored;
            // The pending bytes are counted by `push` as it drops them.
            self.ignored += self.skipped;
            out(SplitEvent::NotRemoting(SplitProblem {
                packet,
                offset,
                reason: format!(
                    "no RocketMQ frame in the first {} bytes",
                    self.hunted + pending
                ),
            }));
        }
    }

    fn skip<F: FnMut(SplitEvent<'_>)>(
        &mut self,
        data: &[u8],
        offset: u64,
        packet: u64,
        n: usize,
        out: &mut F,
    ) -> usize {
        if self.frames == 0
            && self.hunted == 0
            && offset == 0
            && let Some(what) = prologue(data)
        {
            out(SplitEvent::NotRemoting(SplitProblem {
                packet,
                offset,
                reason: format!("{what} on this connection, not plaintext remoting"),
            }));
            self.mode = Mode::Ignored;
            self.ignored += data.len() as u64;
            self.first_passed.get_or_insert(offset);
            return data.len();
        }
        self.hunted += n;
        self.skipped += n as u64;
        self.first_passed.get_or_insert(offset);
        let run = self.run.get_or_insert_with(|| {
            let why = if self.frames == 0 {
                "bytes before the first frame boundary (capture started mid-connection?)"
            } else {
                "bytes that do not start a frame"
            };
            (offset, packet, 0, why.to_string())
        });
        run.2 += n as u64;
        self.hunted_check(0, offset, packet, out);
        if self.mode == Mode::Ignored {
            self.run = None;
        }
        n
    }

    /// Reports the run of skipped bytes, if any, as one problem located at its start.
    fn end_run<F: FnMut(SplitEvent<'_>)>(&mut self, out: &mut F) {
        if let Some((offset, packet, n, why)) = self.run.take() {
            out(SplitEvent::Problem(SplitProblem {
                packet,
                offset,
                reason: format!("{why}; skipped {n} bytes to resynchronise"),
            }));
        }
    }

    /// A hole in the stream (lost packets): drop the partial frame and hunt again.
    pub fn gap<F: FnMut(SplitEvent<'_>)>(&mut self, offset: u64, len: u64, out: &mut F) {
        if self.mode == Mode::Ignored {
            self.next = offset + len;
            return;
        }
        self.end_run(out);
        if !self.buf.is_empty() {
            out(SplitEvent::Problem(SplitProblem {
                packet: self.packet_at(self.buf_offset).0,
                offset: self.buf_offset,
                reason: format!(
                    "incomplete frame: {} bytes buffered when {len} stream bytes were lost",
                    self.buf.len()
                ),
            }));
            self.skipped += self.buf.len() as u64;
            self.buf.clear();
            self.chunks.clear();
        }
        self.mode = Mode::Hunting;
        self.hunted = 0;
        self.next = offset + len;
    }

    /// End of the direction, knowing whether the connection is RocketMQ (`peer_remoting`:
    /// the other direction decodes, or a RocketMQ port). A direction in which nothing
    /// decoded is given up as not remoting when nothing says the connection is RocketMQ;
    /// then [`Self::finish`]. Returns the stream bytes not checked: those skipped to
    /// resynchronise, or, for a direction given up on a RocketMQ connection, every byte
    /// passed over (reported as one problem). Bytes of a direction that carries something
    /// else on a connection that is not RocketMQ are not RocketMQ bytes: 0.
    pub fn finish_direction<F: FnMut(SplitEvent<'_>)>(
        &mut self,
        peer_remoting: bool,
        packet: u64,
        out: &mut F,
    ) -> u64 {
        if !peer_remoting && self.nothing_decoded() {
            self.give_up(
                packet,
                "no RocketMQ frame decodes in either direction of this connection".into(),
                out,
            );
        }
        self.finish(out);
        if !self.is_ignored() {
            return self.skipped;
        }
        if !peer_remoting || self.ignored == 0 {
            return 0;
        }
        out(SplitEvent::Problem(SplitProblem {
            packet,
            offset: self.first_passed.unwrap_or(0),
            reason: format!(
                "{} bytes of this direction not checked: given up as not remoting on a connection that is RocketMQ (the other direction decodes, or a RocketMQ port)",
                self.ignored
            ),
        }));
        self.ignored
    }

    /// End of stream: whatever is buffered is a truncated frame.
    pub fn finish<F: FnMut(SplitEvent<'_>)>(&mut self, out: &mut F) {
        if self.mode != Mode::Ignored {
            self.end_run(out);
        }
        if !self.buf.is_empty() && self.mode != Mode::Ignored {
            let need = match check_frame(&self.buf, &self.limits) {
                FrameCheck::NeedMore(n) => format!(" of {n}"),
                FrameCheck::Invalid(e) if e.offset > 0 => {
                    format!(" of {} (a malformed frame: {e})", frame_total(&self.buf))
                }
                _ => String::new(),
            };
            out(SplitEvent::Problem(SplitProblem {
                packet: self.packet_at(self.buf_offset).0,
                offset: self.buf_offset,
                reason: format!(
                    "truncated frame at end of stream: {}{need} bytes",
                    self.buf.len()
                ),
            }));
        }
        self.buf = Vec::new();
        self.chunks.clear();
    }
}

/// Bytes of the frame at the front of `data` by its length word alone (`length + 4`); the
/// caller has checked the word against the limits (check_frame).
fn frame_total(data: &[u8]) -> usize {
    u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize + 4
}

/// TLS handshake, HAProxy PROXY protocol, HTTP/2 preface (protocol.md section 13), or an
/// HTTP/1 request or status line.
pub fn prologue(data: &[u8]) -> Option<&'static str> {
    const HTTP1: [&[u8]; 9] = [
        b"GET ",
        b"POST ",
        b"PUT ",
        b"HEAD ",
        b"DELETE ",
        b"OPTIONS ",
        b"PATCH ",
        b"CONNECT ",
        b"HTTP/1.",
    ];
    match data {
        [0x16, 0x03, ..] => Some("TLS"),
        [b'P', b'R', b'O', b'X', b'Y', b' ', ..] => Some("PROXY protocol v1"),
        [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, ..] => Some("PROXY protocol v2"),
        [b'P', b'R', b'I', b' ', ..] => Some("HTTP/2"),
        _ if HTTP1.iter().any(|m| data.starts_with(m)) => Some("HTTP/1"),
        _ => None,
    }
}

/// Whether the header of a whole frame (checked by `check_frame`) decodes, as
/// `RemotingCommand.decode` would: the evidence that a stream is remoting traffic.
fn header_decodes(frame: &[u8]) -> bool {
    let hl = u32::from_be_bytes([0, frame[5], frame[6], frame[7]]) as usize;
    let Some(h) = frame.get(8..8 + hl) else {
        return false;
    };
    if frame[4] == 0 {
        decode_json_header(h).is_ok()
    } else {
        decode_binary_header(h).is_ok_and(|c| c.language.name().is_some())
    }
}

enum Hunt {
    At(usize),
    NeedMoreFrom(usize),
    Nothing,
}

/// Finds the first offset where a frame plausibly starts: a length word within limits, a
/// known serialize type, and a header that decodes completely.
fn find_frame_start(data: &[u8], limits: &FrameLimits) -> Hunt {
    for i in 0..data.len() {
        let d = &data[i..];
        // Every valid frame starts with 0x00 (length < 2^24).
        if d[0] != 0 {
            continue;
        }
        if d.len() < 8 {
            return Hunt::NeedMoreFrom(i);
        }
        if !matches!(
            check_frame(d, limits),
            FrameCheck::Complete(_) | FrameCheck::NeedMore(_)
        ) {
            continue;
        }
        let hl = u32::from_be_bytes([0, d[5], d[6], d[7]]) as usize;
        let json = d[4] == 0;
        if json && hl < 2 || !json && hl < 21 {
            continue;
        }
        if json && d.len() > 8 && d[8] != b'{' {
            continue;
        }
        if d.len() < 8 + hl {
            return Hunt::NeedMoreFrom(i);
        }
        let h = &d[8..8 + hl];
        let ok = if json {
            decode_json_header(h).is_ok()
        } else {
            decode_binary_header(h).is_ok_and(|c| c.language.name().is_some())
        };
        if ok {
            return Hunt::At(i);
        }
    }
    Hunt::Nothing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remoting::command::{RemotingCommand, encode_frame};

    fn frame(opaque: i32, body: usize) -> Vec<u8> {
        encode_frame(&RemotingCommand {
            code: 310,
            opaque,
            body: vec![7; body],
            ..Default::default()
        })
    }

    fn collect(
        sp: &mut FrameSplitter,
        chunks: &[(u64, Vec<u8>, u64)],
    ) -> (Vec<(u64, Vec<u8>)>, Vec<String>) {
        let mut frames = Vec::new();
        let mut probs = Vec::new();
        for (off, d, pkt) in chunks {
            sp.push(*off, d, *pkt, 0, &mut |e| match e {
                SplitEvent::Frame(f) => frames.push((f.packet, f.bytes.to_vec())),
                SplitEvent::Problem(p) | SplitEvent::NotRemoting(p) => probs.push(p.reason),
            });
        }
        (frames, probs)
    }

    #[test]
    fn split_across_and_within_chunks() {
        let mut all = frame(1, 10);
        all.extend(frame(2, 5000));
        all.extend(frame(3, 0));
        let mut sp = FrameSplitter::new(FrameLimits::default(), true);
        let chunks: Vec<_> = all
            .chunks(7)
            .enumerate()
            .map(|(i, c)| ((i * 7) as u64, c.to_vec(), i as u64 + 1))
            .collect();
        let (frames, probs) = collect(&mut sp, &chunks);
        assert!(probs.is_empty(), "{probs:?}");
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0].0, 1);
        assert_eq!(
            frames.iter().flat_map(|f| f.1.clone()).collect::<Vec<_>>(),
            all
        );
    }

    #[test]
    fn an_emptied_buffer_is_given_back() {
        // A frame of 100 KiB in 1,400-byte segments: buffered while it comes, nothing held
        // once it is out (an idle connection must not keep its last frame's size).
        let f = frame(1, 100 << 10);
        let mut sp = FrameSplitter::new(FrameLimits::default(), true);
        let chunks: Vec<_> = f
            .chunks(1400)
            .enumerate()
            .map(|(i, c)| ((i * 1400) as u64, c.to_vec(), i as u64 + 1))
            .collect();
        let (frames, _) = collect(&mut sp, &chunks[..chunks.len() - 1]);
        assert!(frames.is_empty());
        assert!(sp.buffered() >= f.len() - 1400);
        let (frames, probs) = collect(&mut sp, &chunks[chunks.len() - 1..]);
        assert!(probs.is_empty(), "{probs:?}");
        assert_eq!(frames.len(), 1);
        assert_eq!(sp.buffered(), 0);
        assert_eq!(sp.chunks.capacity(), 0);
    }

    #[test]
    fn mid_stream_start_resyncs() {
        let f1 = frame(1, 100);
        let f2 = frame(2, 3);
        let mut data = f1[37..].to_vec();
        let start = data.len();
        data.extend(&f2);
        let mut sp = FrameSplitter::new(FrameLimits::default(), false);
        let (frames, probs) = collect(&mut sp, &[(0, data, 1)]);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].1, f2);
        assert_eq!(sp.skipped, start as u64);
        assert_eq!(probs.len(), 1);
    }

    #[test]
    fn non_remoting_is_ignored_after_window() {
        let mut sp = FrameSplitter::new(FrameLimits::default(), false);
        let junk = vec![b'x'; HUNT_WINDOW + 10];
        let (frames, probs) = collect(&mut sp, &[(0, junk, 1)]);
        assert!(frames.is_empty());
        assert!(sp.is_ignored());
        assert!(probs.iter().any(|p| p.contains("no RocketMQ frame")));
    }

    #[test]
    fn window_does_not_give_up_a_direction_known_to_be_remoting() {
        let mut junk = vec![b'x'; HUNT_WINDOW + 10];
        junk.extend(frame(9, 3));
        let mut sp = FrameSplitter::new(FrameLimits::default(), true);
        sp.set_peer_remoting(true);
        let (frames, probs) = collect(&mut sp, &[(0, junk.clone(), 1)]);
        assert_eq!(frames.len(), 1);
        assert!(!sp.is_ignored());
        assert_eq!(sp.skipped, HUNT_WINDOW as u64 + 10);
        assert_eq!(probs.len(), 1, "{probs:?}");
        assert!(probs[0].starts_with("malformed frame"), "{probs:?}");
        // Without that knowledge the window gives it up, and counts what it passed over.
        let mut sp = FrameSplitter::new(FrameLimits::default(), true);
        let (frames, _) = collect(&mut sp, &[(0, junk.clone(), 1)]);
        assert!(frames.is_empty());
        assert!(sp.is_ignored());
        assert_eq!(sp.ignored, junk.len() as u64);
    }

    #[test]
    fn http1_is_recognised() {
        let mut sp = FrameSplitter::new(FrameLimits::default(), true);
        let (_, probs) = collect(&mut sp, &[(0, b"POST /x HTTP/1.1\r\n".to_vec(), 1)]);
        assert!(sp.is_ignored());
        assert!(probs[0].contains("HTTP/1"), "{probs:?}");
    }

    #[test]
    fn tls_is_recognised() {
        let mut sp = FrameSplitter::new(FrameLimits::default(), true);
        let (_, probs) = collect(&mut sp, &[(0, vec![0x16, 3, 1, 0, 5, 1, 2, 3, 4], 1)]);
        assert!(probs[0].contains("TLS"));
    }
}
