//! A pipeline step as the bundle stores it: a JSON object with `op` and every knob spelled out
//! (`conformance/spec.py` documents them). Accessors return a clear error naming the knob when
//! it is missing or of the wrong type, so a malformed manifest never panics.

use serde_json::{Map, Value};

use crate::error::Result;
use crate::failed;

#[derive(Debug, Clone)]
pub struct Step {
    knobs: Map<String, Value>,
}

impl Step {
    /// A step from its JSON object; an error if it is not an object with a string `op`.
    pub fn from_json(value: &Value) -> Result<Step> {
        let knobs = value.as_object().ok_or_else(|| failed!("a step must be a JSON object"))?.clone();
        let step = Step { knobs };
        step.str("op")?;
        Ok(step)
    }

    pub fn parse(text: &str) -> Result<Step> {
        let value: Value = serde_json::from_str(text).map_err(|e| failed!("step is not JSON: {e}"))?;
        Step::from_json(&value)
    }

    pub fn op(&self) -> &str {
        self.knobs["op"].as_str().unwrap_or("")
    }

    fn get(&self, knob: &str) -> Result<&Value> {
        self.knobs.get(knob).ok_or_else(|| failed!("{} step has no knob {knob:?}", self.op()))
    }

    /// A knob that is present and not null.
    pub fn has(&self, knob: &str) -> bool {
        matches!(self.knobs.get(knob), Some(v) if !v.is_null())
    }

    pub fn str(&self, knob: &str) -> Result<&str> {
        self.get(knob)?.as_str().ok_or_else(|| failed!("knob {knob:?} must be a string"))
    }

    pub fn bool(&self, knob: &str) -> Result<bool> {
        self.get(knob)?.as_bool().ok_or_else(|| failed!("knob {knob:?} must be true or false"))
    }

    pub fn f64(&self, knob: &str) -> Result<f64> {
        self.get(knob)?.as_f64().ok_or_else(|| failed!("knob {knob:?} must be a number"))
    }

    /// A non-negative integer knob.
    pub fn usize(&self, knob: &str) -> Result<usize> {
        let v = self.get(knob)?;
        v.as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| failed!("knob {knob:?} must be a non-negative integer, got {v}"))
    }

    /// An integer knob that may be null or absent.
    pub fn opt_usize(&self, knob: &str) -> Result<Option<usize>> {
        if self.has(knob) { self.usize(knob).map(Some) } else { Ok(None) }
    }

    /// A number knob that may be null or absent.
    pub fn opt_f64(&self, knob: &str) -> Result<Option<f64>> {
        if self.has(knob) { self.f64(knob).map(Some) } else { Ok(None) }
    }

    /// A list of numbers (per-channel values); one number counts as a list of one.
    pub fn f64_list(&self, knob: &str) -> Result<Vec<f64>> {
        let v = self.get(knob)?;
        if let Some(x) = v.as_f64() {
            return Ok(vec![x]);
        }
        v.as_array()
            .ok_or_else(|| failed!("knob {knob:?} must be a list of numbers"))?
            .iter()
            .map(|x| x.as_f64().ok_or_else(|| failed!("knob {knob:?} must hold numbers only")))
            .collect()
    }

    /// The step as compact JSON (for messages).
    pub fn to_json(&self) -> String {
        Value::Object(self.knobs.clone()).to_string()
    }
}

/// One value per channel from a list of one value (broadcast) or exactly `channels` values.
pub fn per_channel(values: &[f64], channels: usize, knob: &str) -> Result<Vec<f64>> {
    match values.len() {
        1 => Ok(vec![values[0]; channels]),
        n if n == channels => Ok(values.to_vec()),
        n => Err(failed!("{n} {knob} values for {channels} channels")),
    }
}

