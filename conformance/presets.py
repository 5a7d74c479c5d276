"""Presets: named knob sets that reproduce one library's behaviour.

A preset is only shorthand: it expands to explicit knob values, which a pipeline may override.
The values here are the measured behaviour of the versions pinned in ``pyproject.toml``
(Pillow 13.0.0, opencv-python-headless 5.0.0, image 0.25.10 via the Rust harness, onnx 1.23.2,
torch 2.15.0 for the torchvision.tensor.* resizes, tensorflow-cpu 2.21.0 for tf.*, openvino 2026.4.1
for openvino.*); each row says what
was matched and how closely in the tests named beside it.

ONNX Resize presets form a family named ``onnx.<mode>[.<coords>][.<nearest_mode>][.antialias]
[.exclude_outside]``, e.g. ``onnx.linear``, ``onnx.cubic.align_corners.antialias``,
``onnx.nearest.asymmetric.floor``. Omitted parts take the ONNX defaults (half_pixel,
round_prefer_floor, antialias=0, exclude_outside=0, cubic_coeff_a=-0.75).
"""

from __future__ import annotations

from typing import Any

from .errors import SpecError

# --- resize -----------------------------------------------------------------------------------

# Pillow 13 Image.resize(reducing_gap=None): double-precision kernels normalised and rounded to
# 22-bit integers (PRECISION_BITS = 32 - 8 - 2), uint8 stored between the passes, pass order by
# Pillow 13's rule, windows trunc(c +- support + 0.5) truncated and renormalised at the borders.
_PILLOW_CONV = dict(antialias=True, coords="half_pixel", border="renormalize", arithmetic="fixed:22",
                    rounding="half_up", pass_order="pillow13", intermediate="uint8", window="pillow",
                    cubic_a=-0.5, lobes=3, nearest_index="coords", weights_dtype="float64")
# OpenCV 5.0 cv2.resize(dsize=...): fixed-tap interpolators (no antialias), replicated borders,
# OpenCV's own fixed point (see reference.resize.opencv). uint8 INTER_CUBIC and float32
# INTER_LINEAR/INTER_CUBIC are modelled with IPP off (cv2.ipp.setUseIPP(False)); the default
# wheel runs closed-source IPP there: uint8 cubic at most 1 LSB off (~3.4 % of values), float32
# about 1e-5 of the range. Every other mode is exact with IPP on or off.
_OPENCV = dict(antialias=False, coords="half_pixel", border="clamp", arithmetic="opencv",
               rounding="half_even", pass_order="hv", intermediate="exact", window="pillow",
               cubic_a=-0.75, lobes=4, nearest_index="coords", weights_dtype="float32")
# Rust image 0.25 imageops::resize: f32 throughout, vertical pass first into an f32 buffer
# (no rounding, no clamping), then horizontal, clamp and round half away from zero. Both passes
# always run (an unchanged axis is resampled too). Nearest is the same convolution with a
# support-0 box kernel: one tap at floor((i + 0.5) * f32(in/out)).
_IMAGE = dict(antialias=True, coords="half_pixel", border="renormalize", arithmetic="float32",
              rounding="half_away", pass_order="vh", intermediate="float32", window="floor_ceil",
              cubic_a=-0.5, lobes=3, nearest_index="coords", weights_dtype="float32",
              nearest_rounding="round_prefer_ceil", unchanged_axis="resample")

# torch 2.15 interpolate(uint8 NCHW, antialias=True, align_corners=False) on CPU, the kernel
# torchvision 0.29's F.resize runs on uint8 tensors (aten/src/ATen/native/cpu/UpSampleKernel.cpp,
# UpSampleKernelAVXAntialias.h, written after Pillow-SIMD): Pillow's windows and renormalised
# borders, double weights rounded to int16 at a per-axis precision (the largest p <= 21 whose
# largest weight still fits 2^15: fixed_dynamic:15), horizontal pass first, uint8 between the
# passes, (acc + 2^(p-1)) >> p, a = -0.5 for antialiased bicubic, unchanged axes skipped.
# Bit-exact for bilinear, bicubic and lanczos (3 lobes) on 1-4 channels, up and down
# (tests/test_harness_torchvision.py); bilinear with antialias=False is the same kernel at
# scale 1 and is exact with ``antialias = false``. Not exact: non-antialiased bicubic (torch's
# separate fixed-tap kernel, at most 2 LSB from onnx-like knobs), and CPUs without AVX2 /
# arm64, where torchvision resizes bilinear uint8 as float32 and rounds.
_TORCH_UINT8 = dict(antialias=True, coords="half_pixel", border="renormalize",
                    arithmetic="fixed_dynamic:15", rounding="half_up", pass_order="hv",
                    intermediate="uint8", window="pillow", cubic_a=-0.5, lobes=3,
                    nearest_index="coords", weights_dtype="float64", unchanged_axis="skip")

