//! Text output of `read`: the one-line summaries (golden files reviewed against the
//! manifests and the wire), the `-V` protocol tree (golden frames checked by hand against
//! the wire bytes), and `--time` (against tshark's times and a fixed TZ).
//!
//! `RMQDUMP_BLESS=1 cargo test --test text` rewrites tests/golden/text/*.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rmqdump(args: &[&str], tz: Option<&str>) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rmqdump"));
    c.current_dir(root()).args(args);
    match tz {
        Some(tz) => c.env("TZ", tz),
        None => c.env("TZ", "UTC"),
    };
    let out = c.output().expect("run rmqdump");
    assert!(
        out.status.success(),
        "rmqdump {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Compares with (or, under RMQDUMP_BLESS, rewrites) a golden file.
fn golden(name: &str, got: &str) {
    let p = root().join("tests/golden/text").join(name);
    if std::env::var_os("RMQDUMP_BLESS").is_some() {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, got).unwrap();
        return;
    }
    let want =
        std::fs::read_to_string(&p).unwrap_or_else(|_| panic!("missing golden {}", p.display()));
    if want != got {
        for (i, (a, b)) in want.lines().zip(got.lines()).enumerate() {
            assert_eq!(a, b, "{name} line {}", i + 1);
        }
        assert_eq!(
            want.lines().count(),
            got.lines().count(),
            "{name} line count"
        );
        assert_eq!(want, got, "{name}");
    }
}

/// The tree's frame blocks (separated by empty lines) that start with `Frame N:`.
fn frames(tree: &str, packets: &[u64]) -> String {
    let mut out = String::new();
    for block in tree.split("\n\n") {
        let first = block.lines().next().unwrap_or("");
        if packets
            .iter()
            .any(|p| first.starts_with(&format!("Frame {p}:")))
        {
            out.push_str(block.trim_end_matches('\n'));
            out.push_str("\n\n");
        }
    }
    out
}

#[test]
fn text_lines_golden() {
    for (cap, name) in [
        ("captures/reference/sync-json.pcap", "sync-json.txt"),
        ("captures/reference/batch.pcap", "batch.txt"),
        (
            "captures/rust/rocketmq-rust-dev.pcap",
            "rocketmq-rust-dev.txt",
        ),
    ] {
        golden(name, &rmqdump(&["read", "--time", "utc", cap], None));
    }
}

#[test]
fn tree_golden() {
    // A route answer (5), a send (11) and its response (12).
    let t = rmqdump(
        &[
            "read",
            "-V",
            "--time",
            "utc",
            "captures/reference/sync-json.pcap",
        ],
        None,
    );
    golden("tree-sync-json.txt", &frames(&t, &[5, 11, 12]));
    // The binary (ROCKETMQ) header: a send.
    let t = rmqdump(
        &[
            "read",
            "-v",
            "--time",
            "utc",
            "captures/reference/sync-rocketmq.pcap",
        ],
        None,
    );
    golden("tree-sync-rocketmq.txt", &frames(&t, &[11]));
    // A pull request and its response with two stored messages.
    let t = rmqdump(
        &[
            "read",
            "-V",
            "--time",
            "utc",
            "--max-body-print",
            "64",
            "captures/rust/rocketmq-rust-dev.pcap",
        ],
        None,
    );
    golden("tree-rust-pull.txt", &frames(&t, &[106, 113]));
}

#[test]
fn tree_prints_no_raw_property_separators() {
    for cap in [
        "captures/reference/batch.pcap",
        "captures/reference/compressed.pcap",
        "captures/rust/rocketmq-rust-dev.pcap",
    ] {
        let t = rmqdump(&["read", "-V", cap], None);
        assert!(!t.contains(['\u{1}', '\u{2}']), "{cap}: raw separator");
        assert!(t.contains("msgId (UNIQ_KEY): "), "{cap}");
    }
}

