//! File-system rules for data that comes from strangers (a bundle someone sent, a manifest that
//! names files), the Rust counterpart of the Python package's `conformance/safeio.py`:
//!
//! - **Names from data are checked** ([`check_name`]): a case id or an op becomes a path
//!   component of an output file, so it must match the bundle schema's id pattern
//!   `^[A-Za-z0-9][A-Za-z0-9._-]*$` (no separator, no NUL, never `.` or `..`) before any path is
//!   built from it.
//! - **Only regular files are read, and only up to a stated size** ([`open_regular`],
//!   [`read_limited`]): a FIFO would block the reader forever and a device such as `/dev/zero`
//!   never ends, so the file's type and size are checked from its metadata before it is opened,
//!   again on the opened file, and the read itself stops one byte past the limit (a file that
//!   grows while it is read is an error, not followed).
//! - **Writes are atomic** ([`write_atomically`]): the bytes go to a temporary sibling that is
//!   renamed onto the final name only when whole, so a killed process never leaves a
//!   half-written file under the name a reader looks for.
//!
//! Every error is a [`HarnessError::Io`] whose message names the file.

use std::fs::{self, File, Metadata};
use std::io::{Read, Write};
use std::path::Path;

use crate::error::{HarnessError, Result};

/// The longest name accepted from data, in bytes: well under every file system's 255-byte limit
/// on one path component (the output file `<index>_<op>.npy` adds a few bytes to an op).
pub const NAME_MAX: usize = 200;

/// `value` if it is a safe path component: it starts with an ASCII letter or digit, the rest
/// are ASCII letters, digits, `.`, `_` or `-` (the bundle schema's id pattern), and it is at
/// most [`NAME_MAX`] bytes. Such a name holds no separator (`/`, `\`), no NUL, no drive colon,
/// and cannot be `.` or `..` (which do not start with a letter or digit: checked anyway, so the
/// rule does not rest on the pattern alone). The error names `what` the value is ("case id",
/// "op") and shows it escaped, so a NUL or a newline stays visible.
pub fn check_name<'a>(value: &'a str, what: &str) -> Result<&'a str> {
    let mut chars = value.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let safe = first_ok && rest_ok && value.len() <= NAME_MAX && value != "." && value != "..";
    if safe {
        return Ok(value);
    }
    let mut shown = format!("{value:?}");
    if shown.len() > 80 {
        shown = format!("{}...", shown.chars().take(77).collect::<String>());
    }
    Err(HarnessError::Io(format!(
        "{what} {shown} is not a safe name (letters, digits, '.', '_', '-'; starting with a letter \
         or digit; at most {NAME_MAX} bytes)"
    )))
}

fn io_error(path: &Path, what: impl std::fmt::Display) -> HarnessError {
    HarnessError::Io(format!("{}: {what}", path.display()))
}

/// What a file that is not a regular file is, in words ("a FIFO", "a character device", ...).
fn kind(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

/// An error unless `meta` is a regular file of at most `limit` bytes.
fn check_metadata(path: &Path, meta: &Metadata, limit: u64) -> Result<()> {
    if !meta.is_file() {
        return Err(io_error(path, format!("is {}, not a regular file", kind(meta))));
    }
    if meta.len() > limit {
        return Err(io_error(path, format!("is {} bytes, over the limit of {limit} bytes", meta.len())));
    }
    Ok(())
}

/// The size of `path` if it is a regular file of at most `limit` bytes, from `fs::metadata`
/// (links followed: a link to `/dev/zero` is a device), without opening it: opening a FIFO for
/// reading blocks until a writer appears.
pub fn check_regular(path: &Path, limit: u64) -> Result<u64> {
    let meta = fs::metadata(path).map_err(|e| io_error(path, e))?;
    check_metadata(path, &meta, limit)?;
    Ok(meta.len())
}

/// `O_NONBLOCK` (Linux, every architecture this crate builds for: asm-generic `00004000`): an
/// open that cannot block, even on a FIFO swapped in after [`check_regular`] looked. It has no
/// effect on reads of a regular file, which is all this module reads.
#[cfg(target_os = "linux")]
const O_NONBLOCK: i32 = 0o4000;

fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(O_NONBLOCK);
    }
    options.open(path)
}

