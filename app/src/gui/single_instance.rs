//! One window per user: a database double-clicked (or "opened with") while a window runs
//! is handed to that window instead of starting a second one that would find the file
//! locked. The running window listens on a loopback port named, with a secret, in a
//! small file in the data directory (readable by its owner only); a new launch reads it,
//! sends the path (or, launched without one, asks the window to come forward), and exits
//! once the window says it has it. A stale file (the window
//! died) is found out by the refused connection and the launch goes on as usual.

use serde::{Deserialize, Serialize};
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Read as _, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

/// The rendezvous file's name in the data directory.
const FILE_NAME: &str = "window.json";

/// How long a launch waits for the running window to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(3);

/// The longest request line read (a path, JSON-quoted, and the secret).
const MAX_REQUEST: u64 = 64 * 1024;

/// What the rendezvous file holds.
#[derive(Serialize, Deserialize)]
struct Rendezvous {
    port: u16,
    secret: String,
    pid: u32,
}

/// What a launch asks the running window.
#[derive(Serialize, Deserialize)]
struct Request {
    secret: String,
    /// The database to open (absolute); `None`: just come forward.
    open: Option<PathBuf>,
}

/// The running window's side: what other launches handed over, until dropped.
pub struct Instance {
    handed: Receiver<Handed>,
    file: PathBuf,
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Instance {
    /// Starts listening and writes the rendezvous file into `dir`; `wake` is called when
    /// a path arrives (the window repaints to take it).
    pub fn announce(dir: &Path, wake: impl Fn() + Send + 'static) -> std::io::Result<Instance> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let port = listener.local_addr()?.port();
        let secret = random_secret();
        std::fs::create_dir_all(dir)?;
        let file = dir.join(FILE_NAME);
        let text = serde_json::to_string(&Rendezvous {
            port,
            secret: secret.clone(),
            pid: std::process::id(),
        })
        .expect("the rendezvous serializes");
        write_private(&file, &text)?;
        let (send, handed) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        std::thread::Builder::new()
            .name("single-instance".into())
            .spawn(move || serve(&listener, &secret, &send, &wake, &stopping))?;
        Ok(Instance {
            handed,
            file,
            port,
            stop,
        })
    }

    /// The next hand-over, if any (called each frame; never waits).
    pub fn take_handed(&self) -> Option<Handed> {
        self.handed.try_recv().ok()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)),
            Duration::from_millis(200),
        );
        // Remove the file only if it is still ours (a later window may have replaced it).
        let ours = std::fs::read_to_string(&self.file)
            .ok()
            .and_then(|t| serde_json::from_str::<Rendezvous>(&t).ok())
            .is_some_and(|r| r.port == self.port && r.pid == std::process::id());
        if ours {
            let _ = std::fs::remove_file(&self.file);
        }
    }
}

fn serve(
    listener: &TcpListener,
    secret: &str,
    send: &Sender<Handed>,
    wake: &dyn Fn(),
    stop: &AtomicBool,
) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(mut stream) = stream else { continue };
        let _ = stream.set_read_timeout(Some(ANSWER_WITHIN));
        let mut line = String::new();
        let read = BufReader::new((&stream).take(MAX_REQUEST)).read_line(&mut line);
        let answer = match read
            .ok()
            .and_then(|_| serde_json::from_str::<Request>(&line).ok())
        {
            Some(r) if r.secret == secret => {
                let _ = send.send(match r.open {
                    Some(path) => Handed::Open(path),
                    None => Handed::Focus,
                });
                wake();
                "ok\n"
            }
            Some(_) => "refused: wrong secret\n",
            None => "refused: not a request\n",
        };
        let _ = stream.write_all(answer.as_bytes());
    }
}

/// What another launch asked of the running window.
#[derive(Debug, PartialEq, Eq)]
pub enum Handed {
    /// Open this database (and come forward).
    Open(PathBuf),
    /// Come forward (launched with no database named).
    Focus,
}

/// What became of a launch's hand-over.
#[derive(Debug, PartialEq, Eq)]
pub enum HandOff {
    /// The running window took the path.
    Handed,
    /// No window runs (no file, or a stale one): start one.
    NoWindow,
}

