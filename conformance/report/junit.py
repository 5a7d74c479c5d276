"""The JUnit XML report, for CI systems that display test results (GitLab, Jenkins, GitHub
actions that read JUnit).

Mapping:

- one ``<testsuite name="HARNESS.MODE">`` per harness x mode, with the harness's library
  versions as ``<properties>``;
- one ``<testcase classname=PIPELINE name="CASE[step I OP]">`` per case x step; a case that did
  not finish as a whole (harness crash, timeout, never reached) adds
  ``<testcase name="CASE[case]">`` with an ``<error>``;
- verdict -> child element: pass -> none; fail, lenient -> ``<failure type=VERDICT>`` whose
  ``message`` carries the metrics (max abs vs tolerance, mean abs, RMSE, PSNR, fraction over
  tolerance) and whose text adds the worst element, the call and the tolerance's reason;
  error -> ``<error>``; unsupported, skipped, xfail -> ``<skipped message=REASON>``.

The ``tests``/``failures``/``errors``/``skipped`` attributes of each suite and of the root
``<testsuites>`` count exactly those elements. No ``time`` attributes: scores carry no timings.
Text is escaped by xml.etree; characters XML 1.0 cannot carry at all (control characters other
than tab, newline, carriage return) are written as ``\\xNN``.
"""

from __future__ import annotations

import io

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from ..score import CaseScore, Scores, StepScore
from .common import first_difference, fmt_num
from ..safeio import atomic_write_bytes

# XML 1.0 §2.2 Char production: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
# Anything else cannot appear in a document, escaped or not.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

FAILURE_VERDICTS = ("fail", "lenient")
SKIPPED_VERDICTS = ("unsupported", "skipped", "xfail")


def xml_text(text: object) -> str:
    """``text`` as a string XML 1.0 can hold: disallowed characters become ``\\xNN``."""
    return _NOT_XML_CHAR.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                             else f"\\u{ord(m.group()):04x}", str(text))


def metrics_summary(step: StepScore, *, include_max: bool = True) -> str:
    """One line: "max abs 3 > tolerance 1; mean abs 0.25; rmse 0.79; psnr 50.2 dB; 25% of
    elements over tolerance" ("" without metrics)."""
    parts = []
    m, tol = step.metrics, (step.tolerance or {}).get("max_abs")
    if m and include_max:
        rel = ">" if m.get("max_abs") is None or tol is None or m["max_abs"] > tol else "<="
        parts.append(f"max abs {fmt_num(m.get('max_abs') if m.get('max_abs') is not None else float('inf'))} "
                     f"{rel} tolerance {fmt_num(tol)}")
    if m:
        parts.append(f"mean abs {fmt_num(m.get('mean_abs'))}")
        parts.append(f"rmse {fmt_num(m.get('rmse'))}")
        if m.get("psnr") is not None:
            parts.append(f"psnr {fmt_num(m['psnr'])} dB")
        if m.get("max_ulp") is not None:
            parts.append(f"max ulp {m['max_ulp']}")
        parts.append(f"{fmt_num(100 * (m.get('over_tolerance') or 0))}% of elements over tolerance")
        if m.get("nonfinite"):
            parts.append(f"{m['nonfinite']} non-finite")
    return "; ".join(parts)


def _details(case: CaseScore, step: StepScore) -> str:
    lines = [f"{case.harness} {case.mode}: {case.case} step {step.index} ({step.op}): {step.verdict}"]
    if step.message:
        lines.append(f"message: {step.message}")
    if step.metrics:
        lines.append(f"metrics: {metrics_summary(step)}")
        w = step.metrics.get("worst") or {}
        lines.append(f"worst element: index {w.get('index')}, expected {fmt_num(w.get('expected'))}, "
                     f"got {fmt_num(w.get('got'))}")
    if step.tolerance:
        lines.append(f"tolerance: max_abs {fmt_num(step.tolerance.get('max_abs'))} "
                     f"({step.tolerance.get('source', '')}): {step.tolerance.get('reason', '')}")
    if step.call:
        lines.append(f"call: {step.call}")
    if case.first_divergent_step is not None:
        lines.append(f"first divergent step of the case: {case.first_divergent_step}")
    diff = first_difference(case)
    if diff is not None and diff.index < step.index:
        lines.append(f"first difference (chained mode): {diff.text()}")
    return "\n".join(lines)


