//! `.npy` files: read with a strict header check of our own, written by hand in exactly the
//! bytes `numpy.save` writes (format 1.0, header padded with spaces to a multiple of 64 bytes),
//! so the CLI's files equal those of `np.save` on the PyO3 extension's arrays.
//!
//! Bundles come from strangers, so reading trusts nothing the file says until it is checked,
//! and checks everything *before* any data is allocated or read ([`Header::parse`],
//! [`Header::check_data_len`]):
//!
//! 1. the magic `\x93NUMPY` and a format version numpy writes: 1.0 (2-byte header length),
//!    2.0 or 3.0 (4-byte header length); the header at most [`MAX_HEADER_BYTES`] long;
//! 2. the header is exactly numpy's dict literal with the keys `descr`, `fortran_order` and
//!    `shape`, parsed here without recursion (a general Python-literal parser would have to
//!    guard its own nesting depth);
//! 3. `descr` is one of the dtypes a bundle holds ([`Dtype`]: uint8, uint16, float16, float32,
//!    float64, little-endian) and `fortran_order` is `False` (C order, as the bundle stores);
//! 4. every dimension is a plain non-negative integer, and the shape's product times the item
//!    size is computed with checked arithmetic: a shape whose byte count overflows is an error,
//!    not a wrapped-around small number;
//! 5. that byte count is at most the reader's limit ([`MAX_ARRAY_BYTES`] by default; counting
//!    each zero dimension as 1, so an empty array cannot declare a huge width either) and equals
//!    the number of data bytes actually present, no more and no less. A header claiming 10^12
//!    elements in a 200-byte file is an error from these few hundred bytes: no allocation.
//!
//! [`read_file`] does this on a file: it reads only the header first (after checking from the
//! file's metadata that it is a regular file within the size limit), checks it against the
//! file's size and against the dtype and shape the manifest declares, and reads the data last.
//! The data is then decoded from its little-endian bytes by hand ([`decode`]), as a port in any
//! language would.

use std::fs::File;
use std::path::Path;

use half::f16;

use crate::error::{HarnessError, Result};
use crate::safeio;
use crate::tensor::{shaped, Tensor};
use crate::each_dtype;

/// The largest header accepted, in bytes (the text after the length field): numpy's own limit
/// (`np.load(max_header_size=10000)`, numpy >= 1.24). numpy's headers are 118 bytes for any
/// image array; a longer one is hostile.
pub const MAX_HEADER_BYTES: usize = 10_000;

/// The largest array accepted by default, in bytes of data: 1 GiB. Far above any image tensor
/// a preprocessing pipeline produces (a 8192 x 8192 x 3 float32 image is 768 MiB) and low
/// enough that a hostile bundle cannot make the reader allocate more than this per file.
/// [`crate::bundle::ReadLimits`] makes it configurable.
pub const MAX_ARRAY_BYTES: u64 = 1 << 30;

/// The magic string, the version and the header length field: at most 12 bytes (format 2.0
/// and 3.0 have a 4-byte length).
const MAX_PREAMBLE: usize = 12;

/// The dtypes a bundle's arrays have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    U8,
    U16,
    F16,
    F32,
    F64,
}

impl Dtype {
    /// The dtype of a `descr` from a header: little-endian only (`|` and `<`; `|u1` is what
    /// numpy writes for uint8, `<u1` is the same). Big-endian (`>`), native (`=`), other kinds
    /// and structured dtypes are not accepted.
    pub fn from_descr(descr: &str) -> Option<Dtype> {
        match descr {
            "|u1" | "<u1" => Some(Dtype::U8),
            "<u2" => Some(Dtype::U16),
            "<f2" => Some(Dtype::F16),
            "<f4" => Some(Dtype::F32),
            "<f8" => Some(Dtype::F64),
            _ => None,
        }
    }

