"""Accuracy-gap investigation: compare two pipelines (or a pipeline and a harness) step by step,
explain a divergence by the knob or classic mistake that reproduces it.

Reads the spec and the reference (and bundles and results as data); nothing below imports it.
"""
