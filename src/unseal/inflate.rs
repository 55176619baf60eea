//! Raw DEFLATE (RFC 1951) for `zip: "DEF"`: the SDK's own inflater, with
//! an output ceiling, and `miniz_oxide`'s compressor for sharing.
//!
//! The inflater accepts and refuses exactly what `miniz_oxide`'s
//! `decompress_to_vec_with_limit` did (the tests compare the two on
//! generated, real and damaged streams): table sizes over 286 and 30, a
//! repeat with nothing to repeat or past the table, a code-length code that
//! is not complete, a literal/length or distance code that is neither
//! complete nor a single code, an unused code, symbols 286–287 and
//! distances 30–31, a distance before the start, and a stored block whose
//! length check fails are all errors; so is input that ends before the last
//! block does. Bytes after the last block are ignored.

use zeroize::Zeroizing;

use super::UnsealError;

/// Inflates raw DEFLATE data; refuses output over `limit` bytes without
/// producing more than `limit` bytes first.
pub(crate) fn inflate(data: &[u8], limit: usize) -> Result<Vec<u8>, UnsealError> {
    let mut out = Vec::with_capacity(data.len().saturating_mul(2).min(limit));
    let mut bits = Bits { data, pos: 0, buf: 0, count: 0 };
    loop {
        let last = bits.take(1)? == 1;
        match bits.take(2)? {
            0 => stored(&mut bits, &mut out, limit)?,
            1 => codes(&mut bits, &mut out, limit, &Huffman::fixed_lengths(), &Huffman::fixed_distances())?,
            2 => {
                let (lengths, distances) = dynamic_tables(&mut bits)?;
                codes(&mut bits, &mut out, limit, &lengths, &distances)?
            }
            _ => return Err(UnsealError::Inflate),
        }
        if last {
            return Ok(out);
        }
    }
}

/// The input, read least significant bit first.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u64,
    count: u32,
}

impl Bits<'_> {
    /// Tops the buffer up to at least 56 bits, or to the end of the input.
    fn refill(&mut self) {
        while self.count <= 56 {
            let Some(&byte) = self.data.get(self.pos) else { return };
            self.buf |= u64::from(byte) << self.count;
            self.pos += 1;
            self.count += 8;
        }
    }

    /// The next `n` (at most 32) bits as a number.
    fn take(&mut self, n: u32) -> Result<u32, UnsealError> {
        if self.count < n {
            self.refill();
            if self.count < n {
                return Err(UnsealError::Inflate);
            }
        }
        let value = (self.buf & ((1u64 << n) - 1)) as u32;
        self.buf >>= n;
        self.count -= n;
        Ok(value)
    }
}

/// A stored block: `LEN`, its complement, then `LEN` bytes as they are.
fn stored(bits: &mut Bits, out: &mut Vec<u8>, limit: usize) -> Result<(), UnsealError> {
    let _ = bits.take(bits.count % 8)?;
    let len = bits.take(16)?;
    if bits.take(16)? != !len & 0xFFFF {
        return Err(UnsealError::Inflate);
    }
    let mut left = len as usize;
    // Whole bytes already in the bit buffer come first.
    while left > 0 && bits.count >= 8 {
        push(out, bits.take(8)? as u8, limit)?;
        left -= 1;
    }
    let room = limit.saturating_sub(out.len());
    let available = bits.data.len().saturating_sub(bits.pos);
    let copy = left.min(room).min(available);
    out.extend_from_slice(bits.data.get(bits.pos..bits.pos + copy).ok_or(UnsealError::Inflate)?);
    bits.pos += copy;
    if copy < left {
        return Err(if copy == room { UnsealError::TooLarge { limit } } else { UnsealError::Inflate });
    }
    Ok(())
}

fn push(out: &mut Vec<u8>, byte: u8, limit: usize) -> Result<(), UnsealError> {
    if out.len() >= limit {
        return Err(UnsealError::TooLarge { limit });
    }
    out.push(byte);
    Ok(())
}

/// Bits looked up at once; longer codes are decoded a bit at a time.
const FAST_BITS: u32 = 10;

/// A canonical Huffman code: a table of the first `FAST_BITS` bits
/// (`length << 9 | symbol`, 0 where no code of that length or shorter
/// matches) and, for the longer codes, the count of codes of each length and
/// the symbols in code order.
struct Huffman {
    fast: Vec<u16>,
    counts: [u16; 16],
    symbols: Vec<u16>,
}

/// The code-length code, the literal/length code, the distance code.
#[derive(Clone, Copy, PartialEq)]
enum Table {
    CodeLengths,
    Lengths,
    Distances,
}