#[test]
fn send_response_lines_name_both_ids_as_the_manifest() {
    // The manifest records the producer's SendResult: msgId (UNIQ_KEY) and offsetMsgId.
    for name in ["sync-json", "sync-rocketmq", "async"] {
        let cap = format!("captures/reference/{name}.pcap");
        let m: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                root().join(format!("captures/reference/{name}.manifest.json")),
            )
            .unwrap(),
        )
        .unwrap();
        let text = rmqdump(&["read", &cap], None);
        let mut checked = 0;
        for msg in m["messages"].as_array().unwrap() {
            let r = &msg["send_result"];
            let (Some(id), Some(off)) = (r["msg_id"].as_str(), r["offset_msg_id"].as_str()) else {
                continue;
            };
            let want = format!("msgId={id} offsetMsgId={off}");
            assert!(
                text.lines()
                    .any(|l| l.contains(" response ") && l.contains(&want)),
                "{name}: no response line with {want}"
            );
            checked += 1;
        }
        assert!(checked > 0, "{name}: no send results in the manifest");
    }
}

#[test]
fn times_agree_with_tshark() {
    let cap = "captures/reference/sync-json.pcap";
    let out = Command::new("tshark")
        .current_dir(root())
        .args([
            "-r",
            cap,
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "frame.time_relative",
            "-e",
            "frame.time_epoch",
        ])
        .output()
        .expect("tshark");
    let tshark = String::from_utf8(out.stdout).unwrap();
    let by_packet: std::collections::HashMap<&str, (&str, &str)> = tshark
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?, (f.next()?, f.next()?)))
        })
        .collect();
    let rel = rmqdump(&["read", "--time", "relative", cap], None);
    let epoch = rmqdump(&["read", "--time", "epoch", cap], None);
    let mut n = 0;
    for (r, e) in rel.lines().zip(epoch.lines()) {
        let mut rf = r.split_whitespace();
        let packet = rf.next().unwrap();
        let (trel, tepoch) = by_packet[packet];
        // tshark prints nanoseconds; the capture has microseconds.
        assert_eq!(rf.next().unwrap(), &trel[..trel.len() - 3], "{r}");
        assert_eq!(
            e.split_whitespace().nth(1).unwrap(),
            &tepoch[..tepoch.len() - 3],
            "{e}"
        );
        n += 1;
    }
    assert!(n > 10);
}

#[test]
fn local_time_follows_tz() {
    let cap = "captures/reference/sync-json.pcap";
    let utc = rmqdump(&["read", "--time", "utc", cap], None);
    assert!(
        utc.lines()
            .next()
            .unwrap()
            .contains(" 2026-11-24T14:02:49.490457Z "),
        "{utc}"
    );
    let sh = rmqdump(&["read", cap], Some("Asia/Shanghai"));
    assert!(
        sh.lines()
            .next()
            .unwrap()
            .contains(" 2026-11-24 22:02:49.490457 +08:00 "),
        "{sh}"
    );
    let ny = rmqdump(&["read", "--time", "local", cap], Some("America/New_York"));
    assert!(
        ny.lines()
            .next()
            .unwrap()
            .contains(" 2026-11-24 09:02:49.490457 -05:00 "),
        "{ny}"
    );
    // The tree shows the same time, and message dates in the same zone.
    let tree = rmqdump(&["read", "-V", cap], Some("Asia/Shanghai"));
    assert!(tree.starts_with("Frame 4: packet 4, 2026-11-24 22:02:49.490457 +08:00,"));
    assert!(tree.contains("(2026-11-24 22:02:49.490 +08:00)"), "{tree}");
}

#[test]
fn text_line_key_fields() {
    let t = rmqdump(
        &[
            "read",
            "--time",
            "utc",
            "captures/rust/rocketmq-rust-dev.pcap",
        ],
        None,
    );
    let pull = t
        .lines()
        .find(|l| l.contains("PULL_MESSAGE request"))
        .unwrap();
    for k in ["consumerGroup=", "topic=", "queueId=", "queueOffset="] {
        assert!(pull.contains(k), "{pull}");
    }
    let update = t
        .lines()
        .find(|l| l.contains("UPDATE_CONSUMER_OFFSET request"));
    if let Some(u) = update {
        assert!(u.contains("commitOffset="), "{u}");
    }
    // KEYS with a space are quoted.
    assert!(t.contains("keys=\"user-42 ORD-0002\""), "no quoted keys");
}

