"""Reading a model's outputs, and comparing two sets of predictions.

**Predictions** (:class:`Prediction`) of one image: a classifier's probability vector, a DBNet
detector's boxes, an embedding vector; always with the raw output the model returned (for the
runtime comparisons, which compare raw outputs).

**Classifier metrics** over the images A and B both processed (:func:`summarize_classifier` of
one :func:`classifier_row` per image):

- top-1 agreement: the fraction of images whose argmax is the same (ties: numpy's argmax, the
  first index);
- top-k overlap: the mean of |top_k(A) ∩ top_k(B)| / k, k = min(``top_k``, C − 1) (at least 1:
  for two classes, top-1);
- |Δp| per image: max over classes of |p_B − p_A|; its max and mean over the images;
- KL(A ‖ B) = Σ_c p_A log(p_A / p_B) in float64, both clipped below at 1e-12 and renormalised
  to sum 1; its mean and max;
- cosine of the probability vectors (min and mean);
- the flipped images: top-1 differs, with both labels and probabilities.

**Detector metrics** (:func:`summarize_detector` of one :func:`detector_row` per image), boxes as
[x0, y0, x1, y1] in units of the tensor's width and height (so pipelines of other sizes
compare): pairs matched greedily by IoU, highest first, at IoU ≥ 0.5 (:data:`MATCH_IOU`);
recall of B against A = matched / |A|, precision = matched / |B| (both over all images); mean IoU of the matches; per image the box
counts where they differ. An image "changes" when some box of A or B is unmatched.

**Distributions**: histograms with fixed edges (:data:`DP_EDGES`, :data:`IOU_EDGES`), the exact
zeros counted apart, so a report can say "all 60 images: |Δp| exactly 0".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# DBNet post-processing (rapidocr-onnxruntime config.yaml, Det): pixels above THRESH are text;
# a component is kept when the mean probability over its bounding box is at least BOX_THRESH;
# the box is grown by the DB unclip distance d = area · UNCLIP / perimeter on every side.
DB_THRESH = 0.3
DB_BOX_THRESH = 0.5
DB_UNCLIP = 1.6
DB_MIN_SIDE = 3  # boxes with a side of at most this many pixels are dropped (filter_tag_det_res)
MATCH_IOU = 0.5
KL_FLOOR = 1e-12
# |Δp| histogram edges (probability units); exact zeros are counted apart.
DP_EDGES = (0.0, 1e-6, 1e-4, 1e-3, 1e-2, 0.05, 0.1, 0.2, 0.5, 1.0)
IOU_EDGES = tuple(round(0.5 + 0.05 * i, 2) for i in range(11))


@dataclass
class Prediction:
    """What a model said about one image."""

    kind: str
    raw: list[np.ndarray] = field(repr=False)
    probs: np.ndarray | None = None  # classifier: (C,) float64
    boxes: np.ndarray | None = None  # dbnet: (n, 5) x0, y0, x1, y1 (0..1), score
    vector: np.ndarray | None = None  # embedding: flattened float64

    @property
    def top1(self) -> int:
        return int(np.argmax(self.probs))


def softmax(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


def read_prediction(outputs: list[np.ndarray], kind: str, *, output_index: int = 0,
                    probabilities: bool = True) -> Prediction:
    """A :class:`Prediction` from the outputs of one batch-1 run."""
    if output_index >= len(outputs):
        from .builtin import ModelError
        raise ModelError(f"the model has {len(outputs)} output(s); output {output_index} asked for")
    out = np.asarray(outputs[output_index])
    if kind == "classifier":
        row = out.reshape(out.shape[0], -1)[0] if out.ndim > 1 else out
        probs = row.astype(np.float64) if probabilities else softmax(row)
        return Prediction(kind, outputs, probs=probs)
    if kind == "dbnet":
        return Prediction(kind, outputs, boxes=dbnet_boxes(out))
    return Prediction(kind, outputs, vector=out.reshape(-1).astype(np.float64))


def dbnet_boxes(prob_map: np.ndarray) -> np.ndarray:
    """Boxes (n, 5) from DBNet's [1, 1, H, W] (or [H, W]) probability map: components of the
    pixels > DB_THRESH (8-connected), each one's bounding box kept when its mean probability is
    at least DB_BOX_THRESH, grown by the unclip distance, clipped to the map, sides > DB_MIN_SIDE.
    An axis-aligned form of DB's post-processing (RapidOCR takes cv2.minAreaRect polygons; on
    horizontal text both give the same boxes up to their corners). Coordinates / (W, H)."""
    import cv2

    p = np.asarray(prob_map, dtype=np.float32).reshape(prob_map.shape[-2:])
    h, w = p.shape
    mask = (p > DB_THRESH).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    boxes = []
    for i in range(1, n):
        x, y, bw, bh, _ = stats[i]
        score = float(p[y:y + bh, x:x + bw].mean())
        if score < DB_BOX_THRESH:
            continue
        d = bw * bh * DB_UNCLIP / (2.0 * (bw + bh))
        x0, y0 = max(0.0, x - d), max(0.0, y - d)
        x1, y1 = min(float(w), x + bw + d), min(float(h), y + bh + d)
        if x1 - x0 <= DB_MIN_SIDE or y1 - y0 <= DB_MIN_SIDE:
            continue
        boxes.append((x0 / w, y0 / h, x1 / w, y1 / h, score))
    return np.array(boxes, dtype=np.float64).reshape(-1, 5)


# ---------------------------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------------------------

def histogram(values: list[float], edges: tuple[float, ...]) -> dict[str, Any]:
    """Counts per [edges[i], edges[i+1]) (the last bin closed), exact zeros apart."""
    v = np.asarray(values, dtype=np.float64)
    zeros = int(np.count_nonzero(v == 0))
    counts, _ = np.histogram(v[v != 0], bins=np.asarray(edges))
    return {"edges": list(edges), "counts": [int(c) for c in counts], "zeros": zeros, "n": int(v.size)}


def _num(v: float | None) -> float | None:
    if v is None or not math.isfinite(v):
        return None
    return float(f"{v:.6g}")


def kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p ‖ q) in nats, both clipped below at KL_FLOOR (0 exactly when p equals q)."""
    p, q = np.maximum(p, KL_FLOOR), np.maximum(q, KL_FLOOR)
    p, q = p / p.sum(), q / q.sum()  # float32 softmax rows do not sum to 1 exactly
    return float(np.sum(p * np.log(p / q)))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0 or nb == 0:
        return 1.0 if na == nb else 0.0
    if np.array_equal(a, b):
        return 1.0
    return float(np.dot(a, b) / (na * nb))


