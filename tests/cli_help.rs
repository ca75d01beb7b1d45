//! Install and help (issue 12 item 11): shell completions and man pages generated from the
//! clap definitions cover every command, and the man pages render.

mod common;

use common::rmqdump as run;

use std::io::Write;
use std::process::{Command, Stdio};

/// The commands as `rmqdump --help` lists them (the ground truth a user sees), without
/// clap's `help`.
fn commands() -> Vec<String> {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    let list: Vec<String> = out
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .filter(|c| c != "help")
        .collect();
    for c in [
        "read", "verify", "stats", "check", "produce", "live", "proxy", "diff",
    ] {
        assert!(list.iter().any(|x| x == c), "{c} not in --help: {list:?}");
    }
    list
}

#[test]
fn completions_mention_every_command() {
    let cmds = commands();
    // How each shell's script names a subcommand it completes.
    type Mention = fn(&str) -> String;
    let shells: [(&str, Mention); 5] = [
        ("bash", |c| format!("rmqdump,{c})")),
        ("zsh", |c| format!("({c})\n")),
        ("fish", |c| format!("-f -a \"{c}\"")),
        ("elvish", |c| format!("cand {c} ")),
        ("powershell", |c| format!("'{c}'")),
    ];
    for (shell, mention) in shells {
        let (code, out, err) = run(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        for c in &cmds {
            assert!(out.contains(&mention(c)), "{shell}: no {c}");
        }
    }
    // The options of a command are completed too.
    let (_, out, _) = run(&["completions", "bash"]);
    assert!(out.contains("--max-json-nodes") && out.contains("--list-ignored"));
    let (code, _, err) = run(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("rmqdump: ") && err.contains("bash"),
        "{err}"
    );
}

/// Renders roff with `man -l -` (the page as a user reads it); `None` when man is missing.
fn render(roff: &str) -> Option<String> {
    let mut child = Command::new("man")
        .args(["-l", "-"])
        .env("MANWIDTH", "200")
        .env("MAN_KEEP_FORMATTING", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(roff.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "man -l failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Without a terminal man may still overstrike bold (c\bc): drop that.
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut clean = String::new();
    for ch in text.chars() {
        if ch == '\u{8}' {
            clean.pop();
        } else {
            clean.push(ch);
        }
    }
    // Justified lines have runs of spaces: one space between words.
    Some(clean.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[test]
fn man_pages_render_and_cover_every_command() {
    let cmds = commands();
    let (code, roff, err) = run(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(roff.contains(".TH rmqdump 1"), "{roff}");
    let Some(page) = render(&roff) else {
        eprintln!("man is not installed: the roff was checked, not its rendering");
        return;
    };
    assert!(page.contains("NAME") && page.contains("SYNOPSIS"), "{page}");
    assert!(page.contains("Exit codes: 0"), "{page}");
    for c in &cmds {
        assert!(
            page.contains(&format!("rmqdump-{c}(1)")),
            "no {c} in {page}"
        );
        let (code, roff, err) = run(&["man", c]);
        assert_eq!(code, 0, "{c}: {err}");
        let sub = render(&roff).unwrap();
        assert!(sub.contains(&format!("rmqdump-{c}")), "{sub}");
        // Each command's own help, as --help prints it, is on its page.
        let (_, help, _) = run(&[c, "--help"]);
        let first = help.lines().next().unwrap_or_default();
        let words: Vec<&str> = first.split_whitespace().take(4).collect();
        assert!(
            sub.split_whitespace()
                .collect::<Vec<_>>()
                .windows(words.len())
                .any(|w| w == words),
            "{c}: {words:?} not in its page"
        );
    }
    let (_, roff, _) = run(&["man", "read"]);
    let read = render(&roff).unwrap();
    for opt in ["--strict", "--max-frame", "--json", "--code"] {
        assert!(read.contains(opt), "{opt} missing in rmqdump-read(1)");
    }
    let (code, _, err) = run(&["man", "nope"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("rmqdump: man nope: no such command; one of: read"),
        "{err}"
    );
}

#[test]
fn man_dir_writes_one_page_per_command() {
    let cmds = commands();
    let tmp = tempfile::tempdir().unwrap();
    // A directory that does not exist yet is created (as man1 often is missing).
    let dir = tmp.path().join("share/man/man1");
    let (code, out, err) = run(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let mut want: Vec<String> = cmds.iter().map(|c| format!("rmqdump-{c}.1")).collect();
    want.push("rmqdump.1".into());
    want.sort();
    let mut got: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(out.lines().count(), want.len(), "{out}");
    // A path that cannot be a directory is an error naming it.
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let under = file.join("man1");
    let (code, _, err) = run(&["man", "--dir", under.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with(&format!("rmqdump: --dir {}", under.display())),
        "{err}"
    );
}

/// Output options are named alike in every command (README "Output files"): `-o/--output`
/// for a file or directory that is not a capture (report's page, export's directory),
/// `-w/--write` for a capture written (read, live, proxy, annotate, produce), as in tshark.
/// Old spellings stay accepted as visible aliases: export's `--out`, produce's `--record`.
#[test]
fn output_options_are_named_alike_in_every_command() {
    let mut seen = Vec::new();
    for c in commands() {
        let (code, out, err) = run(&[&c, "--help"]);
        assert_eq!(code, 0, "{c}: {err}");
        for l in out.lines().map(str::trim_start) {
            for (short, long) in [("-o, ", "--output"), ("-w, ", "--write")] {
                if let Some(rest) = l.strip_prefix(short) {
                    assert!(rest.starts_with(long), "{c}: {l}");
                    seen.push((c.clone(), short));
                }
            }
        }
    }
    for (c, short) in [
        ("report", "-o, "),
        ("export", "-o, "),
        ("read", "-w, "),
        ("live", "-w, "),
        ("proxy", "-w, "),
        ("annotate", "-w, "),
        ("produce", "-w, "),
    ] {
        assert!(
            seen.contains(&(c.to_string(), short)),
            "{c} {short}: {seen:?}"
        );
    }
    let (_, out, _) = run(&["export", "--help"]);
    assert!(out.contains("[alias: --out]"), "{out}");
    let (_, out, _) = run(&["produce", "--help"]);
    assert!(out.contains("[alias: --record]"), "{out}");
    // Both spellings work.
    let dir = tempfile::tempdir().unwrap();
    let c = format!(
        "{}/captures/rust/rocketmq-rust-dev.pcap",
        env!("CARGO_MANIFEST_DIR")
    );
    for (i, opt) in ["--output", "--out", "-o"].iter().enumerate() {
        let d = dir.path().join(i.to_string());
        let (code, _, err) = run(&["export", &c, opt, d.to_str().unwrap()]);
        assert_eq!(code, 0, "{opt}: {err}");
        assert!(d.join("frames").exists(), "{opt}: {err}");
    }
}
