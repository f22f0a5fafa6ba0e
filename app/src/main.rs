//! `llm-observatory`: with no subcommand it opens the desktop window; each subcommand
//! lives in `cli/`.

use clap::Parser;
use llm_observatory::cli;
use std::process::ExitCode;
use std::time::Instant;

/// mimalloc instead of the system allocator: the writer allocates and frees millions of
/// small values a second (rows, attribute maps), and glibc's allocator took a sixth of
/// its time (live ingest 20k → 24k spans/s, `tests/README` has the command).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let launched = Instant::now();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LLM_OBSERVATORY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = cli::Cli::parse();
    match cli::run(args, launched) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