# OpenVINO 2026.4 PrePostProcessor resize (preprocess_steps_impl.cpp add_resize_impl: an
# Interpolate-11 with default attributes: half_pixel, round_prefer_floor, cube_coeff -0.75, no
# antialias) as the CPU plugin runs it with INFERENCE_PRECISION_HINT f32 (the default on CPUs
# with AVX512_BF16 / AMX is bf16, which rounds the float path to 8 mantissa bits: see the
# openvino harness). Coordinates in float32 (window="openvino"), weights and sums in float32,
# one 2-D pass, uint8 results rounded half to even and saturated. The model is float64 past the
# coordinates, so values within a float32 rounding of k + 0.5 may round the other way: at most
# 1 LSB on uint8 (linear, cubic), ~1e-3 on float32 0..255 inputs; nearest is exact
# (tests/test_harness_openvino.py).
_OPENVINO = dict(antialias=False, coords="half_pixel", border="clamp", arithmetic="float64",
                 rounding="half_even", pass_order="hv", intermediate="exact", window="openvino",
                 unchanged_axis="skip", sum_order="sequential", cubic_a=-0.75, lobes=3,
                 nearest_index="coords", nearest_rounding="round_prefer_floor",
                 weights_dtype="float64")
# RESIZE_BILINEAR_PILLOW / RESIZE_BICUBIC_PILLOW (OpenVINO PR 16601, the CPU plugin's
# buildTblPillow + pillow kernels): Pillow's convolution (its windows trunc(c ± support + 0.5),
# support × scale on downscale, weights normalised per output, a = -0.5), horizontal pass first
# into a buffer of the input's type (uint8 rounded half to even and saturated between the passes),
# unchanged axes skipped, but in float32 with fused multiply-adds instead of Pillow's 22-bit fixed
# point: arithmetic="openvino" (reference.resize.openvino). 0 LSB against OpenVINO on uint8 and
# float32 (tests/test_harness_openvino.py); pillow.bilinear is within 2 levels of it.
_OPENVINO_PILLOW = dict(antialias=True, coords="half_pixel", border="renormalize", arithmetic="openvino",
                        rounding="half_even", pass_order="hv", intermediate="uint8", window="pillow",
                        unchanged_axis="skip", sum_order="sequential", cubic_a=-0.5, lobes=3,
                        nearest_index="coords", weights_dtype="float64")
# libvips 8.18 vips_resize(scale, vscale=, kernel=) downsizing (pyvips-binary 8.18.7 measured in
# tests/test_harness_libvips.py, 0 LSB on uint8, 1/3/4 bands): per axis, vertical first, a box
# pre-shrink by floor(in/out/gap) (gap 2.0, vips_resize's default) then vips_reduceh/v: centred
# kernel on a 1/64-pixel grid, edge pixels repeated, 12-bit truncated weights, (acc + 2048) >> 12,
# uint8 between the axes (reference.resize.vips). Upsizing is vips_affine's bicubic interpolator
# for cubic and lanczos3 (0 LSB, up/down mixes included); linear and nearest upsizing are not
# modelled (the reference refuses them).
_VIPS = dict(window="vips", antialias=True, coords="half_pixel", border="clamp", arithmetic="fixed:12",
             weight_rounding="truncate", rounding="half_up", pass_order="vh", intermediate="uint8",
             cubic_a=-0.5, lobes=3, reducing_gap=2.0, nearest_index="coords", weights_dtype="float64")

