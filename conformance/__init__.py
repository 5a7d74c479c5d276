"""Cross-language image preprocessing conformance suite: a numpy reference preprocessor in which
every semantic choice is a knob, canonical vector bundles, harnesses and per-step scoring."""

__version__ = "0.1.0"