fn rmqdump_env(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rmqdump"));
    c.current_dir(root()).args(args).env_remove("COLUMNS");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run rmqdump");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn widest(s: &str) -> usize {
    s.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn stats_tables_fit_columns_unless_wide() {
    let cap = "captures/rust/rocketmq-rust-dev.pcap";
    // Not a terminal and no COLUMNS: no limit (the content's width).
    let full = rmqdump_env(&["stats", cap], &[]);
    assert!(widest(&full) > 200, "{}", widest(&full));
    for cols in ["40", "60", "100", "132"] {
        let t = rmqdump_env(&["stats", cap], &[("COLUMNS", cols)]);
        assert!(
            widest(&t) <= cols.parse().unwrap(),
            "COLUMNS={cols}: {}",
            widest(&t)
        );
        assert!(t.contains('…'), "COLUMNS={cols}: nothing cut");
        // Same tables: drawn with cells cut, or, where the columns could not keep their
        // header words, one `header: value` block per row (`-[ 1 ]` starts a table's).
        let blocks = t.lines().filter(|l| l.starts_with("-[ 1 ]")).count();
        assert_eq!(
            t.matches("╞").count() + blocks,
            full.matches("╞").count(),
            "COLUMNS={cols}"
        );
        // No drawn column is cut down to a lone `…`.
        for lone in ["│ … ┆", "┆ … ┆", "┆ … │"] {
            assert!(!t.contains(lone), "COLUMNS={cols}:\n{t}");
        }
    }
    // At 40 columns the codes table (12 columns) is a block per code, each value whole.
    let narrow = rmqdump_env(&["stats", cap], &[("COLUMNS", "40")]);
    let sends = narrow
        .split("-[ ")
        .find(|b| b.contains("\nRequest code: SEND_MESSAGE\n"))
        .unwrap_or_else(|| panic!("{narrow}"));
    assert!(sends.contains("\nRequests: 9 (1 oneway)\n"), "{sends}");
    assert!(sends.contains("\nResponses: SUCCESS=8\n"), "{sends}");
    let wide = rmqdump_env(&["stats", "--wide", cap], &[("COLUMNS", "60")]);
    assert_eq!(wide, full);
}

#[test]
fn stats_csv_has_every_table_of_the_json_document() {
    let cap = "captures/rust/rocketmq-rust-dev.pcap";
    let doc: serde_json::Value =
        serde_json::from_str(&rmqdump_env(&["stats", "--json", cap], &[])).unwrap();
    let csv_text = rmqdump_env(&["stats", "--format", "csv", cap], &[("COLUMNS", "40")]);
    let drawn = rmqdump_env(&["stats", cap], &[]);
    let mut sections = std::collections::BTreeMap::new();
    let mut headers = std::collections::BTreeMap::new();
    for sec in csv_text.split("\n\n").filter(|s| !s.trim().is_empty()) {
        let (title, body) = sec.split_once('\n').unwrap();
        let title = title.strip_prefix("# ").expect("section title line");
        let mut r = csv::Reader::from_reader(body.as_bytes());
        let width = r.headers().unwrap().len();
        headers.insert(
            title.to_string(),
            r.headers()
                .unwrap()
                .iter()
                .map(String::from)
                .collect::<Vec<_>>(),
        );
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
        assert!(rows.iter().all(|x| x.len() == width), "{title}: ragged");
        // CSV cells are never cut, whatever COLUMNS says.
        assert!(
            rows.iter()
                .all(|x| x.iter().all(|c| !c.ends_with('…')) || title == "Topic")
        );
        sections.insert(title.to_string(), rows);
    }
    // One section per drawn table.
    assert_eq!(sections.len(), drawn.matches("╞").count(), "{csv_text}");
    let codes = &sections["Request code"];
    let want = doc["codes"].as_array().unwrap();
    assert_eq!(codes.len(), want.len());
    // The column by its header (columns were added before it since).
    let req_bytes = headers["Request code"]
        .iter()
        .position(|h| h == "Req bytes")
        .expect("a Req bytes column");
    for (row, c) in codes.iter().zip(want) {
        assert_eq!(&row[0], c["name"].as_str().unwrap());
        assert_eq!(
            row[req_bytes].parse::<u64>().unwrap(),
            c["request_bytes"].as_u64().unwrap()
        );
    }
    let overview = &sections["Overview"];
    let packets = overview.iter().find(|r| &r[0] == "packets").unwrap();
    assert_eq!(
        packets[1].parse::<u64>().unwrap(),
        doc["overview"]["packets"].as_u64().unwrap()
    );
}

#[test]
fn gap_lines_in_packet_order_with_their_direction() {
    // stdout and stderr into one pipe, as on a terminal.
    let out = Command::new("sh")
        .current_dir(root())
        .env("TZ", "UTC")
        .arg("-c")
        .arg(format!(
            "{} read captures/public/deepflow/rocketmq-pull-message.pcap 2>&1",
            env!("CARGO_BIN_EXE_rmqdump")
        ))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let gap = lines
        .iter()
        .position(|l| l.contains(": gap (stream 0): "))
        .expect("gap line");
    // tshark: packet 5 is the first after the hole ("Previous segment not captured"), sent
    // by 192.169.0.5:50738 to the broker.
    assert!(
        lines[gap].contains("packet 5: ")
            && lines[gap].contains("192.169.0.5:50738 -> 192.169.0.4:10911"),
        "{}",
        lines[gap]
    );
    assert!(lines[gap - 1].trim_start().starts_with("5 "), "{text}");
    assert!(lines[gap + 1].trim_start().starts_with("6 "), "{text}");
}

mod synthetic {
    use proptest::prelude::*;
    use rmqdump::analysis::{Event, Options, ProblemKind};
    use rmqdump::capture::writer::{PcapWriter, TcpConversation};
    use rmqdump::output::{self, OutputOptions};

    /// A JSON-header frame.
    fn frame(header: &str, body: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend(((4 + header.len() + body.len()) as u32).to_be_bytes());
        f.extend((header.len() as u32).to_be_bytes());
        f.extend(header.as_bytes());
        f.extend(body);
        f
    }

    fn simple(opaque: i32, flag: i32) -> Vec<u8> {
        frame(
            &format!(
                "{{\"code\":34,\"flag\":{flag},\"language\":\"JAVA\",\"opaque\":{opaque},\"serializeTypeCurrentRPC\":\"JSON\",\"version\":0}}"
            ),
            b"",
        )
    }

    fn problems(cap: &[u8]) -> Vec<rmqdump::analysis::Problem> {
        let mut v = Vec::new();
        rmqdump::dissect(cap, Options::default(), |e| {
            if let Event::Problem(p) = e {
                v.push(p)
            }
        });
        v
    }

    /// A hole in either direction of a connection whose handshake was seen names that
    /// direction.
    #[test]
    fn gap_names_client_to_server_or_server_to_client() {
        for from_client in [true, false] {
            let mut w = PcapWriter::new(Vec::new()).unwrap();
            let mut c = TcpConversation::new(
                "10.0.0.1:40000".parse().unwrap(),
                "10.0.0.2:10911".parse().unwrap(),
            );
            c.handshake(&mut w, 1).unwrap();
            c.send(&mut w, 2, from_client, &simple(1, i32::from(!from_client)))
                .unwrap();
            // Never captured.
            c.send(
                &mut PcapWriter::new(Vec::new()).unwrap(),
                3,
                from_client,
                &simple(2, i32::from(!from_client)),
            )
            .unwrap();
            c.send(&mut w, 4, from_client, &simple(3, i32::from(!from_client)))
                .unwrap();
            let p = problems(&w.into_inner());
            let gaps: Vec<_> = p.iter().filter(|p| p.kind == ProblemKind::Gap).collect();
            assert_eq!(gaps.len(), 1, "{p:#?}");
            let want = if from_client {
                "10.0.0.1:40000 -> 10.0.0.2:10911 (client->server)"
            } else {
                "10.0.0.2:10911 -> 10.0.0.1:40000 (server->client)"
            };
            assert!(gaps[0].message.contains(want), "{}", gaps[0].message);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever a send's properties and body, or a pull answer's body, hold: the line
        /// and the tree are printed (no panic), the tree never prints the properties'
        /// separators raw, and it dumps at most --max-body-print bytes.
        #[test]
        fn tree_and_line_on_any_message(
            props in proptest::collection::vec(any::<u8>(), 0..200),
            body in proptest::collection::vec(any::<u8>(), 0..600),
            max_print in 0usize..100,
            pull in any::<bool>(),
        ) {
            let props: String = String::from_utf8_lossy(&props).into_owned();
            let escaped = serde_json::to_string(&props).unwrap();
            let mut w = PcapWriter::new(Vec::new()).unwrap();
            let mut c = TcpConversation::new(
                "10.0.0.1:40000".parse().unwrap(),
                "10.0.0.2:10911".parse().unwrap(),
            );
            c.handshake(&mut w, 1).unwrap();
            if pull {
                let req = "{\"code\":11,\"extFields\":{\"consumerGroup\":\"g\",\"topic\":\"t\",\"queueId\":\"0\",\"queueOffset\":\"5\"},\"flag\":0,\"language\":\"JAVA\",\"opaque\":1,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":0}";
                c.send(&mut w, 2, true, &frame(req, b"")).unwrap();
                let resp = "{\"code\":0,\"extFields\":{\"nextBeginOffset\":\"6\"},\"flag\":1,\"language\":\"JAVA\",\"opaque\":1,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":0}";
                c.send(&mut w, 3, false, &frame(resp, &body)).unwrap();
            } else {
                let req = format!(
                    "{{\"code\":310,\"extFields\":{{\"a\":\"pg\",\"b\":\"t\",\"e\":\"1\",\"f\":\"0\",\"g\":\"1700000000000\",\"i\":{escaped}}},\"flag\":0,\"language\":\"JAVA\",\"opaque\":1,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":0}}"
                );
                c.send(&mut w, 2, true, &frame(&req, &body)).unwrap();
            }
            let cap = w.into_inner();
            let mut oo = OutputOptions::default();
            oo.decode.limits.max_body_print = max_print;
            let mut n = 0;
            rmqdump::dissect(&cap[..], Options::default(), |e| {
                if let Event::Frame(r) = e {
                    let d = output::decode_record(&r, &oo);
                    let line = output::frame_line(&r, d.as_ref(), &oo, None);
                    assert!(!line.contains(['\u{1}', '\u{2}']), "{line}");
                    let tree = output::frame_tree(&r, d.as_ref(), &oo, None);
                    assert!(!tree.contains(['\u{1}', '\u{2}']), "{tree}");
                    // Each hex dump (a run of rows "0000  xx xx …") has at most
                    // ceil(max_print / 16) rows of 16 bytes.
                    let is_row = |l: &str| {
                        let t = l.trim_start();
                        t.len() > 6
                            && t.as_bytes()[..4].iter().all(u8::is_ascii_hexdigit)
                            && &t[4..6] == "  "
                    };
                    let mut run = 0;
                    for l in tree.lines() {
                        run = if is_row(l) { run + 1 } else { 0 };
                        assert!(run <= max_print.div_ceil(16), "{tree}");
                    }
                    n += 1;
                }
            });
            prop_assert!(n >= 1);
        }
    }
}

