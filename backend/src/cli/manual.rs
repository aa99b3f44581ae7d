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

/// Writes every visible command's page into `dir` (made if missing) and returns their paths,
/// the top page first.
pub fn write_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut cli = super::Cli::command().disable_help_subcommand(true);
    // Gives every subcommand its display name (`cjs-admin-reset-password`) and its usage line.
    cli.build();
    let mut written = Vec::new();
    write_page(&cli, None, dir, &mut written)?;
    Ok(written)
}

fn write_page(
    cmd: &clap::Command,
    parent: Option<&str>,
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
    let man = Man::new(shown).manual("cjs").source(concat!("cjs ", env!("CARGO_PKG_VERSION")));
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
    more.to_writer(&mut page)?;
    let path = dir.join(man.get_filename());
    std::fs::write(&path, page)?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_page(sub, Some(name), dir, written)?;
    }
    Ok(())
}

/// FILES, SETTINGS and EXIT STATUS of `cjs.1`.
fn top_sections(roff: &mut Roff) {
    roff.control("SH", ["FILES"]);
    for (file, what) in [
        ("/etc/cjs/cjs.toml", "the settings (a conffile, readable by the service's user only)."),
        (
            "/var/lib/cjs",
            "the data directory: the SQLite database, the CA's and the server's keys and certificates, mail files, the audit checkpoints (mode 0700, user cjs).",
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
        "Each setting comes from its command-line option, else its environment variable (the env beside each option above), else the settings file (the one --config names; cjs.toml in the data directory without it; the package's unit names /etc/cjs/cjs.toml), else its default; the README's settings table lists them all. A key of the settings file that no setting reads is reported at start, so a misspelt key does not pass unnoticed.",
    )]);
    roff.control("SH", ["EXIT STATUS"]);
    for (code, what) in [
        ("0", "done."),
        ("1", "the command failed (the reason is on standard error)."),
        ("2", "the command line or the settings are wrong; nothing was done."),
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
        let written = write_pages(dir.path()).unwrap();
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
        write_pages(dir.path()).unwrap();
        let top = page(dir.path(), "cjs.1");
        let cli = super::super::Cli::command();
        let vars: Vec<String> =
            cli.get_arguments().filter_map(|a| a.get_env()).map(|v| v.to_string_lossy().into_owned()).collect();
        assert!(vars.len() > 20, "the settings' variables: {vars:?}");
        for var in &vars {
            // roff escapes the hyphen-minus; an underscore stays as it is.
            assert!(top.contains(var.as_str()), "{var} is not on cjs(1)");
        }
        for section in [".SH FILES", ".SH SETTINGS", ".SH \"EXIT STATUS\"", ".SH \"SEE ALSO\"", "/etc/cjs/cjs.toml"] {
            assert!(top.contains(section), "{section} is not on cjs(1)");
        }
    }
}
