//! The binary's contract: exit codes documented and stable, help and usage errors.

mod common;

use std::process::Command;

use wave_runner::exit::Code;

#[test]
fn exit_code_table_matches_the_documentation() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/exit-codes.md"))
        .expect("docs/exit-codes.md exists");
    let rows: Vec<(u8, String)> = doc
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let code = cells.get(1)?.parse::<u8>().ok()?;
            Some((code, cells.get(2)?.trim_matches('`').to_owned()))
        })
        .collect();
    let expected: Vec<(u8, String)> = Code::ALL
        .iter()
        .map(|(code, name)| (code.0, (*name).to_owned()))
        .collect();
    assert_eq!(rows, expected);
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let out = Command::new(common::wave_bin())
        .arg("--no-such-flag")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(i32::from(Code::USAGE.0)));
    assert!(out.stdout.is_empty());
}

#[test]
fn help_and_version_succeed() {
    for arg in ["--help", "--version"] {
        let out = Command::new(common::wave_bin())
            .arg(arg)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "{arg}");
        assert!(!out.stdout.is_empty(), "{arg}");
    }
}