def topk(p: np.ndarray, k: int) -> set[int]:
    return set(np.argsort(-p, kind="stable")[:k].tolist())


def label_of(labels: tuple[str, ...], i: int) -> str:
    """Class ``i``'s label, or its number when the model has no label for it."""
    return labels[i] if i < len(labels) else str(i)


def top_k_of(classes: int, top_k: int) -> int:
    """The k of the top-k overlap for ``classes`` classes: min(top_k, C − 1), at least 1."""
    return max(1, min(top_k, classes - 1))


def classifier_row(image: str, a: Prediction, b: Prediction, k: int) -> dict[str, Any]:
    """One image's classifier numbers (A against B), from which :func:`summarize_classifier`
    computes the metrics: what ``impact`` and a streamed ``check --model`` both keep."""
    dp = float(np.max(np.abs(b.probs - a.probs)))
    return {"image": image, "top1_a": a.top1, "top1_b": b.top1, "p_a": float(a.probs[a.top1]),
            "p_b": float(b.probs[b.top1]), "p_b_of_a": float(b.probs[a.top1]), "dp": dp,
            "kl": kl(a.probs, b.probs), "cosine": cosine(a.probs, b.probs),
            "topk_overlap": len(topk(a.probs, k) & topk(b.probs, k)) / k, "changed": a.top1 != b.top1}


