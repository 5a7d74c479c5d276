"""The reference preprocessor: numpy implementations of every op, each knob explicit.

This package is the specification others port: read a module top to bottom and you know exactly
what a step computes. Harnesses never import it.
"""
