//! `cjs`: parse the command line, resolve the configuration, start logging, run.

use backend::{cli::Cli, telemetry};
use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // `cjs openapi` and `cjs manual` need no configuration, data directory or database.
    if let Some(done) = backend::cli::run_without_config(&cli.command) {
        return exit_code(done);
    }
    let config = match backend::config::Config::resolve(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cjs: configuration error: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    // One crypto provider for the whole process (rustls refuses to guess when two are linked).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cjs: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    exit_code(runtime.block_on(backend::cli::run(cli.command, config)))
}

/// 0, or 1 with the error on standard error.
fn exit_code(done: anyhow::Result<()>) -> std::process::ExitCode {
    match done {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cjs: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