def _step_element(case: CaseScore, step: StepScore) -> tuple[ET.Element, str | None]:
    """(the <testcase>, the counter it adds to: failures/errors/skipped or None)."""
    tc = ET.Element("testcase", classname=xml_text(case.pipeline),
                    name=xml_text(f"{case.case}[step {step.index} {step.op}]"))
    if step.verdict in FAILURE_VERDICTS:
        # The step message already names max abs vs tolerance (and dtype or non-finite problems).
        extra = metrics_summary(step, include_max=not step.message)
        message = f"{step.message} ({extra})" if extra and step.message else (step.message or extra)
        child = ET.SubElement(tc, "failure", message=xml_text(message), type=step.verdict)
        child.text = xml_text(_details(case, step))
        return tc, "failures"
    if step.verdict == "error":
        child = ET.SubElement(tc, "error", message=xml_text(step.message or "error"), type="error")
        child.text = xml_text(_details(case, step))
        return tc, "errors"
    if step.verdict in SKIPPED_VERDICTS:
        reason = step.message or step.verdict
        ET.SubElement(tc, "skipped", message=xml_text(f"{step.verdict}: {reason}"))
        return tc, "skipped"
    return tc, None


def _case_error_element(case: CaseScore) -> tuple[ET.Element, str]:
    """A case that did not finish: an <error>, or <skipped> for a crash an expected_crash entry
    declares (reported as xfail, like an expected step failure)."""
    tc = ET.Element("testcase", classname=xml_text(case.pipeline), name=xml_text(f"{case.case}[case]"))
    if case.error_expected:
        ET.SubElement(tc, "skipped", message=xml_text(f"xfail: {case.error}: {case.error_expected}"))
        return tc, "skipped"
    child = ET.SubElement(tc, "error", message=xml_text(case.error), type="case_error")
    child.text = xml_text(f"{case.harness} {case.mode}: {case.case}: the case did not finish "
                          f"({len(case.steps)} step record(s) before that): {case.error}")
    return tc, "errors"


COUNTERS = ("tests", "failures", "errors", "skipped")


def junit_tree(scores: Scores) -> ET.ElementTree:
    """The JUnit document of ``scores`` (see the module docstring)."""
    root = ET.Element("testsuites", name="conformance")
    totals = dict.fromkeys(COUNTERS, 0)
    mode_pos = {m: i for i, m in enumerate(scores.modes)}
    groups: dict[tuple[str, str], list[CaseScore]] = {}
    for c in scores.cases:
        groups.setdefault((c.harness, c.mode), []).append(c)
    for harness, mode in sorted(groups, key=lambda k: (k[0], mode_pos.get(k[1], len(mode_pos)))):
        suite = ET.SubElement(root, "testsuite", name=xml_text(f"{harness}.{mode}"))
        counts = dict.fromkeys(COUNTERS, 0)
        props = ET.SubElement(suite, "properties")
        identity = scores.harnesses.get(harness, {})
        ET.SubElement(props, "property", name="bundle", value=xml_text(scores.bundle))
        ET.SubElement(props, "property", name="bundle_sha256", value=xml_text(scores.bundle_sha256))
        for lib, version in sorted((identity.get("versions") or {}).items()):
            ET.SubElement(props, "property", name=xml_text(f"version.{lib}"), value=xml_text(version))
        for c in groups[(harness, mode)]:
            elements = [_step_element(c, s) for s in sorted(c.steps, key=lambda s: s.index)]
            if c.error:
                elements.append(_case_error_element(c))
            for tc, counter in elements:
                suite.append(tc)
                counts["tests"] += 1
                if counter:
                    counts[counter] += 1
        for k in COUNTERS:
            suite.set(k, str(counts[k]))
            totals[k] += counts[k]
    for k in COUNTERS:
        root.set(k, str(totals[k]))
    tree = ET.ElementTree(root)
    ET.indent(tree, space=" ")
    return tree


def write_junit(scores: Scores, path: str | Path) -> Path:
    """Write the JUnit XML of ``scores`` to ``path`` (UTF-8, with an XML declaration)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    junit_tree(scores).write(buf, encoding="utf-8", xml_declaration=True)
    atomic_write_bytes(path, buf.getvalue())
    return path
