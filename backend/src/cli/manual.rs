//! `cjs manual --out DIR`: the manual pages (section 1) the Debian package installs, one per
//! command (`cjs.1`, `cjs-serve.1`, `cjs-admin.1`, `cjs-admin-reset-password.1`, …). They are
//! rendered from the same clap definition as `--help` (clap_mangen), so an option cannot be in
//! one and missing from the other; the top page adds what `--help` has no room for: the files,
//! where the settings come from, and the exit status.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_mangen::{
    Man,
    roff::{Roff, bold, italic, roman},
};

/// Writes every visible command's page into `dir` (made if missing), dated `date`
/// (YYYY-MM-DD: scripts/package gives the commit's, so a rebuild gives the same pages), and
/// returns their paths, the top page first.
pub fn write_pages(dir: &Path, date: &str) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut cli = super::Cli::command().disable_help_subcommand(true);
    // Gives every subcommand its display name (`cjs-admin-reset-password`) and its usage line.
    cli.build();
    let mut written = Vec::new();
    write_page(&cli, None, date, dir, &mut written)?;
    Ok(written)
}

fn write_page(
    cmd: &clap::Command,
    parent: Option<&str>,
    date: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    // A subcommand's page shows its own options: the settings (global options, on every page
    // otherwise) are on cjs(1), which its SEE ALSO names.
    let shown = match parent {
        None => cmd.clone(),
        Some(_) => cmd.clone().mut_args(|a| if a.is_global_set() { a.hide(true) } else { a }),
    };
    // Every page's footer names the release (a subcommand has no version of its own).
    // `.TH`'s fields must all be there (roff drops an empty one and the rest shift left).
    let man = Man::new(shown).date(date).source(concat!("cjs ", env!("CARGO_PKG_VERSION"))).manual("cjs");
    let mut page = Vec::new();
    man.render(&mut page)?;
    let mut more = Roff::default();
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    if parent.is_none() {
        top_sections(&mut more);
    }
    more.control("SH", ["SEE ALSO"]);
    let mut see = Vec::new();
    if let Some(parent) = parent {
        see.extend([
            bold("cjs"),
            roman("(1) (the settings: --data-dir, --config, --database-url and the rest, which every command takes), "),
        ]);
        if parent != "cjs" {
            see.extend([bold(parent), roman("(1), ")]);
        }
    }
    see.extend([
        italic("/usr/share/doc/cjs/README.md.gz"),
        roman(" (every setting, and how to operate the service: backup and restore, the HSM, several instances, failover)."),
    ]);
    more.text(see);
    // The roff crate starts every document with its apostrophe string (`.ie \n(.g .ds Aq …`,
    // `.el .ds Aq '`): the page has it already.
    let more = more.to_roff();
    for line in more.lines().filter(|l| !l.starts_with(".ie \\n(.g .ds Aq") && !l.starts_with(".el .ds Aq")) {
        page.extend_from_slice(line.as_bytes());
        page.push(b'\n');
    }
    let path = dir.join(man.get_filename());
    std::fs::write(&path, page)?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_page(sub, Some(name), date, dir, written)?;
    }
    Ok(())
}