#[test]
fn tree_hex_dump_is_the_sent_body() {
    use base64::Engine as _;
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("captures/reference/sync-json.manifest.json"))
            .unwrap(),
    )
    .unwrap();
    let t = rmqdump(&["read", "-V", "captures/reference/sync-json.pcap"], None);
    let sends: Vec<&str> = t
        .split("\n\n")
        .filter(|b| b.contains("SEND_MESSAGE_V2 request"))
        .collect();
    let msgs = m["messages"].as_array().unwrap();
    assert_eq!(sends.len(), msgs.len());
    for (block, msg) in sends.iter().zip(msgs) {
        let want = base64::engine::general_purpose::STANDARD
            .decode(msg["body_b64"].as_str().unwrap())
            .unwrap();
        let mut got = Vec::new();
        for l in block.lines().map(str::trim_start) {
            if l.len() > 6
                && l.as_bytes()[..4].iter().all(u8::is_ascii_hexdigit)
                && &l[4..6] == "  "
            {
                let hex = &l[6..(6 + 48).min(l.len())];
                got.extend(
                    hex.split_whitespace()
                        .map(|x| u8::from_str_radix(x, 16).unwrap()),
                );
            }
        }
        assert_eq!(got, want);
        let keys = msg["keys_property"].as_str().unwrap();
        assert!(
            block.contains(&format!("\n                KEYS: {keys}\n")),
            "{block}"
        );
    }
}