    /// numpy's `descr`, as `np.save` writes it.
    pub fn descr(self) -> &'static str {
        match self {
            Dtype::U8 => "|u1",
            Dtype::U16 => "<u2",
            Dtype::F16 => "<f2",
            Dtype::F32 => "<f4",
            Dtype::F64 => "<f8",
        }
    }

    /// numpy's name (`uint8`, ...), the one the manifest's `dtype` uses.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::U8 => "uint8",
            Dtype::U16 => "uint16",
            Dtype::F16 => "float16",
            Dtype::F32 => "float32",
            Dtype::F64 => "float64",
        }
    }

    /// Bytes per element.
    pub fn item_size(self) -> usize {
        match self {
            Dtype::U8 => 1,
            Dtype::U16 | Dtype::F16 => 2,
            Dtype::F32 => 4,
            Dtype::F64 => 8,
        }
    }

    fn of(t: &Tensor) -> Dtype {
        match t {
            Tensor::U8(_) => Dtype::U8,
            Tensor::U16(_) => Dtype::U16,
            Tensor::F16(_) => Dtype::F16,
            Tensor::F32(_) => Dtype::F32,
            Tensor::F64(_) => Dtype::F64,
        }
    }
}

/// A checked `.npy` header: what the data that follows must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// (major, minor) format version: (1, 0), (2, 0) or (3, 0).
    pub version: (u8, u8),
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    /// Where the data starts: magic, version, length field and header text.
    pub data_offset: usize,
    /// The data's length in bytes: the shape's product times the item size, at most the
    /// limit given to [`Header::parse`].
    pub data_bytes: usize,
}

fn bad(what: impl std::fmt::Display) -> HarnessError {
    HarnessError::Io(format!("not a readable .npy file: {what}"))
}

