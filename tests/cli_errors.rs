//! Errors say what to do (issue 12 item 8): every error on stderr prefixed `rmqdump:`,
//! argument ranges refused by clap (exit 2), `produce` against a dead NameServer ends with
//! one summary and a non-zero exit, `proxy` says when the NameServer cannot be reached,
//! `check --list-ignored` needs no other argument.

mod common;

use common::rmqdump as run;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn capture() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("captures/rust/rocketmq-rust-dev.pcap")
        .to_string_lossy()
        .into_owned()
}

/// A local port nobody listens on (bound, then released).
fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn out_of_range_arguments_are_refused_with_the_argument_named() {
    let c = capture();
    let cases: &[(&[&str], &str)] = &[
        (&["produce", "--topic", ""], "--topic"),
        (&["produce", "--topic", "  "], "--topic"),
        (&["produce", "--topic", "a b"], "--topic"),
        (&["produce", "--topic", "t", "--batch", "0"], "--batch"),
        (&["produce", "--topic", "t", "--count", "0"], "--count"),
        (&["produce", "--topic", "t", "--size", "0"], "--size"),
        (
            &["produce", "--topic", "t", "--concurrency", "0"],
            "--concurrency",
        ),
        (
            &["produce", "--topic", "t", "--timeout-ms", "0"],
            "--timeout-ms",
        ),
        (&["produce", "--topic", "t", "--group", ""], "--group"),
        (&["stats", "--threads", "0", &c], "--threads"),
        (&["stats", "--threads", "65", &c], "--threads"),
        (&["stats", "--top", "0", &c], "--top"),
        (&["stats", "--interval", "0s", &c], "--interval"),
        (&["read", "--max-frame", "0", &c], "--max-frame"),
        (&["read", "--max-buffered", "0", &c], "--max-buffered"),
        (&["read", "--max-flows", "0", &c], "--max-flows"),
        (
            &["read", "--max-half-open-flows", "0", &c],
            "--max-half-open-flows",
        ),
        (&["read", "--max-json-body", "0", &c], "--max-json-body"),
        (&["read", "--max-json-nodes", "0", &c], "--max-json-nodes"),
        (
            &["read", "--max-body-entries", "0", &c],
            "--max-body-entries",
        ),
        (
            &["read", "--max-inflated-per-frame", "0", &c],
            "--max-inflated-per-frame",
        ),
        (&["verify", "--max-ext-fields", "0", &c], "--max-ext-fields"),
        (&["live", "-i", "lo", "--duration", "0"], "--duration"),
        (&["live", "-i", "lo", "--count", "0"], "--count"),
        (&["live", "-i", "lo", "--port", "0"], "--port"),
        (&["proxy", "--duration", "0"], "--duration"),
        (&["proxy", "--duration", "inf"], "--duration"),
    ];
    for (args, name) in cases {
        let (code, out, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert!(err.starts_with("rmqdump: "), "{args:?}: {err}");
        assert!(err.contains(name), "{args:?}: {err}");
        assert!(
            err.contains("--help"),
            "{args:?}: says where to look: {err}"
        );
    }
    // The edges of the ranges are accepted.
    for args in [
        &["stats", "--threads", "1", "--top", "1", &c][..],
        &["stats", "--threads", "64", &c][..],
        &["read", "--max-frame", "1", &c][..],
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
    }
}

#[test]
fn errors_are_prefixed_and_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pcap");
    let (code, _, err) = run(&["read", missing.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("rmqdump: ") && err.contains("missing.pcap"),
        "{err}"
    );
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a capture at all").unwrap();
    let (code, _, err) = run(&["read", text.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.starts_with("rmqdump: "), "{err}");
    assert!(err.contains("give a pcap or pcapng file"), "{err}");
    let (code, _, err) = run(&["read", "--code", "NO_SUCH_CODE", &capture()]);
    assert_eq!(code, 2);
    assert!(err.starts_with("rmqdump: --code NO_SUCH_CODE"), "{err}");
    let (code, _, err) = run(&["produce", "--topic", "t", "--property", "novalue"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("rmqdump: --property novalue: expected k=v"),
        "{err}"
    );
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let (code, _, err) = run(&[
        "produce",
        "--topic",
        "t",
        "--body-file",
        empty.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("rmqdump: --body-file ") && err.contains("empty"),
        "{err}"
    );
    let g = dir.path().join("g.jsonl");
    let (code, _, err) = run(&["check", &capture(), "--golden", g.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("--bless"), "says how to write it: {err}");
    // The port is taken: the error says to pick another.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let at = taken.local_addr().unwrap().to_string();
    let (code, _, err) = run(&["proxy", "--listen", &at, "--duration", "1"]);
    assert_eq!(code, 2);
    assert!(
        err.lines()
            .any(|l| l.starts_with(&format!("rmqdump: listen on {at}"))
                && l.contains("pick another --listen")),
        "{err}"
    );
    let (code, _, err) = run(&["verify", &capture(), "--manifest", text.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("rmqdump: ") && err.contains("rmqdump produce --manifest"),
        "{err}"
    );
}

#[test]
fn produce_against_a_dead_namesrv_ends_with_one_summary_and_fails() {
    let ns = format!("127.0.0.1:{}", dead_port());
    let (code, out, err) = run(&[
        "produce",
        "--namesrv",
        &ns,
        "--topic",
        "t",
        "--count",
        "20",
        "--timeout-ms",
        "2000",
    ]);
    assert_eq!(code, 1, "{out}\n{err}");
    // Standard output is the summary line alone (per-message lines only with -v).
    assert_eq!(out.lines().count(), 1, "{out}");
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("sent 0 of 20, failed 20, - msg/s over "),
        "no rate over nothing sent: {last}"
    );
    // One report on stderr, not one line per message: the error once, with its count.
    assert!(
        err.starts_with("rmqdump: produce: nothing was sent: all 20 messages failed"),
        "{err}"
    );
    assert_eq!(err.matches("Connection refused").count(), 1, "{err}");
    assert!(err.contains("(20 messages)"), "{err}");
    assert!(
        err.contains(&format!("NameServer {ns} (--namesrv)")),
        "{err}"
    );
    assert!(err.lines().count() <= 2 + 3, "{err}");
}

#[test]
fn check_list_ignored_needs_no_other_argument() {
    let (code, out, err) = run(&["check", "--list-ignored"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().any(|l| l == "opaque"), "{out}");
    // Without it, the capture and the golden file are still required.
    let (code, _, err) = run(&["check", &capture()]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("rmqdump: ") && err.contains("--golden"),
        "{err}"
    );
    let (code, _, err) = run(&["check", "--golden", "g.jsonl"]);
    assert_eq!(code, 2);
    assert!(err.contains("<FILE>"), "{err}");
}

#[test]
fn proxy_says_when_the_namesrv_cannot_be_reached_and_keeps_serving() {
    let ns = format!("127.0.0.1:{}", dead_port());
    let listen = format!("127.0.0.1:{}", dead_port());
    let child = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args([
            "proxy",
            "--listen",
            &listen,
            "--namesrv",
            &ns,
            "--duration",
            "3",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Two clients, one after the other: each is closed (the proxy keeps listening).
    let t = Instant::now();
    let mut closed = 0;
    while closed < 2 {
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "proxy did not serve twice"
        );
        match TcpStream::connect(&listen) {
            Ok(mut s) => {
                s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let mut b = [0u8; 1];
                assert_eq!(s.read(&mut b).unwrap_or(0), 0, "closed, nothing sent");
                closed += 1;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let said = format!("rmqdump: proxy: NameServer {ns} cannot be reached");
    assert_eq!(err.matches(&said).count(), 1, "said once: {err}");
    assert!(
        err.contains("start the NameServer or check --namesrv"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "rmqdump: proxy: 2 client connection(s) closed because {ns} could not be reached"
        )),
        "{err}"
    );
}

/// An output that is one of the inputs is refused before anything is written (the breaker
/// destroyed captures with `annotate F -w F`, `read F -w F`, `report F -o F`, `check F
/// --golden F --bless`); a `-w` path that cannot be written is refused before reading.
#[test]
fn outputs_never_overwrite_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.pcap");
    std::fs::copy(capture(), &f).unwrap();
    let f = f.to_str().unwrap();
    let before = std::fs::read(f).unwrap();
    for args in [
        vec!["annotate", f, "-w", f],
        vec!["read", f, "-w", f],
        vec!["report", f, "-o", f],
        vec!["check", f, "--golden", f, "--bless"],
    ] {
        let (code, out, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(
            err.starts_with("rmqdump: ") && err.contains("is also the input"),
            "{args:?}: {err}"
        );
        assert_eq!(
            std::fs::read(f).unwrap(),
            before,
            "{args:?} changed the capture"
        );
    }
    let (code, out, err) = run(&["read", f, "-w", "/nonexistent-dir/x.pcap"]);
    assert_eq!(code, 2);
    assert!(out.is_empty(), "nothing printed before the error: {out}");
    assert!(err.contains("/nonexistent-dir/x.pcap"), "{err}");
}

/// Standard input can be read once: given twice it is a usage error saying so, not "not a
/// pcap" nor half a capture read twice (the breakers' findings: read and diff, then
/// verify, stats, export and report, and verify's --manifest with standard input). The
/// capture is on standard input, so a command that read it would find frames.
#[test]
fn standard_input_twice_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("x");
    let html = dir.path().join("x.html");
    let manifest = format!(
        "{}/captures/java/java5-broker5.manifest.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let cases: Vec<Vec<&str>> = vec![
        vec!["read", "-", "-"],
        vec!["diff", "-", "-"],
        vec!["verify", "-", "-"],
        vec!["stats", "-", "-"],
        vec!["export", "-o", out_dir.to_str().unwrap(), "-", "-"],
        vec!["report", "-o", html.to_str().unwrap(), "-", "-"],
        vec!["verify", "-", "--manifest", &manifest],
    ];
    for args in cases {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
            .args(&args)
            .stdin(std::fs::File::open(capture()).unwrap())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing read");
        assert!(
            err.starts_with("rmqdump: ") && (err.contains("given") || err.contains("twice")),
            "{args:?}: {err}"
        );
        assert_eq!(
            err.lines().count(),
            1,
            "{args:?}: refused before reading: {err}"
        );
    }
    assert!(!out_dir.exists() && !html.exists());
}

/// `read -w -` and `live -w -` are refused (exit 2) instead of writing a file named `-`:
/// standard output carries the frames (the breaker's finding 15).
#[test]
fn write_to_standard_output_is_refused_where_frames_go_there() {
    let dir = tempfile::tempdir().unwrap();
    let c = capture();
    for args in [
        vec!["read", "-w", "-", &c],
        vec!["live", "-i", "lo", "-w", "-", "--duration", "0.1"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
            .current_dir(dir.path())
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("-w -"), "{args:?}: {err}");
        assert!(!dir.path().join("-").exists(), "{args:?}");
    }
}

/// Runs rmqdump with its standard output closed before it writes (as `| head -0` or a
/// `head -1` that has its line does); its exit code and stderr.
fn run_closed_stdout(args: &[&str]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rmqdump");
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    (out.status.code().unwrap_or(-1), err)
}

/// A closed pipe does not turn a verdict into success (README "Exit codes"): check, diff,
/// verify and read --strict exit 1 on what they found, as without the pipe; commands
/// without a verdict, and the same commands with nothing found, exit 0 quietly.
#[test]
fn a_closed_pipe_keeps_the_verdict() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let p = |rel: &str| root.join(rel).to_string_lossy().into_owned();
    let rust = capture();
    let java = p("captures/java/java5-broker5.pcap");
    let case01 = p("tests/cases/01-malformed-frame-header/case.pcap");
    let java_golden = p("tests/golden/java__java5-broker5.pcap.jsonl");
    let rust_golden = p("tests/golden/rust__rocketmq-rust-dev.pcap.jsonl");
    let cases: &[(&[&str], i32)] = &[
        (&["check", &rust, "--golden", &java_golden], 1),
        (&["check", &rust, "--golden", &rust_golden], 0),
        (&["diff", &rust, &java], 1),
        (&["diff", &rust, &rust], 0),
        (&["verify", &case01], 1),
        (&["verify", &rust], 0),
        (&["read", "--strict", &case01], 1),
        (&["read", &case01], 0),
        (&["stats", &case01], 0),
        (&["check", "--list-ignored"], 0),
        (&["man"], 0),
    ];
    for (args, want) in cases {
        // Without the pipe closed, the same verdict.
        assert_eq!(run(args).0, *want, "{args:?} (stdout open)");
        let (code, err) = run_closed_stdout(args);
        assert_eq!(code, *want, "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
    }
}

/// `produce` refuses before sending what cannot be sent or recorded (the breaker's
/// findings): a body over Java's maxMessageSize (4 MiB; a 100 GB `--size` aborted on its
/// allocation), a batch over it, a NameServer address that is no HOST:PORT, and a
/// recording or manifest path that cannot be created (found only after sending before).
/// Each exits 2 with nothing sent: the dead NameServer is never dialled, so no summary.
#[test]
fn produce_refuses_up_front_what_it_cannot_send_or_record() {
    let dead = format!("127.0.0.1:{}", dead_port());
    let cases: &[(&[&str], &str)] = &[
        (&["--size", "99999999999"], "maxMessageSize"),
        (&["--size", "4194305"], "maxMessageSize"),
        (&["--batch", "100000", "--size", "1000"], "maxMessageSize"),
        (
            &["-w", "/nonexistent-dir/x.pcap"],
            "/nonexistent-dir/x.pcap",
        ),
        (
            &["--manifest", "/nonexistent-dir/x.json"],
            "/nonexistent-dir/x.json",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["produce", "--namesrv", &dead, "--topic", "T"];
        args.extend_from_slice(extra);
        let (code, out, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: nothing sent, no summary: {out}");
        assert!(
            err.starts_with("rmqdump: ") && err.contains(want),
            "{args:?}: {err}"
        );
    }
    for bad in ["abc", "", "127.0.0.1:99999", "127.0.0.1:0", ":9876"] {
        let (code, out, err) = run(&["produce", "--namesrv", bad, "--topic", "T"]);
        assert_eq!(code, 2, "--namesrv {bad:?}: {err}");
        assert!(
            out.is_empty() && err.contains("--namesrv"),
            "{bad:?}: {err}"
        );
    }
    // The largest body Java accepts is accepted (then fails on the dead NameServer: 1),
    // and the summary says no latency when nothing was sent.
    let (code, out, _) = run(&[
        "produce",
        "--namesrv",
        &dead,
        "--topic",
        "T",
        "--size",
        "4194304",
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains("sent 0 of 1") && out.contains("latency -"),
        "{out}"
    );
}
