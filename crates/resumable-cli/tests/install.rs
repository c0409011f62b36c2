//! What an installed `resumable` brings with it: shell completions and
//! manual pages generated from its command line, the global options under
//! their own heading, and the commands the `emulator` feature adds or leaves
//! out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;

/// Every command's name as `resumable --help` lists it: the ones every build
/// has, and the emulator's with the `emulator` feature.
fn commands() -> Vec<&'static str> {
    let mut names = vec![
        "upload",
        "status",
        "cancel",
        "gcs",
        "tus",
        "http",
        "completions",
        "man",
    ];
    if cfg!(feature = "emulator") {
        names.extend(["emulator", "demo"]);
    }
    names
}

/// The binary with a clean environment and its own state directory.
fn resumable(state: &Path) -> Command {
    Command::from_std(support::resumable("unused-key", state))
}

fn run(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    resumable(dir.path()).args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The words of a shell's command line, completed by bash with the script
/// `resumable completions bash` printed: what the user would see after
/// pressing Tab.
fn bash_completes(script: &Path, words: &[&str]) -> Vec<String> {
    let line = words.join(" ");
    let program = format!(
        "source {script}\n\
         COMP_WORDS=({line})\n\
         COMP_CWORD={cword}\n\
         COMP_LINE='{line}'\n\
         COMP_POINT=${{#COMP_LINE}}\n\
         _resumable resumable \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script = script.display(),
        cword = words.len() - 1,
    );
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn completions_for_every_shell_name_every_command() {
    for (shell, marker) in [
        ("bash", "complete -F _resumable"),
        ("zsh", "#compdef resumable"),
        ("fish", "complete -c resumable"),
        ("elvish", "edit:completion:arg-completer[resumable]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let script = stdout(&run(&["completions", shell]));
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        for command in commands() {
            assert!(script.contains(command), "{shell}: no {command}");
        }
        assert!(
            script.contains("session-url"),
            "{shell}: no option of `gcs upload`"
        );
        assert!(
            !script.contains("demo") || cfg!(feature = "emulator"),
            "{shell}: a demo that this build does not have"
        );
    }
    let out = run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bash_completes_commands_and_options_with_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("resumable.bash");
    std::fs::write(&script, stdout(&run(&["completions", "bash"]))).unwrap();

    let mut firsts = bash_completes(&script, &["resumable", "\"\""]);
    firsts.retain(|word| !word.starts_with('-') && word != "help");
    firsts.sort();
    let mut expected = commands();
    expected.sort_unstable();
    assert_eq!(firsts, expected);

    assert_eq!(bash_completes(&script, &["resumable", "sta"]), ["status"]);
    let options = bash_completes(&script, &["resumable", "gcs", "upload", "--session"]);
    assert_eq!(options, ["--session-url"]);
    // The global options are offered after any command.
    let options = bash_completes(&script, &["resumable", "status", "--js"]);
    assert_eq!(options, ["--json"]);
}

#[test]
fn the_man_page_is_roff_naming_the_command_and_its_commands() {
    let page = stdout(&run(&["man"]));
    assert!(page.contains("\n.TH resumable 1 "), "{page}");
    assert!(page.contains("\n.SH NAME\nresumable \\- "), "{page}");
    assert!(page.contains("\n.SH SYNOPSIS\n"), "{page}");
    assert!(page.contains("\n.SH \"GLOBAL OPTIONS\"\n"), "{page}");
    assert!(page.contains("\\fB\\-\\-json\\fR"), "{page}");
    assert!(page.contains("\n.SH SUBCOMMANDS\n"), "{page}");
    for command in commands() {
        assert!(
            page.contains(&format!("\nresumable\\-{command}(1)\n")),
            "no {command}: {page}"
        );
    }
    // clap's own `help` command has no page.
    assert!(!page.contains("resumable\\-help(1)"), "{page}");
    if !cfg!(feature = "emulator") {
        assert!(!page.contains("demo"), "{page}");
    }
}

#[test]
fn man_dir_writes_a_page_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["man", "--dir", dir.path().to_str().unwrap()]);
    stdout(&out);
    assert!(out.stdout.is_empty());

    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    let mut expected: Vec<String> = commands()
        .iter()
        .map(|command| format!("resumable-{command}.1"))
        .chain(
            [
                "resumable.1",
                "resumable-gcs-upload.1",
                "resumable-tus-upload.1",
                "resumable-http-upload.1",
            ]
            .map(String::from),
        )
        .collect();
    expected.sort();
    assert_eq!(pages, expected);

    for page in &pages {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        let title = page.trim_end_matches(".1");
        assert!(
            text.contains(&format!("\n.TH {title} 1 ")),
            "{page}: {text}"
        );
    }
    let gcs_upload = std::fs::read_to_string(dir.path().join("resumable-gcs-upload.1")).unwrap();
    assert!(
        gcs_upload.contains("\\fB\\-\\-session\\-url\\fR"),
        "{gcs_upload}"
    );
    assert!(
        gcs_upload.contains("\n.SH \"GLOBAL OPTIONS\"\n"),
        "{gcs_upload}"
    );

    let missing = dir.path().join("no-such-dir");
    let out = run(&["man", "--dir", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot write the manual pages"), "{err}");
}

#[test]
fn help_shows_the_global_options_under_their_own_heading() {
    for args in [
        &["--help"][..],
        &["upload", "--help"],
        &["gcs", "upload", "--help"],
    ] {
        let help = stdout(&run(args));
        let (before, global) = help
            .split_once("\nGlobal options:\n")
            .unwrap_or_else(|| panic!("{args:?}: no heading: {help}"));
        let global = global.split("\n\n").next().unwrap();
        for flag in ["--verbose", "--quiet", "--json"] {
            assert!(
                global.contains(flag),
                "{args:?}: {flag} not under the heading"
            );
            assert!(
                !before.contains(flag),
                "{args:?}: {flag} before the heading"
            );
        }
    }
}

#[cfg(feature = "emulator")]
#[test]
fn the_emulator_feature_brings_the_emulator_and_the_demo() {
    let help = stdout(&run(&["--help"]));
    assert!(help.contains("\n  emulator "), "{help}");
    assert!(help.contains("\n  demo "), "{help}");
    assert!(
        help.contains("resumable demo "),
        "the demo's example: {help}"
    );
}

#[cfg(not(feature = "emulator"))]
#[test]
fn without_the_emulator_feature_there_is_no_emulator_and_no_demo() {
    let help = stdout(&run(&["--help"]));
    assert!(!help.contains("emulator "), "{help}");
    assert!(!help.contains("demo"), "{help}");
    for command in ["emulator", "demo"] {
        let out = run(&[command]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("unrecognized subcommand"), "{command}: {err}");
    }
}
