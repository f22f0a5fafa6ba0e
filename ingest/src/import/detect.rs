//! Recognizing a dump by its content: compression first (gzip, zstd), then JSON (one
//! request, JSON Lines, concatenated or pretty-printed requests, an array of them) or
//! protobuf (one message, or a stream of length-prefixed messages).

use std::io::{BufRead, BufReader, Read};

/// What the (decompressed) content is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// JSON objects: one per line, or spread over lines, or one after another.
    JsonObjects,
    /// A JSON array of requests.
    JsonArray,
    /// One protobuf `ExportTraceServiceRequest`.
    ProtoMessage,
    /// Protobuf messages each preceded by a 4-byte big-endian length (the Collector's
    /// file exporter with `format: proto`).
    ProtoStream,
}

/// How the file was compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// Wraps `raw` in the decompressor its first bytes call for.
pub fn decompress<'a, R: Read + 'a>(
    raw: R,
) -> std::io::Result<(Box<dyn BufRead + 'a>, Compression)> {
    let mut buffered = BufReader::with_capacity(1 << 20, raw);
    let head = buffered.fill_buf()?;
    Ok(if head.starts_with(GZIP_MAGIC) {
        (
            Box::new(BufReader::with_capacity(
                1 << 20,
                flate2::bufread::MultiGzDecoder::new(buffered),
            )),
            Compression::Gzip,
        )
    } else if head.starts_with(ZSTD_MAGIC) {
        (
            Box::new(BufReader::with_capacity(
                1 << 20,
                zstd::stream::read::Decoder::with_buffer(buffered)?,
            )),
            Compression::Zstd,
        )
    } else {
        (Box::new(buffered), Compression::None)
    })
}

/// The shape of decompressed content from its first bytes, or why it is not OTLP.
pub fn shape(head: &[u8]) -> Result<Shape, String> {
    let text = head
        .strip_prefix(b"\xef\xbb\xbf".as_slice())
        .unwrap_or(head);
    let first = text.iter().copied().find(|b| !b.is_ascii_whitespace());
    match first {
        None if head.is_empty() => Err("the file is empty".into()),
        None => Err("the file holds only whitespace".into()),
        Some(b'{') => Ok(Shape::JsonObjects),
        Some(b'[') => Ok(Shape::JsonArray),
        // Field 1 (resource_spans), wire type 2: a bare ExportTraceServiceRequest.
        Some(_) if head[0] == 0x0a => Ok(Shape::ProtoMessage),
        // A 4-byte big-endian length; real messages are far below 2^24 bytes.
        Some(_) if head.len() >= 5 && head[0] == 0 && head[4] == 0x0a => Ok(Shape::ProtoStream),
        Some(_)
            if head
                .iter()
                .take(64)
                .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()) =>
        {
            Err(format!(
                "not OTLP: the file is text but not JSON (it starts with {:?})",
                String::from_utf8_lossy(&head[..head.len().min(24)])
            ))
        }
        Some(_) => {
            Err("not OTLP: neither JSON nor OTLP protobuf (unrecognized binary content)".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_recognized_from_content() {
        assert_eq!(shape(b"{\"resourceSpans\":[]}"), Ok(Shape::JsonObjects));
        assert_eq!(shape(b"\xef\xbb\xbf \n {"), Ok(Shape::JsonObjects));
        assert_eq!(shape(b"  [{}]"), Ok(Shape::JsonArray));
        assert_eq!(shape(&[0x0a, 0x05, 1, 2]), Ok(Shape::ProtoMessage));
        assert_eq!(shape(&[0, 0, 0, 9, 0x0a, 7]), Ok(Shape::ProtoStream));
        assert!(shape(b"").unwrap_err().contains("empty"));
        assert!(
            shape(b"hello world")
                .unwrap_err()
                .contains("text but not JSON")
        );
        assert!(
            shape(&[0xff, 0xfe, 0x00, 0x13])
                .unwrap_err()
                .contains("binary")
        );
    }
}