/// `path` opened for reading, with its size, if it is a regular file of at most `limit` bytes:
/// checked by [`check_regular`] before opening, and again on the opened file, so a file swapped
/// for another between the two is caught too; the open itself never blocks (`O_NONBLOCK`), so a
/// FIFO swapped in during that instant is refused by the second check, not waited on.
pub fn open_regular(path: &Path, limit: u64) -> Result<(File, u64)> {
    check_regular(path, limit)?;
    let file = open_nonblocking(path).map_err(|e| io_error(path, e))?;
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    check_metadata(path, &meta, limit)?;
    Ok((file, meta.len()))
}

/// Appends at most `n` more bytes of `file` to `buf` (fewer where the file ends) and returns
/// how many. The one place reading happens, so no read is ever unbounded.
pub fn read_up_to(path: &Path, file: &mut File, n: u64, buf: &mut Vec<u8>) -> Result<u64> {
    let got = file.take(n).read_to_end(buf).map_err(|e| io_error(path, e))?;
    Ok(got as u64)
}

/// The bytes of regular file `path`, at most `limit` of them (see [`open_regular`]); an error
/// for anything else, and for a file that grows past `limit` while it is read.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let (mut file, size) = open_regular(path, limit)?;
    // `size <= limit` was checked, so this allocation is bounded by the limit.
    let mut bytes = Vec::with_capacity(size as usize);
    // One byte more than the limit is asked for: getting it means the file grew meanwhile.
    if read_up_to(path, &mut file, limit.saturating_add(1), &mut bytes)? > limit {
        return Err(io_error(path, format!("grew past the limit of {limit} bytes while being read")));
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` through a temporary sibling (`.<name>.<pid>.tmp` in the same
/// directory, hence the same file system) renamed onto `path` once it is whole: a reader sees
/// no file or the whole file, never a part, even if the process is killed mid-write. (The
/// temporary name starts with a dot and ends in `.tmp`, so a reader looking for `*.npy` files
/// or `harness.json` never mistakes a leftover one for a result.) The data is not fsync'ed: the
/// guarantee is against a killed process, not a power cut.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().ok_or_else(|| io_error(path, "has no file name"))?.to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = File::create(&tmp).and_then(|mut f| f.write_all(bytes)).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_error(path, e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_os = "linux")]
    use std::os::unix::fs::FileTypeExt;

    #[test]
    fn names_follow_the_schema_id_pattern() {
        for good in ["a", "case.1", "resize.pillow.bilinear__png.rgb8.64x64", "A-b_c.d", "decode", "0_x"] {
            assert_eq!(check_name(good, "case id").unwrap(), good);
        }
        let long = "a".repeat(NAME_MAX + 1);
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", "/abs", "a\0b", ".hidden", "-x", "_x", "a b",
                    "a\nb", "c:x", "é", long.as_str()] {
            let e = check_name(bad, "case id").unwrap_err();
            assert!(matches!(e, HarnessError::Io(_)), "{e}");
            assert!(e.message().starts_with("case id \""), "{e}");
        }
        // a NUL stays visible in the message
        assert!(check_name("a\0b", "op").unwrap_err().message().contains("\\0"));
    }

    #[test]
    fn atomic_write_replaces_whole_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("conformance-safeio-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("harness.json");
        write_atomically(&path, b"old").unwrap();
        write_atomically(&path, b"new content").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new content");
        let names: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("harness.json")]);
        // a directory in the way: an error naming the file, and no temporary left behind
        fs::create_dir(dir.join("sub.npy")).unwrap();
        let e = write_atomically(&dir.join("sub.npy"), b"x").unwrap_err();
        assert!(e.message().contains("sub.npy"), "{e}");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let dir = std::env::temp_dir().join(format!("conformance-safeio-read-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.bin");
        fs::write(&path, [7u8; 100]).unwrap();
        assert_eq!(read_limited(&path, 100).unwrap(), vec![7u8; 100]);
        let e = read_limited(&path, 99).unwrap_err();
        assert!(e.message().contains("f.bin") && e.message().contains("over the limit"), "{e}");
        let e = read_limited(&dir, 1 << 20).unwrap_err();
        assert!(e.message().contains("a directory"), "{e}");
        let e = read_limited(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(e.message().contains("/dev/zero") && e.message().contains("not a regular file"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn the_open_itself_never_blocks_on_a_fifo() {
        // the race check_regular cannot close: a FIFO in place at the moment of the open
        let dir = std::env::temp_dir().join(format!("conformance-safeio-fifo-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("swapped.npy");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let file = open_nonblocking(&fifo).expect("a non-blocking open returns at once");
        assert!(file.metadata().unwrap().file_type().is_fifo());
        fs::remove_dir_all(&dir).unwrap();
    }
}