def summarize_classifier(rows: list[dict[str, Any]], labels: tuple[str, ...], k: int,
                         max_flipped: int | None = None) -> dict[str, Any]:
    """Classifier metrics (module docstring) over per-image rows (:func:`classifier_row`).
    ``max_flipped``: list only the flips of largest |Δp| (the count stays exact)."""
    if not rows:
        return {"images": 0}
    dps = [r["dp"] for r in rows]
    kls = [r["kl"] for r in rows]
    coss = [r["cosine"] for r in rows]
    flipped = [r for r in rows if r["top1_a"] != r["top1_b"]]
    n, nflips = len(rows), len(flipped)
    if max_flipped is not None and nflips > max_flipped:
        flipped = sorted(flipped, key=lambda r: -r["dp"])[:max_flipped]
    flips = [{"image": r["image"], "label_a": label_of(labels, r["top1_a"]), "p_a": _num(r["p_a"]),
              "label_b": label_of(labels, r["top1_b"]), "p_b": _num(r["p_b"]), "p_b_of_label_a": _num(r["p_b_of_a"]),
              "dp": _num(r["dp"])} for r in flipped]
    return {"images": n, "top1_agreement": (n - nflips) / n, "flips": nflips, "flip_rate": nflips / n,
            "top_k": k, "topk_overlap": _num(float(np.mean([r["topk_overlap"] for r in rows]))),
            "max_dp": _num(max(dps)), "mean_dp": _num(float(np.mean(dps))),
            "mean_kl": _num(float(np.mean(kls))), "max_kl": _num(max(kls)),
            "min_cosine": _num(min(coss)), "mean_cosine": _num(float(np.mean(coss))),
            "identical": sum(1 for d in dps if d == 0), "flipped": flips,
            "dp_histogram": histogram(dps, DP_EDGES)}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match_boxes(a: np.ndarray, b: np.ndarray, threshold: float = MATCH_IOU) -> list[tuple[int, int, float]]:
    """Greedy matching, highest IoU first, each box used once: (i in A, j in B, IoU) pairs."""
    cands = sorted(((iou(a[i], b[j]), i, j) for i in range(len(a)) for j in range(len(b))),
                   key=lambda t: (-t[0], t[1], t[2]))
    used_a, used_b, out = set(), set(), []
    for v, i, j in cands:
        if v < threshold:
            break
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        out.append((i, j, v))
    return out


def detector_row(image: str, a: Prediction, b: Prediction) -> dict[str, Any]:
    """One image's detector numbers (A against B): box counts, the IoUs of the matches."""
    m = match_boxes(a.boxes, b.boxes)
    return {"image": image, "boxes_a": int(len(a.boxes)), "boxes_b": int(len(b.boxes)), "matched": len(m),
            "ious": [v for _, _, v in m], "identical": bool(np.array_equal(a.boxes, b.boxes)),
            "changed": len(m) != len(a.boxes) or len(m) != len(b.boxes)}


