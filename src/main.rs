//! The `wave` binary: parses arguments and hands off to the library's CLI layer.

fn main() -> std::process::ExitCode {
    wave_runner::cli::main()
}
