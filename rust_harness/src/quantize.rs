//! quantize — a float (H, W, C) tensor to `u8`/`u16` pixels, written the way Rust code writes
//! it: each sample widened to the compute type (`f32`, or `f64` for `compute_dtype="float64"`:
//! Rust writes either), then, in this order, one rounded operation at a time:
//!
//! 1. `clamp="before"`: `x.clamp(0.0, max / scale)` (`max / scale` computed in the compute type);
//! 2. `y = x * scale` (`scale as f32`);
//! 3. `absolute`: `y.abs()`;
//! 4. `clamp="after"`: `y.clamp(0.0, max)`; `none`: nothing (`f32::clamp` keeps NaN);
//! 5. rounding: `truncate` -> nothing, the `as` cast that follows truncates toward zero
//!    (`y.trunc()` only before `rem_euclid`, see 6); `floor` -> `y.floor()`; `half_away` ->
//!    `y.round()`; `half_even` -> `y.round_ties_even()`; `half_up` -> `(y + 0.5).floor()`, the
//!    natural writing, which is *not* floor(y + 1/2) exactly: the sum rounds first, so
//!    0.49999997 (f32) gives 1, and above 2^23 (f32) / 2^52 (f64) an odd y rounds up to the
//!    next even integer. That is the Rust code's behaviour; the score shows it.
//! 6. the integer conversion (`int_path`, `overflow`):
//!    - `exact` + `saturate`: `v as u8` / `v as u16`, Rust's saturating float-to-int cast (since
//!      1.45): below 0 and -inf -> 0, above max and +inf -> max, NaN -> 0. Exactly the
//!      reference's `exact` path.
//!    - `exact` + `wrap`: `v.trunc().rem_euclid(256.0) as u8` (65536.0 for u16): the value
//!      modulo 2^bits in float arithmetic, exact for every integral value; ±inf and NaN give
//!      NaN, which `as` makes 0 (the reference's rule for non-finite values).
//!    - `int32` + `wrap`: `(v as i32) as u8` (`as u16`); `int64` + `wrap`: `(v as i64) as u8`.
//!      Rust's `as i32` *saturates* where x86 C's `cvttss2si` gives the "integer indefinite"
//!      -2^31: for v >= 2^31 (2^63 for int64) and +inf Rust gets `i32::MAX as u8` = 255
//!      (65535), the reference 0; below -2^31, -inf and NaN both get 0. So numpy `astype` /
//!      torch `.byte()` on huge or +inf values is *not* what Rust computes (behaviour: the
//!      score shows it).
//!    - `int32` + `saturate`: `(v as i32).clamp(0, 255) as u8` (`int64`: `as i64`): again 255
//!      (Rust) for v >= 2^31 and +inf where OpenCV's `saturate_cast` (cvRound's indefinite)
//!      gives 0; NaN gives 0 in both.
//!
//! Integer input is an error (these are already pixels: quantize belongs to the way back).

use ndarray::ArrayD;