/// The (out_h, out_w) a resize step asks for, from its size knobs (the *intent*, shared by every
/// harness; the Python harnesses' `conformance/harnesses/base.py resize_target` is the same rule):
///
/// - `height`+`width`: exactly.
/// - `shorter_side` S (`longer_side` likewise for the longer side), with `size_formula`:
///   - `product` (default): the shorter side becomes S and the other
///     `size_rounding`(other·S/shorter), computed in exact integer arithmetic (torchvision's
///     `int(s·long/short)` is `size_rounding="floor"`);
///   - `ratio` (timm `ResizeKeepRatio`): r = shorter/S in f64, then *every* side, S's included,
///     is `size_rounding`(side / r) in f64.
/// - `max_size` M (only with `shorter_side`): when the derived longer side L exceeds M, the
///   longer side becomes M and the shorter `trunc(M·S'/L)` (S' the shorter side just derived;
///   f64 as Python's `int(max_size * new_short / new_long)` in torchvision `F.resize`).
///
/// Rounding: `round` = half to even, `round_half_up` = floor(x + 0.5), `floor`, `ceil`.
pub fn resize_target(step: &Step, height: usize, width: usize) -> Result<(usize, usize)> {
    if let (Some(h), Some(w)) = (step.opt_usize("height")?, step.opt_usize("width")?) {
        return Ok((h, w));
    }
    let (side, longer) = match (step.opt_usize("shorter_side")?, step.opt_usize("longer_side")?) {
        (Some(s), _) => (s, false),
        (None, Some(s)) => (s, true),
        (None, None) => return Err(failed!("resize step gives no target size")),
    };
    if side == 0 {
        return Err(failed!("resize target side must be at least 1, got 0"));
    }
    let reference = if longer { height.max(width) } else { height.min(width) };
    if reference == 0 {
        return Err(failed!("cannot resize an empty {height}x{width} image"));
    }
    let rule = if step.has("size_rounding") { step.str("size_rounding")? } else { "round" };
    let formula = if step.has("size_formula") { step.str("size_formula")? } else { "product" };
    // true when the target applies to the height (the height is the reference side)
    let height_fixed = (height <= width) != longer;
    let other = if height_fixed { width } else { height };
    let (mut fixed, mut derived) = match formula {
        "product" => (side, round_ratio(other as u128 * side as u128, reference as u128, rule)?.max(1)),
        "ratio" => {
            // timm ResizeKeepRatio: ratio = img / target (f64), size = round(img / ratio)
            let r = reference as f64 / side as f64;
            (round_f64(reference as f64 / r, rule)?.max(1), round_f64(other as f64 / r, rule)?.max(1))
        }
        other => return Err(failed!("unknown size_formula {other:?} (product or ratio)")),
    };
    if let Some(cap) = step.opt_usize("max_size")? {
        if !longer && derived > cap {
            // torchvision F.resize: new_short, new_long = int(max_size * new_short / new_long), max_size
            fixed = (((cap as f64) * (fixed as f64) / (derived as f64)) as usize).max(1);
            derived = cap;
        }
    }
    Ok(if height_fixed { (fixed, derived) } else { (derived, fixed) })
}

/// `rule`(num / den) in exact integer arithmetic.
fn round_ratio(num: u128, den: u128, rule: &str) -> Result<usize> {
    let (q, r) = (num / den, num % den);
    let up = match rule {
        "floor" => false,
        "ceil" => r > 0,
        "round_half_up" => 2 * r >= den,
        "round" => 2 * r > den || (2 * r == den && q % 2 == 1),
        other => return Err(failed!("unknown size_rounding {other:?}")),
    };
    Ok((q + up as u128) as usize)
}

