//! `.npy` files: read with `npyz` (any little-endian C-order array of the bundle's dtypes),
//! written by hand in exactly the bytes `numpy.save` writes (format 1.0, header padded with
//! spaces to a multiple of 64 bytes), so the CLI's files equal those of `np.save` on the PyO3
//! extension's arrays.

use std::fs;
use std::io::Cursor;
use std::path::Path;

use half::f16;
use npyz::{DType, NpyFile, Order};

use crate::error::{HarnessError, Result};
use crate::tensor::{shaped, Tensor};
use crate::each_dtype;

fn io_error(path: &Path, what: impl std::fmt::Display) -> HarnessError {
    HarnessError::Io(format!("{}: {what}", path.display()))
}

/// Reads an `.npy` file of dtype uint8, uint16, float16, float32 or float64.
pub fn read(path: &Path) -> Result<Tensor> {
    let bytes = fs::read(path).map_err(|e| io_error(path, e))?;
    parse(&bytes).map_err(|e| io_error(path, e.message()))
}

/// Parses `.npy` bytes (see [`read`]).
pub fn parse(bytes: &[u8]) -> Result<Tensor> {
    let bad = |e: std::io::Error| HarnessError::Io(format!("not a readable .npy file: {e}"));
    let npy = NpyFile::new(Cursor::new(bytes)).map_err(bad)?;
    if npy.order() != Order::C {
        return Err(HarnessError::Io("Fortran-order arrays are not accepted (the bundle stores C order)".into()));
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&n| n as usize).collect();
    let descr = match npy.dtype() {
        DType::Plain(t) => t.to_string(),
        other => return Err(HarnessError::Io(format!("structured dtype {} is not an image", other.descr()))),
    };
    Ok(match descr.as_str() {
        "|u1" | "<u1" => Tensor::U8(shaped(&shape, npy.into_vec::<u8>().map_err(bad)?)?),
        "<u2" => Tensor::U16(shaped(&shape, npy.into_vec::<u16>().map_err(bad)?)?),
        "<f2" => Tensor::F16(shaped(&shape, npy.into_vec::<f16>().map_err(bad)?)?),
        "<f4" => Tensor::F32(shaped(&shape, npy.into_vec::<f32>().map_err(bad)?)?),
        "<f8" => Tensor::F64(shaped(&shape, npy.into_vec::<f64>().map_err(bad)?)?),
        other => return Err(HarnessError::Io(format!("dtype {other} is not one of uint8, uint16, float16, float32, float64 (little-endian)"))),
    })
}

/// numpy's `descr` of a tensor's dtype.
fn descr(t: &Tensor) -> &'static str {
    match t {
        Tensor::U8(_) => "|u1",
        Tensor::U16(_) => "<u2",
        Tensor::F16(_) => "<f2",
        Tensor::F32(_) => "<f4",
        Tensor::F64(_) => "<f8",
    }
}

/// The bytes `numpy.save` writes for this tensor (format 1.0).
pub fn to_bytes(t: &Tensor) -> Vec<u8> {
    let shape = t.shape();
    let shape_text = match shape.len() {
        0 => "()".to_string(),
        1 => format!("({},)", shape[0]),
        _ => format!("({})", shape.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{}', 'fortran_order': False, 'shape': {shape_text}, }}", descr(t));
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

/// Writes a tensor as numpy would (see [`to_bytes`]).
pub fn write(path: &Path, t: &Tensor) -> Result<()> {
    fs::write(path, to_bytes(t)).map_err(|e| io_error(path, e))
}


#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::ArrayD;

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
    fn garbage_is_a_clear_error() {
        let e = parse(b"not numpy").unwrap_err();
        assert!(e.message().contains(".npy"), "{e}");
    }
}