use crate::error::Result;
use crate::step::Step;
use crate::tensor::{Sample, Tensor};
use crate::failed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clamp {
    Before,
    After,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rounding {
    HalfEven,
    HalfUp,
    HalfAway,
    Truncate,
    Floor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IntPath {
    Exact,
    Int32,
    Int64,
}

/// The step's knobs, parsed.
#[derive(Debug, Clone, Copy)]
struct Knobs {
    u16: bool,
    scale: f64,
    clamp: Clamp,
    rounding: Rounding,
    wrap: bool,
    int_path: IntPath,
    absolute: bool,
    f64: bool,
}

impl Knobs {
    fn of(step: &Step) -> Result<Knobs> {
        let u16 = match step.str("dtype")? {
            "uint8" => false,
            "uint16" => true,
            other => return Err(failed!("unknown quantize dtype {other:?} (uint8 or uint16)")),
        };
        let scale = step.f64("scale")?;
        if !(scale.is_finite() && scale > 0.0) {
            return Err(failed!("quantize scale must be a finite positive number, got {scale}"));
        }
        let clamp = match step.str("clamp")? {
            "before" => Clamp::Before,
            "after" => Clamp::After,
            "none" => Clamp::None,
            other => return Err(failed!("unknown quantize clamp {other:?} (before, after or none)")),
        };
        let rounding = match step.str("rounding")? {
            "half_even" => Rounding::HalfEven,
            "half_up" => Rounding::HalfUp,
            "half_away" => Rounding::HalfAway,
            "truncate" => Rounding::Truncate,
            "floor" => Rounding::Floor,
            other => return Err(failed!("unknown quantize rounding {other:?}")),
        };
        let wrap = match step.str("overflow")? {
            "saturate" => false,
            "wrap" => true,
            other => return Err(failed!("unknown quantize overflow {other:?} (saturate or wrap)")),
        };
        let int_path = match step.str("int_path")? {
            "exact" => IntPath::Exact,
            "int32" => IntPath::Int32,
            "int64" => IntPath::Int64,
            other => return Err(failed!("unknown quantize int_path {other:?} (exact, int32 or int64)")),
        };
        let f64 = match step.str("compute_dtype")? {
            "float32" => false,
            "float64" => true,
            other => return Err(failed!("unknown quantize compute_dtype {other:?} (float32 or float64)")),
        };
        Ok(Knobs { u16, scale, clamp, rounding, wrap, int_path, absolute: step.bool("absolute")?, f64 })
    }
}

/// The Rust expression the step computes, for `describe`.
fn expression(k: &Knobs) -> String {
    let (t, u) = (if k.f64 { "f64" } else { "f32" }, if k.u16 { "u16" } else { "u8" });
    let max = if k.u16 { 65535.0 } else { 255.0 };
    let scale = if k.f64 { format!("{:?}", k.scale) } else { format!("{:?}", k.scale as f32) };
    let mut e = format!("x as {t}");
    if k.clamp == Clamp::Before {
        e = format!("({e}).clamp(0.0, {max:?} / {scale})");
    }
    e = format!("({e} * {scale})");
    if k.absolute {
        e = format!("{e}.abs()");
    }
    if k.clamp == Clamp::After {
        e = format!("{e}.clamp(0.0, {max:?})");
    }
    let exact_wrap = k.int_path == IntPath::Exact && k.wrap;
    e = match k.rounding {
        Rounding::Truncate if exact_wrap => format!("{e}.trunc()"),
        Rounding::Truncate => e,
        Rounding::Floor => format!("{e}.floor()"),
        Rounding::HalfAway => format!("{e}.round()"),
        Rounding::HalfEven => format!("{e}.round_ties_even()"),
        Rounding::HalfUp => format!("({e} + 0.5).floor()"),
    };
    let wide = if k.int_path == IntPath::Int64 { "i64" } else { "i32" };
    let cast = match (k.int_path, k.wrap) {
        (IntPath::Exact, false) => format!("{e} as {u}"),
        (IntPath::Exact, true) => format!("{e}.rem_euclid({:?}) as {u}", max + 1.0),
        (_, true) => format!("({e} as {wide}) as {u}"),
        (_, false) => format!("({e} as {wide}).clamp(0, {max}) as {u}"),
    };
    let note = match (k.int_path, k.wrap) {
        (IntPath::Exact, false) => "saturating `as`, NaN -> 0",
        (IntPath::Exact, true) => "modulo 2^bits in float, NaN/inf -> 0",
        (_, _) => "Rust's `as` saturates where x86 C gives the integer indefinite",
    };
    format!("`{cast}` ({t}, {note})")
}

pub fn describe(step: &Step) -> String {
    match Knobs::of(step) {
        Ok(k) => expression(&k),
        Err(e) => format!("quantize: {}", e.message()),
    }
}

/// The per-sample quantisation for one compute type `$f` and output type `$u`.
macro_rules! quantize_in {
    ($name:ident, $f:ty, $to:ident, $u:ty) => {
        fn $name<S: Sample>(k: &Knobs, a: &ArrayD<S>) -> Result<ArrayD<$u>> {
            let scale = k.scale as $f;
            let max = <$u>::MAX as $f;
            let hi = max / scale;
            let modulus = max + 1.0;
            let exact_wrap = k.int_path == IntPath::Exact && k.wrap;
            let out: Vec<$u> = a.iter().map(|s| {
                let mut x = s.$to();
                if k.clamp == Clamp::Before {
                    x = x.clamp(0.0, hi);
                }
                let mut y = x * scale;
                if k.absolute {
                    y = y.abs();
                }
                if k.clamp == Clamp::After {
                    y = y.clamp(0.0, max);
                }
                let v = match k.rounding {
                    Rounding::Truncate if exact_wrap => y.trunc(),
                    Rounding::Truncate => y, // the cast below truncates
                    Rounding::Floor => y.floor(),
                    Rounding::HalfAway => y.round(),
                    Rounding::HalfEven => y.round_ties_even(),
                    Rounding::HalfUp => (y + 0.5).floor(),
                };
                match (k.int_path, k.wrap) {
                    (IntPath::Exact, false) => v as $u,
                    (IntPath::Exact, true) => v.rem_euclid(modulus) as $u,
                    (IntPath::Int32, true) => (v as i32) as $u,
                    (IntPath::Int64, true) => (v as i64) as $u,
                    (IntPath::Int32, false) => (v as i32).clamp(0, <$u>::MAX as i32) as $u,
                    (IntPath::Int64, false) => (v as i64).clamp(0, <$u>::MAX as i64) as $u,
                }
            }).collect();
            ArrayD::from_shape_vec(a.raw_dim(), out).map_err(|e| failed!("quantize output: {e}"))
        }
    };
}

quantize_in!(f32_to_u8, f32, to_f32, u8);
quantize_in!(f32_to_u16, f32, to_f32, u16);
quantize_in!(f64_to_u8, f64, to_f64, u8);
quantize_in!(f64_to_u16, f64, to_f64, u16);

fn quantize_any<S: Sample>(k: &Knobs, a: &ArrayD<S>) -> Result<Tensor> {
    Ok(match (k.f64, k.u16) {
        (false, false) => Tensor::U8(f32_to_u8(k, a)?),
        (false, true) => Tensor::U16(f32_to_u16(k, a)?),
        (true, false) => Tensor::U8(f64_to_u8(k, a)?),
        (true, true) => Tensor::U16(f64_to_u16(k, a)?),
    })
}

pub fn run(step: &Step, input: Tensor) -> Result<Tensor> {
    input.hwc("quantize")?;
    let k = Knobs::of(step)?;
    match &input {
        Tensor::F16(a) => quantize_any(&k, a),
        Tensor::F32(a) => quantize_any(&k, a),
        Tensor::F64(a) => quantize_any(&k, a),
        other => Err(failed!(
            "quantize takes a float tensor, got {}: these are already integers (quantize belongs to the way back)", other.dtype())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::shaped;

    fn step(knobs: &str) -> Step {
        Step::parse(&format!(
            "{{\"op\": \"quantize\", \"dtype\": \"uint8\", \"scale\": 255.0, \"clamp\": \"none\", \"rounding\": \"truncate\", \
             \"overflow\": \"saturate\", \"int_path\": \"exact\", \"absolute\": false, \"compute_dtype\": \"float32\", {knobs}}}"))
            .unwrap()
    }

    fn u8s(knobs: &str, xs: &[f32]) -> Vec<u8> {
        let t = Tensor::F32(shaped(&[1, xs.len(), 1], xs.to_vec()).unwrap());
        match run(&step(knobs), t).unwrap() {
            Tensor::U8(a) => a.iter().copied().collect(),
            other => panic!("expected uint8, got {}", other.dtype()),
        }
    }

    #[test]
    fn as_u8_saturates_and_nan_is_zero() {
        let xs = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.5, 0.5, 1.0, 2.0];
        assert_eq!(u8s("\"preset\": \"rust.as_u8\"", &xs), vec![0, 255, 0, 0, 127, 255, 255]);
        assert_eq!(u8s("\"rounding\": \"half_away\"", &[0.5 / 255.0, 1.5 / 255.0]), vec![1, 2]);
    }

    #[test]
    fn wrap_through_i32_saturates_where_x86_c_gives_the_indefinite() {
        let xs = [-1.0 / 255.0, 256.0 / 255.0, 3e9 / 255.0, f32::INFINITY, f32::NAN];
        let got = u8s("\"overflow\": \"wrap\", \"int_path\": \"int32\"", &xs);
        assert_eq!(got, vec![255, 0, 255, 255, 0]);
        // exact wrap: the value modulo 256; 3e9 (f32, a multiple of 256) -> 0, inf/NaN -> 0
        let got = u8s("\"overflow\": \"wrap\", \"int_path\": \"exact\"", &xs);
        assert_eq!(got, vec![255, 0, 0, 0, 0]);
    }

    #[test]
    fn half_up_is_the_natural_writing() {
        // 0.49999997 + 0.5 rounds to 1.0 in f32: (y + 0.5).floor() gives 1, not 0
        let y = 0.49999997f32;
        assert_eq!(u8s("\"scale\": 1.0, \"rounding\": \"half_up\"", &[y, 2.5]), vec![1, 3]);
    }
}
