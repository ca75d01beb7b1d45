//! A bounds-checked big-endian reader over a body, as Java's `ByteBuffer.get*` reads
//! stored messages, batches and RegisterBrokerBody: every length is checked against what is
//! left before anything is taken, and errors name the field and the offset.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub(crate) struct Cur<'a> {
    pub b: &'a [u8],
    pub i: usize,
}

impl<'a> Cur<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Self { b, i: 0 }
    }
    pub fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self
            .i
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| {
                format!(
                    "{what}: needs {n} bytes at offset {}, {} left",
                    self.i,
                    self.b.len() - self.i
                )
            })?;
        let s = &self.b[self.i..end];
        self.i = end;
        Ok(s)
    }
    pub fn i16(&mut self, w: &str) -> Result<i16, String> {
        let s = self.take(2, w)?;
        Ok(i16::from_be_bytes([s[0], s[1]]))
    }
    pub fn i32(&mut self, w: &str) -> Result<i32, String> {
        let s = self.take(4, w)?;
        Ok(i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    pub fn i64(&mut self, w: &str) -> Result<i64, String> {
        let s = self.take(8, w)?;
        Ok(i64::from_be_bytes(s.try_into().unwrap_or([0; 8])))
    }
    pub fn len(&mut self, v: i64, w: &str) -> Result<usize, String> {
        if v < 0 {
            return Err(format!("{w}: negative length {v} at offset {}", self.i));
        }
        Ok(v as usize)
    }
    pub fn host(&mut self, v6: bool, w: &str) -> Result<SocketAddr, String> {
        let ip: IpAddr = if v6 {
            let s = self.take(16, w)?;
            let mut a = [0u8; 16];
            a.copy_from_slice(s);
            Ipv6Addr::from(a).into()
        } else {
            let s = self.take(4, w)?;
            Ipv4Addr::new(s[0], s[1], s[2], s[3]).into()
        };
        let port = self.i32(w)?;
        Ok(SocketAddr::new(ip, port as u16))
    }
    /// An i32 length, then that many bytes (`RegisterBrokerBody.decode`'s chunks).
    pub fn chunk(&mut self, w: &str) -> Result<&'a [u8], String> {
        let n = self.i32(w)?;
        let n = self.len(n as i64, w)?;
        self.take(n, w)
    }
}