impl Header {
    /// Parses and checks the header at the start of `bytes` (checks 1 to 4 of the module
    /// documentation, and the limit of 5: `data_bytes <= max_array_bytes`). `bytes` needs to
    /// hold the header only; the data, if any, is not looked at.
    pub fn parse(bytes: &[u8], max_array_bytes: u64) -> Result<Header> {
        if bytes.len() < 8 || &bytes[..6] != b"\x93NUMPY" {
            return Err(bad("no \\x93NUMPY magic string at the start"));
        }
        let version = (bytes[6], bytes[7]);
        let (length_field, header_len) = match version {
            (1, 0) => (2, bytes.get(8..10).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)),
            (2, 0) | (3, 0) => (4, bytes.get(8..12).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)),
            (major, minor) => return Err(bad(format!("format version {major}.{minor} (1.0, 2.0 and 3.0 are read)"))),
        };
        let header_len = header_len.ok_or_else(|| bad("the file ends inside the header length field"))?;
        if header_len > MAX_HEADER_BYTES {
            return Err(bad(format!("the header claims {header_len} bytes, over the limit of {MAX_HEADER_BYTES}")));
        }
        let start = 8 + length_field;
        let text = bytes.get(start..start + header_len)
            .ok_or_else(|| bad(format!("the file ends inside the header ({header_len} bytes announced)")))?;
        // Formats 1.0 and 2.0 are latin-1, 3.0 UTF-8; everything a plain dtype's header holds
        // is ASCII, so any other byte is an error in every version.
        let text = std::str::from_utf8(text).ok().filter(|t| t.is_ascii())
            .ok_or_else(|| bad("the header is not ASCII text"))?;
        let dict = parse_header_dict(text).map_err(|e| bad(format!("header {}: {e}", shown(text))))?;

        let dtype = Dtype::from_descr(&dict.descr).ok_or_else(|| bad(format!(
            "dtype {:?} is not one of uint8, uint16, float16, float32, float64 (little-endian)", dict.descr)))?;
        if dict.fortran_order {
            return Err(bad("Fortran-order arrays are not accepted (the bundle stores C order)"));
        }
        // Checked arithmetic: dimensions of 2^40 x 2^40 must not wrap around to a small count.
        // The limit holds for the array's extent, each zero dimension counted as 1, so an empty
        // array of shape (0, 2^40) cannot smuggle a huge width to the steps that follow.
        let too_big = || bad(format!("shape {:?} of {} holds more bytes than this machine can address",
                                     dict.shape, dtype.name()));
        let mut shape = Vec::with_capacity(dict.shape.len());
        let mut extent = dtype.item_size();
        for &dim in &dict.shape {
            let dim = usize::try_from(dim).map_err(|_| too_big())?;
            extent = extent.checked_mul(dim.max(1)).ok_or_else(too_big)?;
            shape.push(dim);
        }
        if extent as u64 > max_array_bytes {
            let zero = if shape.contains(&0) { " (zero dimensions counted as 1)" } else { "" };
            return Err(bad(format!("shape {shape:?} of {} is {extent} bytes{zero}, over the limit of {max_array_bytes} bytes",
                                   dtype.name())));
        }
        // At most `extent`, so this product cannot overflow.
        let data_bytes = shape.iter().product::<usize>() * dtype.item_size();
        Ok(Header { version, dtype, shape, data_offset: start + header_len, data_bytes })
    }

    /// Check 5: the file holds exactly the data the header announces. `file_len` is the whole
    /// file's length (header included).
    pub fn check_data_len(&self, file_len: u64) -> Result<()> {
        let present = file_len.saturating_sub(self.data_offset as u64);
        if present != self.data_bytes as u64 {
            let (which, verb) = if present < self.data_bytes as u64 { ("truncated", "holds only") } else { ("too long", "holds") };
            return Err(bad(format!("{which}: the header says {} {:?} ({} data bytes), the file {verb} {present} data bytes",
                                   self.dtype.name(), self.shape, self.data_bytes)));
        }
        Ok(())
    }

    /// The header against what the manifest declares for the file (`dtype` a numpy name such as
    /// `uint8`, `shape` a list of sizes); `None` for what the manifest does not say.
    pub fn check_declared(&self, dtype: Option<&str>, shape: Option<&[u64]>) -> Result<()> {
        let dtype_ok = dtype.is_none_or(|d| d == self.dtype.name());
        let shape_ok = shape.is_none_or(|s| s.len() == self.shape.len() && s.iter().zip(&self.shape).all(|(&a, &b)| a == b as u64));
        if dtype_ok && shape_ok {
            return Ok(());
        }
        let declared = format!("{} {}", dtype.unwrap_or("(no dtype)"),
                               shape.map_or("(no shape)".to_string(), |s| format!("{s:?}")));
        Err(HarnessError::Io(format!("the header says {} {:?}, the manifest declares {declared}",
                                     self.dtype.name(), self.shape)))
    }
}

/// The header text, shortened for an error message.
fn shown(text: &str) -> String {
    let t = text.trim_end();
    if t.len() > 120 { format!("{:?}...", &t[..117]) } else { format!("{t:?}") }
}

