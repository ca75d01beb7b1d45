//! Standard output closed by its reader (`rmqdump check ... | head -1`).
//!
//! The rule (docs: README "Exit codes"): a command without a verdict (read, stats, report,
//! live, ...) stops at once and exits 0, as ripgrep does and as a C tool killed by SIGPIPE
//! would. A command with a verdict (check, diff, verify, read --strict, produce) must not
//! lose it to the closed pipe: ripgrep, on a broken pipe, still exits with what it found
//! (1 when nothing matched). Our verdicts cover the whole input, so such a command goes on
//! with its standard output discarded ([`KeepVerdict`]) and exits with its verdict: 1 when
//! it found differences or problems, whether they were printed before the pipe closed or
//! after. Its problem lines still go to standard error.

use std::io::{self, Write};

/// A writer that, once its reader has gone (a broken pipe), discards what is written
/// instead of failing, so that the command can finish and give its verdict. Other write
/// errors (disk full, ...) still fail.
#[derive(Debug)]
pub struct KeepVerdict<W> {
    inner: W,
    closed: bool,
}

impl<W: Write> KeepVerdict<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            closed: false,
        }
    }

    /// The reader has closed the pipe (the rest of the output was discarded).
    pub fn closed(&self) -> bool {
        self.closed
    }

    fn on<T>(&mut self, r: io::Result<T>, or: T) -> io::Result<T> {
        match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(or)
            }
            r => r,
        }
    }
}

impl<W: Write> Write for KeepVerdict<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let r = self.inner.write(buf);
        self.on(r, buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let r = self.inner.flush();
        self.on(r, ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts `room` bytes, then fails as a closed pipe does (or with `kind`).
    struct Pipe {
        room: usize,
        kind: io::ErrorKind,
        got: Vec<u8>,
    }

    impl Write for Pipe {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from(self.kind));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_broken_pipe_discards_the_rest_and_is_remembered() {
        let mut w = KeepVerdict::new(Pipe {
            room: 4,
            kind: io::ErrorKind::BrokenPipe,
            got: Vec::new(),
        });
        writeln!(w, "first line").unwrap();
        writeln!(w, "second line").unwrap();
        w.flush().unwrap();
        assert!(w.closed());
        assert_eq!(w.inner.got, b"firs");
    }

    #[test]
    fn other_write_errors_still_fail() {
        let mut w = KeepVerdict::new(Pipe {
            room: 0,
            kind: io::ErrorKind::StorageFull,
            got: Vec::new(),
        });
        assert!(writeln!(w, "x").is_err());
        assert!(!w.closed());
    }
}
