"""``summary.html``: the check summary as one self-contained page (no network, no script)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from .. import __version__


def render_html(summary: dict[str, Any]) -> str:
    env = Environment(loader=PackageLoader("conformance.scale", "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    env.filters["num"] = lambda v: "-" if v is None else f"{v:.4g}"
    env.filters["pct"] = lambda v: "-" if v is None else f"{100 * v:.1f}%"
    return env.get_template("summary.html.j2").render(s=summary, version=__version__)