/// The three entries of a header dict.
struct HeaderDict {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// Parses numpy's header dict, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`
/// followed by spaces and a newline: a `{`, exactly the keys `descr` (a string),
/// `fortran_order` (`True`/`False`) and `shape` (a tuple of integers: `()`, `(5,)`, `(2, 3)`),
/// each once, in any order, separated by commas with an optional trailing one, a `}`, then only
/// whitespace. Strings are quoted with `'` or `"` and hold no escapes (no dtype name needs one).
/// This is the subset of Python literals numpy writes; anything else is an error.
fn parse_header_dict(text: &str) -> std::result::Result<HeaderDict, String> {
    let mut p = Cursor { text: text.as_bytes(), pos: 0 };
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    p.expect(b'{')?;
    loop {
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.expect(b':')?;
        let duplicate = match key.as_str() {
            "descr" => descr.replace(p.string()?).is_some(),
            "fortran_order" => fortran_order.replace(p.boolean()?).is_some(),
            "shape" => shape.replace(p.tuple_of_integers()?).is_some(),
            other => return Err(format!("unexpected key {other:?} (a plain array's header has descr, fortran_order, shape)")),
        };
        if duplicate {
            return Err(format!("key {key:?} appears twice"));
        }
        if !p.eat(b',') {
            p.expect(b'}')?;
            break;
        }
    }
    p.skip_whitespace();
    if p.pos != p.text.len() {
        return Err(format!("unexpected text after the dict at byte {}", p.pos));
    }
    Ok(HeaderDict {
        descr: descr.ok_or("no 'descr' key")?,
        fortran_order: fortran_order.ok_or("no 'fortran_order' key")?,
        shape: shape.ok_or("no 'shape' key")?,
    })
}

/// A position in the header text, with the few token readers [`parse_header_dict`] needs.
struct Cursor<'a> {
    text: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn skip_whitespace(&mut self) {
        while self.pos < self.text.len() && self.text[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    /// Skips whitespace; true (and consumes it) if the next byte is `c`.
    fn eat(&mut self, c: u8) -> bool {
        self.skip_whitespace();
        if self.text.get(self.pos) == Some(&c) {
            self.pos += 1;
            return true;
        }
        false
    }

    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        if self.eat(c) {
            return Ok(());
        }
        Err(format!("expected {:?} at byte {}", c as char, self.pos))
    }

    /// A word of ASCII letters, digits and `_` (True, False, an integer).
    fn word(&mut self) -> &str {
        self.skip_whitespace();
        let start = self.pos;
        while self.pos < self.text.len() && (self.text[self.pos].is_ascii_alphanumeric() || self.text[self.pos] == b'_') {
            self.pos += 1;
        }
        std::str::from_utf8(&self.text[start..self.pos]).expect("ASCII")
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        self.skip_whitespace();
        let quote = match self.text.get(self.pos) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err(format!("expected a quoted string at byte {}", self.pos)),
        };
        let start = self.pos + 1;
        let len = self.text[start..].iter().position(|&c| c == quote || c == b'\\')
            .ok_or_else(|| format!("unterminated string at byte {}", self.pos))?;
        if self.text[start + len] == b'\\' {
            return Err(format!("escape sequence in a string at byte {}", start + len));
        }
        self.pos = start + len + 1;
        Ok(String::from_utf8(self.text[start..start + len].to_vec()).expect("ASCII"))
    }

    fn boolean(&mut self) -> std::result::Result<bool, String> {
        let at = self.pos;
        match self.word() {
            "True" => Ok(true),
            "False" => Ok(false),
            other => Err(format!("expected True or False at byte {at}, got {other:?}")),
        }
    }

    /// A dimension: decimal digits only (no sign, no `_`), at most u64::MAX.
    fn integer(&mut self) -> std::result::Result<u64, String> {
        let at = self.pos;
        let word = self.word();
        if word.is_empty() || !word.bytes().all(|c| c.is_ascii_digit()) {
            return Err(format!("expected a non-negative integer dimension at byte {at}, got {word:?}"));
        }
        word.parse().map_err(|_| format!("dimension {word} is too large"))
    }

    /// `()`, `(n,)`, `(n, m)`, `(n, m,)`: Python's tuple syntax (a one-element tuple needs its
    /// comma: `(5)` is the integer 5, not a shape).
    fn tuple_of_integers(&mut self) -> std::result::Result<Vec<u64>, String> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        if self.eat(b')') {
            return Ok(dims);
        }
        loop {
            dims.push(self.integer()?);
            let comma = self.eat(b',');
            if self.eat(b')') {
                if dims.len() == 1 && !comma {
                    return Err("a one-dimensional shape is written (n,), not (n)".into());
                }
                return Ok(dims);
            }
            if !comma {
                return Err(format!("expected ',' or ')' in the shape at byte {}", self.pos));
            }
        }
    }
}

