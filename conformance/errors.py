"""Typed errors. Each names who is at fault and where, so a user can act on it.

- :class:`SpecError`: a pipeline file is wrong (caller misuse): names the file, step and field.
- :class:`DecodeError`: an input file is malformed: names the file and the byte offset.
- :class:`UnsupportedFeature`: a valid input uses a feature the reference does not implement.
- :class:`LimitsExceeded`: an input asks for more than the configured limits (decompression bombs).
- :class:`BundleError`: a vector bundle is malformed, tampered with or unreadable.
"""

from __future__ import annotations


class ConformanceError(Exception):
    """Base class of every error this package raises on purpose."""


class SpecError(ConformanceError, ValueError):
    """A pipeline or step specification is invalid (the caller's fault)."""

    def __init__(self, message: str, *, source: str | None = None, step: int | str | None = None,
                 field: str | None = None, value: object = None):
        self.source, self.step, self.field, self.value = source, step, field, value
        self.reason = message
        where = []
        if source:
            where.append(str(source))
        if step is not None:
            where.append(f"step {step}")
        if field:
            where.append(f"field '{field}'")
        prefix = ": ".join([", ".join(where)]) + ": " if where else ""
        super().__init__(prefix + message)


class InputError(ConformanceError):
    """Base for problems with an input image file; carries the file name."""

    def __init__(self, message: str, *, source: str = "<bytes>", offset: int | None = None):
        self.source, self.offset, self.reason = source, offset, message
        at = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{source}{at}: {message}")


class DecodeError(InputError, ValueError):
    """The encoded input is malformed (bad signature, CRC, truncated stream, bad code)."""


class UnsupportedFeature(InputError):
    """The input is valid but uses a feature the reference does not implement."""


class LimitsExceeded(InputError):
    """The input would need more memory or pixels than the configured limit allows."""


class BundleError(ConformanceError):
    """A vector bundle is malformed, inconsistent with its hashes, or escapes its directory."""

    def __init__(self, message: str, *, bundle: str | None = None, path: str | None = None):
        self.bundle, self.path = bundle, path
        where = ", ".join(str(p) for p in (bundle, path) if p)
        super().__init__(f"{where}: {message}" if where else message)
