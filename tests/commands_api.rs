//! The commands' logic is in the library (issue 12 item 10): called directly, each gives
//! what the binary prints (the golden files, the binary's own output), so tests and other
//! programs can use them without spawning the binary.

use std::path::PathBuf;
use std::process::Command;

use clap::Parser;
use rmqdump::cli::{Cli, Cmd};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rmqdump"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn parse(args: &[&str]) -> Cmd {
    Cli::try_parse_from(std::iter::once("rmqdump").chain(args.iter().copied()))
        .unwrap()
        .cmd
}

#[test]
fn read_gives_the_golden_json_lines_and_the_problems() {
    let rel = "public/deepflow/rocketmq-pull-message.pcap";
    let file = root().join("captures").join(rel);
    let file = file.to_str().unwrap();
    let Cmd::Read(a) = parse(&["read", "--json", file]) else {
        unreachable!()
    };
    let opts = a.common.options(false);
    let cfg = rmqdump::output::read::ReadConfig::new(
        opts,
        a.frames.output_options(false, &opts),
        a.frames.filter(None).unwrap(),
        true,
        false,
    );
    let mut out = Vec::new();
    let mut diag = Vec::new();
    let outcome = rmqdump::output::read::read(file, cfg, &mut out, &mut diag).unwrap();
    let golden = root()
        .join("tests/golden")
        .join(format!("{}.jsonl", rel.replace('/', "__")));
    assert_eq!(
        String::from_utf8(out).unwrap(),
        std::fs::read_to_string(golden).unwrap()
    );
    let diag = String::from_utf8(diag).unwrap();
    assert!(
        diag.contains(&format!("{file}: packet 5: gap (stream 0)")),
        "{diag}"
    );
    assert!(outcome.bad() && outcome.problems > 0 && outcome.packets > 0);
}

#[test]
fn verify_and_stats_print_what_the_binary_prints() {
    let file = root().join("captures/rust/rocketmq-rust-dev.pcap");
    let file = file.to_str().unwrap();
    let Cmd::Verify(v) = parse(&["verify", file]) else {
        unreachable!()
    };
    let mut out = Vec::new();
    let ok = rmqdump::analysis::verify::run(
        &[file.to_string()],
        v.common.options(true),
        None,
        &mut out,
        &mut Vec::new(),
    )
    .unwrap();
    assert!(ok);
    assert_eq!(bin(&["verify", file]), (0, String::from_utf8(out).unwrap()));

    let Cmd::Stats(s) = parse(&["stats", "--json", "--threads", "1", file]) else {
        unreachable!()
    };
    let cfg = rmqdump::output::stats_cmd::StatsConfig {
        opts: s.common.options(false),
        stats: rmqdump::analysis::stats::StatsOptions {
            interval_ns: s.interval,
            top: s.top,
        },
        threads: s.threads,
        json: s.json,
        tables: Default::default(),
    };
    let mut out = Vec::new();
    rmqdump::output::stats_cmd::stats(&[file.to_string()], cfg, &mut out, &mut Vec::new()).unwrap();
    let (code, want) = bin(&["stats", "--json", "--threads", "1", file]);
    assert_eq!(code, 0);
    assert_eq!(String::from_utf8(out).unwrap(), want);
}

#[test]
fn produce_job_from_arguments_and_its_summary() {
    let Cmd::Produce(a) = parse(&[
        "produce",
        "--topic",
        "T",
        "--count",
        "3",
        "--tags",
        "a,b",
        "--keys",
        "K",
        "--size",
        "5",
        "--property",
        "p=1",
        "--namesrv",
        "127.0.0.1:1",
        "--timeout-ms",
        "500",
    ]) else {
        unreachable!()
    };
    let job = a.job().unwrap();
    let msgs = job.messages();
    assert_eq!(msgs.len(), 3);
    let tags: Vec<_> = msgs.iter().map(|m| m.tags.clone().unwrap()).collect();
    assert_eq!(tags, ["a", "b", "a"]);
    assert_eq!(msgs[2].keys, ["K-2"]);
    assert_eq!(msgs[0].body, b"rmqdu");
    assert_eq!(msgs[1].properties, [("p".to_string(), "1".to_string())]);
    // Port 1 on loopback refuses: nothing is sent, the summary says so.
    let mut out = Vec::new();
    let s = rmqdump::producer::run::produce(&job, &mut out).unwrap();
    assert_eq!((s.sent, s.failed), (0, 3));
    assert_eq!(s.rate(), None);
    assert_eq!(s.errors.len(), 1, "{:?}", s.errors);
    // Without -v only the summary line: no line per failed message.
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with("sent 0 of 3, failed 3, - msg/s"), "{out}");
    // With -v one line per message before it, each naming its message.
    let Cmd::Produce(a) = parse(&[
        "produce",
        "--topic",
        "T",
        "--count",
        "3",
        "--namesrv",
        "127.0.0.1:1",
        "--timeout-ms",
        "500",
        "-v",
    ]) else {
        unreachable!()
    };
    let mut out = Vec::new();
    rmqdump::producer::run::produce(&a.job().unwrap(), &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    for (i, l) in lines[..3].iter().enumerate() {
        assert!(l.starts_with(&format!("{i} FAILED msgId=")), "{out}");
    }
    assert!(
        lines[3].starts_with("sent 0 of 3, failed 3, - msg/s"),
        "{out}"
    );
}
