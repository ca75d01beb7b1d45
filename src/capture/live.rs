//! Live capture on Linux without libpcap: an AF_PACKET socket (SOCK_DGRAM, so every packet
//! starts at its IP header whatever the device, `any` included) with a TPACKET_V3
//! memory-mapped receive ring and a classic BPF filter, built from the ports, that the
//! kernel runs before a packet is copied to the ring.
//!
//! The only `unsafe` of the project lives here; every block says why it is sound.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::ptr;
use std::sync::atomic::{Ordering, fence};

/// Ring geometry: 64 blocks of 4 MiB (256 MiB of kernel memory at most), frames up to
/// 256 KiB so GRO/TSO super-frames on loopback fit, blocks handed over after 50 ms even
/// when not full.
const BLOCK_SIZE: u32 = 4 << 20;
const BLOCK_NR: u32 = 64;
const FRAME_SIZE: u32 = 256 << 10;
const RETIRE_TOV_MS: u32 = 50;
/// Bytes kept of each packet.
pub const SNAPLEN: u32 = 262_144;

/// A classic BPF instruction builder with forward labels.
struct Bpf {
    code: Vec<(u16, u32, Option<usize>, Option<usize>)>,
}

// Classic BPF opcodes (linux/filter.h).
const LD_B_ABS: u16 = 0x30;
const LD_H_ABS: u16 = 0x28;
const LD_H_IND: u16 = 0x48;
const LDX_B_MSH: u16 = 0xb1;
const ALU_AND_K: u16 = 0x54;
const JEQ_K: u16 = 0x15;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;

impl Bpf {
    fn op(&mut self, code: u16, k: u32) {
        self.code.push((code, k, None, None));
    }
    /// A conditional jump to labels (instruction indexes resolved later).
    fn jump(&mut self, code: u16, k: u32, jt: usize, jf: usize) {
        self.code.push((code, k, Some(jt), Some(jf)));
    }
    fn here(&self) -> usize {
        self.code.len()
    }
}

/// The filter: IPv4 or IPv6 TCP with a source or destination port in `ports` (IPv4
/// non-first fragments dropped; IPv6 without extension headers before TCP).
pub fn port_filter(ports: &[u16]) -> Vec<libc::sock_filter> {
    // Layout, with labels as placeholders patched below.
    const ACCEPT: usize = usize::MAX;
    const DROP: usize = usize::MAX - 1;
    let mut b = Bpf { code: Vec::new() };
    b.op(LD_B_ABS, 0);
    b.op(ALU_AND_K, 0xf0);
    let v4_test = b.here();
    b.jump(JEQ_K, 0x40, 0, 0); // → v4 or v6 test, patched
    let v6_test = b.here();
    b.jump(JEQ_K, 0x60, 0, DROP); // → v6, patched
    // IPv4
    let v4 = b.here();
    b.op(LD_B_ABS, 9);
    b.jump(JEQ_K, 6, b.here() + 1, DROP);
    b.op(LD_H_ABS, 6);
    b.jump(JSET_K, 0x1fff, DROP, b.here() + 1);
    b.op(LDX_B_MSH, 0);
    b.op(LD_H_IND, 0);
    for &p in ports {
        b.jump(JEQ_K, p as u32, ACCEPT, b.here() + 1);
    }
    b.op(LD_H_IND, 2);
    for &p in ports {
        b.jump(JEQ_K, p as u32, ACCEPT, b.here() + 1);
    }
    b.op(RET_K, 0);
    // IPv6
    let v6 = b.here();
    b.op(LD_B_ABS, 6);
    b.jump(JEQ_K, 6, b.here() + 1, DROP);
    b.op(LD_H_ABS, 40);
    for &p in ports {
        b.jump(JEQ_K, p as u32, ACCEPT, b.here() + 1);
    }
    b.op(LD_H_ABS, 42);
    for &p in ports {
        b.jump(JEQ_K, p as u32, ACCEPT, b.here() + 1);
    }
    let drop = b.here();
    b.op(RET_K, 0);
    let accept = b.here();
    b.op(RET_K, SNAPLEN);
    b.code[v4_test].2 = Some(v4);
    b.code[v4_test].3 = Some(v6_test);
    b.code[v6_test].2 = Some(v6);
    let resolve = |from: usize, to: usize| -> u8 {
        let to = match to {
            ACCEPT => accept,
            DROP => drop,
            t => t,
        };
        (to - from - 1) as u8
    };
    b.code
        .iter()
        .enumerate()
        .map(|(i, &(code, k, jt, jf))| libc::sock_filter {
            code,
            jt: jt.map(|t| resolve(i, t)).unwrap_or(0),
            jf: jf.map(|t| resolve(i, t)).unwrap_or(0),
            k,
        })
        .collect()
}

