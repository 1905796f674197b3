"""jinja2 templates in templates/, for the files people read on a host."""

import shlex
from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["quote"] = shlex.quote


def render(name: str, **context) -> str:
    return _env.get_template(name).render(**context)
