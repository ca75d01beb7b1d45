//! Several capture files read as one, merged by packet time as `mergecap` merges them
//! chronologically: packets are numbered 1, 2, … over the merged input (a packet's number is
//! the one `mergecap -w merged.pcap A B` gives it); equal times keep file order (the earlier
//! file on the command line first). Each file is read by its own thread in constant memory
//! (its reader's window, and at most [`QUEUE_BATCHES`] batches of [`BATCH`] packets or about
//! [`BATCH_BYTES`] waiting),
//! so the merge needs no file in memory. One file is read without threads or copies.
//!
//! Reading stops early (every reader sees the end of its input) once `stop` is set.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use super::{CaptureError, Damage, Item, LinkType, Packet, for_each_packet};

/// Packets handed from a reader thread to the merge at once (fewer when they reach
/// [`BATCH_BYTES`]).
const BATCH: usize = 256;
/// Bytes of packets past which a batch is handed on: a file of large packets holds at most
/// about `(QUEUE_BATCHES + 2) × (BATCH_BYTES + the largest packet)` in the merge.
const BATCH_BYTES: usize = 1 << 20;
/// Batches waiting per reader thread.
const QUEUE_BATCHES: usize = 4;

/// One item of the merged input.
#[derive(Debug)]
pub enum Merged<'a> {
    /// A packet of file `file`, its `number` counted over the merged input and
    /// `file_number` within its file.
    Packet {
        file: usize,
        file_number: u64,
        packet: Packet<'a>,
    },
    /// A damaged stretch of file `file` was skipped; `after_packet` is the merged number of
    /// that file's last packet before it (0: none).
    Damage {
        file: usize,
        after_packet: u64,
        damage: Damage,
    },
    /// File `file` ended (or reading it failed); `last_packet` is the merged number of its
    /// last packet (0: none). A damaged end's `packets` count is the file's own.
    End {
        file: usize,
        last_packet: u64,
        result: Result<u64, CaptureError>,
    },
}

/// A reader that reports the end of its input once `stop` is set.
pub struct Stoppable<'s, R> {
    inner: R,
    stop: &'s AtomicBool,
}

impl<'s, R> Stoppable<'s, R> {
    pub fn new(inner: R, stop: &'s AtomicBool) -> Self {
        Self { inner, stop }
    }
}

impl<R: Read> Read for Stoppable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Ok(0);
        }
        self.inner.read(buf)
    }
}

enum Owned {
    Packet {
        number: u64,
        ts: i64,
        link: LinkType,
        data: Vec<u8>,
        orig_len: u32,
    },
    Damage(Damage),
    End(Result<u64, CaptureError>),
}

/// Reads `inputs` merged by time, calling `f` for every item; stops early when `stop` is
/// set (the items after it are not delivered).
pub fn for_each_merged<R, F>(inputs: Vec<R>, stop: &AtomicBool, mut f: F)
where
    R: Read + Send,
    F: FnMut(Merged<'_>),
{
    let n = inputs.len();
    if n == 1 {
        let input = inputs.into_iter().next().map(|r| Stoppable::new(r, stop));
        let Some(input) = input else { return };
        let mut last = 0u64;
        let result = for_each_packet(input, |it| {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            match it {
                Item::Packet(p) => {
                    last = p.number;
                    f(Merged::Packet {
                        file: 0,
                        file_number: p.number,
                        packet: p,
                    })
                }
                Item::Damage(d) => f(Merged::Damage {
                    file: 0,
                    after_packet: d.after_packet,
                    damage: d,
                }),
            }
        });
        if !stop.load(Ordering::Relaxed) {
            f(Merged::End {
                file: 0,
                last_packet: last,
                result,
            });
        }
        return;
    }
    std::thread::scope(|s| {
        let mut rx = Vec::with_capacity(n);
        for input in inputs {
            let (tx, r) = mpsc::sync_channel::<Vec<Owned>>(QUEUE_BATCHES);
            rx.push(r);
            s.spawn(move || {
                let mut batch = Vec::with_capacity(BATCH);
                let mut bytes = 0usize;
                let mut gone = false;
                let result = for_each_packet(Stoppable::new(input, stop), |it| {
                    if gone {
                        return;
                    }
                    batch.push(match it {
                        Item::Packet(p) => {
                            bytes += p.data.len();
                            Owned::Packet {
                                number: p.number,
                                ts: p.ts,
                                link: p.link,
                                data: p.data.to_vec(),
                                orig_len: p.orig_len,
                            }
                        }
                        Item::Damage(d) => Owned::Damage(d),
                    });
                    if batch.len() >= BATCH || bytes >= BATCH_BYTES {
                        bytes = 0;
                        gone = tx.send(std::mem::take(&mut batch)).is_err();
                    }
                });
                batch.push(Owned::End(result));
                let _ = tx.send(batch);
            });
        }
        // Per file: its current batch (reversed, next item last) and whether it ended.
        let mut heads: Vec<Vec<Owned>> = (0..n).map(|_| Vec::new()).collect();
        let mut done = vec![false; n];
        let mut last = vec![0u64; n];
        let mut number = 0u64;
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            // Refill: a file whose batch is used up waits for its next one.
            for i in 0..n {
                if !done[i] && heads[i].is_empty() {
                    match rx[i].recv() {
                        Ok(mut b) => {
                            b.reverse();
                            heads[i] = b;
                        }
                        Err(_) => done[i] = true,
                    }
                }
            }
            // Damage and ends come out as soon as they are next in their file; then the
            // packet with the earliest time (the earlier file on a tie).
            let mut pick: Option<(usize, i64)> = None;
            for (i, h) in heads.iter().enumerate() {
                match h.last() {
                    Some(Owned::Packet { ts, .. }) if pick.is_none_or(|(_, t)| *ts < t) => {
                        pick = Some((i, *ts));
                    }
                    Some(Owned::Packet { .. }) => {}
                    Some(_) => {
                        pick = Some((i, i64::MIN));
                        break;
                    }
                    None => {}
                }
            }
            let Some((i, _)) = pick else { return };
            let Some(item) = heads[i].pop() else { return };
            match item {
                Owned::Packet {
                    number: file_number,
                    ts,
                    link,
                    data,
                    orig_len,
                } => {
                    number += 1;
                    last[i] = number;
                    f(Merged::Packet {
                        file: i,
                        file_number,
                        packet: Packet {
                            number,
                            ts,
                            link,
                            data: &data,
                            orig_len,
                        },
                    });
                }
                Owned::Damage(damage) => f(Merged::Damage {
                    file: i,
                    after_packet: last[i],
                    damage,
                }),
                Owned::End(result) => {
                    done[i] = true;
                    f(Merged::End {
                        file: i,
                        last_packet: last[i],
                        result,
                    });
                }
            }
        }
    });
}
