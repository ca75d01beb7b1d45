//! How capture times are shown in text output and the `-V` tree, as tcpdump offers them
//! (`-tttt` local date and time, `-tt` epoch seconds, `-ttttt` relative to the first
//! packet), plus UTC with a `Z`. JSON Lines keep their documented RFC 3339 UTC `ts`.
//!
//! The local zone is chrono's `Local`: the `TZ` environment variable when set (a zone name
//! from the system's tz database, `:path`, or a POSIX TZ string), else /etc/localtime.

use std::fmt;

use chrono::{DateTime, Local, TimeZone, Utc};

/// The time format of text lines and the tree (`--time`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum TimeFormat {
    /// Local date and time with the zone's UTC offset: `2021-06-21 11:34:16.683000 +08:00`.
    #[default]
    Local,
    /// UTC date and time, RFC 3339 with a `Z`: `2021-06-21T03:34:16.683000Z`.
    Utc,
    /// Seconds since 1970-01-01 UTC: `1624246456.683000`.
    Epoch,
    /// Seconds since the first packet of the capture: `12.004501`.
    Relative,
}

/// Formats capture times (nanoseconds since the epoch) in one [`TimeFormat`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Clock {
    pub format: TimeFormat,
    /// The first packet's time, for [`TimeFormat::Relative`] (0 when not known yet).
    pub start: i64,
}

impl Clock {
    pub fn new(format: TimeFormat) -> Self {
        Self { format, start: 0 }
    }

    /// `ts` shown in this clock's format.
    pub fn show(&self, ts: i64) -> impl fmt::Display + use<> {
        Shown { clock: *self, ts }
    }

    /// A date from a RocketMQ millisecond timestamp (bornTimestamp, storeTimestamp): local
    /// or UTC as the clock shows capture times (epoch and relative clocks show dates local).
    pub fn date_ms(&self, ms: i64) -> String {
        let Some(t) = DateTime::<Utc>::from_timestamp_millis(ms) else {
            return "out of range".into();
        };
        match self.format {
            TimeFormat::Utc => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            _ => t
                .with_timezone(&Local)
                .format("%Y-%m-%d %H:%M:%S%.3f %:z")
                .to_string(),
        }
    }
}

struct Shown {
    clock: Clock,
    ts: i64,
}

/// Six decimals (microseconds), or nine when the capture has nanoseconds.
fn frac(nanos: i64) -> (i64, usize) {
    if nanos % 1000 == 0 {
        (nanos / 1000, 6)
    } else {
        (nanos, 9)
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ts = self.ts;
        match self.clock.format {
            TimeFormat::Utc => f.write_str(&super::format_ts(ts)),
            TimeFormat::Epoch => {
                let (n, w) = frac(ts.rem_euclid(1_000_000_000));
                write!(f, "{}.{n:0w$}", ts.div_euclid(1_000_000_000))
            }
            TimeFormat::Relative => {
                let d = ts.saturating_sub(self.clock.start);
                let sign = if d < 0 { "-" } else { "" };
                let d = d.unsigned_abs();
                let (n, w) = frac((d % 1_000_000_000) as i64);
                write!(f, "{sign}{}.{n:0w$}", d / 1_000_000_000)
            }
            TimeFormat::Local => {
                let secs = ts.div_euclid(1_000_000_000);
                let nanos = ts.rem_euclid(1_000_000_000);
                match Local.timestamp_opt(secs, nanos as u32).single() {
                    Some(t) => {
                        let (n, w) = frac(nanos);
                        write!(
                            f,
                            "{}.{n:0w$} {}",
                            t.format("%Y-%m-%d %H:%M:%S"),
                            t.format("%:z")
                        )
                    }
                    // Out of chrono's range: the UTC form, which covers every i64.
                    None => f.write_str(&super::format_ts(ts)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TS: i64 = 1_624_246_456_683_000_000;

    #[test]
    fn utc_epoch_relative() {
        let c = Clock::new(TimeFormat::Utc);
        assert_eq!(c.show(TS).to_string(), "2021-06-21T03:34:16.683000Z");
        let c = Clock::new(TimeFormat::Epoch);
        assert_eq!(c.show(TS).to_string(), "1624246456.683000");
        assert_eq!(c.show(TS + 1).to_string(), "1624246456.683000001");
        assert_eq!(c.show(-1_000).to_string(), "-1.999999");
        let c = Clock {
            format: TimeFormat::Relative,
            start: TS - 12_004_501_000,
        };
        assert_eq!(c.show(TS).to_string(), "12.004501");
        assert_eq!(c.show(TS - 12_004_501_000).to_string(), "0.000000");
    }

    #[test]
    fn date_of_milliseconds() {
        let c = Clock::new(TimeFormat::Utc);
        assert_eq!(c.date_ms(1_624_246_456_683), "2021-06-21T03:34:16.683Z");
        assert_eq!(c.date_ms(i64::MAX), "out of range");
    }
}