/// FILES, SETTINGS and EXIT STATUS of `cjs.1`.
fn top_sections(roff: &mut Roff) {
    roff.control("SH", ["FILES"]);
    for (file, what) in [
        ("/etc/cjs/cjs.toml", "the settings: a conffile, root:cjs 0640 (root writes it, the service reads it)."),
        (
            "/var/lib/cjs",
            "the data directory the package's unit names (cjs:cjs 0700; without --data-dir cjs uses ./data): the CA (ca.pem, ca-key.pem) and the server's certificate and key, the audit key (audit-key.pem), the sessions' key (token.key), mail written as files (mail/), and with SQLite the database (cjs.db).",
        ),
        ("/usr/share/cjs/dist", "the browser application the service serves."),
        ("/lib/systemd/system/cjs.service", "the sandboxed unit that runs cjs serve."),
    ] {
        roff.control("TP", []);
        roff.text([bold(file)]);
        roff.text([roman(what)]);
    }
    roff.control("SH", ["SETTINGS"]);
    roff.text([roman(
        "Each setting comes from its command-line option, else its environment variable (the env beside each option above), else the settings file (the one --config names; cjs.toml in the data directory without it; the package's unit names /etc/cjs/cjs.toml), else its default; the README's settings table lists them all. A key of the settings file that no setting reads is reported when cjs serve starts, so a misspelt key does not pass unnoticed.",
    )]);
    roff.control("SH", ["EXAMPLES"]);
    roff.text([roman("A bank operation on an installed service, as its user and with its settings:")]);
    // Unfilled: a command line is neither joined nor hyphenated.
    roff.control("IP", []);
    roff.control("nf", []);
    roff.text([bold("sudo -u cjs cjs --data-dir /var/lib/cjs --config /etc/cjs/cjs.toml \\")]);
    roff.text([bold("    admin reset-password --user-id USER")]);
    roff.control("fi", []);
    roff.control("SH", ["EXIT STATUS"]);
    for (code, what) in [
        ("0", "done."),
        ("1", "the command failed (the reason is on standard error)."),
        (
            "2",
            "the command line could not be parsed, or the settings could not be read or are invalid; nothing was done. A setting found wrong while the command runs (a key file that is missing, say) exits 1.",
        ),
    ] {
        roff.control("TP", []);
        roff.text([bold(code)]);
        roff.text([roman(what)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(dir: &Path, name: &str) -> String {
        std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn every_visible_command_gets_a_page_and_the_hidden_one_none() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_pages(dir.path(), "2026-12-06").unwrap();
        assert_eq!(written[0], dir.path().join("cjs.1"));
        let names: Vec<String> =
            written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        for expected in ["cjs-serve.1", "cjs-admin.1", "cjs-admin-reset-password.1", "cjs-admin-audit-verify.1"] {
            assert!(names.iter().any(|n| n == expected), "{expected} in {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("manual")), "the packaging command is not a page: {names:?}");
        assert!(!names.iter().any(|n| n.ends_with("-help.1")), "no page for clap's help subcommand: {names:?}");
        let reset = page(dir.path(), "cjs-admin-reset-password.1");
        assert!(reset.contains("cjs\\-admin\\fR(1)"), "a subcommand's page points to its parent's:\n{reset}");
        assert!(reset.contains("\\-\\-user\\-id"), "its own option:\n{reset}");
        assert!(!reset.contains("smtp\\-host"), "the settings are on cjs(1) alone:\n{reset}");
        assert!(page(dir.path(), "cjs.1").contains("smtp\\-host"));
    }

    #[test]
    fn the_top_page_names_every_environment_variable_and_the_files() {
        let dir = tempfile::tempdir().unwrap();
        write_pages(dir.path(), "2026-12-06").unwrap();
        let top = page(dir.path(), "cjs.1");
        let cli = super::super::Cli::command();
        let vars: Vec<String> =
            cli.get_arguments().filter_map(|a| a.get_env()).map(|v| v.to_string_lossy().into_owned()).collect();
        assert!(vars.len() > 20, "the settings' variables: {vars:?}");
        for var in &vars {
            // roff escapes the hyphen-minus; an underscore stays as it is.
            assert!(top.contains(var.as_str()), "{var} is not on cjs(1)");
        }
        for section in [".SH FILES", ".SH SETTINGS", ".SH EXAMPLES", ".SH \"EXIT STATUS\"", ".SH \"SEE ALSO\""] {
            assert!(top.contains(section), "{section} is not on cjs(1)");
        }
        // FILES names what the package installs and the directories its unit runs with.
        let unit = include_str!("../../../scripts/debian/cjs.service");
        let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).unwrap();
        for path in ["/var/lib/cjs", "/etc/cjs/cjs.toml", "/usr/share/cjs/dist"] {
            assert!(exec.contains(path), "the unit runs with {path}: {exec}");
            assert!(top.contains(&format!("\\fB{}\\fR", path.replace('-', "\\-"))), "FILES names {path}");
        }
        assert!(top.contains("\\fB/lib/systemd/system/cjs.service\\fR"));
        // Every field of the title line is there: the date, the release, the manual's name.
        let title = top.lines().find(|l| l.starts_with(".TH")).unwrap();
        assert_eq!(title, concat!(".TH cjs 1 2026-12-06 \"cjs ", env!("CARGO_PKG_VERSION"), "\" cjs"));
        assert_eq!(top.matches(".ds Aq").count(), 2, "one apostrophe preamble (.ie/.el):\n{top}");
    }
}