RESIZE_PRESETS: dict[str, dict[str, Any]] = {
    "pillow.nearest": {**_PILLOW_CONV, "filter": "nearest", "nearest_index": "accumulate",
                       "antialias": False},
    "pillow.box": {**_PILLOW_CONV, "filter": "box"},
    "pillow.bilinear": {**_PILLOW_CONV, "filter": "triangle"},
    "pillow.hamming": {**_PILLOW_CONV, "filter": "hamming"},
    "pillow.bicubic": {**_PILLOW_CONV, "filter": "cubic"},
    "pillow.lanczos": {**_PILLOW_CONV, "filter": "lanczos"},
    "opencv.nearest": {**_OPENCV, "filter": "nearest", "nearest_index": "multiply"},
    "opencv.nearest_exact": {**_OPENCV, "filter": "nearest", "nearest_index": "accumulate"},
    "opencv.linear": {**_OPENCV, "filter": "triangle"},
    "opencv.cubic": {**_OPENCV, "filter": "cubic"},
    "opencv.area": {**_OPENCV, "filter": "area"},
    "opencv.lanczos4": {**_OPENCV, "filter": "lanczos", "lobes": 4},
    "image.nearest": {**_IMAGE, "filter": "nearest", "antialias": False},
    "image.triangle": {**_IMAGE, "filter": "triangle"},
    "image.catmullrom": {**_IMAGE, "filter": "cubic"},
    "image.gaussian": {**_IMAGE, "filter": "gaussian"},
    "image.lanczos3": {**_IMAGE, "filter": "lanczos"},
    "torchvision.tensor.bilinear": {**_TORCH_UINT8, "filter": "triangle"},
    "torchvision.tensor.bicubic": {**_TORCH_UINT8, "filter": "cubic"},
    "torchvision.tensor.lanczos": {**_TORCH_UINT8, "filter": "lanczos"},
    "openvino.nearest": {**_OPENVINO, "filter": "nearest"},
    "openvino.linear": {**_OPENVINO, "filter": "triangle"},
    "openvino.cubic": {**_OPENVINO, "filter": "cubic"},
    "openvino.bilinear_pillow": {**_OPENVINO_PILLOW, "filter": "triangle"},
    "openvino.bicubic_pillow": {**_OPENVINO_PILLOW, "filter": "cubic"},
    "libvips.lanczos3": {**_VIPS, "filter": "lanczos"},
    "libvips.cubic": {**_VIPS, "filter": "cubic"},
    "libvips.linear": {**_VIPS, "filter": "triangle"},
    "libvips.nearest": {**_VIPS, "filter": "nearest", "antialias": False},
}

# TensorFlow 2.21 tf.image.resize(images, size, method, antialias) on CPU: one float32 op per
# method (reference.resize.tensorflow), float32 output whatever the input (nearest keeps the
# dtype), an unchanged size resampled too. The knobs TF fixes are set to the values that describe
# it (rows first into a float32 buffer, float32 weights); border: ResizeBilinear clamps, the others
# drop taps outside the image and renormalise. antialias changes bilinear and bicubic (another op)
# and the kernels of ScaleAndTranslate; TF ignores it for nearest and area (no .antialias preset).
# Checked against TensorFlow in tests/test_resize_tensorflow.py.
_TF = dict(arithmetic="tensorflow", coords="half_pixel", output_dtype="float32", weights_dtype="float32",
           intermediate="float32", pass_order="vh", unchanged_axis="resample", border="renormalize",
           window="floor_ceil", rounding="half_even", cubic_a=-0.5, lobes=3, sum_order="sequential")
TF_METHODS = {  # tf.image.ResizeMethod -> the reference's filter knobs
    "bilinear": dict(filter="triangle"), "nearest": dict(filter="nearest"),
    "bicubic": dict(filter="cubic"), "area": dict(filter="area"),
    "lanczos3": dict(filter="lanczos", lobes=3), "lanczos5": dict(filter="lanczos", lobes=5),
    "gaussian": dict(filter="gaussian"), "mitchellcubic": dict(filter="mitchell"),
}
for _method, _knobs in TF_METHODS.items():
    RESIZE_PRESETS[f"tf.{_method}"] = {**_TF, **_knobs, "antialias": False}
    if _method not in ("nearest", "area"):
        RESIZE_PRESETS[f"tf.{_method}.antialias"] = {**_TF, **_knobs, "antialias": True}
