"""jinja2 templates (agenthost/templates/, package data once installed), for files people read
on a host."""

import shlex
from importlib.resources import files

import jinja2

TEMPLATES = files("agenthost.templates")

_env = jinja2.Environment(
    loader=jinja2.FunctionLoader(lambda name: (TEMPLATES / name).read_text()),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["quote"] = shlex.quote


def render(name: str, **context) -> str:
    return _env.get_template(name).render(**context)
