use std::process::ExitCode;

fn main() -> ExitCode {
    mingle::cli::run()
}