RESIZE_PRESETS["tf.bilinear"]["border"] = "clamp"  # ResizeBilinear: lower/upper clamped to the edge
RESIZE_PRESETS["tf.nearest"].update(output_dtype="input", nearest_rounding="round_prefer_ceil")  # floor(x + 0.5)

ONNX_MODES = {"nearest": "nearest", "linear": "triangle", "cubic": "cubic"}
ONNX_COORDS = ("half_pixel", "pytorch_half_pixel", "asymmetric", "align_corners", "half_pixel_symmetric")
ONNX_NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def onnx_resize_knobs(name: str) -> dict[str, Any] | None:
    """Knobs of an ``onnx.*`` Resize preset name, or None if the name is not of that family.

    onnx.reference evaluates Resize in float64 after casting the input, one 1-D pass per axis in
    axis order (NCHW: H then W) with no rounding between passes, skips axes whose size is
    unchanged, and rounds half to even at the end (saturate_cast). Its cubic coefficients are
    computed in float32 (cubic_coeff_a arrives as np.float32), hence ``weights_dtype="float32"``
    for cubic; its sums over taps are numpy's ``ndarray.sum`` (``sum_order="numpy_pairwise"``,
    which matters from 8 taps on: antialiased downscales).

    Tap windows follow the ONNX *specification* (``window="centered"``), which ONNX Runtime
    implements too. onnx.reference 1.23 places a window from x + n/2 in float64 and so reads one
    pixel to the left when x lies an ulp above an integer; ``window="onnx_reference"`` reproduces
    that quirk (tests/test_resize_onnx.py compares with it, bit-exact), but it is not ONNX.
    """
    parts = name.split(".")
    if len(parts) < 2 or parts[0] != "onnx" or parts[1] not in ONNX_MODES:
        return None
    mode = parts[1]
    knobs: dict[str, Any] = dict(
        filter=ONNX_MODES[mode], antialias=False, coords="half_pixel", border="clamp",
        arithmetic="float64", rounding="half_even", pass_order="vh", intermediate="exact",
        window="centered", unchanged_axis="skip", sum_order="numpy_pairwise", cubic_a=-0.75,
        lobes=3, nearest_index="coords",
        nearest_rounding="round_prefer_floor",
        weights_dtype="float32" if mode == "cubic" else "float64")
    seen: set[str] = set()
    for part in parts[2:]:
        kind = ("coords" if part in ONNX_COORDS else "nearest" if part in ONNX_NEAREST_MODES
                else part if part in ("antialias", "exclude_outside") else None)
        if kind is None or kind in seen:
            return None
        seen.add(kind)
        if kind == "coords":
            knobs["coords"] = part
        elif kind == "nearest":
            if mode != "nearest":
                return None
            knobs["nearest_rounding"] = part
        elif kind == "antialias":
            if mode == "nearest":
                return None  # the ONNX spec allows antialias only for linear and cubic
            knobs["antialias"] = True
        else:
            knobs["border"] = "renormalize"
    return knobs


def onnx_preset_names() -> list[str]:
    """A representative list of onnx.* names (every mode x coords, plus the options)."""
    names = []
    for mode in ONNX_MODES:
        for coords in ONNX_COORDS:
            names.append(f"onnx.{mode}.{coords}")
        if mode == "nearest":
            names += [f"onnx.nearest.half_pixel.{nm}" for nm in ONNX_NEAREST_MODES]
        else:
            names += [f"onnx.{mode}.half_pixel.antialias", f"onnx.{mode}.half_pixel.exclude_outside"]
    return names


# --- decode -----------------------------------------------------------------------------------

# JPEG reconstruction knobs of libjpeg-turbo's default decompression (jdapimin.c
# default_decompress_parms: JDCT_ISLOW, do_fancy_upsampling and do_block_smoothing TRUE) as the
# x86-64 SIMD builds inside the Pillow 13 and OpenCV 5 wheels run it (saturating range limit).
# CMYK: libjpeg returns the raw samples; both libraries read them as Adobe-inverted ink.
# Damaged data: libjpeg-turbo repairs and warns (on_corrupt; checked against Pillow and OpenCV in
# tests/test_jpeg_recovery.py).
LIBJPEG_TURBO_JPEG = dict(idct="islow", range_limit="saturate", upsampling="fancy",
                          ycc="libjpeg_fixed", block_smoothing="libjpeg-turbo", cmyk="adobe_inverted",
                          on_corrupt="libjpeg-turbo")
