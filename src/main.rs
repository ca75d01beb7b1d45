//! The `rmqdump` command line: argument parsing, wiring and exit codes only. The arguments
//! are defined in `rmqdump::cli` (so completions and the man page come from them); each
//! command's logic lives in the library beside its layer.
//!
//! Exit codes: 0 all well; 1 the command's finding (differences, problems with `--strict`,
//! failed sends, clients the proxy closed for an unreachable upstream); 2 a usage or I/O
//! error (its message on stderr, prefixed `rmqdump:`). A closed standard output (`| head`)
//! ends a command without a verdict quietly (exit 0); a command with one keeps it
//! (`rmqdump::output::pipe`).

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use rmqdump::analysis::regress;
use rmqdump::cli::{
    CheckArgs, Cli, Cmd, DiffArgs, LiveArgs, ManArgs, ProduceArgs, ProxyArgs, ReadArgs, StatsArgs,
    VerifyArgs, limits,
};
use rmqdump::output::pipe::KeepVerdict;
use rmqdump::output::read::{self as reader, ReadConfig};
use rmqdump::output::stats_cmd::{self, StatsConfig};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return parse_error(e),
    };
    let r = match cli.cmd {
        Cmd::Read(a) => read(a),
        Cmd::Verify(a) => verify(a),
        Cmd::Stats(a) => stats(a),
        Cmd::Check(a) => check(a),
        Cmd::Diff(a) => diff(a),
        Cmd::Produce(a) => produce(*a),
        Cmd::Proxy(a) => proxy(a),
        Cmd::Live(a) => live(a),
        Cmd::Completions(a) => {
            rmqdump::cli::help::completions(a.shell, &mut io::stdout().lock()).map(|_| 0)
        }
        Cmd::Man(a) => man(a),
        Cmd::Export(a) => export(a),
        Cmd::Report(a) => report(a),
        Cmd::Annotate(a) => annotate(a),
        Cmd::Extcap(a) => extcap(a),
    };
    match r {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rmqdump: {e}");
            ExitCode::from(2)
        }
    }
}

/// Help and version go to stdout (exit 0); an argument error to stderr as clap words it,
/// prefixed `rmqdump:` like every other error, with its usage line (exit 2).
fn parse_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) || !e.use_stderr() {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = e.print();
        return ExitCode::from(2);
    }
    let text = e.render().to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    eprint!("rmqdump: {text}");
    ExitCode::from(2)
}

// Standard output is written with `write!`, never `print!`: `print!` panics on a closed pipe.

/// A usage error found after parsing: said on stderr, exit 2.
fn usage(msg: impl std::fmt::Display) -> io::Result<u8> {
    eprintln!("rmqdump: {msg}");
    Ok(2)
}

fn read(a: ReadArgs) -> io::Result<u8> {
    let f = &a.frames;
    let mut filter = match f.filter(a.stream) {
        Ok(x) => x,
        Err(e) => return usage(e),
    };
    let display = match a.select.apply(&mut filter) {
        Ok(y) => y,
        Err(e) => return usage(e),
    };
    let opts = a.common.options(false);
    let cfg = ReadConfig {
        more: a.more,
        display,
        count: a.select.count,
        write: a.write,
        ..ReadConfig::new(
            opts,
            f.output_options(a.show_secrets, &opts),
            filter,
            f.json,
            f.verbose,
        )
    };
    let outcome = if a.strict {
        let out = KeepVerdict::new(io::stdout().lock());
        reader::read(&a.common.file, cfg, out, &mut io::stderr())?
    } else {
        reader::read(&a.common.file, cfg, io::stdout().lock(), &mut io::stderr())?
    };
    Ok(if a.strict && outcome.bad() { 1 } else { 0 })
}

/// `export`: one summary line per capture on stderr; exit 2 when a capture could not be
/// exported (the others still are).
fn export(a: rmqdump::cli::ExportArgs) -> io::Result<u8> {
    rmqdump::output::read::refuse_stdin_twice(&a.files)?;
    let sums =
        rmqdump::output::export::export(&a.files, &a.options(), |s| eprintln!("{}", s.line()));
    Ok(if sums.iter().any(|s| s.error.is_some()) {
        2
    } else {
        0
    })
}

