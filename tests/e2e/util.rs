//! Running the binary and scratch folders for the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_llm-observatory"));
    isolate(&mut c);
    c
}

/// Keeps the user's own price file and data out of a command's reach.
pub fn isolate(c: &mut Command) -> &mut Command {
    c.env("XDG_CONFIG_HOME", scratch_root().join("config"))
        .env("XDG_DATA_HOME", scratch_root().join("data"))
}

/// Runs the binary with `args`, returning its output.
pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch_root() -> PathBuf {
    std::env::temp_dir().join(format!("llm-observatory-e2e-{}", std::process::id()))
}

/// A fresh folder for one test, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// A new empty folder named after the test.
    pub fn new(name: &str) -> Scratch {
        let d = scratch_root().join(name);
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch folder");
        Scratch(d)
    }

    /// A path inside the folder, as a string for command lines.
    pub fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fixture file of `tests/fixtures/`.
pub fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// Debian's libfaketime, under the machine's multiarch folder: preloaded, it gives a
/// process the clock a file names (`FAKETIME_TIMESTAMP_FILE`).
pub fn libfaketime() -> PathBuf {
    std::fs::read_dir("/usr/lib")
        .unwrap()
        .map(|e| e.unwrap().path().join("faketime/libfaketime.so.1"))
        .find(|p| p.exists())
        .expect("libfaketime is missing: install Debian's faketime (tests/run.sh does)")
}

/// A demo database of 600 traces at `path`, made by `demo` with `extra` flags (`--end`,
/// `--days`): known synthetic traffic for the tests that compare figures.
pub fn demo_db(path: &str, extra: &[&str]) {
    let made = run(&[&["demo", "--db", path, "--traces", "600"][..], extra].concat());
    assert!(made.status.success(), "{}", stderr(&made));
}