/// Where a packet's `sockaddr_ll` lies after its `tpacket3_hdr` (TPACKET_ALIGN, 16 bytes).
const SLL_OFFSET: usize = (std::mem::size_of::<libc::tpacket3_hdr>() + 15) & !15;

/// A live capture: the socket and its mapped ring.
pub struct Live {
    fd: libc::c_int,
    ring: *mut u8,
    ring_len: usize,
    block: usize,
    /// The loopback interface's index (0: none): AF_PACKET hands every packet sent on it
    /// twice, as outgoing and as incoming; the outgoing copy is skipped, as libpcap does
    /// (pcap-linux.c, `lo_ifindex`), so each packet is seen once, as tcpdump sees it.
    lo_ifindex: i32,
}

// SAFETY: the ring is owned by this value alone (no aliasing pointers escape); moving it to
// another thread moves that ownership.
unsafe impl Send for Live {}

fn err(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    let hint = if e.kind() == io::ErrorKind::PermissionDenied {
        " (live capture needs CAP_NET_RAW: run as root, or use `rmqdump proxy`, which needs no privileges)"
    } else {
        ""
    };
    io::Error::new(e.kind(), format!("{what}: {e}{hint}"))
}

/// `setsockopt` with `value` (its own size); `what` names the option in the error.
fn set_option<T>(
    fd: libc::c_int,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
    what: &str,
) -> io::Result<()> {
    // SAFETY: `value` is a live, initialised `T` for the whole call and its exact size is
    // passed with it; the kernel only reads (copies) it.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            value as *const T as *const libc::c_void,
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r < 0 { Err(err(what)) } else { Ok(()) }
}