fn report(a: rmqdump::cli::ReportArgs) -> io::Result<u8> {
    let files: Vec<String> = std::iter::once(a.common.file.clone())
        .chain(a.more.iter().cloned())
        .collect();
    rmqdump::output::report::run(
        &files,
        a.common.options(false),
        a.interval,
        a.top,
        &a.output,
        io::stdout().lock(),
        &mut io::stderr(),
    )?;
    Ok(0)
}

fn annotate(a: rmqdump::cli::AnnotateArgs) -> io::Result<u8> {
    rmqdump::output::annotate::run(
        &a.common.file,
        a.common.options(false),
        &a.write,
        io::stdout(),
        &mut io::stderr(),
    )?;
    Ok(0)
}

/// Wireshark's extcap calls: the listings, or a capture run as `proxy`/`live` writing to
/// Wireshark's fifo.
fn extcap(a: rmqdump::cli::ExtcapArgs) -> io::Result<u8> {
    use rmqdump::output::extcap::{self, CaptureOptions, Interface};
    if a.extcap_interfaces {
        write!(io::stdout(), "{}", extcap::interfaces())?;
        return Ok(0);
    }
    let name = a.extcap_interface.as_deref().unwrap_or("");
    let i = Interface::parse(name)
        .ok_or_else(|| io::Error::other(format!("--extcap-interface {name:?}: unknown")))?;
    if a.extcap_dlts {
        write!(io::stdout(), "{}", extcap::dlts(i))?;
        return Ok(0);
    }
    if a.extcap_config {
        write!(io::stdout(), "{}", extcap::config(i))?;
        return Ok(0);
    }
    if !a.capture
        && let Some(f) = &a.extcap_capture_filter
    {
        // Wireshark's check of a capture filter: an error on stdout, nothing when valid.
        if let Some(e) = extcap::verify_capture_filter(i, f) {
            println!("{e}");
        }
        return Ok(0);
    }
    let (true, Some(fifo)) = (a.capture, a.fifo.as_deref()) else {
        return usage(
            "extcap: give --extcap-interfaces, --extcap-dlts, --extcap-config or --capture --fifo",
        );
    };
    let o = CaptureOptions {
        listen: a.listen,
        namesrv: a.namesrv,
        live_interface: a.live_interface,
        ports: a.ports,
        filter: a.extcap_capture_filter,
    };
    let args = extcap::capture_args(i, fifo, &o).map_err(io::Error::other)?;
    let cli = Cli::try_parse_from(std::iter::once("rmqdump".to_string()).chain(args))
        .map_err(|e| io::Error::other(e.to_string()))?;
    match cli.cmd {
        Cmd::Proxy(p) => proxy(p),
        Cmd::Live(l) => live(l),
        _ => Err(io::Error::other("extcap: not a capture command")),
    }
}

fn verify(v: VerifyArgs) -> io::Result<u8> {
    let files: Vec<String> = std::iter::once(v.common.file.clone())
        .chain(v.more)
        .collect();
    let ok = rmqdump::analysis::verify::run(
        &files,
        v.common.options(true),
        v.manifest.as_deref(),
        KeepVerdict::new(io::stdout().lock()),
        &mut io::stderr(),
    )?;
    Ok(if ok { 0 } else { 1 })
}

fn stats(a: StatsArgs) -> io::Result<u8> {
    let cfg = StatsConfig {
        opts: a.common.options(false),
        stats: rmqdump::analysis::stats::StatsOptions {
            interval_ns: a.interval,
            top: a.top,
        },
        threads: a.threads,
        json: a.json,
        tables: rmqdump::output::tables::TableOptions {
            width: rmqdump::output::tables::terminal_width(a.wide),
            csv: a.format == rmqdump::cli::TableFormat::Csv,
        },
    };
    let files: Vec<String> = std::iter::once(a.common.file).chain(a.more).collect();
    stats_cmd::stats(&files, cfg, io::stdout().lock(), &mut io::stderr())?;
    Ok(0)
}

