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
/// harness): `height`+`width` exactly; `shorter_side` S makes the shorter side S and the other
/// `size_rounding`(other·S/shorter); `longer_side` likewise. Rounding in exact integer
/// arithmetic: `round` = half to even, `round_half_up`, `floor`, `ceil`.
pub fn resize_target(step: &Step, height: usize, width: usize) -> Result<(usize, usize)> {
    if let (Some(h), Some(w)) = (step.opt_usize("height")?, step.opt_usize("width")?) {
        return Ok((h, w));
    }
    let (side, longer) = match (step.opt_usize("shorter_side")?, step.opt_usize("longer_side")?) {
        (Some(s), _) => (s, false),
        (None, Some(s)) => (s, true),
        (None, None) => return Err(failed!("resize step gives no target size")),
    };
    let reference = if longer { height.max(width) } else { height.min(width) } as u128;
    if reference == 0 {
        return Err(failed!("cannot resize an empty {height}x{width} image"));
    }
    let rule = if step.has("size_rounding") { step.str("size_rounding")? } else { "round" };
    let derive = |other: usize| -> Result<usize> {
        let num = other as u128 * side as u128;
        let (q, r) = (num / reference, num % reference);
        let up = match rule {
            "floor" => false,
            "ceil" => r > 0,
            "round_half_up" => 2 * r >= reference,
            "round" => 2 * r > reference || (2 * r == reference && q % 2 == 1),
            other => return Err(failed!("unknown size_rounding {other:?}")),
        };
        Ok(((q + up as u128) as usize).max(1))
    };
    if (height <= width) != longer {
        Ok((side, derive(width)?))
    } else {
        Ok((derive(height)?, side))
    }
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
}