impl Huffman {
    /// The code of these code lengths (by symbol), checked as RFC 1951 and
    /// `miniz_oxide` require: the code-length code complete, the others
    /// complete or of at most one code.
    fn new(lengths: &[u8], table: Table) -> Result<Huffman, UnsealError> {
        let mut counts = [0u16; 16];
        for &len in lengths {
            *counts.get_mut(usize::from(len)).ok_or(UnsealError::Inflate)? += 1;
        }
        // Unused symbols (length 0) take no code.
        if let Some(unused) = counts.first_mut() {
            *unused = 0;
        }
        let used: u32 = counts.iter().map(|&c| u32::from(c)).sum();
        // Codes left unassigned after each length (negative: over-subscribed);
        // the first code of each length; where each length's symbols start.
        let mut left: i32 = 1;
        let mut next_code = [0u32; 16];
        let mut offsets = [0u16; 16];
        let (mut code, mut offset) = (0u32, 0u16);
        for ((&count, next), start) in counts.iter().zip(next_code.iter_mut()).zip(offsets.iter_mut()).skip(1) {
            left = (left << 1) - i32::from(count);
            if left < 0 {
                return Err(UnsealError::Inflate);
            }
            *next = code;
            *start = offset;
            code = (code + u32::from(count)) << 1;
            offset += count;
        }
        if left != 0 && (used > 1 || table == Table::CodeLengths) {
            return Err(UnsealError::Inflate);
        }
        let mut symbols = vec![0u16; used as usize];
        let mut fast = vec![0u16; 1 << FAST_BITS];
        for (symbol, &len) in lengths.iter().enumerate() {
            if len == 0 {
                continue;
            }
            let len = usize::from(len);
            if let Some(offset) = offsets.get_mut(len) {
                if let Some(slot) = symbols.get_mut(usize::from(*offset)) {
                    *slot = symbol as u16;
                }
                *offset += 1;
            }
            let Some(code) = next_code.get_mut(len) else { continue };
            let this = *code;
            *code += 1;
            if len as u32 <= FAST_BITS {
                // Codes are sent most significant bit first: the table is indexed by the reversed code.
                let reversed = (this.reverse_bits() >> (32 - len)) as usize;
                let entry = (len as u16) << 9 | symbol as u16;
                for i in (reversed..fast.len()).step_by(1 << len) {
                    if let Some(slot) = fast.get_mut(i) {
                        *slot = entry;
                    }
                }
            }
        }
        Ok(Huffman { fast, counts, symbols })
    }

    /// The fixed literal/length code (all 288 symbols; 286 and 287 are refused when decoded).
    fn fixed_lengths() -> Huffman {
        let mut lengths = [8u8; 288];
        lengths.iter_mut().skip(144).take(112).for_each(|l| *l = 9);
        lengths.iter_mut().skip(256).take(24).for_each(|l| *l = 7);
        Huffman::new(&lengths, Table::Lengths).unwrap_or_else(|_| Huffman::empty())
    }

    /// The fixed distance code (all 32 symbols; 30 and 31 are refused when decoded).
    fn fixed_distances() -> Huffman {
        Huffman::new(&[5u8; 32], Table::Distances).unwrap_or_else(|_| Huffman::empty())
    }

    fn empty() -> Huffman {
        Huffman { fast: vec![0; 1 << FAST_BITS], counts: [0; 16], symbols: Vec::new() }
    }

