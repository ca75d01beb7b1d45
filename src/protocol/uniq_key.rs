//! The client message id, `UNIQ_KEY` (`MessageClientIDSetter.java` in apache/rocketmq:
//! `createUniqIDBuffer`, `setStartTime`; Go client `primitive/message.go` `CreateUniqID`):
//! IP, pid, class-loader hash, time since the producer's local month start, counter.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::msg_id::unhex;

/// A decoded client message id (`UNIQ_KEY`, `MessageClientIDSetter`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UniqKey {
    pub ip: IpAddr,
    pub pid: u16,
    /// Class-loader hash (Java), random (C++), 0 (Go).
    pub class_loader: u32,
    /// Milliseconds since the start of the producer's month (local time).
    pub month_offset_ms: u32,
    pub counter: u16,
    /// `born_timestamp - month_offset_ms` when the born time is known: the producer's
    /// local month start as a UTC instant, from which its time zone follows.
    pub month_start_ms: Option<i64>,
    /// The producer's UTC offset in minutes, when the born time is known and the month
    /// start is within ±14 h of a month's first midnight UTC (and within
    /// [`MONTH_START_SLACK_MS`] of a whole minute).
    pub utc_offset_minutes: Option<i32>,
}

/// Days since 1970-01-01 → (year, month).
fn civil_year_month(days: i64) -> (i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m)
}

/// (year, month) → days since 1970-01-01 of its first day.
fn days_from_civil(y: i64, m: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The start (00:00 UTC on the 1st) of the month holding the instant `ms`.
pub fn utc_month_start_ms(ms: i64) -> i64 {
    let (y, m) = civil_year_month(ms.div_euclid(86_400_000));
    days_from_civil(y, m) * 86_400_000
}

/// How far `born_timestamp - month_offset_ms` may lie from a whole minute and still give a
/// UTC offset. Java's key time is in milliseconds; the Go client's counts whole seconds
/// (`CreateUniqID`: `(time.Now().Unix() - startTimestamp) * 1000`) and its born timestamp is
/// taken after the key, so its month start comes out up to a second late; other clients
/// take the born timestamp a few milliseconds before or after the key.
pub const MONTH_START_SLACK_MS: i64 = 2_000;

/// The UTC offset of a producer whose local month started at the UTC instant
/// `month_start_ms`, give or take [`MONTH_START_SLACK_MS`].
pub fn utc_offset_from_month_start(month_start_ms: i64) -> Option<i32> {
    const H14: i64 = 14 * 3_600_000;
    let r = month_start_ms.rem_euclid(60_000);
    let start = if r <= MONTH_START_SLACK_MS {
        month_start_ms - r
    } else if 60_000 - r <= MONTH_START_SLACK_MS {
        month_start_ms + (60_000 - r)
    } else {
        return None;
    };
    let (y, m) = civil_year_month((start + H14).div_euclid(86_400_000));
    let first = days_from_civil(y, m) * 86_400_000;
    let off = first - start;
    (off.abs() <= H14).then_some((off / 60_000) as i32)
}

/// Decodes a UNIQ_KEY (32 hex chars for IPv4, 56 for IPv6).
pub fn decode_uniq_key(id: &str, born_timestamp: Option<i64>) -> Option<UniqKey> {
    // A bornTimestamp from the wire is used only between 1970 and 9999 (the calendar
    // arithmetic below would overflow on values near the ends of i64).
    let born = born_timestamp.filter(|t| (0..=253_402_300_799_999).contains(t));
    let b = unhex(id)?;
    let iplen = match b.len() {
        16 => 4,
        28 => 16,
        _ => return None,
    };
    let ip: IpAddr = if iplen == 4 {
        Ipv4Addr::new(b[0], b[1], b[2], b[3]).into()
    } else {
        let mut a = [0u8; 16];
        a.copy_from_slice(&b[..16]);
        Ipv6Addr::from(a).into()
    };
    let r = &b[iplen..];
    let month_offset_ms = u32::from_be_bytes([r[6], r[7], r[8], r[9]]);
    Some(UniqKey {
        ip,
        pid: u16::from_be_bytes([r[0], r[1]]),
        class_loader: u32::from_be_bytes([r[2], r[3], r[4], r[5]]),
        month_offset_ms,
        counter: u16::from_be_bytes([r[10], r[11]]),
        month_start_ms: born.map(|t| t - month_offset_ms as i64),
        utc_offset_minutes: born
            .and_then(|t| utc_offset_from_month_start(t - month_offset_ms as i64)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniq_key_with_a_born_timestamp_at_the_ends_of_i64() {
        let id = "0A000005A1B218B4AAC23A8C50000001";
        for t in [i64::MIN, i64::MIN + 1, -1, 253_402_300_800_000, i64::MAX] {
            let k = decode_uniq_key(id, Some(t)).unwrap();
            assert_eq!(
                (k.month_start_ms, k.utc_offset_minutes),
                (None, None),
                "{t}"
            );
        }
        assert!(
            decode_uniq_key(id, Some(1_700_000_000_000))
                .unwrap()
                .month_start_ms
                .is_some()
        );
    }

    #[test]
    fn uniq_key_worked_example() {
        // protocol.md 11.1: Java 4.8.0 producer, born 1624246456683.
        let k = decode_uniq_key("7F00000154A00D716361697AD16B0000", Some(1624246456683)).unwrap();
        assert_eq!(k.ip, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(k.pid, 21664);
        assert_eq!(k.class_loader, 0x0D716361);
        assert_eq!(k.month_offset_ms, 1769656683);
        assert_eq!(k.counter, 0);
        assert_eq!(k.month_start_ms, Some(1622476800000));
        // 2021-06-01T00:00+08:00: the producer ran in UTC+8.
        assert_eq!(k.utc_offset_minutes, Some(480));
        assert_eq!(utc_offset_from_month_start(1622505600000), Some(0));
        assert_eq!(
            utc_offset_from_month_start(1622505600000 + 5 * 3_600_000),
            Some(-300)
        );
        assert_eq!(
            utc_offset_from_month_start(1622505600000 + 20 * 86_400_000),
            None
        );
    }

    #[test]
    fn uniq_key_of_the_go_client_gives_its_utc_offset() {
        // captures/go/go-java-5.3.3.pcap, g01: the Go client's key time counts whole
        // seconds, so born - offset is 540 ms past the month start (2026-11-01T00:00Z).
        let k = decode_uniq_key("C00002025FE10000000098dd2dc00001", Some(1796055832540)).unwrap();
        assert_eq!(k.class_loader, 0);
        assert_eq!(k.month_offset_ms, 2_564_632_000);
        assert_eq!(k.month_start_ms, Some(1_793_491_200_540));
        assert_eq!(k.utc_offset_minutes, Some(0));
        // A Go producer in UTC+05:30, born 999 ms into the second of its key.
        let start = 1_793_491_200_000 - 330 * 60_000;
        assert_eq!(utc_offset_from_month_start(start + 999), Some(330));
        // A key a millisecond ahead of the born timestamp.
        assert_eq!(utc_offset_from_month_start(start - 1), Some(330));
        // Seconds away from any whole minute: no offset.
        assert_eq!(utc_offset_from_month_start(start + 3_000), None);
        assert_eq!(utc_offset_from_month_start(start - 30_000), None);
    }
}
