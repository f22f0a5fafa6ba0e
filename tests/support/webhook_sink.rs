//! A webhook receiver for tests: a real HTTP server on a free loopback port that
//! records each request's body and answers with a chosen status after a chosen delay
//! (a delay of a minute makes a server that hangs). Shared by the alert tests of the
//! library and of the binary (`#[path]` modules).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The bodies received, in order of arrival (recorded before the answer is sent).
pub type Bodies = Arc<Mutex<Vec<String>>>;

/// Starts the server; returns its URL and the bodies it gets.
pub fn webhook_sink(status: u16, delay: Duration) -> (String, Bodies) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let bodies = Bodies::default();
    let got = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let got = got.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                got.lock().unwrap().push(String::from_utf8(body).unwrap());
                std::thread::sleep(delay);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            });
        }
    });
    (url, bodies)
}