/// The array of a checked header from its data bytes (exactly `header.data_bytes` of them):
/// little-endian samples, C order.
pub fn decode(header: &Header, data: &[u8]) -> Result<Tensor> {
    if data.len() != header.data_bytes {
        return Err(bad(format!("{} data bytes for a header announcing {}", data.len(), header.data_bytes)));
    }
    fn samples<T, const N: usize>(data: &[u8], from_le_bytes: fn([u8; N]) -> T) -> Vec<T> {
        data.chunks_exact(N).map(|c| from_le_bytes(c.try_into().expect("chunks of N bytes"))).collect()
    }
    let shape = &header.shape;
    Ok(match header.dtype {
        Dtype::U8 => Tensor::U8(shaped(shape, data.to_vec())?),
        Dtype::U16 => Tensor::U16(shaped(shape, samples(data, u16::from_le_bytes))?),
        Dtype::F16 => Tensor::F16(shaped(shape, samples(data, f16::from_le_bytes))?),
        Dtype::F32 => Tensor::F32(shaped(shape, samples(data, f32::from_le_bytes))?),
        Dtype::F64 => Tensor::F64(shaped(shape, samples(data, f64::from_le_bytes))?),
    })
}

/// Parses `.npy` bytes held in memory: every check of the module documentation (with the
/// default limit [`MAX_ARRAY_BYTES`]), then the data.
pub fn parse(bytes: &[u8]) -> Result<Tensor> {
    let header = Header::parse(bytes, MAX_ARRAY_BYTES)?;
    header.check_data_len(bytes.len() as u64)?;
    decode(&header, &bytes[header.data_offset..])
}

/// The largest `.npy` file that can hold `max_array_bytes` of data: the data, the longest
/// header accepted and its preamble. A larger file is refused from its metadata.
pub fn max_file_bytes(max_array_bytes: u64) -> u64 {
    max_array_bytes.saturating_add((MAX_PREAMBLE + MAX_HEADER_BYTES) as u64)
}

/// What the reader of a file expects of it.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// The largest data accepted, in bytes.
    pub max_array_bytes: u64,
    /// The dtype the manifest declares (a numpy name), if known.
    pub dtype: Option<&'a str>,
    /// The shape the manifest declares, if known.
    pub shape: Option<&'a [u64]>,
}

impl Default for Expect<'_> {
    fn default() -> Self {
        Expect { max_array_bytes: MAX_ARRAY_BYTES, dtype: None, shape: None }
    }
}

/// Reads an `.npy` file, checking before reading its data: that it is a regular file no larger
/// than a header and `expect.max_array_bytes` of data (from its metadata, so a FIFO or a device
/// is never read), its header ([`Header::parse`]), the header against the file's size
/// ([`Header::check_data_len`]) and against the manifest's declaration
/// ([`Header::check_declared`]). Returns the checked header and the whole file's bytes (which
/// the caller may hash); [`decode`] makes the array. Every error names the file.
pub fn read_file(path: &Path, expect: &Expect<'_>) -> Result<(Header, Vec<u8>)> {
    let named = |e: HarnessError| e.with_prefix(&path.display().to_string());
    let (mut file, file_len): (File, u64) = safeio::open_regular(path, max_file_bytes(expect.max_array_bytes))?;
    // The header first: at most the preamble and the longest header accepted.
    let mut bytes = Vec::with_capacity((file_len as usize).min(MAX_PREAMBLE + MAX_HEADER_BYTES));
    safeio::read_up_to(path, &mut file, (MAX_PREAMBLE + MAX_HEADER_BYTES) as u64, &mut bytes)?;
    let header = Header::parse(&bytes, expect.max_array_bytes).map_err(named)?;
    header.check_declared(expect.dtype, expect.shape).map_err(named)?;
    header.check_data_len(file_len).map_err(named)?;
    // Now the data, whose length is checked (and bounded by the limit).
    let total = header.data_offset + header.data_bytes;
    bytes.reserve_exact(total.saturating_sub(bytes.len()));
    let wanted = total.saturating_sub(bytes.len()) as u64;
    // One byte more than wanted is asked for: a file that grew since its size was read is an error.
    if bytes.len() > total || safeio::read_up_to(path, &mut file, wanted + 1, &mut bytes)? != wanted {
        return Err(named(bad(format!("the file changed size while being read (expected {total} bytes)"))));
    }
    Ok((header, bytes))
}

