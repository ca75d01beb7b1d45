//! Gzip-compressed captures (RFC 1952, several members allowed, as `gzip` concatenates),
//! inflated as a stream by flate2. A damaged stream ends reading with a [`GzipDamage`]
//! saying where (compressed and uncompressed offsets) and why; every packet whose bytes
//! came out before the damage has been read.

use std::fmt;
use std::io::{self, BufRead, Read};

use flate2::bufread::GzDecoder;

use super::CaptureError;

/// Where and why a gzip stream could not be inflated further.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GzipDamage {
    /// Compressed bytes consumed when the error was found (an offset in the .gz file).
    pub compressed_offset: u64,
    /// Bytes inflated before it (an offset in the capture inside).
    pub uncompressed_offset: u64,
    pub reason: String,
}

impl fmt::Display for GzipDamage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "damaged gzip stream at compressed offset {} (uncompressed offset {}): {}",
            self.compressed_offset, self.uncompressed_offset, self.reason
        )
    }
}

impl std::error::Error for GzipDamage {}

/// Counts the compressed bytes the decoder consumes.
struct Counting<R> {
    inner: R,
    consumed: u64,
}

impl<R: BufRead> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.consumed += n as u64;
        self.inner.consume(n)
    }
}

/// A gzip stream inflated on the fly, member after member; errors carry a [`GzipDamage`].
pub struct GzipInput<R: BufRead> {
    /// The member being inflated, or the input between members.
    state: State<R>,
    out: u64,
}

enum State<R: BufRead> {
    Member(GzDecoder<Counting<R>>),
    Between(Counting<R>),
    /// The end, or an error was returned.
    Done,
}

impl<R: BufRead> GzipInput<R> {
    pub fn new(r: R) -> Self {
        Self {
            state: State::Between(Counting {
                inner: r,
                consumed: 0,
            }),
            out: 0,
        }
    }

    fn damage(&self, compressed_offset: u64, reason: String) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            GzipDamage {
                compressed_offset,
                uncompressed_offset: self.out,
                reason,
            },
        )
    }
}

impl<R: BufRead> Read for GzipInput<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match std::mem::replace(&mut self.state, State::Done) {
                State::Done => return Ok(0),
                State::Between(mut r) => {
                    let head = r.fill_buf()?;
                    if head.is_empty() {
                        return Ok(0);
                    }
                    if head[0] != 0x1f || head.get(1).is_some_and(|b| *b != 0x8b) {
                        let at = r.consumed;
                        return Err(self.damage(
                            at,
                            "trailing garbage: bytes after a complete gzip member that are not another member"
                                .into(),
                        ));
                    }
                    self.state = State::Member(GzDecoder::new(r));
                }
                State::Member(mut dec) => match dec.read(buf) {
                    Ok(0) if !buf.is_empty() => self.state = State::Between(dec.into_inner()),
                    Ok(n) => {
                        self.out += n as u64;
                        self.state = State::Member(dec);
                        return Ok(n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                        self.state = State::Member(dec);
                        return Err(e);
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        let reason = if e.kind() == io::ErrorKind::UnexpectedEof {
                            "truncated: the file ends inside the compressed data".to_string()
                        } else if msg.contains("checksum") || msg.contains("crc") {
                            "CRC-32 mismatch: the inflated bytes differ from what the gzip trailer says"
                                .to_string()
                        } else {
                            format!("corrupt compressed data ({msg})")
                        };
                        return Err(self.damage(dec.get_ref().consumed, reason));
                    }
                },
            }
        }
    }
}

/// A read error from the input: a damaged gzip stream, or an I/O error.
pub fn classify(e: io::Error, packets: u64) -> CaptureError {
    match e.get_ref().and_then(|x| x.downcast_ref::<GzipDamage>()) {
        Some(d) => CaptureError::Gzip {
            packets,
            damage: d.clone(),
        },
        None => CaptureError::Io(e),
    }
}
