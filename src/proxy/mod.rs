//! `rmqdump proxy`: sniffing without privileges. Clients point their namesrvAddr at the
//! proxy; it forwards bytes both ways unchanged, except that the NameServer's answers that
//! carry broker addresses (GET_ROUTEINFO_BY_TOPIC, GET_BROKER_CLUSTER_INFO,
//! GET_BROKER_MEMBER_GROUP: every `brokerAddrs` map in their JSON body) get those addresses
//! replaced by listeners the proxy opens on demand, one per broker address, so the broker
//! traffic flows through it too.
//! Frame lengths are fixed after the rewrite; nothing else changes.
//!
//! Everything that passes is handed to a tap (a bounded channel) with the connection,
//! direction and time, for decoding and for a pcap. Nothing buffers without bound:
//! - forwarding waits for each write, so a slow peer slows its sender: at most one frame
//!   per direction is held (frames are forwarded whole so that route answers can be
//!   rewritten, and a frame is at most [`FrameLimits::max_frame_length`]);
//! - the tap holds at most [`TAP_CAPACITY`] records of at most [`TAP_CHUNK`] bytes each;
//!   when whoever reads it (the printer, the pcap writer) falls behind, forwarding waits
//!   for it too, so the output stays complete and the traffic slows instead.

pub mod run;

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::remoting::command::{FrameCheck, FrameLimits, check_frame, flag};
use crate::remoting::json::{self, JValue};

/// What crossed the proxy.
#[derive(Debug)]
pub enum Tap {
    /// A connection: its id, the client, the server it was forwarded to.
    Open {
        conn: usize,
        client: SocketAddr,
        server: SocketAddr,
        ts: i64,
    },
    /// Bytes, as the receiving side got them.
    Data {
        conn: usize,
        from_client: bool,
        ts: i64,
        bytes: Vec<u8>,
    },
    Close {
        conn: usize,
        ts: i64,
    },
    /// A client connected but its upstream (the NameServer, or a broker the route answers
    /// named) could not be reached: the client's connection was closed. The proxy keeps
    /// listening; the next client connection tries again.
    Unreachable {
        upstream: String,
        namesrv: bool,
        error: String,
        ts: i64,
    },
    /// A route answer was rewritten: the original body length and the new one.
    Rewrote {
        conn: usize,
        ts: i64,
        addrs: Vec<(String, String)>,
    },
}

/// Records the tap holds before forwarding waits for its reader.
pub const TAP_CAPACITY: usize = 256;
/// The largest `Tap::Data` record: frames are tapped in pieces of at most this size, so the
/// tap holds at most `TAP_CAPACITY * TAP_CHUNK` bytes (16 MiB).
pub const TAP_CHUNK: usize = 64 * 1024;

