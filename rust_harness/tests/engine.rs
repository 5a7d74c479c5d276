//! Step engines on small synthetic inputs: laws (identity resize, reversal twice), the
//! documented library behaviours, and clear errors for bad input.

use std::io::Cursor;

use conformance_rust::engine::{Engine, StepInput};
use conformance_rust::error::HarnessError;
use conformance_rust::step::Step;
use conformance_rust::tensor::{shaped, Tensor};
use image::{ImageBuffer, ImageFormat, Rgb, RgbImage};
use serde_json::json;

fn step(v: serde_json::Value) -> Step {
    Step::from_json(&v).unwrap()
}

fn decode_step(output: &str) -> Step {
    step(json!({"op": "decode", "output": output, "orientation": "apply", "alpha": "drop",
                "background": [255, 255, 255], "trns": "ignore", "depth16": "round",
                "depth16_gray": "same", "max_pixels": 1 << 26}))
}

fn gradient(w: u32, h: u32) -> RgbImage {
    ImageBuffer::from_fn(w, h, |x, y| Rgb([(x * 7 % 256) as u8, (y * 13 % 256) as u8, ((x + y) * 3 % 256) as u8]))
}

fn png_bytes(img: &RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

fn u8_tensor(img: &RgbImage) -> Tensor {
    Tensor::U8(shaped(&[img.height() as usize, img.width() as usize, 3], img.as_raw().clone()).unwrap())
}

fn resize_step(filter: &str, h: usize, w: usize) -> Step {
    step(json!({"op": "resize", "height": h, "width": w, "filter": filter, "antialias": true}))
}

#[test]
fn png_decode_is_lossless_and_bgr_reverses() {
    let img = gradient(17, 5);
    let data = png_bytes(&img);
    let rgb = Engine::Image.run(&decode_step("rgb"), StepInput::Bytes(&data)).unwrap();
    assert_eq!(rgb, u8_tensor(&img));
    let bgr = Engine::Image.run(&decode_step("bgr"), StepInput::Bytes(&data)).unwrap();
    let Tensor::U8(b) = bgr else { panic!("dtype") };
    assert_eq!(b[[2, 3, 0]], img.get_pixel(3, 2).0[2]);
    assert_eq!(b[[2, 3, 2]], img.get_pixel(3, 2).0[0]);
}

#[test]
fn gray_decode_is_the_crates_float32_bt709_luma() {
    // The model the reference's gray_arithmetic="image_f32" implements (checked there on all
    // 2^24 RGB triples): f32 samples / 255, left-to-right f32 sum, round half away.
    let (kr, kg, kb) = (0.21264784038066864f32, 0.7151792049407959f32, 0.07217303663492203f32);
    let img = gradient(64, 48);
    let data = png_bytes(&img);
    let Tensor::U8(g) = Engine::Image.run(&decode_step("gray"), StepInput::Bytes(&data)).unwrap() else { panic!() };
    for (x, y, p) in img.enumerate_pixels() {
        let f = |v: u8| v as f32 * (1.0 / 255.0);
        let luma = f(p.0[0]) * kr + f(p.0[1]) * kg + f(p.0[2]) * kb;
        assert_eq!(g[[y as usize, x as usize, 0]], (luma * 255.0).round() as u8, "pixel ({x}, {y})");
    }
}

#[test]
fn decompression_bomb_is_rejected_before_allocating() {
    // A valid PNG claiming 60000 x 60000 RGB (10.8 GB decoded) with two bytes of image data.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let ihdr: Vec<u8> = [60000u32.to_be_bytes(), 60000u32.to_be_bytes()].concat().into_iter().chain([8, 2, 0, 0, 0]).collect();
    for (kind, data) in [(b"IHDR", ihdr), (b"IDAT", vec![0x78, 0x9c]), (b"IEND", vec![])] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let chunk: Vec<u8> = kind.iter().copied().chain(data).collect();
        png.extend_from_slice(&chunk);
        png.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    let e = Engine::Image.run(&decode_step("rgb"), StepInput::Bytes(&png)).unwrap_err();
    assert!(matches!(e, HarnessError::Rejected(_)), "{e}");
    assert!(e.message().contains("max_pixels") || e.message().contains("limit"), "{e}");
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[test]
fn garbage_is_rejected_not_a_panic() {
    let e = Engine::Image.run(&decode_step("rgb"), StepInput::Bytes(b"\xff\xd8\xff\xe0 not really a jpeg")).unwrap_err();
    assert_eq!(e.status(), "rejected");
}

#[test]
fn resize_to_the_same_size_is_identity_for_both_engines() {
    let t = u8_tensor(&gradient(12, 7));
    for engine in [Engine::Image, Engine::Fir] {
        for filter in ["nearest", "triangle", "cubic", "lanczos"] {
            let out = engine.run(&resize_step(filter, 7, 12), StepInput::Array(t.clone())).unwrap();
            assert_eq!(out, t, "{engine:?} {filter}");
        }
    }
}

#[test]
fn unsupported_filters_say_what_to_use() {
    let reason = Engine::Image.check(&resize_step("box", 3, 3)).unwrap();
    assert!(reason.contains("fast_image_resize"), "{reason}");
    assert!(Engine::Fir.check(&resize_step("box", 3, 3)).is_none());
    assert!(Engine::Fir.check(&resize_step("area", 3, 3)).unwrap().contains("area") );
}

#[test]
fn fir_downscale_of_a_constant_image_is_constant() {
    let t = Tensor::U8(shaped(&[9, 11, 3], vec![77u8; 9 * 11 * 3]).unwrap());
    for filter in ["box", "triangle", "hamming", "cubic", "gaussian", "lanczos"] {
        let Tensor::U8(out) = Engine::Fir.run(&resize_step(filter, 4, 5), StepInput::Array(t.clone())).unwrap() else { panic!() };
        assert_eq!(out.shape(), &[4, 5, 3]);
        assert!(out.iter().all(|&v| v == 77), "{filter}");
    }
}

#[test]
fn layout_chw_with_batch_and_reversal() {
    let t = Tensor::U8(shaped(&[2, 2, 3], (0u8..12).collect()).unwrap());
    let s = step(json!({"op": "layout", "layout": "chw", "batch": true, "channel_order": "reverse"}));
    let Tensor::U8(out) = Engine::Image.run(&s, StepInput::Array(t)).unwrap() else { panic!() };
    assert_eq!(out.shape(), &[1, 3, 2, 2]);
    // channel 0 of the output is input channel 2: samples 2, 5, 8, 11
    assert_eq!(out.iter().take(4).copied().collect::<Vec<_>>(), vec![2, 5, 8, 11]);
}

#[test]
fn colour_reversal_twice_is_identity() {
    let t = u8_tensor(&gradient(6, 3));
    let s = step(json!({"op": "color", "conversion": "rgb_to_bgr"}));
    let once = Engine::Image.run(&s, StepInput::Array(t.clone())).unwrap();
    assert_ne!(once, t);
    assert_eq!(Engine::Image.run(&s, StepInput::Array(once)).unwrap(), t);
}

#[test]
fn normalize_is_f32_scale_then_mean_std() {
    let t = Tensor::U8(shaped(&[1, 1, 3], vec![0u8, 128, 255]).unwrap());
    let s = step(json!({"op": "normalize", "dtype": "float32", "scale": 1.0 / 255.0, "divisor": 255.0,
                        "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "order": "scale_first"}));
    let Tensor::F32(out) = Engine::Image.run(&s, StepInput::Array(t)).unwrap() else { panic!() };
    let expect = ((128.0f32 / 255.0f32) - 0.456f32) / 0.224f32;
    assert_eq!(out[[0, 0, 1]], expect);
}

#[test]
fn geometry_errors_are_clear() {
    let t = u8_tensor(&gradient(4, 4));
    let crop = step(json!({"op": "crop", "mode": "box", "height": 3, "width": 3, "top": 2, "left": 0}));
    let e = Engine::Image.run(&crop, StepInput::Array(t.clone())).unwrap_err();
    assert!(e.message().contains("outside"), "{e}");
    let pad = step(json!({"op": "pad", "mode": "reflect", "top": 4, "bottom": 0, "left": 0, "right": 0, "value": [0]}));
    assert!(Engine::Image.run(&pad, StepInput::Array(t.clone())).is_err());
    let center = step(json!({"op": "crop", "mode": "center", "height": 1, "width": 1, "top": 0, "left": 0}));
    // (4 - 1) / 2 = 1 (integer division)
    let Tensor::U8(c) = Engine::Image.run(&center, StepInput::Array(t)).unwrap() else { panic!() };
    assert_eq!(c[[0, 0, 0]], gradient(4, 4).get_pixel(1, 1).0[0]);
}

#[test]
fn pad_modes_follow_numpy() {
    let t = Tensor::U8(shaped(&[1, 3, 1], vec![1u8, 2, 3]).unwrap());
    let pad = |mode: &str| {
        let s = step(json!({"op": "pad", "mode": mode, "top": 0, "bottom": 0, "left": 2, "right": 1, "value": [9]}));
        let Tensor::U8(a) = Engine::Image.run(&s, StepInput::Array(t.clone())).unwrap() else { panic!() };
        a.iter().copied().collect::<Vec<_>>()
    };
    assert_eq!(pad("constant"), vec![9, 9, 1, 2, 3, 9]);
    assert_eq!(pad("edge"), vec![1, 1, 1, 2, 3, 3]);
    assert_eq!(pad("reflect"), vec![3, 2, 1, 2, 3, 2]);
}

#[test]
fn a_step_with_a_missing_knob_is_an_error_naming_it() {
    let s = step(json!({"op": "resize", "height": 2, "width": 2, "filter": "triangle"}));
    let e = Engine::Fir.run(&s, StepInput::Array(u8_tensor(&gradient(4, 4)))).unwrap_err();
    assert!(e.message().contains("antialias"), "{e}");
}

#[test]
fn a_chain_equals_its_steps_run_one_by_one() {
    let data = png_bytes(&gradient(40, 30));
    let steps = [
        decode_step("rgb"),
        resize_step("triangle", 15, 20),
        step(json!({"op": "crop", "mode": "center", "height": 10, "width": 10, "top": 0, "left": 0})),
        step(json!({"op": "normalize", "dtype": "float32", "scale": 1.0 / 255.0, "divisor": null,
                    "mean": [0.5], "std": [0.25], "order": "scale_first"})),
        step(json!({"op": "layout", "layout": "chw", "batch": true, "channel_order": "keep"})),
    ];
    for engine in [Engine::Image, Engine::Fir] {
        let mut value = engine.run(&steps[0], StepInput::Bytes(&data)).unwrap();
        for s in &steps[1..] {
            value = engine.run(s, StepInput::Array(value)).unwrap();
        }
        assert_eq!(engine.run_chain(&steps, &data).unwrap(), value);
        assert_eq!(value.shape(), &[1, 3, 10, 10]);
    }
    let e = Engine::Image.run_chain(&[decode_step("rgb"), resize_step("box", 3, 3)], &data).unwrap_err();
    assert!(e.message().starts_with("step 1 (resize)"), "{e}");
}
