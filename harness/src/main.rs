//! `btfsmith`: wires the harness library to the command line. No domain logic lives here.

use std::process::ExitCode;

fn main() -> ExitCode {
    match harness::cli::run() {
        Ok(code) => code,
        // `btfsmith btf dump … | head` is normal use, not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("btfsmith: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
