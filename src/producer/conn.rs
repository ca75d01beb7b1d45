//! The producer's connections (tokio): a connection sends a request and waits for the
//! response with the same opaque (responses to other opaques are kept for their waiter), and
//! a recorder keeps everything that crossed each connection (for `--record`, written as a
//! pcap of synthesised TCP packets).

use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::capture::writer::{PcapWriter, TcpConversation};
use crate::remoting::command::{
    FrameCheck, FrameLimits, RemotingCommand, check_frame, decode_frame, encode_frame,
};

/// The wall clock in nanoseconds since the epoch (0 before it).
pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Everything that crossed the producer's connections, with capture times.
#[derive(Debug, Default)]
pub struct Recorder {
    /// Keep the bytes (only when a capture will be written: otherwise memory would grow
    /// with every message sent).
    pub enabled: bool,
    /// (connection, from client, time ns, bytes)
    pub events: Vec<(usize, bool, i64, Vec<u8>)>,
    /// (client address, server address, connect time) per connection.
    pub conns: Vec<(SocketAddr, SocketAddr, i64)>,
}

impl Recorder {
    fn push(&mut self, conn: usize, from_client: bool, bytes: &[u8]) {
        if self.enabled {
            self.events
                .push((conn, from_client, now_ns(), bytes.to_vec()));
        }
    }

    /// Writes the traffic as a pcap of synthesised Ethernet/IPv4/TCP packets (handshake,
    /// data with correct sequence numbers, FIN) at the times it happened.
    pub fn write_pcap<W: Write>(&self, w: W) -> io::Result<()> {
        let mut pw = PcapWriter::new(w)?;
        let mut convs: Vec<TcpConversation> = self
            .conns
            .iter()
            .map(|(c, s, _)| TcpConversation::new(*c, *s))
            .collect();
        let mut order: Vec<(i64, usize, Option<usize>)> = self
            .conns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.2, i, None))
            .collect();
        order.extend(
            self.events
                .iter()
                .enumerate()
                .map(|(j, e)| (e.2, e.0, Some(j))),
        );
        order.sort_by_key(|x| (x.0, x.2.is_some()));
        let mut last = vec![0i64; convs.len()];
        for (ts, conn, ev) in order {
            match ev {
                None => convs[conn].handshake(&mut pw, ts)?,
                Some(j) => {
                    let e = &self.events[j];
                    convs[conn].send(&mut pw, ts, e.1, &e.3)?;
                }
            }
            last[conn] = last[conn].max(ts);
        }
        for (i, c) in convs.iter_mut().enumerate() {
            c.close(&mut pw, last[i])?;
        }
        pw.flush()
    }
}

/// One remoting connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    id: usize,
    pub server: SocketAddr,
}

impl Conn {
    pub async fn connect(addr: &str, rec: &mut Recorder) -> io::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("connect to {addr}: {e}")))?;
        stream.set_nodelay(true)?;
        let local = stream.local_addr()?;
        let server = stream.peer_addr()?;
        rec.conns.push((local, server, now_ns()));
        Ok(Self {
            stream,
            buf: Vec::new(),
            id: rec.conns.len() - 1,
            server,
        })
    }

    /// Sends a request and waits for the response with its opaque (requests the server
    /// sends meanwhile are recorded and skipped).
    pub async fn request(
        &mut self,
        cmd: &RemotingCommand,
        timeout: Duration,
        rec: &mut Recorder,
    ) -> io::Result<RemotingCommand> {
        self.send_only(cmd, rec).await?;
        if cmd.flag & crate::remoting::command::flag::ONEWAY != 0 {
            return Ok(RemotingCommand::default());
        }
        self.wait_response(cmd.opaque, timeout, rec).await
    }

    /// Writes a request without waiting (async and one-way sends).
    pub async fn send_only(&mut self, cmd: &RemotingCommand, rec: &mut Recorder) -> io::Result<()> {
        let bytes = encode_frame(cmd);
        rec.push(self.id, true, &bytes);
        self.stream.write_all(&bytes).await
    }

    /// The next response on this connection, whatever its opaque.
    pub async fn next_response(
        &mut self,
        timeout: Duration,
        rec: &mut Recorder,
    ) -> io::Result<RemotingCommand> {
        self.wait_response(-1, timeout, rec).await
    }

    async fn wait_response(
        &mut self,
        opaque: i32,
        timeout: Duration,
        rec: &mut Recorder,
    ) -> io::Result<RemotingCommand> {
        tokio::time::timeout(timeout, self.read_response(opaque, rec))
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no response from {} within {timeout:?}", self.server),
                )
            })?
    }

    /// Reads until a response with `opaque` (any response when `opaque` is -1).
    async fn read_response(
        &mut self,
        opaque: i32,
        rec: &mut Recorder,
    ) -> io::Result<RemotingCommand> {
        let limits = FrameLimits::default();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            while let FrameCheck::Complete(n) = check_frame(&self.buf, &limits) {
                let frame: Vec<u8> = self.buf.drain(..n).collect();
                let cmd = decode_frame(&frame, &limits)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                if cmd.flag & crate::remoting::command::flag::RESPONSE != 0
                    && (opaque == -1 || cmd.opaque == opaque)
                {
                    return Ok(cmd);
                }
            }
            if let FrameCheck::Invalid(e) = check_frame(&self.buf, &limits) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("from {}: {e}", self.server),
                ));
            }
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{} closed the connection", self.server),
                ));
            }
            rec.push(self.id, false, &chunk[..n]);
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}
