"""The README's settings tables, made from the models' defaults and docs."""

from __future__ import annotations

from pydantic import BaseModel

from agenthost.docker_policy import DockerPolicy
from agenthost.settings.container import AgentContainer
from agenthost.settings.image import AgentImageBuild
from agenthost.settings.model import Settings


def settings_table() -> str:
    """The README's settings tables, made from the models."""
    return "\n".join(
        [
            _table(Settings, "setting"),
            "Each entry of `agent_containers`:\n",
            _table(AgentContainer, "key"),
            "`docker_policy`, of the host and of each agent container:\n",
            _table(DockerPolicy, "key"),
            "`agent_image_build`:\n",
            _table(AgentImageBuild, "key"),
        ]
    )


def _table(model: type[BaseModel], what: str) -> str:
    rows = [f"| {what} | default | what it is |", "| --- | --- | --- |"]
    for name, field in model.model_fields.items():
        value = None if field.is_required() else field.get_default(call_default_factory=True)
        if field.is_required():
            default = "required"
        else:  # a nested model's default is its own defaults, in its own table
            default = "`{}`" if isinstance(value, BaseModel) else f"`{value!r}`"
        rows.append(f"| `{name}` | {default} | {field.description} |")
    return "\n".join(rows) + "\n"


TABLE_START = "<!-- settings table: agenthost settings --readme README.md -->"
TABLE_END = "<!-- end -->"


def with_settings_table(readme: str) -> str:
    """`readme` with the text between the table markers made anew from the model."""
    head, rest = readme.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    return f"{head}{TABLE_START}\n{settings_table()}{TABLE_END}{tail}"
