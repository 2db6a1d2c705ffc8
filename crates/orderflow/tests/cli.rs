//! The command line lists the whole contract, and unbuilt commands say so.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;

#[test]
fn help_lists_every_command_of_the_contract() {
    let output = Command::cargo_bin("orderflow")
        .unwrap()
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for command in ["up", "orders", "gateway", "push-hub", "idp", "token"] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(command)),
            "`{command}` missing from:\n{help}"
        );
    }
}

#[test]
fn an_unbuilt_command_says_not_yet_and_fails() {
    let output = Command::cargo_bin("orderflow")
        .unwrap()
        .arg("push-hub")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("not yet")
    );
}
