//! A running `llm-observatory serve` on free ports, as the tests start and stop it.

use crate::util::bin;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A `serve` process and the addresses it printed.
pub struct Collector {
    pub child: Child,
    pub grpc: String,
    pub http: String,
}

impl Collector {
    /// Starts `serve --db DB` on free loopback ports with extra flags, and waits until
    /// it says where it listens.
    pub fn start(db: &str, extra: &[&str]) -> Collector {
        Collector::start_command(bin(), db, extra, Stdio::inherit())
    }

    /// Starts `serve` through `command` (the binary, or a wrapper such as `prlimit`
    /// with the binary as its last argument), its error output going to `stderr`.
    pub fn start_command(
        command: std::process::Command,
        db: &str,
        extra: &[&str],
        stderr: Stdio,
    ) -> Collector {
        Collector::start_into(command, &["--db", db], extra, stderr)
    }

    /// Starts `serve` writing where `target` says (`--db PATH`, `--clickhouse URL`).
    pub fn start_into(
        mut command: std::process::Command,
        target: &[&str],
        extra: &[&str],
        stderr: Stdio,
    ) -> Collector {
        // Free loopback ports, unless the test names its own gRPC address.
        let listen: &[&str] = if extra.contains(&"--grpc") {
            &["--http", "127.0.0.1:0"]
        } else {
            &["--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"]
        };
        let mut child = command
            .arg("serve")
            .args(target)
            .args(listen)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("serve starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut grpc, mut http) = (String::new(), String::new());
        let deadline = Instant::now() + Duration::from_secs(30);
        while grpc.is_empty() || http.is_empty() {
            assert!(
                Instant::now() < deadline,
                "serve did not print its addresses"
            );
            let line = lines.next().expect("serve printed its addresses").unwrap();
            if let Some(a) = line.strip_prefix("listening for OTLP/gRPC on ") {
                grpc = format!("http://{a}");
            } else if let Some(a) = line.strip_prefix("listening for OTLP/HTTP on ") {
                http = a.to_string();
            }
        }
        // Keep draining stdout so the process never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Collector { child, grpc, http }
    }

    /// SIGTERM, and the exit status it ends with.
    pub fn stop(mut self) -> std::process::ExitStatus {
        signal(self.child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop within 60 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(mut self) {
        signal(self.child.id(), "KILL");
        let _ = self.child.wait();
    }
}

impl Drop for Collector {
    /// A test that failed before stopping its `serve` does not leave it running (it
    /// would hold the test harness's output open and the run would never end).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends a signal by name with `kill`.
pub fn signal(pid: u32, name: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Peak resident memory of a process in KiB (VmHWM).
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
