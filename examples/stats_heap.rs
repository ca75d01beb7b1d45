//! Where the heap of one `stats` pass goes, by field of `Stats` (a counting global
//! allocator: live bytes freed when each field is dropped, and the peak of the pass).
//!
//! `cargo run --release --example stats_heap -- FILE.pcap` (docs/performance.md, "Memory").
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
struct Count;
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
unsafe impl GlobalAlloc for Count {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let n = LIVE.fetch_add(l.size() as isize, Relaxed) + l.size() as isize;
        PEAK.fetch_max(n, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}
#[global_allocator]
static A: Count = Count;
fn mib(n: isize) -> f64 {
    n as f64 / 1048576.0
}
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let r = rmqdump::stats(
        |_| std::fs::File::open(&path),
        rmqdump::analysis::Options::default(),
        None,
        1,
    )
    .unwrap();
    let mut s = r.stats;
    println!(
        "peak {:.1} MiB, live after pass {:.1} MiB",
        mib(PEAK.load(Relaxed)),
        mib(LIVE.load(Relaxed))
    );
    macro_rules! part {
        ($f:ident) => {{
            let before = LIVE.load(Relaxed);
            let n = s.$f.len();
            drop(std::mem::take(&mut s.$f));
            println!(
                "{:14} {:>9} entries {:8.1} MiB",
                stringify!($f),
                n,
                mib(before - LIVE.load(Relaxed))
            );
        }};
    }
    part!(codes);
    part!(topics);
    part!(producers);
    part!(conns);
    part!(ended_conns);
    part!(routes);
    part!(errors);
    part!(slow);
    part!(problems);
    part!(buckets);
    let before = LIVE.load(Relaxed);
    let c = std::mem::take(&mut s.consumers);
    let g = c.groups.len();
    let q = c.queues.len();
    drop(c);
    println!(
        "consumers      groups {g} queues {q} {:8.1} MiB",
        mib(before - LIVE.load(Relaxed))
    );
    let before = LIVE.load(Relaxed);
    drop(s);
    println!(
        "rest           {:8.1} MiB",
        mib(before - LIVE.load(Relaxed))
    );
}