# zune-jpeg 0.5.15 as the Rust image crate 0.25 runs it (notes: decode-semantics §2): stb-style
# 12-bit IDCT, its own upsampler on the padded plane, 14-bit YCbCr, no block smoothing; its
# CMYK -> RGB (blinn on the raw samples) equals cmyk_rgb="pillow" with adobe_inverted ink.
ZUNE_JPEG = dict(idct="zune", range_limit="saturate", upsampling="zune", ycc="zune_fixed14",
                 block_smoothing="off", cmyk="adobe_inverted", cmyk_rgb="pillow")

DECODE_PRESETS: dict[str, dict[str, Any]] = {
    # libjpeg-turbo's default decompression; output=gray is libjpeg's JCS_GRAYSCALE (Y plane).
    "libjpeg-turbo": dict(**LIBJPEG_TURBO_JPEG, cmyk_rgb="pillow", jpeg_gray="y_plane",
                          lossless_color="output_space"),
    # Image.open(f).convert('RGB'): no EXIF rotation (ImageOps.exif_transpose, orientation="apply",
    # reads Pillow's sources: EXIF, ImageMagick's raw profile text, XMP), alpha and tRNS dropped, 16-bit colour by
    # its high byte, 16-bit gray (mode I;16) clipped to 255. JPEG: libjpeg-turbo defaults,
    # CMYK through rawmode CMYK;I and Convert.c cmyk2rgb; convert('L') = L24 of the RGB.
    "pillow": dict(output="rgb", orientation="ignore", alpha="drop", trns="ignore", depth16="shift",
                   depth16_gray="clip", **LIBJPEG_TURBO_JPEG, cmyk_rgb="pillow",
                   jpeg_gray="from_rgb", orientation_source="pillow", lossless_color="file_space"),
    # cv2.imdecode(buf, IMREAD_COLOR): BGR, EXIF applied, alpha/tRNS dropped, libpng strip_16,
    # an APNG's first animation frame (OpenCV 5's own APNG reader);
    # JPEG: libjpeg-turbo defaults, CMYK through icvCvt_CMYK2BGR.
    "opencv": dict(output="bgr", orientation="apply", alpha="drop", trns="ignore", depth16="shift",
                   depth16_gray="same", **LIBJPEG_TURBO_JPEG, cmyk_rgb="opencv",
                   jpeg_gray="y_plane", orientation_source="exif", apng_frame="first",
                   lossless_color="output_space"),
    # cv2.imdecode(buf, IMREAD_GRAYSCALE): PNG: libpng png_set_rgb_to_gray(png, 1, 0.299, 0.587)
    # on the native-depth samples, then strip_16; alpha/tRNS dropped without compositing, gray
    # files unchanged. JPEG: libjpeg's JCS_GRAYSCALE (Y plane), CMYK via icvCvt_CMYK2Gray.
    # EXIF applied.
    "opencv.gray": dict(output="gray", gray_coefficients="bt601", gray_arithmetic="libpng_fixed",
                        orientation="apply", alpha="drop", trns="ignore", depth16="shift",
                        depth16_gray="same", **LIBJPEG_TURBO_JPEG, cmyk_rgb="opencv",
                        jpeg_gray="y_plane", orientation_source="exif", apng_frame="first",
                        webp_gray="opencv_fixed", lossless_color="output_space"),  # WebP: libwebp BGR, then cv2.cvtColor
    # tf.io.decode_image / decode_jpeg / decode_png(channels=3) (TensorFlow 2.21, its own
    # libjpeg-turbo 2.1.4 and libpng): no EXIF rotation, alpha dropped without compositing,
    # 16-bit by its high byte; channels=1 is libpng's png_set_rgb_to_gray (as OpenCV's
    # IMREAD_GRAYSCALE) for PNG and the Y plane for JPEG. JPEG: dct_method "" is TF's choice of
    # JDCT_IFAST (jidctfst.c, truncating), fancy upsampling, block smoothing. Checked against
    # TensorFlow on every corpus PNG and JPEG (tests/test_harness_tensorflow.py): equal but for
    # CMYK (TF's conversion is 1 level off Pillow's) and progressive files whose low AC
    # coefficients are never fully refined (libjpeg-turbo 2.1.4 smooths them otherwise than 3.x).
    "tensorflow": dict(output="rgb", orientation="ignore", alpha="drop", trns="ignore", depth16="shift",
                       depth16_gray="same", **{**LIBJPEG_TURBO_JPEG, "idct": "ifast"}, cmyk_rgb="pillow",
                       jpeg_gray="y_plane", gray_coefficients="bt601", gray_arithmetic="libpng_fixed",
                       orientation_source="exif", apng_frame="default", lossless_color="output_space"),
    # the same with dct_method="INTEGER_ACCURATE" (JDCT_ISLOW, what Pillow and OpenCV decode with)
    "tensorflow.accurate": dict(output="rgb", orientation="ignore", alpha="drop", trns="ignore",
                                depth16="shift", depth16_gray="same", **LIBJPEG_TURBO_JPEG, cmyk_rgb="pillow",
                                jpeg_gray="y_plane", gray_coefficients="bt601", gray_arithmetic="libpng_fixed",
                                orientation_source="exif", apng_frame="default", lossless_color="output_space"),
    # pyvips (libvips 8.18, pyvips-binary 8.18.7) Image.new_from_buffer(data, "") as an RGB
    # pipeline writes it: no EXIF rotation unless autorot() (orientation="apply"), alpha dropped
    # with extract_band, 16-bit by cast(shift=True) (v >> 8), gray files replicated by
    # colourspace("srgb"); output gray is colourspace("b-w"): libvips' linear-light BT.709 luma
    # (vips_linear) of the decoded RGB. JPEG: mozjpeg 5.0 (libjpeg-turbo's decoder) with its
    # defaults, ISLOW and fancy upsampling. Checked on every corpus PNG, JPEG and WebP
    # (tests/test_harness_libvips.py); CMYK JPEGs go through lcms and a built-in CMYK profile in
    # libvips, which no cmyk_rgb formula reproduces.
    "libvips": dict(output="rgb", orientation="ignore", alpha="drop", trns="ignore", depth16="shift",
                    depth16_gray="same", **LIBJPEG_TURBO_JPEG, cmyk_rgb="pillow", jpeg_gray="from_rgb",
                    gray_coefficients="bt709", gray_arithmetic="vips_linear", orientation_source="exif",
                    apng_frame="default", lossless_color="file_space"),
    # Rust image: ImageReader::decode()?.to_rgb8(): no rotation, alpha dropped, (v+128)/257;
    # JPEG through zune-jpeg; to_luma8 = the crate's float32 BT.709 luma (image_f32). Matched bit for bit
    # by the rust-image harness on every decode.image case (tests/test_harness_rust.py).
    "image": dict(output="rgb", orientation="ignore", alpha="drop", trns="ignore", depth16="round",
                  depth16_gray="same", **ZUNE_JPEG, jpeg_gray="from_rgb", gray_coefficients="bt709",
                  gray_arithmetic="image_f32", orientation_source="exif"),
}