    /// The next symbol.
    fn decode(&self, bits: &mut Bits) -> Result<u16, UnsealError> {
        if bits.count < 15 {
            bits.refill();
        }
        let entry = self.fast.get((bits.buf & ((1 << FAST_BITS) - 1)) as usize).copied().unwrap_or(0);
        if entry != 0 {
            let len = u32::from(entry >> 9);
            if len > bits.count {
                return Err(UnsealError::Inflate);
            }
            bits.buf >>= len;
            bits.count -= len;
            return Ok(entry & 0x1FF);
        }
        // Canonical decoding, a bit at a time (RFC 1951 3.2.2; zlib's puff).
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.take(1)? as i32;
            let count = i32::from(self.counts.get(len).copied().unwrap_or(0));
            if code - first < count {
                return self.symbols.get((index + code - first) as usize).copied().ok_or(UnsealError::Inflate);
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err(UnsealError::Inflate)
    }
}

/// The order in which the code-length code's lengths are sent.
const CODE_LENGTH_ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/// A dynamic block's header: its literal/length and distance codes.
fn dynamic_tables(bits: &mut Bits) -> Result<(Huffman, Huffman), UnsealError> {
    let lengths = bits.take(5)? as usize + 257;
    let distances = bits.take(5)? as usize + 1;
    let code_lengths = bits.take(4)? as usize + 4;
    if lengths > 286 || distances > 30 {
        return Err(UnsealError::Inflate);
    }
    let mut sizes = [0u8; 19];
    for &symbol in CODE_LENGTH_ORDER.iter().take(code_lengths) {
        if let Some(slot) = sizes.get_mut(symbol) {
            *slot = bits.take(3)? as u8;
        }
    }
    let code = Huffman::new(&sizes, Table::CodeLengths)?;
    let total = lengths + distances;
    let mut all = Vec::with_capacity(total);
    while all.len() < total {
        let (value, repeat) = match code.decode(bits)? {
            symbol @ 0..=15 => (symbol as u8, 1),
            16 => (*all.last().ok_or(UnsealError::Inflate)?, 3 + bits.take(2)? as usize),
            17 => (0, 3 + bits.take(3)? as usize),
            _ => (0, 11 + bits.take(7)? as usize),
        };
        if all.len() + repeat > total {
            return Err(UnsealError::Inflate);
        }
        all.resize(all.len() + repeat, value);
    }
    let (literal, distance) = all.split_at(lengths);
    Ok((Huffman::new(literal, Table::Lengths)?, Huffman::new(distance, Table::Distances)?))
}

/// Base lengths of symbols 257–285, and their extra bits.
const LENGTH_BASE: [u16; 29] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA: [u8; 29] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
/// Base distances of symbols 0–29, and their extra bits.
const DISTANCE_BASE: [u16; 30] =
    [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DISTANCE_EXTRA: [u8; 30] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

/// A compressed block's symbols, up to its end-of-block symbol.
fn codes(bits: &mut Bits, out: &mut Vec<u8>, limit: usize, lengths: &Huffman, distances: &Huffman) -> Result<(), UnsealError> {
    loop {
        let symbol = lengths.decode(bits)?;
        if symbol < 256 {
            push(out, symbol as u8, limit)?;
            continue;
        }
        if symbol == 256 {
            return Ok(());
        }
        let index = usize::from(symbol - 257);
        let (Some(&base), Some(&extra)) = (LENGTH_BASE.get(index), LENGTH_EXTRA.get(index)) else {
            return Err(UnsealError::Inflate);
        };
        let len = usize::from(base) + bits.take(u32::from(extra))? as usize;
        let symbol = usize::from(distances.decode(bits)?);
        let (Some(&base), Some(&extra)) = (DISTANCE_BASE.get(symbol), DISTANCE_EXTRA.get(symbol)) else {
            return Err(UnsealError::Inflate);
        };
        let distance = usize::from(base) + bits.take(u32::from(extra))? as usize;
        if distance > out.len() {
            return Err(UnsealError::Inflate);
        }
        // As much of the match as the limit allows, then the refusal.
        let room = limit.saturating_sub(out.len());
        let start = out.len() - distance;
        let mut left = len.min(room);
        while left > 0 {
            let step = left.min(distance);
            out.extend_from_within(start..start + step);
            left -= step;
        }
        if len > room {
            return Err(UnsealError::TooLarge { limit });
        }
    }
}

/// Input fed to the compressor between two checks of the clock.
const DEFLATE_STEP: usize = 32 * 1024;

/// Compresses with raw DEFLATE at the default level, giving the event loop
/// a turn every few milliseconds. The
/// output is sized for FHIR JSON's usual ratio and grows by whole
/// zeroized copies, so no compressed plaintext is left behind in freed memory.
/// `None` only if the compressor fails (a bug in it), never a partial output.
pub(crate) async fn deflate_paced<S: crate::source::Scheduler>(data: &[u8], sched: &S) -> Option<Zeroizing<Vec<u8>>> {
    use miniz_oxide::deflate::core::{compress, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush, TDEFLStatus};
    let mut compressor = CompressorOxide::new(create_comp_flags_from_zip_params(6, 0, 0));
    let mut output = Zeroizing::new(vec![0u8; data.len() / 4 + 1024]);
    let mut written = 0;
    let mut rest = data;
    let pacer = crate::source::Pacer::new(sched);
    loop {
        let last = rest.len() <= DEFLATE_STEP;
        let (input, flush) = if last { (rest, TDEFLFlush::Finish) } else { (rest.get(..DEFLATE_STEP).unwrap_or(rest), TDEFLFlush::None) };
        let (status, read, wrote) = compress(&mut compressor, input, output.get_mut(written..).unwrap_or_default(), flush);
        written += wrote;
        rest = rest.get(read..).unwrap_or_default();
        match status {
            TDEFLStatus::Done => break,
            TDEFLStatus::Okay => {
                if output.len().saturating_sub(written) < 1024 {
                    let mut bigger = Zeroizing::new(vec![0u8; output.len() * 2]);
                    bigger.get_mut(..written).unwrap_or_default().copy_from_slice(output.get(..written).unwrap_or_default());
                    output = bigger;
                }
            }
            _ => return None,
        }
        pacer.tick().await;
    }
    output.truncate(written);
    Some(output)
}

#[cfg(test)]
mod tests;
