"""The fast routes of metrics_for (bitwise-equal arrays, 8/16-bit integers, the compiled
float pass) give the numbers of its definition, _general_metrics (float64 throughout)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conformance.metrics import _float_metrics, _general_metrics, compiled_float_stats, float_stats, metrics_for

DTYPES = [np.uint8, np.uint16, np.int8, np.int16, np.int32, np.float16, np.float32, np.float64]


def same_numbers(fast: dict, slow: dict) -> None:
    assert fast.keys() == slow.keys()
    for key in fast:
        a, b = fast[key], slow[key]
        if key in ("mean_abs", "rmse", "psnr") and a is not None and b is not None:
            # sums taken in another order: equal to the 9 digits kept, give or take the last one
            assert math.isclose(a, b, rel_tol=2e-9), (key, a, b)
        else:
            assert a == b or (a != a and b != b), (key, a, b)


def pair(dtype, shape):
    """Two arrays of ``dtype``: ``got`` is ``expected`` with a few elements changed (or not)."""
    elements = hnp.from_dtype(np.dtype(dtype), allow_nan=True, allow_infinity=True) \
        if np.dtype(dtype).kind == "f" else hnp.from_dtype(np.dtype(dtype))
    return st.tuples(hnp.arrays(dtype, shape, elements=elements),
                     st.lists(st.tuples(st.integers(0, 10**6), elements), max_size=4))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(DTYPES).flatmap(
    lambda dt: st.tuples(st.just(dt), hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=7))
    ).flatmap(lambda a: st.tuples(pair(a[0], a[1]), st.sampled_from([0.0, 0.5, 1.0, 1e-5]))))
def test_fast_routes_equal_the_definition(args):
    (expected, changes), tolerance = args
    got = expected.copy()
    for where, value in changes:
        got.reshape(-1)[where % got.size] = value
    with np.errstate(all="ignore"):
        slow = _general_metrics(expected, got, tolerance)
        same_numbers(metrics_for(expected, got, tolerance), slow)
        if got.dtype.type in (np.float32, np.float64):  # the compiled pass, used on large arrays
            fast = _float_metrics(expected, got, tolerance)
            assert fast is not None or not (np.isfinite(expected).all() and np.isfinite(got).all())
            if fast is not None:
                same_numbers(fast, slow)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_float_pass_is_its_python_definition(dtype):
    rng = np.random.default_rng(3)
    e = rng.standard_normal(5000).astype(dtype)
    g = (e + rng.standard_normal(5000) * 1e-4).astype(dtype)
    bits = np.int32 if dtype == np.float32 else np.int64
    args = (e, g, e.view(bits), g.view(bits), int(np.iinfo(bits).min), 1e-4)
    assert compiled_float_stats()(*args) == float_stats(*args)


def test_signed_zero_and_nan_are_matches_on_every_route():
    e = np.array([0.0, np.nan, 1.0], np.float32)
    g = np.array([-0.0, np.nan, 1.0], np.float32)
    m = metrics_for(e, g, 0.0)
    assert (m["max_abs"], m["max_ulp"], m["nonfinite"]) == (0.0, 0, 0)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_large_arrays_agree(dtype):
    rng = np.random.default_rng(7)
    e = (rng.random((375, 500, 3)) * 255).astype(dtype)
    g = e.copy()
    g[rng.random(e.shape) < 0.01] += 1
    same_numbers(metrics_for(e, g, 1.0), _general_metrics(e, g, 1.0))
