//! Cutting CSV text into blocks of whole records, so that the blocks can be parsed on several
//! threads at once: a cut falls only on a line break outside quotes.

use std::io::Read;

/// The bytes a block aims to hold (it ends at the last record boundary before this size, or
/// grows until a record ends).
pub(super) const BLOCK_BYTES: usize = 1 << 20;

/// Whole records of CSV text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Block {
    /// The text; the records start at `start`.
    pub bytes: Vec<u8>,
    pub start: usize,
    /// The line (1-based) on which `bytes[start..]` begins in the input.
    pub first_line: u64,
}

impl Block {
    /// The records' text.
    pub fn text(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

/// Reads `reader` a block of whole records at a time.
pub(super) struct Blocks<R> {
    reader: R,
    /// Text read past the last block's end.
    carry: Vec<u8>,
    /// The line on which `carry` begins.
    line: u64,
    eof: bool,
    size: usize,
}

impl<R: Read> Blocks<R> {
    pub fn new(reader: R) -> Blocks<R> {
        Blocks::with_size(reader, BLOCK_BYTES)
    }

    /// Blocks of about `size` bytes (small ones in tests, to cross many boundaries).
    pub fn with_size(reader: R, size: usize) -> Blocks<R> {
        Blocks {
            reader,
            carry: Vec::new(),
            line: 1,
            eof: false,
            size: size.max(1),
        }
    }

    /// The next block, or `None` at the end of the input.
    pub fn next_block(&mut self) -> std::io::Result<Option<Block>> {
        let mut want = self.size;
        loop {
            if !self.eof && self.carry.len() < want {
                let missing = want - self.carry.len();
                // A record longer than memory is an error, not an abort.
                self.carry.try_reserve_exact(missing).map_err(|_| {
                    std::io::Error::other(format!(
                        "not enough memory for a CSV record of more than {} bytes",
                        self.carry.len()
                    ))
                })?;
                // Reads into the reserved space without zeroing it first, until it is full or
                // the input ends.
                let read = (&mut self.reader)
                    .take(missing as u64)
                    .read_to_end(&mut self.carry)?;
                self.eof = read < missing;
            }
            if self.eof {
                if self.carry.is_empty() {
                    return Ok(None);
                }
                let bytes = std::mem::take(&mut self.carry);
                return Ok(Some(self.block(bytes)));
            }
            match last_record_end(&self.carry) {
                Some(cut) => {
                    let rest = self.carry[cut..].to_vec();
                    let mut bytes = std::mem::replace(&mut self.carry, rest);
                    bytes.truncate(cut);
                    return Ok(Some(self.block(bytes)));
                }
                // One record longer than the block: read on until it ends.
                None => want = want.saturating_mul(2),
            }
        }
    }

    fn block(&mut self, bytes: Vec<u8>) -> Block {
        let first_line = self.line;
        self.line += memchr::memchr_iter(b'\n', &bytes).count() as u64;
        Block {
            bytes,
            start: 0,
            first_line,
        }
    }
}

/// The end (just past its line break) of the last whole record in `text`, which starts at a
/// record boundary: the last `\n` outside quotes. `""` inside a quoted field leaves it quoted.
fn last_record_end(text: &[u8]) -> Option<usize> {
    if memchr::memchr(b'"', text).is_none() {
        return memchr::memrchr(b'\n', text).map(|i| i + 1);
    }
    let mut quoted = false;
    let mut end = None;
    for i in memchr::memchr2_iter(b'"', b'\n', text) {
        if text[i] == b'"' {
            quoted = !quoted;
        } else if !quoted {
            end = Some(i + 1);
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(text: &str, size: usize) -> Vec<(String, u64)> {
        let mut b = Blocks::with_size(text.as_bytes(), size);
        let mut out = Vec::new();
        while let Some(block) = b.next_block().unwrap() {
            out.push((String::from_utf8(block.bytes).unwrap(), block.first_line));
        }
        out
    }

    #[test]
    fn blocks_end_on_records_and_count_lines() {
        let text = "a,b\n1,2\n3,4\n5,6";
        let got = blocks(text, 6);
        assert_eq!(got.concat_text(), text);
        for (block, _) in &got[..got.len() - 1] {
            assert!(block.ends_with('\n'), "{got:?}");
        }
        assert_eq!(got[0], ("a,b\n".to_string(), 1));
        assert_eq!(got.last().unwrap().1, 4);
    }

    #[test]
    fn a_line_break_inside_quotes_is_no_boundary() {
        let text = "id,x\n\"a\nb\",1\n\"c\"\"\n\",2\n";
        for size in 1..text.len() + 2 {
            let got = blocks(text, size);
            assert_eq!(got.concat_text(), text, "size {size}");
            for (block, _) in &got {
                let quotes = block.bytes().filter(|&b| b == b'"').count();
                assert_eq!(quotes % 2, 0, "size {size}: {got:?}");
            }
        }
        assert!(blocks("", 4).is_empty());
    }

    trait Concat {
        fn concat_text(&self) -> String;
    }

    impl Concat for Vec<(String, u64)> {
        fn concat_text(&self) -> String {
            self.iter().map(|(t, _)| t.as_str()).collect()
        }
    }
}
