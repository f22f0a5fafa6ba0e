//! Reading the requests of a dump one at a time, in bounded memory, each with where it
//! came from so that a bad one can be reported as `FILE:LINE` or `FILE@OFFSET`.

use super::detect::Shape;
use crate::otlp_json::{self, Request};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use std::fmt;
use std::io::{BufRead, Read};
use std::ops::ControlFlow;

/// Where in a file a request was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// 1-based line of JSON.
    Line(u64),
    /// 1-based element of a JSON array.
    Element(u64),
    /// Byte offset of a protobuf message (of its length prefix in a stream).
    Offset(u64),
    /// The file as a whole.
    File,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, ":{n}"),
            Location::Element(n) => write!(f, ": array element {n}"),
            Location::Offset(n) => write!(f, "@{n}"),
            Location::File => Ok(()),
        }
    }
}

/// Largest protobuf message accepted from a stream; a larger length prefix means the
/// file is not what it seemed.
const MAX_MESSAGE: usize = 512 << 20;

/// Calls `f` with each request of the content (or why it could not be read), in order,
/// until the content ends or `f` breaks.
pub fn for_each_request(
    mut input: Box<dyn BufRead + '_>,
    shape: Shape,
    f: &mut dyn FnMut(Location, Result<Request, String>) -> ControlFlow<()>,
) -> std::io::Result<()> {
    match shape {
        Shape::JsonObjects => json_objects(input, f),
        Shape::JsonArray => {
            json_array(input, f);
            Ok(())
        }
        Shape::ProtoMessage => {
            let mut bytes = Vec::new();
            input.read_to_end(&mut bytes)?;
            let r = ExportTraceServiceRequest::decode(bytes.as_slice())
                .map(Request::Traces)
                .map_err(|e| format!("protobuf: {e}"));
            let _ = f(Location::Offset(0), r);
            Ok(())
        }
        Shape::ProtoStream => proto_stream(input, f),
    }
}

/// JSON Lines; when the first object spans several lines (pretty-printed), the whole
/// content is read as a sequence of JSON values instead.
fn json_objects(
    mut input: Box<dyn BufRead + '_>,
    f: &mut dyn FnMut(Location, Result<Request, String>) -> ControlFlow<()>,
) -> std::io::Result<()> {
    let mut line = Vec::with_capacity(1 << 16);
    let mut number = 0u64;
    let mut first = true;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        number += 1;
        let complete = line.ends_with(b"\n");
        let body = line.trim_ascii();
        if body.is_empty() {
            continue;
        }
        let result = otlp_json::parse_request(body);
        if first {
            first = false;
            if let Err(e) = &result
                && e.contains("EOF while parsing")
                && complete
            {
                // Pretty-printed: hand the rest of the content, this line included, to a
                // streaming parser.
                let rest = std::io::Cursor::new(std::mem::take(&mut line)).chain(input);
                json_stream(rest, number, f);
                return Ok(());
            }
        }
        let result = result.map_err(|e| {
            if !complete && e.contains("EOF while parsing") {
                "truncated: the file ends in the middle of this line (was the writer stopped?)"
                    .to_string()
            } else {
                e
            }
        });
        if f(Location::Line(number), result).is_break() {
            return Ok(());
        }
    }
}

/// Concatenated JSON values; after a syntax error the rest cannot be resynchronized,
/// so it is reported and reading stops.
fn json_stream(
    input: impl Read,
    first_line: u64,
    f: &mut dyn FnMut(Location, Result<Request, String>) -> ControlFlow<()>,
) {
    let stream = serde_json::Deserializer::from_reader(input).into_iter::<serde_json::Value>();
    for item in stream {
        match item {
            Ok(value) => {
                let bytes = serde_json::to_vec(&value).expect("values serialize");
                if f(Location::Line(first_line), otlp_json::parse_request(&bytes)).is_break() {
                    return;
                }
            }
            Err(e) => {
                let line = first_line + e.line() as u64 - 1;
                let _ = f(
                    Location::Line(line),
                    Err(format!("{e}; the rest of the file was not read")),
                );
                return;
            }
        }
    }
}

/// A JSON array of requests, element by element.
fn json_array(
    input: impl Read,
    f: &mut dyn FnMut(Location, Result<Request, String>) -> ControlFlow<()>,
) {
    use serde::de::{DeserializeSeed, SeqAccess, Visitor};
    struct Elements<'f, 'g>(
        &'f mut dyn FnMut(Location, Result<Request, String>) -> ControlFlow<()>,
        &'g mut u64,
    );
    impl<'de> Visitor<'de> for Elements<'_, '_> {
        type Value = ();
        fn expecting(&self, fm: &mut fmt::Formatter) -> fmt::Result {
            fm.write_str("an array of OTLP requests")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(value) = seq.next_element::<Box<serde_json::value::RawValue>>()? {
                *self.1 += 1;
                let r = otlp_json::parse_request(value.get().as_bytes());
                if (self.0)(Location::Element(*self.1), r).is_break() {
                    break;
                }
            }
            Ok(())
        }
    }
    impl<'de> DeserializeSeed<'de> for Elements<'_, '_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }
    let mut count = 0u64;
    let mut de = serde_json::Deserializer::from_reader(input);
    if let Err(e) = Elements(f, &mut count).deserialize(&mut de) {
        let _ = f(
            Location::Element(count + 1),
            Err(format!("{e}; the rest of the array was not read")),
        );
    }
}

/// Length-prefixed protobuf messages; a message that does not decode is skipped (its
/// length says where the next one starts).
fn proto_stream(
    mut input: Box<dyn BufRead + '_>,
    f: &mut dyn FnMut(Location, Result<Request, String>) -> ControlFlow<()>,
) -> std::io::Result<()> {
    let mut offset = 0u64;
    let mut buf = Vec::new();
    loop {
        let mut prefix = [0u8; 4];
        let got = read_full(&mut input, &mut prefix)?;
        if got == 0 {
            return Ok(());
        }
        if got < 4 {
            let _ = f(
                Location::Offset(offset),
                Err(format!(
                    "truncated: the file ends inside a length prefix ({got} of 4 bytes)"
                )),
            );
            return Ok(());
        }
        let len = u32::from_be_bytes(prefix) as usize;
        if len > MAX_MESSAGE {
            let _ = f(
                Location::Offset(offset),
                Err(format!(
                    "length prefix {len} is larger than any OTLP message; the rest of the file was not read"
                )),
            );
            return Ok(());
        }
        buf.resize(len, 0);
        let got = read_full(&mut input, &mut buf)?;
        if got < len {
            let _ = f(
                Location::Offset(offset),
                Err(format!(
                    "truncated: message of {len} bytes, the file ends after {got}"
                )),
            );
            return Ok(());
        }
        let r = ExportTraceServiceRequest::decode(buf.as_slice())
            .map(Request::Traces)
            .map_err(|e| format!("protobuf: {e}"));
        if f(Location::Offset(offset), r).is_break() {
            return Ok(());
        }
        offset += 4 + len as u64;
    }
}

fn read_full(input: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