def summarize_detector(rows: list[dict[str, Any]], max_listed: int | None = None) -> dict[str, Any]:
    """Detector metrics (module docstring) over per-image rows (:func:`detector_row`).
    ``max_listed``: list at most this many changed images (the counts stay exact)."""
    if not rows:
        return {"images": 0}
    n_a = sum(r["boxes_a"] for r in rows)
    n_b = sum(r["boxes_b"] for r in rows)
    ious = [v for r in rows for v in r["ious"]]
    changed = [{"image": r["image"], "boxes_a": r["boxes_a"], "boxes_b": r["boxes_b"], "matched": r["matched"]}
               for r in rows if r["changed"]]
    counts = [{"image": r["image"], "boxes_a": r["boxes_a"], "boxes_b": r["boxes_b"]}
              for r in rows if r["boxes_a"] != r["boxes_b"]]
    matched = len(ious)
    n, nchanged = len(rows), len(changed)
    return {"images": n, "boxes_a": n_a, "boxes_b": n_b, "matched": matched,
            "recall": matched / n_a if n_a else 1.0, "precision": matched / n_b if n_b else 1.0,
            "mean_iou": _num(float(np.mean(ious))) if ious else None,
            "min_iou": _num(min(ious)) if ious else None,
            "changed_images": nchanged, "flip_rate": nchanged / n, "changed": changed[:max_listed],
            "count_changes": counts[:max_listed], "identical": sum(1 for r in rows if r["identical"]),
            "iou_histogram": histogram(ious, IOU_EDGES)}


def embedding_row(image: str, a: Prediction, b: Prediction) -> dict[str, Any]:
    return {"image": image, "cosine": cosine(a.vector, b.vector),
            "identical": bool(np.array_equal(a.vector, b.vector)), "changed": False}


def summarize_embedding(rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not rows:
        return {"images": 0}
    coss = [r["cosine"] for r in rows]
    dist = [1.0 - c for c in coss]
    return {"images": len(rows), "min_cosine": _num(min(coss)), "mean_cosine": _num(float(np.mean(coss))),
            "identical": sum(1 for r in rows if r["identical"]),
            "flip_rate": 0.0, "cosine_distance_histogram": histogram(dist, DP_EDGES)}


def output_diff(a: Prediction, b: Prediction) -> float | None:
    """max |Δ| of the raw output 0 (None when the shapes differ)."""
    if a.raw[0].shape != b.raw[0].shape:
        return None
    return float(np.max(np.abs(a.raw[0].astype(np.float64) - b.raw[0].astype(np.float64))))


def image_row(kind: str, image: str, a: Prediction, b: Prediction, k: int) -> dict[str, Any]:
    """One image's numbers of ``kind`` plus its raw-output drift (``output_diff``)."""
    row = (classifier_row(image, a, b, k) if kind == "classifier" else
           detector_row(image, a, b) if kind == "dbnet" else embedding_row(image, a, b))
    row["output_diff"] = output_diff(a, b)
    return row


def summarize(kind: str, rows: list[dict[str, Any]], labels: tuple[str, ...] = (), k: int = 1,
              max_listed: int | None = None) -> dict[str, Any]:
    """The metrics of ``kind`` over per-image rows (:func:`image_row`), plus the raw-output
    drift (max of ``output_diff`` where the shapes agreed)."""
    if kind == "classifier":
        out = summarize_classifier(rows, labels, k, max_listed)
    elif kind == "dbnet":
        out = summarize_detector(rows, max_listed)
    else:
        out = summarize_embedding(rows)
    drift = [r["output_diff"] for r in rows if r.get("output_diff") is not None]
    out["max_output_diff"] = _num(max(drift)) if drift else None
    return out


def compare(kind: str, pairs: list[tuple[str, Prediction, Prediction]], labels: tuple[str, ...] = (),
            top_k: int = 5) -> dict[str, Any]:
    """The metrics of ``kind`` plus the raw-output drift (max |Δ| of output 0 where shapes agree)."""
    k = top_k_of(pairs[0][1].probs.size, top_k) if pairs and kind == "classifier" else 1
    return summarize(kind, [image_row(kind, image, a, b, k) for image, a, b in pairs], labels, k)


def changed(kind: str, a: Prediction, b: Prediction) -> bool:
    """Did the prediction change (a classifier's top-1; a detector's matched box set)?"""
    if kind == "classifier":
        return a.top1 != b.top1
    if kind == "dbnet":
        m = match_boxes(a.boxes, b.boxes)
        return len(m) != len(a.boxes) or len(m) != len(b.boxes)
    return False
