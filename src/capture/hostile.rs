//! Hostile captures for limits tests and `scripts/bench-hostile.sh`: the traffic shapes that
//! grow per-connection state without bound in a naive dissector.
//!
//! Every generator writes raw Ethernet/IPv4/TCP packets to a [`PacketSink`] with valid IP
//! and TCP checksums (etherparse computes them), one packet per connection.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use etherparse::PacketBuilder;

use super::writer::{PacketSink, TcpConversation};
use crate::remoting::command::{RemotingCommand, encode_frame};

/// The broker every hostile client talks to.
pub const SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 255, 0, 1), 10911);

/// The `i`-th distinct client address: 65,000 ports per IP, IPs counted up from 10.0.0.1.
pub fn client(i: u64) -> SocketAddrV4 {
    let ip = 0x0A00_0001u32.wrapping_add((i / 65_000) as u32);
    SocketAddrV4::new(Ipv4Addr::from(ip), 1024 + (i % 65_000) as u16)
}

/// `n` connections of one packet each, seen mid-connection (no handshake): every packet
/// carries one whole SEND_MESSAGE_V2 request (`opaque` = connection number) that is never
/// answered. Packet times go up by 1 µs from `ts`.
pub fn one_packet_flows<S: PacketSink>(sink: &mut S, n: u64, ts: i64) -> io::Result<()> {
    (0..n).try_for_each(|i| one_packet_flow(sink, i, ts + i as i64 * 1000))
}

/// Connection `i` of [`one_packet_flows`]: its one packet, at `ts`.
pub fn one_packet_flow<S: PacketSink>(sink: &mut S, i: u64, ts: i64) -> io::Result<()> {
    let frame = encode_frame(&RemotingCommand {
        code: 310,
        opaque: i as i32,
        body: b"hostile".to_vec(),
        ..Default::default()
    });
    let mut c = TcpConversation::new(SocketAddr::V4(client(i)), SocketAddr::V4(SERVER));
    c.send(sink, ts, true, &frame)
}

/// A SYN flood: `n` SYNs, each from its own client address, none answered. Packet times go
/// up by 1 µs from `ts`.
pub fn syn_flood<S: PacketSink>(sink: &mut S, n: u64, ts: i64) -> io::Result<()> {
    (0..n).try_for_each(|i| syn(sink, i, ts + i as i64 * 1000))
}

/// SYN `i` of [`syn_flood`], at `ts`.
pub fn syn<S: PacketSink>(sink: &mut S, i: u64, ts: i64) -> io::Result<()> {
    let c = client(i);
    let mut buf = Vec::with_capacity(64);
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(c.ip().octets(), SERVER.ip().octets(), 64)
        .tcp(
            c.port(),
            SERVER.port(),
            0x1000_0000u32.wrapping_add(i as u32),
            65535,
        )
        .syn()
        .write(&mut buf, &[])
        .map_err(io::Error::other)?;
    sink.packet(ts, &buf)
}
