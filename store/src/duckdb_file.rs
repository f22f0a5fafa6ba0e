//! What can be told of a DuckDB file before DuckDB opens it: whether it is complete.
//! A copy taken before it was finished, a full disk or a truncation leave a file
//! shorter than the blocks its newest header counts; DuckDB itself also shortens a file
//! after a checkpoint, dropping blocks at its end that are free (their number stays in
//! the header, and they stay in the free list). So a file is damaged when a block it
//! lacks is not in the free list.

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

/// Where DuckDB's data blocks start: after the main header and two database headers,
/// each of one 4 KiB sector.
pub(crate) const BLOCKS_START: u64 = 3 * 4096;

/// Bytes of checksum at the start of every block (files without encryption).
const BLOCK_HEADER: u64 = 8;

/// Metadata sub-blocks in one block.
const METADATA_BLOCKS: u64 = 64;

/// "No block" in a pointer.
const INVALID: u64 = u64::MAX;

/// What is wrong with a DuckDB file whose headers are `header`, open as `file`, of
/// `len` bytes; `None` when nothing is.
pub(crate) fn damage(header: &[u8], file: &mut File, len: u64) -> Option<String> {
    if (header.len() as u64) < BLOCKS_START {
        return Some(format!(
            "it is {len} bytes long, shorter than DuckDB's {BLOCKS_START} bytes of headers"
        ));
    }
    // Each database header: an 8-byte checksum, then iteration, meta block, free list,
    // block count and block size as little-endian 64-bit words.
    let word = |at: usize| u64::from_le_bytes(header[at..at + 8].try_into().expect("8 bytes"));
    let newest = [4096usize, 8192]
        .into_iter()
        .max_by_key(|&at| word(at + 8))
        .expect("two headers");
    let free_list = word(newest + 24);
    let blocks = word(newest + 32);
    let block_size = match word(newest + 40) {
        0 => 262_144,
        n => n,
    };
    if !(4096..=(1 << 30)).contains(&block_size) || !block_size.is_power_of_two() {
        return Some(format!(
            "its database header is unreadable (block size {block_size})"
        ));
    }
    let Some(needed) = blocks
        .checked_mul(block_size)
        .and_then(|b| b.checked_add(BLOCKS_START))
    else {
        return Some(format!(
            "its database header is unreadable ({blocks} blocks)"
        ));
    };
    if len >= needed {
        return None;
    }
    let present = (len.saturating_sub(BLOCKS_START)) / block_size;
    let cut_short = || {
        Some(format!(
            "it is {len} bytes long but its header counts {blocks} blocks of {block_size} bytes ({needed} bytes): the file was cut short"
        ))
    };
    // A block cut in two is never DuckDB's own doing.
    if !(len - BLOCKS_START).is_multiple_of(block_size) {
        return cut_short();
    }
    match read_free_list(file, free_list, block_size, len) {
        Some(free) if (present..blocks).all(|b| free.contains(&b)) => None,
        _ => cut_short(),
    }
}

/// The free blocks recorded at `pointer` (a metadata block pointer: block id in the low
/// 56 bits, sub-block in the high 8); `None` when they cannot be read.
fn read_free_list(
    file: &mut File,
    pointer: u64,
    block_size: u64,
    len: u64,
) -> Option<HashSet<u64>> {
    if pointer == INVALID {
        return Some(HashSet::new());
    }
    let mut reader = MetadataReader::new(file, block_size, len);
    reader.jump(pointer)?;
    let count = reader.u64()?;
    // More free blocks than the file could ever hold: not a free list.
    if count > len / block_size + (1 << 20) {
        return None;
    }
    let mut free = HashSet::with_capacity(count as usize);
    for _ in 0..count {
        free.insert(reader.u64()?);
    }
    Some(free)
}

/// Reads a chain of metadata sub-blocks: each starts with the pointer to the next
/// (`INVALID` at the end), then data.
struct MetadataReader<'a> {
    file: &'a mut File,
    block_size: u64,
    len: u64,
    sub_block_size: u64,
    /// The current sub-block's bytes, and where reading is in it.
    data: Vec<u8>,
    at: usize,
    next: u64,
}

impl<'a> MetadataReader<'a> {
    fn new(file: &'a mut File, block_size: u64, len: u64) -> Self {
        // DuckDB: the block's usable bytes split in 64, each aligned down to 8 bytes.
        let sub_block_size = ((block_size - BLOCK_HEADER) / METADATA_BLOCKS) / 8 * 8;
        MetadataReader {
            file,
            block_size,
            len,
            sub_block_size,
            data: Vec::new(),
            at: 0,
            next: INVALID,
        }
    }

    /// Loads the sub-block `pointer` names.
    fn jump(&mut self, pointer: u64) -> Option<()> {
        let block = pointer & ((1 << 56) - 1);
        let index = pointer >> 56;
        if index >= METADATA_BLOCKS {
            return None;
        }
        let offset = BLOCKS_START
            .checked_add(block.checked_mul(self.block_size)?)?
            .checked_add(BLOCK_HEADER + index * self.sub_block_size)?;
        if offset + self.sub_block_size > self.len {
            return None;
        }
        self.file.seek(SeekFrom::Start(offset)).ok()?;
        self.data = vec![0; self.sub_block_size as usize];
        self.file.read_exact(&mut self.data).ok()?;
        self.next = u64::from_le_bytes(self.data[..8].try_into().ok()?);
        self.at = 8;
        Some(())
    }

    /// The next little-endian 64-bit word, following the chain across sub-blocks.
    fn u64(&mut self) -> Option<u64> {
        let mut bytes = [0u8; 8];
        for b in &mut bytes {
            if self.at >= self.data.len() {
                if self.next == INVALID {
                    return None;
                }
                self.jump(self.next)?;
            }
            *b = self.data[self.at];
            self.at += 1;
        }
        Some(u64::from_le_bytes(bytes))
    }
}