/// A capture error of the named file, reported on stderr.
fn on_capture_error(file: &str, e: rmqdump::capture::CaptureError) -> io::Result<bool> {
    reader::capture_error(file, e, &mut io::stderr())
}

fn check(a: CheckArgs) -> io::Result<u8> {
    if a.list_ignored {
        for f in regress::DEFAULT_IGNORE {
            writeln!(io::stdout(), "{f}")?;
        }
        return Ok(0);
    }
    let file = &a.common.file;
    let opts = a.common.options(false);
    if a.bless {
        reader::refuse_overwrite(&a.golden, &[file])?;
        let out = std::fs::File::create(&a.golden)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", a.golden)))?;
        let n = regress::run::bless(
            (file, reader::open(file)?),
            opts,
            out,
            &mut on_capture_error,
        )?;
        writeln!(io::stdout(), "{file}: wrote {n} frames to {}", a.golden)?;
        return Ok(0);
    }
    let golden = std::fs::File::open(&a.golden).map_err(|e| {
        let hint = if e.kind() == io::ErrorKind::NotFound {
            format!(
                "; write it with `rmqdump check {file} --golden {} --bless`",
                a.golden
            )
        } else {
            String::new()
        };
        io::Error::new(e.kind(), format!("{}: {e}{hint}", a.golden))
    })?;
    let mut w = io::BufWriter::new(KeepVerdict::new(io::stdout().lock()));
    let diffs = regress::run::check(
        (file, reader::open(file)?),
        opts,
        (&a.golden, io::BufReader::new(golden)),
        regress::Ignore::new(&a.ignore, &a.keep),
        &mut w,
        &mut on_capture_error,
    )?;
    w.flush()?;
    Ok(if diffs == 0 { 0 } else { 1 })
}

fn diff(a: DiffArgs) -> io::Result<u8> {
    if a.a == "-" && a.b == "-" {
        return usage("diff: standard input (-) given twice: it can be read only once");
    }
    let mut w = io::BufWriter::new(KeepVerdict::new(io::stdout().lock()));
    let n = regress::run::diff(
        (&a.a, reader::open(&a.a)?),
        (&a.b, reader::open(&a.b)?),
        rmqdump::analysis::Options {
            limits: limits(&a.limits),
            ..Default::default()
        },
        &mut w,
        &mut on_capture_error,
    )?;
    w.flush()?;
    Ok(if n == 0 { 0 } else { 1 })
}

fn produce(a: ProduceArgs) -> io::Result<u8> {
    let job = match a.job() {
        Ok(j) => j,
        Err(e) => return usage(e),
    };
    let summary = rmqdump::producer::run::produce(&job, KeepVerdict::new(io::stdout().lock()))?;
    if let Some(r) = summary.error_report(&job.producer.namesrv) {
        eprintln!("rmqdump: {r}");
    }
    Ok(if summary.failed > 0 { 1 } else { 0 })
}

fn proxy(a: ProxyArgs) -> io::Result<u8> {
    let cfg = match a.config() {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let report = rmqdump::proxy::run::run(&cfg, Default::default(), io::stdout().lock())?;
    Ok(if report.unreachable > 0 { 1 } else { 0 })
}

fn live(a: LiveArgs) -> io::Result<u8> {
    let cfg = match a.config() {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    rmqdump::analysis::live::run(cfg, io::stdout().lock())?;
    Ok(0)
}

fn man(a: ManArgs) -> io::Result<u8> {
    use rmqdump::cli::help;
    match &a.dir {
        Some(dir) => {
            let files = help::man_pages_to(std::path::Path::new(dir))
                .map_err(|e| io::Error::new(e.kind(), format!("--dir {dir}: {e}")))?;
            for f in files {
                writeln!(io::stdout(), "{}", f.display())?;
            }
        }
        None => help::man_page(a.command.as_deref(), &mut io::stdout().lock())?,
    }
    Ok(0)
}
