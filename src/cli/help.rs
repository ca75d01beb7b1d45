//! Help beyond `--help`, generated from the clap definitions of [`super::Cli`] so it never
//! drifts from what the binary parses: shell completions (clap_complete) and man pages
//! (clap_mangen, one per command as git does: rmqdump(1), rmqdump-read(1), ...).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::Cli;

/// The end of `rmqdump --help` and the man page's extra section: exit codes and where the
/// documentation is.
pub const AFTER_HELP: &str = "\
Exit codes: 0 all well; 1 the command found something (verify: a mismatch or bytes it could \
not check; read --strict: any problem but pending; check/diff: a difference; produce: a message failed; \
proxy: clients closed because an upstream could not be reached); 2 a usage or I/O error. \
Errors go to stderr prefixed `rmqdump:`. A closed standard output (| head) keeps the verdict: \
those commands finish with their output discarded and exit as above.

Documentation: README.md and docs/ in the source tree (docs/json-lines.md: the JSON Lines \
schema; docs/stats.md: stats --json).";

/// The command tree as the binary parses it, built (subcommands named `rmqdump-read`...),
/// without the `help` subcommand.
fn command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Writes the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> io::Result<()> {
    // Generated into memory first: clap_complete panics when its writer fails (a closed
    // pipe, `| head`), the write below returns the error instead.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "rmqdump", &mut script);
    out.write_all(&script)?;
    out.flush()
}

/// Writes the man page of the command named `sub` (`None`: rmqdump(1)) as roff; an
/// unknown name is an error listing the known ones.
pub fn man_page(sub: Option<&str>, out: &mut dyn Write) -> io::Result<()> {
    let cmd = command();
    let page = match sub {
        None => cmd,
        Some(name) => match cmd.find_subcommand(name) {
            Some(c) => c.clone(),
            None => {
                let known: Vec<_> = cmd.get_subcommands().map(|c| c.get_name()).collect();
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("man {name}: no such command; one of: {}", known.join(", ")),
                ));
            }
        },
    };
    clap_mangen::Man::new(page).render(out)
}

/// Writes every man page (rmqdump.1 and one per command) into `dir`, created if missing
/// (`~/.local/share/man/man1` often is on a fresh machine); returns the files.
pub fn man_pages_to(dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let cmd = command();
    let mut files = vec![clap_mangen::Man::new(cmd.clone()).generate_to(dir)?];
    for sub in cmd.get_subcommands() {
        files.push(clap_mangen::Man::new(sub.clone()).generate_to(dir)?);
    }
    Ok(files)
}
