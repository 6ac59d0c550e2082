//! The `wave` binary: parses arguments and hands off to the library's CLI layer.

fn main() -> std::process::ExitCode {
    // SAFETY: first thing in `main`; no other thread exists yet.
    unsafe { wave_runner::settings::prefer_hashed_ca_directory() };
    wave_runner::cli::main()
}