/// `rule`(v) for a non-negative f64, as Python computes it: `round` = Python's round (half to
/// even), `round_half_up` = floor(v + 0.5) in f64, `floor`, `ceil`.
fn round_f64(v: f64, rule: &str) -> Result<usize> {
    let r = match rule {
        "floor" => v.floor(),
        "ceil" => v.ceil(),
        "round_half_up" => (v + 0.5).floor(),
        "round" => v.round_ties_even(),
        other => return Err(failed!("unknown size_rounding {other:?}")),
    };
    Ok(r as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resize(knobs: &str) -> Step {
        Step::parse(&format!("{{\"op\": \"resize\", {knobs}}}")).unwrap()
    }

    #[test]
    fn shorter_side_rounds_half_to_even() {
        // 256 * 300 / 200 = 384 exactly; 256 * 301 / 200 = 385.28; 2 * 5 / 4 = 2.5 -> 2
        let s = resize("\"shorter_side\": 256");
        assert_eq!(resize_target(&s, 200, 300).unwrap(), (256, 384));
        assert_eq!(resize_target(&s, 301, 200).unwrap(), (385, 256));
        let s = resize("\"shorter_side\": 2");
        assert_eq!(resize_target(&s, 4, 5).unwrap(), (2, 2));
        let s = resize("\"shorter_side\": 2, \"size_rounding\": \"round_half_up\"");
        assert_eq!(resize_target(&s, 4, 5).unwrap(), (2, 3));
    }

    #[test]
    fn explicit_size_wins_and_missing_size_is_an_error() {
        let s = resize("\"height\": 5, \"width\": 7, \"shorter_side\": 3");
        assert_eq!(resize_target(&s, 10, 10).unwrap(), (5, 7));
        assert!(resize_target(&resize("\"height\": null"), 10, 10).is_err());
    }

    #[test]
    fn knob_errors_name_the_knob() {
        let s = resize("\"filter\": 3");
        let e = s.str("filter").unwrap_err();
        assert!(e.message().contains("filter"));
        assert!(s.str("absent").unwrap_err().message().contains("absent"));
    }

    #[test]
    fn ratio_formula_rounds_every_side() {
        // timm ResizeKeepRatio(256) on 300x500: r = 300/256 = 1.171875; 500/r = 426.67 -> 427
        let s = resize("\"shorter_side\": 256, \"size_formula\": \"ratio\"");
        assert_eq!(resize_target(&s, 300, 500).unwrap(), (256, 427));
        assert_eq!(resize_target(&s, 500, 300).unwrap(), (427, 256));
        // r = 1/49 is inexact in f64: 1/r = 49.00000000000001, so ceil makes the target side 50
        // (timm's arithmetic; base.py resize_target gives the same)
        let s = resize("\"shorter_side\": 49, \"size_formula\": \"ratio\", \"size_rounding\": \"ceil\"");
        assert_eq!(resize_target(&s, 1, 3).unwrap(), (50, 147));
        // the product formula keeps the target side exact
        let s = resize("\"shorter_side\": 49, \"size_rounding\": \"ceil\"");
        assert_eq!(resize_target(&s, 1, 3).unwrap(), (49, 147));
    }

    #[test]
    fn max_size_caps_the_longer_side() {
        // torchvision resize(224, max_size=300) on 100x400: 224x896 -> int(300*224/896) = 75
        let s = resize("\"shorter_side\": 224, \"max_size\": 300, \"size_rounding\": \"floor\"");
        assert_eq!(resize_target(&s, 100, 400).unwrap(), (75, 300));
        assert_eq!(resize_target(&s, 400, 100).unwrap(), (300, 75));
        // under the cap nothing changes: 224 x int(224*250/200) = 280
        assert_eq!(resize_target(&s, 200, 250).unwrap(), (224, 280));
        // truncation, not rounding: 224*1000/333 = 672.67 -> 672 > 500; int(500*224/672) = 166.67 -> 166
        let s = resize("\"shorter_side\": 224, \"max_size\": 500, \"size_rounding\": \"floor\"");
        assert_eq!(resize_target(&s, 333, 1000).unwrap(), (166, 500));
        // max_size is ignored for longer_side (the spec rejects the combination)
        let s = resize("\"longer_side\": 224, \"max_size\": 100");
        assert_eq!(resize_target(&s, 100, 400).unwrap(), (56, 224));
    }

    #[test]
    fn unknown_size_formula_is_an_error() {
        let s = resize("\"shorter_side\": 3, \"size_formula\": \"bogus\"");
        assert!(resize_target(&s, 4, 5).unwrap_err().message().contains("size_formula"));
    }
}
