"""Fake in-process harnesses for runner tests: they misbehave on purpose on chosen cases.

They decode nothing themselves: a fake returns the bundle's own expected output by reading it
from the path in an environment variable, so a test can check that good cases score as pass and
bad ones are isolated.
"""

from __future__ import annotations

import hashlib
import os
import time

import numpy as np

from conformance.harnesses.base import Harness

# The test sets these: comma-separated SHA-256 of the input files to crash / hang on.
CRASH_ON = "FAKE_CRASH_ON"
HANG_ON = "FAKE_HANG_ON"


class EchoHarness(Harness):
    """Supports every op; returns an array derived only from its input (to see chaining work)."""

    name = "fake-echo"
    summary = "test double"

    def versions(self):
        return {"fake": "1"}

    def check(self, step):
        return None if step["op"] != "color" else "fake: no colour conversion"

    def describe(self, step):
        return f"echo({step['op']})"

    def run(self, step, value):
        if isinstance(value, (bytes, bytearray)):
            digest = hashlib.sha256(bytes(value)).hexdigest()
            if digest in os.environ.get(CRASH_ON, "").split(","):
                os.abort()
            if digest in os.environ.get(HANG_ON, "").split(","):
                time.sleep(3600)
            return np.frombuffer(bytes(value[:12]), dtype=np.uint8).reshape(2, 2, 3).copy()
        return np.asarray(value).copy()


class NoDecodeHarness(EchoHarness):
    """Like a model runtime: no decoder; every other step echoes its input."""

    name = "fake-nodecode"

    def check(self, step):
        return "fake: no image decoder" if step["op"] == "decode" else None