# --- color ------------------------------------------------------------------------------------

COLOR_PRESETS: dict[str, dict[str, Any]] = {
    "pillow.gray": dict(conversion="rgb_to_gray", gray_coefficients="bt601", arithmetic="pillow_fixed"),
    "opencv.gray": dict(conversion="rgb_to_gray", gray_coefficients="bt601", arithmetic="opencv_fixed"),
    # Rust image: DynamicImage::to_luma8(), float32 BT.709 (reference.color.image_luma).
    "image.gray": dict(conversion="rgb_to_gray", gray_coefficients="bt709", arithmetic="image_f32"),
    # OpenVINO 2026.4 PrePostProcessor convert_color(GRAY) from RGB on the CPU plugin: float32
    # fused multiply-adds, half to even (reference.color.openvino_luma); 0 LSB on all 2^24 triples.
    "openvino.gray": dict(conversion="rgb_to_gray", gray_coefficients="bt601", arithmetic="openvino_f32",
                          rounding="half_even"),
    # OpenVINO 2026.4 PrePostProcessor convert_color from NV12_SINGLE_PLANE / I420_SINGLE_PLANE on
    # the CPU plugin: BT.601 limited range in float32, rounded half to even (reference.color.
    # yuv420_to_rgb); 0 LSB against OpenVINO (tests/test_harness_openvino.py).
    **{f"openvino.{src}_to_{dst}": dict(conversion=f"{src}_to_{dst}", arithmetic="openvino_f32",
                                        rounding="half_even")
       for src in ("nv12", "i420") for dst in ("rgb", "bgr")},
    # libvips colourspace("b-w") of an sRGB image: linear-light BT.709 luma through libvips'
    # float32 tables (reference.color.vips_luma; all 2^24 triples, tests/test_harness_libvips.py).
    "libvips.gray": dict(conversion="rgb_to_gray", gray_coefficients="bt709", arithmetic="vips_linear"),
}

