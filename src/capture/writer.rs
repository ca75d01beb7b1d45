//! Writing captures: a pcap file writer, and a TCP conversation synthesiser that turns the
//! bytes each side sent into Ethernet/IPv4/TCP packets with correct sequence numbers
//! (etherparse builds them), readable by Wireshark and by `rmqdump read`.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};

use etherparse::PacketBuilder;

/// A classic pcap writer (microsecond timestamps, little-endian, Ethernet).
pub struct PcapWriter<W: Write> {
    w: W,
    /// Packets written.
    pub packets: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header for Ethernet packets.
    pub fn new(w: W) -> io::Result<Self> {
        Self::with_linktype(w, 1)
    }

    /// Writes the file header for packets of pcap link type `linktype` (101 = raw IP).
    pub fn with_linktype(mut w: W, linktype: u32) -> io::Result<Self> {
        w.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
        w.write_all(&2u16.to_le_bytes())?;
        w.write_all(&4u16.to_le_bytes())?;
        w.write_all(&0i32.to_le_bytes())?;
        w.write_all(&0u32.to_le_bytes())?;
        w.write_all(&262_144u32.to_le_bytes())?;
        w.write_all(&linktype.to_le_bytes())?;
        Ok(Self { w, packets: 0 })
    }

    /// Writes one packet with a capture time in nanoseconds since the epoch.
    pub fn write_packet(&mut self, ts_ns: i64, data: &[u8]) -> io::Result<()> {
        self.write_packet_orig(ts_ns, data, data.len() as u32)
    }

    /// Writes a captured packet that was `orig_len` bytes on the wire.
    pub fn write_packet_orig(&mut self, ts_ns: i64, data: &[u8], orig_len: u32) -> io::Result<()> {
        let secs = ts_ns.div_euclid(1_000_000_000) as u32;
        let usecs = (ts_ns.rem_euclid(1_000_000_000) / 1000) as u32;
        self.w.write_all(&secs.to_le_bytes())?;
        self.w.write_all(&usecs.to_le_bytes())?;
        self.w.write_all(&(data.len() as u32).to_le_bytes())?;
        self.w
            .write_all(&orig_len.max(data.len() as u32).to_le_bytes())?;
        self.w.write_all(data)?;
        self.packets += 1;
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    pub fn into_inner(self) -> W {
        self.w
    }
}

/// Where synthesised packets go: a pcap file, a dissector, or both.
pub trait PacketSink {
    fn packet(&mut self, ts_ns: i64, data: &[u8]) -> io::Result<()>;
}

impl<W: Write> PacketSink for PcapWriter<W> {
    fn packet(&mut self, ts_ns: i64, data: &[u8]) -> io::Result<()> {
        self.write_packet(ts_ns, data)
    }
}

/// Largest TCP payload per synthesised packet (loopback-like MSS).
pub const SYNTH_MSS: usize = 32_768;

/// One TCP connection being synthesised: tracks both sides' sequence numbers.
pub struct TcpConversation {
    client: SocketAddr,
    server: SocketAddr,
    seq: [u32; 2],
    started: bool,
}

impl TcpConversation {
    pub fn new(client: SocketAddr, server: SocketAddr) -> Self {
        Self {
            client,
            server,
            seq: [0x1000_0000, 0x2000_0000],
            started: false,
        }
    }

    fn packet(
        &self,
        from_client: bool,
        seq: u32,
        ack: u32,
        flags: (bool, bool, bool),
        payload: &[u8],
    ) -> Vec<u8> {
        let (src, dst) = if from_client {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        let mac_c = [2, 0, 0, 0, 0, 1];
        let mac_s = [2, 0, 0, 0, 0, 2];
        let (ms, md) = if from_client {
            (mac_c, mac_s)
        } else {
            (mac_s, mac_c)
        };
        let eth = PacketBuilder::ethernet2(ms, md);
        let ip = match (src.ip(), dst.ip()) {
            (IpAddr::V4(a), IpAddr::V4(b)) => eth.ipv4(a.octets(), b.octets(), 64),
            (a, b) => {
                let a = match a {
                    IpAddr::V6(x) => x.octets(),
                    IpAddr::V4(x) => x.to_ipv6_mapped().octets(),
                };
                let b = match b {
                    IpAddr::V6(x) => x.octets(),
                    IpAddr::V4(x) => x.to_ipv6_mapped().octets(),
                };
                eth.ipv6(a, b, 64)
            }
        };
        let mut tcp = ip.tcp(src.port(), dst.port(), seq, 65535);
        let (syn, ack_flag, fin) = flags;
        if syn {
            tcp = tcp.syn();
        }
        if ack_flag {
            tcp = tcp.ack(ack);
        }
        if fin {
            tcp = tcp.fin();
        }
        if !payload.is_empty() {
            tcp = tcp.psh();
        }
        let mut out = Vec::with_capacity(payload.len() + 80);
        // The builder only fails on sizes beyond what an IP packet can carry; callers split
        // payloads at SYNTH_MSS.
        let _ = tcp.write(&mut out, payload);
        out
    }

    /// The three-way handshake.
    pub fn handshake<S: PacketSink>(&mut self, w: &mut S, ts: i64) -> io::Result<()> {
        let [c, s] = self.seq;
        w.packet(ts, &self.packet(true, c, 0, (true, false, false), &[]))?;
        w.packet(
            ts,
            &self.packet(false, s, c.wrapping_add(1), (true, true, false), &[]),
        )?;
        w.packet(
            ts,
            &self.packet(
                true,
                c.wrapping_add(1),
                s.wrapping_add(1),
                (false, true, false),
                &[],
            ),
        )?;
        self.seq = [c.wrapping_add(1), s.wrapping_add(1)];
        self.started = true;
        Ok(())
    }

    /// Data from one side, split into segments of at most [`SYNTH_MSS`] bytes.
    pub fn send<S: PacketSink>(
        &mut self,
        w: &mut S,
        ts: i64,
        from_client: bool,
        data: &[u8],
    ) -> io::Result<()> {
        let i = if from_client { 0 } else { 1 };
        for chunk in data.chunks(SYNTH_MSS) {
            let p = self.packet(
                from_client,
                self.seq[i],
                self.seq[1 - i],
                (false, true, false),
                chunk,
            );
            w.packet(ts, &p)?;
            self.seq[i] = self.seq[i].wrapping_add(chunk.len() as u32);
        }
        Ok(())
    }

    /// FIN from both sides.
    pub fn close<S: PacketSink>(&mut self, w: &mut S, ts: i64) -> io::Result<()> {
        let [c, s] = self.seq;
        w.packet(ts, &self.packet(true, c, s, (false, true, true), &[]))?;
        w.packet(
            ts,
            &self.packet(false, s, c.wrapping_add(1), (false, true, true), &[]),
        )?;
        w.packet(
            ts,
            &self.packet(
                true,
                c.wrapping_add(1),
                s.wrapping_add(1),
                (false, true, false),
                &[],
            ),
        )?;
        self.seq = [c.wrapping_add(1), s.wrapping_add(1)];
        Ok(())
    }
}
