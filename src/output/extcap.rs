//! `rmqdump extcap`: Wireshark's extcap interface (doc/extcap.adoc of Wireshark, "Extcap:
//! Developer Guide"), so that Wireshark's capture dialog starts `rmqdump proxy` or
//! `rmqdump live` as an interface and reads the pcap they write to its fifo.
//!
//! Wireshark runs an executable of its extcap folder (scripts/extcap/rmqdump-extcap, which
//! runs `rmqdump extcap "$@"`) with:
//!
//! ```text
//! --extcap-interfaces [--extcap-version=X]       the interfaces (and the extcap's version)
//! --extcap-interface I --extcap-dlts             the link types of interface I
//! --extcap-interface I --extcap-config           its options (one `arg` line each)
//! --capture --extcap-interface I --fifo F [options] [--extcap-capture-filter X]
//!                                                capture into the fifo until Wireshark stops it (SIGTERM)
//! ```
//!
//! This module gives the text of the first three and, for a capture, the `rmqdump` command
//! line that does it (`proxy … -w FIFO` or `live … -w FIFO`), which the binary runs.

/// An extcap interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interface {
    /// `rmqdump proxy`: clients use it as their NameServer; no privileges needed.
    Proxy,
    /// `rmqdump live`: an AF_PACKET capture of the RocketMQ ports (CAP_NET_RAW).
    Live,
}

impl Interface {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "rmqdump-proxy" => Some(Self::Proxy),
            "rmqdump-live" => Some(Self::Live),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Proxy => "rmqdump-proxy",
            Self::Live => "rmqdump-live",
        }
    }
}