/// A typed value that differs from the string on the wire shows the raw string beside it:
/// the C++ 2.x client's batch "1" (read as true), a number with spaces.
#[test]
fn tree_shows_raw_value_where_the_typed_one_differs() {
    use rmqdump::analysis::{Event, Options};
    use rmqdump::capture::writer::{PcapWriter, TcpConversation};
    use rmqdump::output::{self, OutputOptions};
    let header = "{\"code\":10,\"extFields\":{\"producerGroup\":\"pg\",\"topic\":\"t\",\"queueId\":\" 2\",\"sysFlag\":\"0\",\"bornTimestamp\":\"1700000000000\",\"flag\":\"0\",\"properties\":\"\",\"batch\":\"1\",\"AccessKey\":\"ak\"},\"flag\":0,\"language\":\"CPP\",\"opaque\":1,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":0}";
    let mut f = Vec::new();
    f.extend(((4 + header.len()) as u32).to_be_bytes());
    f.extend((header.len() as u32).to_be_bytes());
    f.extend(header.as_bytes());
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    let mut c = TcpConversation::new(
        "10.0.0.1:40000".parse().unwrap(),
        "10.0.0.2:10911".parse().unwrap(),
    );
    c.handshake(&mut w, 1).unwrap();
    c.send(&mut w, 2, true, &f).unwrap();
    let cap = w.into_inner();
    let oo = OutputOptions {
        clock: output::Clock::new(output::TimeFormat::Utc),
        ..Default::default()
    };
    let mut trees = Vec::new();
    rmqdump::dissect(&cap[..], Options::default(), |e| {
        if let Event::Frame(r) = e {
            let d = output::decode_record(&r, &oo);
            trees.push(output::frame_tree(&r, d.as_ref(), &oo, None));
        }
    });
    let t = &trees[0];
    assert!(
        t.contains("extFields: 9 fields (SendMessageRequestHeader)"),
        "{t}"
    );
    assert!(t.contains("        batch: true [raw \"1\"]\n"), "{t}");
    assert!(t.contains("        queueId: 2 [raw \" 2\"]\n"), "{t}");
    assert!(t.contains("        producerGroup: pg\n"), "{t}");
    assert!(
        t.contains("        bornTimestamp: 1700000000000 (2023-11-14T22:13:20.000Z)\n"),
        "{t}"
    );
    assert!(t.contains("        AccessKey: <redacted>\n"), "{t}");
    assert!(
        t.contains("        properties: 0 properties (listed with the message)\n"),
        "{t}"
    );
}