/// Reads an `.npy` file of dtype uint8, uint16, float16, float32 or float64 (see [`read_file`],
/// with the default limit and no declared dtype or shape).
pub fn read(path: &Path) -> Result<Tensor> {
    let (header, bytes) = read_file(path, &Expect::default())?;
    decode(&header, &bytes[header.data_offset..]).map_err(|e| e.with_prefix(&path.display().to_string()))
}

/// The bytes `numpy.save` writes for this tensor (format 1.0).
pub fn to_bytes(t: &Tensor) -> Vec<u8> {
    let shape = t.shape();
    let shape_text = match shape.len() {
        0 => "()".to_string(),
        1 => format!("({},)", shape[0]),
        _ => format!("({})", shape.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{}', 'fortran_order': False, 'shape': {shape_text}, }}", Dtype::of(t).descr());
    // magic (6) + version (2) + header length (2) + header + '\n', padded to a multiple of 64
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + shape.iter().product::<usize>() * 8);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    each_dtype!(t, a => {
        let a = a.as_standard_layout();
        for v in a.iter() {
            out.extend_from_slice(&v.to_le_bytes());
        }
    });
    out
}

/// Writes a tensor as numpy would (see [`to_bytes`]), atomically: a killed process leaves no
/// half-written file under `path` ([`safeio::write_atomically`]).
pub fn write(path: &Path, t: &Tensor) -> Result<()> {
    safeio::write_atomically(path, &to_bytes(t))
}


#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::ArrayD;

    /// A format 1.0 file with this header dict text (padded as numpy pads) and `data_len` bytes.
    fn npy_with_header(dict: &str, data_len: usize) -> Vec<u8> {
        let mut header = dict.to_string();
        let unpadded = 10 + header.len() + 1;
        header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend(std::iter::repeat_n(0u8, data_len));
        out
    }

    fn error_of(bytes: &[u8]) -> String {
        let e = parse(bytes).unwrap_err();
        assert!(matches!(e, HarnessError::Io(_)), "{e}");
        e.message().to_string()
    }

    #[test]
    fn header_is_numpys() {
        // np.save of np.zeros((2, 3), np.uint8): header length 118, shape "(2, 3)"
        let t = Tensor::U8(ArrayD::zeros(ndarray::IxDyn(&[2, 3])));
        let b = to_bytes(&t);
        assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
        let header = std::str::from_utf8(&b[10..128]).unwrap();
        assert!(header.starts_with("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }"));
        assert!(header.ends_with(" \n"));
        assert_eq!(b.len(), 128 + 6);
        let one = to_bytes(&Tensor::F32(ArrayD::zeros(ndarray::IxDyn(&[5]))));
        assert!(std::str::from_utf8(&one[10..128]).unwrap().contains("'shape': (5,), }"));
        assert_eq!(one.len(), 128 + 20);
    }

    #[test]
    fn round_trip_every_dtype() {
        let shape = [2usize, 2, 1];
        let tensors = [
            Tensor::U8(shaped(&shape, vec![0u8, 1, 254, 255]).unwrap()),
            Tensor::U16(shaped(&shape, vec![0u16, 1, 65534, 65535]).unwrap()),
            Tensor::F16(shaped(&shape, vec![f16::from_f32(0.5), f16::MIN, f16::MAX, f16::NAN]).unwrap()),
            Tensor::F32(shaped(&shape, vec![0.0f32, -1.5, f32::MAX, 1e-30]).unwrap()),
            Tensor::F64(shaped(&shape, vec![0.0f64, -1.5, f64::MAX, 1e-300]).unwrap()),
        ];
        for t in tensors {
            let back = parse(&to_bytes(&t)).unwrap();
            assert_eq!(back.dtype(), t.dtype());
            assert_eq!(to_bytes(&back), to_bytes(&t));
        }
    }

    #[test]
    fn the_reader_agrees_with_npyz() {
        // An independent reader of the same bytes: npyz, on every dtype and rank 0 to 4.
        let shapes: [&[usize]; 5] = [&[], &[3], &[2, 3], &[2, 3, 4], &[1, 2, 3, 2]];
        for shape in shapes {
            let n: usize = shape.iter().product();
            let t = Tensor::U16(shaped(shape, (0..n as u16).map(|v| v.wrapping_mul(2654)).collect()).unwrap());
            let bytes = to_bytes(&t);
            let theirs = npyz::NpyFile::new(&bytes[..]).unwrap();
            assert_eq!(theirs.shape().iter().map(|&d| d as usize).collect::<Vec<_>>(), shape);
            let Tensor::U16(ours) = parse(&bytes).unwrap() else { panic!("dtype") };
            assert_eq!(ours.iter().copied().collect::<Vec<_>>(), theirs.into_vec::<u16>().unwrap());
        }
    }

    #[test]
    fn header_variants_numpy_writes_are_read() {
        // double quotes, no trailing comma, any key order, (n,) with a space, versions 2.0 and 3.0
        let dict = "{\"shape\": (2, 1,), \"fortran_order\": False, \"descr\": \"<u1\"}";
        let Tensor::U8(a) = parse(&npy_with_header(dict, 2)).unwrap() else { panic!("dtype") };
        assert_eq!(a.shape(), &[2, 1]);
        for version in [2u8, 3] {
            let v1 = to_bytes(&Tensor::F32(ArrayD::zeros(ndarray::IxDyn(&[3]))));
            let mut v = b"\x93NUMPY".to_vec();
            v.extend_from_slice(&[version, 0]);
            v.extend_from_slice(&(u16::from_le_bytes([v1[8], v1[9]]) as u32).to_le_bytes());
            v.extend_from_slice(&v1[10..]);
            // the 4-byte length field moves the data two bytes: still exactly 12 data bytes
            let h = Header::parse(&v, MAX_ARRAY_BYTES).unwrap();
            assert_eq!((h.version, h.data_offset, h.data_bytes), ((version, 0), 12 + 118, 12));
            assert_eq!(parse(&v).unwrap().shape(), &[3]);
        }
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let e = parse(b"not numpy").unwrap_err();
        assert!(e.message().contains(".npy"), "{e}");
        assert!(error_of(b"").contains("magic"));
        assert!(error_of(b"\x93NUMPY\x04\x00\x10\x00").contains("version 4.0"));
        assert!(error_of(b"\x93NUMPY\x01\x00\x10").contains("length field"));
    }

    #[test]
    fn truncated_file_is_an_error() {
        let full = to_bytes(&Tensor::U8(ArrayD::zeros(ndarray::IxDyn(&[4, 4, 3]))));
        let m = error_of(&full[..full.len() - 1]);
        assert!(m.contains("truncated") && m.contains("47 data bytes"), "{m}");
        // cut inside the header
        assert!(error_of(&full[..60]).contains("ends inside the header"));
    }

    #[test]
    fn shape_disagreeing_with_the_data_length_is_an_error() {
        // (2, 3) uint8 is 6 bytes; 5 and 7 present
        for present in [5, 7] {
            let m = error_of(&npy_with_header("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }", present));
            assert!(m.contains("6 data bytes") && m.contains(&format!("{present} data bytes")), "{m}");
        }
    }

    #[test]
    fn trillion_elements_in_a_small_file_is_an_error_not_an_allocation() {
        // 10^12 uint8 elements declared, 72 data bytes present (a 200-byte file): over the
        // limit, before any data is read or allocated.
        let bytes = npy_with_header("{'descr': '|u1', 'fortran_order': False, 'shape': (1000000, 1000000), }", 72);
        assert_eq!(bytes.len(), 200);
        let m = error_of(&bytes);
        assert!(m.contains("1000000000000 bytes, over the limit"), "{m}");
        // with no limit the data length check still refuses it
        let h = Header::parse(&bytes, u64::MAX).unwrap();
        let m = h.check_data_len(bytes.len() as u64).unwrap_err().message().to_string();
        assert!(m.contains("truncated"), "{m}");
    }

    #[test]
    fn overflowing_shape_product_is_an_error() {
        // 2^40 x 2^40 elements: 2^80, which wraps to 0 in 64-bit arithmetic
        let dims = 1u64 << 40;
        let m = error_of(&npy_with_header(&format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}, {dims}), }}"), 0));
        assert!(m.contains("more bytes than this machine can address"), "{m}");
        // a dimension beyond u64; an empty array whose other dimension is huge
        let m = error_of(&npy_with_header("{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999999,), }", 0));
        assert!(m.contains("too large"), "{m}");
        let m = error_of(&npy_with_header(&format!("{{'descr': '|u1', 'fortran_order': False, 'shape': (0, {dims}), }}"), 0));
        assert!(m.contains("(zero dimensions counted as 1), over the limit"), "{m}");
        let t = parse(&npy_with_header("{'descr': '|u1', 'fortran_order': False, 'shape': (0, 5), }", 0)).unwrap();
        assert_eq!(t.shape(), &[0, 5]);
    }

    #[test]
    fn unsupported_dtypes_are_errors() {
        for descr in [">f4", ">u2", "=f4", "<i4", "<c8", "|b1", "|O", "<U3", "|V4"] {
            let m = error_of(&npy_with_header(&format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}"), 4));
            assert!(m.contains(&format!("dtype {descr:?} is not one of")), "{m}");
        }
        // a structured dtype is a list, not a string
        let m = error_of(&npy_with_header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 4));
        assert!(m.contains("quoted string"), "{m}");
    }

    #[test]
    fn fortran_order_is_an_error() {
        let m = error_of(&npy_with_header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16));
        assert!(m.contains("Fortran-order"), "{m}");
    }

    #[test]
    fn malformed_headers_are_errors() {
        let cases = [
            ("{'descr': '<f4', 'shape': (1,), }", "no 'fortran_order'"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "unexpected key"),
            ("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", "twice"),
            ("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", "True or False"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", "non-negative integer"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1)}", "(n,)"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", "expected '('"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': ((1,),)}", "non-negative integer"),
            ("{'descr': '<f\\x34', 'fortran_order': False, 'shape': (1,)}", "escape"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", "after the dict"),
            ("{'descr': '<f4'", "expected '}'"),
        ];
        for (dict, expected) in cases {
            let m = error_of(&npy_with_header(dict, 4));
            assert!(m.contains(expected), "{dict}: {m}");
        }
        // a header longer than numpy's limit, announced in a format 2.0 length field
        let mut v = b"\x93NUMPY\x02\x00".to_vec();
        v.extend_from_slice(&(u32::MAX).to_le_bytes());
        assert!(error_of(&v).contains("over the limit of 10000"));
        // non-ASCII header text
        let mut v = npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4);
        v[12] = 0xe9;
        assert!(error_of(&v).contains("not ASCII"));
    }

    #[test]
    fn declared_dtype_and_shape_are_checked() {
        let h = Header::parse(&to_bytes(&Tensor::U8(ArrayD::zeros(ndarray::IxDyn(&[4, 5, 3])))), MAX_ARRAY_BYTES).unwrap();
        h.check_declared(Some("uint8"), Some(&[4, 5, 3][..])).unwrap();
        h.check_declared(None, None).unwrap();
        let m = h.check_declared(Some("float32"), Some(&[4, 5, 3][..])).unwrap_err().message().to_string();
        assert_eq!(m, "the header says uint8 [4, 5, 3], the manifest declares float32 [4, 5, 3]");
        let m = h.check_declared(Some("uint8"), Some(&[4, 5][..])).unwrap_err().message().to_string();
        assert!(m.contains("declares uint8 [4, 5]"), "{m}");
    }
}