/// The tap channel: bounded, see the module documentation.
pub fn tap_channel() -> (mpsc::Sender<Tap>, mpsc::Receiver<Tap>) {
    mpsc::channel(TAP_CAPACITY)
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Shared state: broker address → proxy listener address.
#[derive(Default)]
struct Shared {
    brokers: BTreeMap<String, SocketAddr>,
    next_conn: usize,
}

/// The proxy.
#[derive(Clone)]
pub struct Proxy {
    shared: Arc<Mutex<Shared>>,
    tap: mpsc::Sender<Tap>,
    /// The host broker listeners bind and advertise.
    host: std::net::IpAddr,
}

impl Proxy {
    pub fn new(tap: mpsc::Sender<Tap>, host: std::net::IpAddr) -> Self {
        Self {
            shared: Arc::new(Mutex::new(Shared::default())),
            tap,
            host,
        }
    }

    fn conn_id(&self) -> usize {
        let mut s = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        s.next_conn += 1;
        s.next_conn - 1
    }

    /// Serves clients on `listener`, forwarding to `upstream` (the NameServer). Runs until
    /// the listener fails.
    pub async fn serve_namesrv(self, listener: TcpListener, upstream: String) -> io::Result<()> {
        loop {
            let (client, _) = listener.accept().await?;
            let p = self.clone();
            let up = upstream.clone();
            tokio::spawn(async move {
                let _ = p.forward(client, &up, true).await;
            });
        }
    }

    /// The listener for a broker address, opened on first use. (Not async: a spawned
    /// forwarder inside an async chain that itself forwards would make the future type
    /// recursive.)
    fn broker_listener(&self, broker: &str) -> io::Result<SocketAddr> {
        if let Some(a) = self
            .shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .brokers
            .get(broker)
        {
            return Ok(*a);
        }
        let std_l = std::net::TcpListener::bind((self.host, 0))?;
        std_l.set_nonblocking(true)?;
        let l = TcpListener::from_std(std_l)?;
        let addr = l.local_addr()?;
        {
            let mut s = self.shared.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(a) = s.brokers.get(broker) {
                return Ok(*a);
            }
            s.brokers.insert(broker.to_string(), addr);
        }
        let p = self.clone();
        let up = broker.to_string();
        tokio::spawn(async move {
            while let Ok((client, _)) = l.accept().await {
                let p = p.clone();
                let up = up.clone();
                tokio::spawn(async move {
                    let _ = p.forward(client, &up, false).await;
                });
            }
        });
        Ok(addr)
    }

    /// One client connection: connect upstream, pump both ways frame by frame; closing
    /// either side closes the other.
    async fn forward(&self, client: TcpStream, upstream: &str, namesrv: bool) -> io::Result<()> {
        let server = match TcpStream::connect(upstream).await {
            Ok(s) => s,
            Err(e) => {
                let _ = self
                    .tap
                    .send(Tap::Unreachable {
                        upstream: upstream.to_string(),
                        namesrv,
                        error: e.to_string(),
                        ts: now_ns(),
                    })
                    .await;
                return Err(e);
            }
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let conn = self.conn_id();
        let _ = self
            .tap
            .send(Tap::Open {
                conn,
                client: client.peer_addr()?,
                server: server.peer_addr()?,
                ts: now_ns(),
            })
            .await;
        let (mut cr, mut cw) = client.into_split();
        let (mut sr, mut sw) = server.into_split();
        // Opaques of address-carrying requests waiting for their answer.
        let pending = Mutex::new(BTreeSet::new());
        let _ = tokio::join!(
            self.pump(&mut cr, &mut sw, conn, true, namesrv, &pending),
            self.pump(&mut sr, &mut cw, conn, false, namesrv, &pending),
        );
        let _ = self.tap.send(Tap::Close { conn, ts: now_ns() }).await;
        Ok(())
    }

    /// One direction of a connection, then the write side closed: the other end sees
    /// this end's close (or failure).
    async fn pump<R: AsyncReadExt + Unpin, W: AsyncWriteExt + Unpin>(
        &self,
        r: &mut R,
        w: &mut W,
        conn: usize,
        from_client: bool,
        namesrv: bool,
        pending: &Mutex<BTreeSet<i32>>,
    ) -> io::Result<()> {
        let res = self
            .pump_frames(r, w, conn, from_client, namesrv, pending)
            .await;
        let _ = w.shutdown().await;
        res
    }

    async fn pump_frames<R: AsyncReadExt + Unpin, W: AsyncWriteExt + Unpin>(
        &self,
        r: &mut R,
        w: &mut W,
        conn: usize,
        from_client: bool,
        namesrv: bool,
        pending: &Mutex<BTreeSet<i32>>,
    ) -> io::Result<()> {
        let limits = FrameLimits::default();
        let mut buf: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let mut passthrough = false;
        loop {
            let n = r.read(&mut chunk).await?;
            if n == 0 {
                if !buf.is_empty() {
                    self.send(w, conn, from_client, std::mem::take(&mut buf))
                        .await?;
                }
                return Ok(());
            }
            if passthrough {
                self.send(w, conn, from_client, chunk[..n].to_vec()).await?;
                continue;
            }
            buf.extend_from_slice(&chunk[..n]);
            loop {
                match check_frame(&buf, &limits) {
                    FrameCheck::Complete(len) => {
                        let frame: Vec<u8> = buf.drain(..len).collect();
                        let frame = if namesrv {
                            self.on_frame(frame, conn, from_client, pending).await
                        } else {
                            frame
                        };
                        self.send(w, conn, from_client, frame).await?;
                    }
                    FrameCheck::NeedMore(_) => break,
                    FrameCheck::Invalid(_) => {
                        // Not remoting traffic (or broken): forward everything unchanged.
                        passthrough = true;
                        self.send(w, conn, from_client, std::mem::take(&mut buf))
                            .await?;
                        break;
                    }
                }
            }
        }
    }

    async fn send<W: AsyncWriteExt + Unpin>(
        &self,
        w: &mut W,
        conn: usize,
        from_client: bool,
        bytes: Vec<u8>,
    ) -> io::Result<()> {
        w.write_all(&bytes).await?;
        let ts = now_ns();
        for piece in bytes.chunks(TAP_CHUNK) {
            let _ = self
                .tap
                .send(Tap::Data {
                    conn,
                    from_client,
                    ts,
                    bytes: piece.to_vec(),
                })
                .await;
        }
        Ok(())
    }

    /// A NameServer frame: note route requests; rewrite the broker addresses of their answers.
    async fn on_frame(
        &self,
        frame: Vec<u8>,
        conn: usize,
        from_client: bool,
        pending: &Mutex<BTreeSet<i32>>,
    ) -> Vec<u8> {
        let Ok(cmd) = crate::remoting::command::decode_frame(&frame, &FrameLimits::default())
        else {
            return frame;
        };
        let is_response = cmd.flag & flag::RESPONSE != 0;
        if from_client {
            // Answers that carry broker addresses: route, cluster info, broker member group.
            if !is_response && matches!(cmd.code, 105 | 106 | 901) {
                pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(cmd.opaque);
            }
            return frame;
        }
        if !is_response
            || !pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&cmd.opaque)
            || cmd.code != 0
        {
            return frame;
        }
        let Ok(mut route) = json::parse(&cmd.body) else {
            return frame;
        };
        let mut addrs = Vec::new();
        collect_broker_addrs(&mut route, &mut addrs);
        let mut map = Vec::new();
        for a in &addrs {
            if let Ok(l) = self.broker_listener(a) {
                map.push((a.clone(), l.to_string()));
            }
        }
        replace_broker_addrs(&mut route, &map);
        let mut body = Vec::new();
        json::write_value(&route, &mut body);
        let header_len = u32::from_be_bytes([0, frame[5], frame[6], frame[7]]) as usize;
        let mut out = Vec::with_capacity(8 + header_len + body.len());
        out.extend_from_slice(&((4 + header_len + body.len()) as u32).to_be_bytes());
        out.extend_from_slice(&frame[4..8 + header_len]);
        out.extend_from_slice(&body);
        let _ = self
            .tap
            .send(Tap::Rewrote {
                conn,
                ts: now_ns(),
                addrs: map,
            })
            .await;
        out
    }
}

/// The values of every `brokerAddrs` map (TopicRouteData.brokerDatas[].brokerAddrs).
fn collect_broker_addrs(v: &mut JValue, out: &mut Vec<String>) {
    if let JValue::Obj(m) = v {
        for (k, x) in m.iter_mut() {
            if matches!(k, JValue::Str(s) if s.value == "brokerAddrs") {
                if let JValue::Obj(addrs) = x {
                    for (_, a) in addrs {
                        if let JValue::Str(s) = a
                            && !out.contains(&s.value)
                        {
                            out.push(s.value.clone());
                        }
                    }
                }
            } else {
                collect_broker_addrs(x, out);
            }
        }
    } else if let JValue::Arr(a) = v {
        for x in a {
            collect_broker_addrs(x, out);
        }
    }
}

fn replace_broker_addrs(v: &mut JValue, map: &[(String, String)]) {
    match v {
        JValue::Obj(m) => {
            for (k, x) in m.iter_mut() {
                if matches!(k, JValue::Str(s) if s.value == "brokerAddrs") {
                    if let JValue::Obj(addrs) = x {
                        for (_, a) in addrs.iter_mut() {
                            if let JValue::Str(s) = a
                                && let Some((_, to)) = map.iter().find(|(from, _)| *from == s.value)
                            {
                                *s = json::JStr::plain(to.clone());
                            }
                        }
                    }
                } else {
                    replace_broker_addrs(x, map);
                }
            }
        }
        JValue::Arr(a) => {
            for x in a {
                replace_broker_addrs(x, map);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GET_BROKER_CLUSTER_INFO's body holds BrokerData under brokerAddrTable (fastjson's
    /// bare integer keys): the same rewrite applies.
    #[test]
    fn cluster_info_rewrite() {
        let body = br#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#;
        let mut v = json::parse(body).unwrap();
        let mut addrs = Vec::new();
        collect_broker_addrs(&mut v, &mut addrs);
        assert_eq!(addrs, vec!["127.0.0.1:10911"]);
        replace_broker_addrs(
            &mut v,
            &[("127.0.0.1:10911".into(), "127.0.0.1:5555".into())],
        );
        let mut out = Vec::new();
        json::write_value(&v, &mut out);
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains(r#"{"brokerAddrs":{0:"127.0.0.1:5555"}"#)
        );
    }

    #[test]
    fn route_rewrite_keeps_the_rest() {
        let body = br#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"b"}],"queueDatas":[{"brokerName":"b","perm":6}]}"#;
        let mut v = json::parse(body).unwrap();
        let mut addrs = Vec::new();
        collect_broker_addrs(&mut v, &mut addrs);
        assert_eq!(addrs, vec!["10.0.0.1:10911", "10.0.0.2:10911"]);
        replace_broker_addrs(
            &mut v,
            &[("10.0.0.1:10911".into(), "127.0.0.1:40001".into())],
        );
        let mut out = Vec::new();
        json::write_value(&v, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:40001",1:"10.0.0.2:10911"},"brokerName":"b"}],"queueDatas":[{"brokerName":"b","perm":6}]}"#
        );
    }
}