/// `-V` on a POP_MESSAGE answer shows its offset infos decoded under the raw lines: one
/// line per queue of `msgOffsetInfo` with the offsets `read --json` decodes
/// (`msgOffsetInfoDecoded`), and one per queue of `startOffsetInfo`.
#[test]
fn tree_decodes_the_pop_answers_offset_infos() {
    let cap = root().join("captures/java/java5-broker5.pcap");
    let cap = cap.to_str().unwrap();
    let tree = rmqdump(&["read", "-V", "--code", "POP_MESSAGE", cap], None);
    let json = rmqdump(&["read", "--json", "--code", "POP_MESSAGE", cap], None);
    let mut checked = 0;
    for l in json.lines() {
        let f: serde_json::Value = serde_json::from_str(l).unwrap();
        for e in f["header"]["msgOffsetInfoDecoded"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let offsets: Vec<String> = e["offsets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.to_string())
                .collect();
            let want = format!(
                "queueId {}: queueOffset {} ({} popped)",
                e["queue_id"],
                offsets.join(", "),
                offsets.len()
            );
            assert!(tree.lines().any(|l| l.trim() == want), "{want}\n{tree}");
            checked += 1;
        }
        for e in f["header"]["startOffsetInfoDecoded"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let want = format!(
                "queueId {}: startOffset {}",
                e["queue_id"], e["start_offset"]
            );
            assert!(tree.lines().any(|l| l.trim() == want), "{want}\n{tree}");
        }
    }
    assert!(
        checked >= 4,
        "the capture's POP answer has four queues: {json}"
    );
}