/// The answer to `--extcap-interfaces`: the proxy, and the live capture (`live -w` writes
/// the file header at once and flushes after each block of selected frames, so Wireshark
/// sees packets as they come).
pub fn interfaces() -> String {
    format!(
        "extcap {{version={}}}\n\
         interface {{value=rmqdump-proxy}}{{display=RocketMQ proxy (rmqdump, no privileges)}}\n\
         interface {{value=rmqdump-live}}{{display=RocketMQ live capture (rmqdump, CAP_NET_RAW)}}\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// The answer to `--extcap-capture-filter F --extcap-interface I` without `--capture`:
/// Wireshark's capture dialog asks whether F is a valid capture filter of I (extcap.c,
/// `extcap_verify_capture_filter`: nothing on standard output is valid, else the first
/// line is the error shown). `rmqdump-live` takes an rmqdump display filter
/// (docs/display-filter.md, as `-Y`); `rmqdump-proxy` takes none.
pub fn verify_capture_filter(i: Interface, filter: &str) -> Option<String> {
    if filter.trim().is_empty() {
        return None;
    }
    match i {
        Interface::Proxy => {
            Some("rmqdump-proxy takes no capture filter: it records what passes through it".into())
        }
        Interface::Live => super::display_filter::DisplayFilter::parse(filter)
            .err()
            .map(|e| {
                // The first line says the column and what was expected (the next ones
                // draw a caret under it, which Wireshark's one-line message cannot show).
                let e = e.to_string();
                let first = e.lines().next().unwrap_or("");
                first.strip_prefix("-Y: ").unwrap_or(first).to_string()
            }),
    }
}

/// The answer to `--extcap-dlts`: the link type of the pcap each writes (proxy: Ethernet,
/// synthesised TCP packets; live: raw IP, LINKTYPE_RAW 101).
pub fn dlts(i: Interface) -> String {
    match i {
        Interface::Proxy => "dlt {number=1}{name=EN10MB}{display=Ethernet}\n".into(),
        Interface::Live => "dlt {number=101}{name=RAW}{display=Raw IP}\n".into(),
    }
}

/// The answer to `--extcap-config`: the options Wireshark's dialog shows.
pub fn config(i: Interface) -> String {
    match i {
        Interface::Proxy => "arg {number=0}{call=--listen}{display=Listen on (clients' namesrvAddr)}{type=string}{default=127.0.0.1:19876}{tooltip=ip:port the proxy listens on}\n\
             arg {number=1}{call=--namesrv}{display=Real NameServer}{type=string}{default=127.0.0.1:9876}{tooltip=ip:port of the NameServer}\n"
            .into(),
        Interface::Live => "arg {number=0}{call=--live-interface}{display=Network interface}{type=string}{default=lo}{tooltip=lo, eth0, any}\n\
             arg {number=1}{call=--ports}{display=TCP ports}{type=string}{default=9876,10909,10911,10912}{tooltip=comma-separated}\n"
            .into(),
    }
}

/// The options of a capture, as Wireshark passes them.
#[derive(Clone, Debug, Default)]
pub struct CaptureOptions {
    pub listen: Option<String>,
    pub namesrv: Option<String>,
    pub live_interface: Option<String>,
    pub ports: Option<String>,
    /// Wireshark's capture filter (`--extcap-capture-filter`): `live -Y`.
    pub filter: Option<String>,
}

/// The `rmqdump` arguments (after the program name) that capture interface `i` into `fifo`.
pub fn capture_args(i: Interface, fifo: &str, o: &CaptureOptions) -> Result<Vec<String>, String> {
    if let Some(f) = &o.filter
        && let Some(e) = verify_capture_filter(i, f)
    {
        return Err(format!("capture filter {f:?}: {e}"));
    }
    let mut v: Vec<String> = Vec::new();
    match i {
        Interface::Proxy => {
            v.push("proxy".into());
            v.push("--listen".into());
            v.push(o.listen.clone().unwrap_or_else(|| "127.0.0.1:19876".into()));
            v.push("--namesrv".into());
            v.push(o.namesrv.clone().unwrap_or_else(|| "127.0.0.1:9876".into()));
        }
        Interface::Live => {
            v.push("live".into());
            v.push("-i".into());
            v.push(o.live_interface.clone().unwrap_or_else(|| "lo".into()));
            if let Some(ports) = &o.ports {
                for p in ports.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let n: u16 = p
                        .parse()
                        .map_err(|_| format!("--ports: {p:?} is not a TCP port"))?;
                    v.push("--port".into());
                    v.push(n.to_string());
                }
            }
            if let Some(f) = o.filter.as_deref().filter(|f| !f.trim().is_empty()) {
                v.push("-Y".into());
                v.push(f.into());
            }
        }
    }
    v.push("-w".into());
    v.push(fifo.into());
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_interface_listed_parses_and_has_dlts_and_config() {
        let text = interfaces();
        let listed: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("interface {value="))
            .filter_map(|l| l.split('}').next())
            .collect();
        assert_eq!(listed, ["rmqdump-proxy", "rmqdump-live"]);
        for name in listed {
            let i = Interface::parse(name).unwrap();
            assert_eq!(i.name(), name);
            assert!(dlts(i).starts_with("dlt {number="));
            // Every config line calls an option capture_args understands.
            for l in config(i).lines() {
                assert!(l.starts_with("arg {number="), "{l}");
            }
        }
    }

    #[test]
    fn capture_args_write_to_the_fifo() {
        let o = CaptureOptions {
            listen: Some("127.0.0.1:1".into()),
            ports: Some("9876, 10911".into()),
            ..Default::default()
        };
        assert_eq!(
            capture_args(Interface::Proxy, "/tmp/f", &o).unwrap(),
            [
                "proxy",
                "--listen",
                "127.0.0.1:1",
                "--namesrv",
                "127.0.0.1:9876",
                "-w",
                "/tmp/f"
            ]
        );
        assert_eq!(
            capture_args(Interface::Live, "/tmp/f", &o).unwrap(),
            [
                "live", "-i", "lo", "--port", "9876", "--port", "10911", "-w", "/tmp/f"
            ]
        );
        let bad = CaptureOptions {
            ports: Some("x".into()),
            ..Default::default()
        };
        assert!(capture_args(Interface::Live, "/tmp/f", &bad).is_err());
    }

    #[test]
    fn the_capture_filter_is_live_s_display_filter() {
        let o = CaptureOptions {
            filter: Some("header.queueId == 3".into()),
            ..Default::default()
        };
        assert_eq!(
            capture_args(Interface::Live, "/tmp/f", &o).unwrap(),
            [
                "live",
                "-i",
                "lo",
                "-Y",
                "header.queueId == 3",
                "-w",
                "/tmp/f"
            ]
        );
        assert_eq!(verify_capture_filter(Interface::Live, "code == 10"), None);
        assert_eq!(verify_capture_filter(Interface::Live, " "), None);
        let e = verify_capture_filter(Interface::Live, "code ==").unwrap();
        assert!(e.starts_with("column 8: "), "{e}");
        assert!(!e.contains('\n'), "{e}");
        // The proxy has nothing to filter with: said, not ignored.
        assert!(verify_capture_filter(Interface::Proxy, "code == 10").is_some());
        assert!(capture_args(Interface::Proxy, "/tmp/f", &o).is_err());
        let empty = CaptureOptions {
            filter: Some(String::new()),
            ..Default::default()
        };
        assert!(capture_args(Interface::Proxy, "/tmp/f", &empty).is_ok());
    }
}