/// Hands `database` (or, without one, the wish to see it) to the window running for this
/// user, if one does (its rendezvous file in `dir`). Errors say why a window that seems
/// to run did not take it.
pub fn hand_off(dir: &Path, database: Option<&Path>) -> Result<HandOff, String> {
    let Ok(text) = std::fs::read_to_string(dir.join(FILE_NAME)) else {
        return Ok(HandOff::NoWindow);
    };
    let Ok(r) = serde_json::from_str::<Rendezvous>(&text) else {
        return Ok(HandOff::NoWindow);
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, r.port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return Ok(HandOff::NoWindow);
    };
    let open = database.map(|d| std::path::absolute(d).unwrap_or_else(|_| d.to_path_buf()));
    let request = serde_json::to_string(&Request {
        secret: r.secret,
        open,
    })
    .expect("the request serializes");
    let _ = stream.set_read_timeout(Some(ANSWER_WITHIN));
    stream
        .write_all(format!("{request}\n").as_bytes())
        .map_err(|e| format!("the running window (pid {}) did not take it: {e}", r.pid))?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .map_err(|e| format!("the running window (pid {}) did not answer: {e}", r.pid))?;
    match answer.trim() {
        "ok" => Ok(HandOff::Handed),
        // Something else listens on that port now: the file is stale.
        _ => Ok(HandOff::NoWindow),
    }
}

/// 128 random bits, hex: the standard library's per-process random hash keys.
fn random_secret() -> String {
    let state = std::collections::hash_map::RandomState::new();
    let half = |salt: u64| {
        let mut h = state.build_hasher();
        h.write_u64(salt ^ u64::from(std::process::id()));
        h.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

/// Writes `text` to `path` readable by its owner only (the secret lets anyone who reads
/// it switch the window's database).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "llm-observatory-instance-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_launch_hands_its_database_to_the_running_window() {
        let dir = scratch("handoff");
        assert_eq!(
            hand_off(&dir, Some(Path::new("a.duckdb"))),
            Ok(HandOff::NoWindow)
        );
        let woken = Arc::new(AtomicUsize::new(0));
        let count = woken.clone();
        let instance = Instance::announce(&dir, move || {
            count.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        assert_eq!(
            hand_off(&dir, Some(Path::new("traces.duckdb"))),
            Ok(HandOff::Handed)
        );
        let Some(Handed::Open(got)) = instance.take_handed() else {
            panic!("the path did not arrive");
        };
        assert!(
            got.is_absolute() && got.ends_with("traces.duckdb"),
            "{got:?}"
        );
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        assert_eq!(instance.take_handed(), None);
        assert_eq!(hand_off(&dir, None), Ok(HandOff::Handed));
        assert_eq!(instance.take_handed(), Some(Handed::Focus));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(FILE_NAME))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "only its owner reads the secret");
        }
        drop(instance);
        assert!(
            !dir.join(FILE_NAME).exists(),
            "a closed window removes its file"
        );
        assert_eq!(
            hand_off(&dir, Some(Path::new("a.duckdb"))),
            Ok(HandOff::NoWindow)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_stale_file_or_a_wrong_secret_hands_nothing() {
        let dir = scratch("stale");
        std::fs::create_dir_all(&dir).unwrap();
        // A window that died: its port refuses.
        let dead = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = dead.local_addr().unwrap().port();
        drop(dead);
        let stale = format!(r#"{{"port":{port},"secret":"x","pid":1}}"#);
        std::fs::write(dir.join(FILE_NAME), stale).unwrap();
        assert_eq!(
            hand_off(&dir, Some(Path::new("a.duckdb"))),
            Ok(HandOff::NoWindow)
        );
        // A running window refuses a request without its secret.
        let instance = Instance::announce(&dir, || {}).unwrap();
        let mut s = TcpStream::connect(("127.0.0.1", instance.port)).unwrap();
        s.write_all(b"{\"secret\":\"guess\",\"open\":\"/etc/passwd\"}\n")
            .unwrap();
        let mut answer = String::new();
        BufReader::new(s).read_line(&mut answer).unwrap();
        assert_eq!(answer, "refused: wrong secret\n");
        assert_eq!(instance.take_handed(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