impl Live {
    /// Opens interface `iface` (`any` for all) with a filter on `ports`.
    pub fn open(iface: &str, ports: &[u16]) -> io::Result<Self> {
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // Protocol 0: the socket receives nothing until `bind` below names the protocol and
        // the interface, so no packet reaches it before the filter, the ring and the
        // interface are all set (created with ETH_P_ALL it would take every interface's
        // packets at once, and `bind` would unhook and rehook it mid-capture).
        // SAFETY: plain syscall with constant arguments; the result is checked.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM, 0) };
        if fd < 0 {
            return Err(err("AF_PACKET socket"));
        }
        let mut live = Live {
            fd,
            ring: ptr::null_mut(),
            ring_len: 0,
            block: 0,
            // SAFETY: a valid C string.
            lo_ifindex: unsafe { libc::if_nametoindex(c"lo".as_ptr()) } as i32,
        };
        let filter = port_filter(ports);
        let prog = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr() as *mut libc::sock_filter,
        };
        // `prog` points to `filter`, alive for the call; the kernel copies both.
        set_option(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            &prog,
            "attach BPF filter",
        )?;
        let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
        set_option(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_VERSION,
            &version,
            "PACKET_VERSION TPACKET_V3",
        )?;
        let req = libc::tpacket_req3 {
            tp_block_size: BLOCK_SIZE,
            tp_block_nr: BLOCK_NR,
            tp_frame_size: FRAME_SIZE,
            tp_frame_nr: BLOCK_SIZE / FRAME_SIZE * BLOCK_NR,
            tp_retire_blk_tov: RETIRE_TOV_MS,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        set_option(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_RX_RING,
            &req,
            "PACKET_RX_RING",
        )?;
        let len = (BLOCK_SIZE as usize) * (BLOCK_NR as usize);
        // SAFETY: maps the ring the kernel just allocated for this socket; checked below.
        let ring = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_LOCKED,
                fd,
                0,
            )
        };
        if ring == libc::MAP_FAILED {
            return Err(err("mmap the packet ring"));
        }
        live.ring = ring as *mut u8;
        live.ring_len = len;
        let ifindex = if iface == "any" {
            0
        } else {
            let name =
                CString::new(iface).map_err(|_| io::Error::other("interface name has a NUL"))?;
            // SAFETY: `name` is a valid C string for the call.
            let i = unsafe { libc::if_nametoindex(name.as_ptr()) };
            if i == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no interface {iface:?}"),
                ));
            }
            i as i32
        };
        // SAFETY: zeroed sockaddr_ll is a valid value; the fields are set below.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = ifindex;
        // SAFETY: `sll` is a sockaddr_ll of the size given.
        let r = unsafe {
            libc::bind(
                fd,
                &sll as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(err(&format!("bind to {iface}")));
        }
        Ok(live)
    }

    fn block_ptr(&self, i: usize) -> *mut u8 {
        // SAFETY: i < BLOCK_NR, so the offset stays inside the mapping.
        unsafe { self.ring.add(i * BLOCK_SIZE as usize) }
    }

    /// Waits up to `timeout_ms` for the next block the kernel hands over, calls `f(ts_ns,
    /// ip_packet, original_len)` for each of its packets, and gives the block back.
    /// Returns the number of packets (0 on timeout).
    pub fn next_block<F: FnMut(i64, &[u8], u32)>(
        &mut self,
        timeout_ms: i32,
        mut f: F,
    ) -> io::Result<usize> {
        let block = self.block_ptr(self.block);
        // SAFETY: `block` points at a tpacket_block_desc inside the mapping; the status word
        // is shared with the kernel, so it is read volatile.
        let status_ptr = unsafe {
            ptr::addr_of_mut!(
                (*(block as *mut libc::tpacket_block_desc))
                    .hdr
                    .bh1
                    .block_status
            )
        };
        // SAFETY: as above.
        let ready = |p: *mut u32| unsafe { ptr::read_volatile(p) } & libc::TP_STATUS_USER != 0;
        if !ready(status_ptr) {
            let mut pfd = libc::pollfd {
                fd: self.fd,
                events: libc::POLLIN | libc::POLLERR,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    return Ok(0);
                }
                return Err(e);
            }
            if !ready(status_ptr) {
                return Ok(0);
            }
        }
        // The block belongs to us now: read it after the status (acquire).
        fence(Ordering::Acquire);
        // SAFETY: the kernel does not touch a block whose status has TP_STATUS_USER until we
        // hand it back, so reading it through a shared slice is race-free; it lies inside
        // the mapping.
        let data = unsafe { std::slice::from_raw_parts(block as *const u8, BLOCK_SIZE as usize) };
        let rd32 = |o: usize| -> Option<u32> {
            data.get(o..o + 4)
                .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        };
        let rd16 = |o: usize| -> Option<u16> {
            data.get(o..o + 2).map(|b| u16::from_ne_bytes([b[0], b[1]]))
        };
        // tpacket_block_desc: version u32, offset_to_priv u32, then tpacket_hdr_v1:
        // block_status u32, num_pkts u32, offset_to_first_pkt u32, blk_len u32 …
        let num = rd32(12).unwrap_or(0) as usize;
        let mut off = rd32(16).unwrap_or(0) as usize;
        let mut n = 0;
        for _ in 0..num {
            // tpacket3_hdr: next_offset, sec, nsec, snaplen, len, status (u32), mac, net (u16).
            let (Some(next), Some(sec), Some(nsec), Some(snap), Some(len), Some(net)) = (
                rd32(off),
                rd32(off + 4),
                rd32(off + 8),
                rd32(off + 12),
                rd32(off + 16),
                rd16(off + 26),
            ) else {
                break;
            };
            // The sockaddr_ll after the header (TPACKET_ALIGN(sizeof(tpacket3_hdr))):
            // sll_ifindex at 4, sll_pkttype at 10.
            let sll = off + SLL_OFFSET;
            let outgoing_on_lo = self.lo_ifindex != 0
                && rd32(sll + 4).is_some_and(|i| i as i32 == self.lo_ifindex)
                && data.get(sll + 10) == Some(&libc::PACKET_OUTGOING);
            let start = off + net as usize;
            if outgoing_on_lo {
                // Seen again as incoming.
            } else if let Some(pkt) = data.get(start..start + snap as usize) {
                f(sec as i64 * 1_000_000_000 + nsec as i64, pkt, len);
                n += 1;
            }
            if next == 0 {
                break;
            }
            off += next as usize;
        }
        fence(Ordering::Release);
        // SAFETY: hands the block back to the kernel (volatile store of the shared word).
        unsafe { ptr::write_volatile(status_ptr, libc::TP_STATUS_KERNEL) };
        self.block = (self.block + 1) % BLOCK_NR as usize;
        Ok(n)
    }

    /// The kernel's counters since the last call: packets seen and dropped.
    pub fn kernel_stats(&self) -> io::Result<(u32, u32)> {
        // SAFETY: zeroed tpacket_stats_v3 is valid; getsockopt fills it (len checked).
        let mut st: libc::tpacket_stats_v3 = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        // SAFETY: `st` and `len` are valid for writes of the sizes given.
        let r = unsafe {
            libc::getsockopt(
                self.fd,
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                &mut st as *mut _ as *mut libc::c_void,
                &mut len,
            )
        };
        if r < 0 {
            return Err(err("PACKET_STATISTICS"));
        }
        Ok((st.tp_packets, st.tp_drops))
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // SAFETY: unmaps the mapping made in `open` (if any) and closes our own descriptor,
        // once; nothing refers to the ring after this.
        unsafe {
            if !self.ring.is_null() {
                libc::munmap(self.ring as *mut libc::c_void, self.ring_len);
            }
            libc::close(self.fd);
        }
    }
}

static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Installs SIGINT and SIGTERM handlers that set a flag (and nothing else, which is
/// async-signal-safe); returns the flag.
pub fn stop_flag() -> &'static std::sync::atomic::AtomicBool {
    let h = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, h);
        libc::signal(libc::SIGTERM, h);
    }
    &STOP
}