# --- normalize --------------------------------------------------------------------------------

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
NORMALIZE_PRESETS: dict[str, dict[str, Any]] = {
    # torchvision ToTensor() then Normalize(mean, std): float32 arithmetic, x/255 first.
    "torchvision.imagenet": dict(dtype="float32", compute_dtype="float32", divisor=255.0, scale=1 / 255,
                                 mean=IMAGENET_MEAN, std=IMAGENET_STD, order="scale_first"),
    # torchvision transforms v2: ToImage, ToDtype(float32, scale=True), Normalize: v2 multiplies by
    # float32(1/255) instead of dividing by 255 (an ulp apart for some x; tests/test_knob_oracles.py).
    "torchvision.v2.imagenet": dict(dtype="float32", compute_dtype="float32", divisor=None, scale=1 / 255,
                                    mean=IMAGENET_MEAN, std=IMAGENET_STD, order="scale_first"),
    "unit": dict(dtype="float32", compute_dtype="float64", scale=1 / 255, mean=(0.0,), std=(1.0,),
                 order="scale_first"),
    "symmetric": dict(dtype="float32", compute_dtype="float64", scale=1 / 127.5, mean=(1.0,),
                      std=(1.0,), order="scale_first"),
}

# --- quantize (the way back) ---------------------------------------------------------------------
# Each library's float -> uint8, measured on numpy 2.4, torch 2.15, opencv-python-headless 5.0,
# Pillow 13.0 (x86-64) in tests/test_postprocess_presets.py, element for element on the corpus
# tensors (NaN, ±inf, values at k + 0.5 and far out of range included).
# Every library below computes in float32, writes uint8 and takes no absolute value (except
# cv2.convertScaleAbs); the presets differ in where they clip, how they round, which integer the
# cast goes through and what it does outside 0..255.
_QUANTIZE_U8 = dict(dtype="uint8", scale=255.0, absolute=False, compute_dtype="float32")
_C_CAST = dict(overflow="wrap", int_path="int32")  # numpy astype / torch .byte(): wraps via int32
# saturating from the float itself, NaN -> 0: Rust's `as`, Pillow's F -> L conversion
_SATURATE = dict(overflow="saturate", int_path="exact")
QUANTIZE_PRESETS: dict[str, dict[str, Any]] = {
    # basicsr.utils.img_util.tensor2img (CodeFormer, Real-ESRGAN, GFPGAN): _tensor.clamp_(*min_max),
    # (t - min) / (max - min), then (img_np * 255.0).round() (numpy: half to even, float32),
    # .astype(np.uint8) (numpy's cast through int32; values are in range after the clamp)
    "basicsr.tensor2img": {**_QUANTIZE_U8, **_C_CAST, "clamp": "before", "rounding": "half_even"},
    # torchvision.transforms.functional.to_pil_image on a float tensor: torchvision 0.29 runs
    # (npimg * 255).astype(np.uint8) on pic.numpy() (older releases: pic.mul(255).byte(), the
    # same bytes for float32): truncation, no clamp; out-of-range values wrap (−0.01 -> 255,
    # 1.01 -> 2) through int32. (torch's own float64 .byte() goes through int64: int_path="int64")
    "torchvision.to_pil_image": {**_QUANTIZE_U8, **_C_CAST, "clamp": "none", "rounding": "truncate"},
    # torchvision.transforms.v2.functional.to_dtype(t, torch.uint8, scale=True):
    # t.mul(255 + 1.0 - 1e-3).to(uint8): x · 255.999 in float32, truncated, no clamp (wraps via
    # int32). For torch.uint16 the same rule multiplies by float32(65535.999) = 65536: 1.0 -> 0.
    "torchvision.to_dtype": {**_QUANTIZE_U8, **_C_CAST, "scale": 255.999, "clamp": "none",
                             "rounding": "truncate"},
    # np.clip(x * 255, 0, 255).astype(np.uint8): clip after scaling, then truncation
    "numpy.clip_astype": {**_QUANTIZE_U8, **_C_CAST, "clamp": "after", "rounding": "truncate"},
    # (x * 255).astype(np.uint8) without a clip: truncation and wrap-around
    "numpy.astype": {**_QUANTIZE_U8, **_C_CAST, "clamp": "none", "rounding": "truncate"},
    # cv2.convertScaleAbs(x, alpha=255): saturate_cast<uchar>(|x·alpha|) in float32, cvRound
    # (half to even) through int32: NaN, ±inf and |v| >= 2^31 become 0, not 255
    "opencv.convert_scale_abs": {**_QUANTIZE_U8, "clamp": "none", "rounding": "half_even",
                                 "overflow": "saturate", "int_path": "int32", "absolute": True},
    # Rust: (x * 255.0) as u8 on f32: truncation, saturating since Rust 1.45, NaN -> 0
    "rust.as_u8": {**_QUANTIZE_U8, **_SATURATE, "clamp": "none", "rounding": "truncate"},
    # Rust: (x * 255.0).round() as u8: f32::round is half away from zero
    "rust.round_as_u8": {**_QUANTIZE_U8, **_SATURATE, "clamp": "none", "rounding": "half_away"},
    # Pillow: Image.fromarray(x * 255 as float32, "F").convert("L") (Image.fromarray refuses a
    # float (H, W, 3) array; mode F is one band): clip to 0..255, truncation, NaN -> 0
    "pillow.f_to_l": {**_QUANTIZE_U8, **_SATURATE, "clamp": "after", "rounding": "truncate"},
}

DENORMALIZE_PRESETS: dict[str, dict[str, Any]] = {
    # basicsr tensor2img(min_max=(-1, 1)): (t - (-1)) / (1 - (-1)) in float32
    "basicsr.tensor2img": dict(mode="range", from_range=(-1.0, 1.0), to_range=(0.0, 1.0),
                               compute_dtype="float32"),
    # torchvision-style inverse of Normalize(IMAGENET mean/std): t.mul(std).add(mean), float32
    "torchvision.imagenet": dict(mode="mean_std", mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                                 scale=1.0, compute_dtype="float32"),
}


PRESETS_BY_OP: dict[str, dict[str, dict[str, Any]]] = {
    "resize": RESIZE_PRESETS, "decode": DECODE_PRESETS, "color": COLOR_PRESETS,
    "normalize": NORMALIZE_PRESETS, "quantize": QUANTIZE_PRESETS, "denormalize": DENORMALIZE_PRESETS,
}


def preset_knobs(op: str, name: Any, where: dict | None = None) -> dict[str, Any]:
    """The knob values of preset ``name`` for ``op`` (plus ``preset=name``); SpecError if unknown."""
    where = where or {}
    table = PRESETS_BY_OP.get(op, {})
    knobs = table.get(name) if isinstance(name, str) else None
    if knobs is None and op == "resize" and isinstance(name, str):
        knobs = onnx_resize_knobs(name)
    if knobs is None:
        known = sorted(table) + (["onnx.<mode>[.<coords>][.<nearest_mode>][.antialias]"
                                  "[.exclude_outside]"] if op == "resize" else [])
        raise SpecError(f"unknown {op} preset {name!r}; known: {', '.join(known) or 'none'}",
                        field="preset", value=name, **where)
    return {**knobs, "preset": name}


def all_preset_names() -> dict[str, list[str]]:
    """Every named preset per op (the onnx family by its representative names)."""
    out = {op: sorted(table) for op, table in PRESETS_BY_OP.items()}
    out["resize"] = out["resize"] + onnx_preset_names()
    return out
