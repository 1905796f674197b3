"""Replacing an agent container without losing it: the new one is created under a temporary
name and seen running (and healthy, where it has a health check) before the old one goes; if it
does not run, it is removed, the old one keeps (or gets back) its place, and the script fails
with Docker's reason. Pure: builds the shell that does it on the host.
"""

from __future__ import annotations

import shlex

NEXT_SUFFIX = "-agenthost-next"
SETTLE_SECONDS = 5  # a crash-looping container is "running" for a moment; it must stay so
PROGRESS_SECONDS = 10  # a line this often while a health check is starting (the first takes 30 s)


def next_name(name: str) -> str:
    return f"{name}{NEXT_SUFFIX}"


def renamed(args: list[str], name: str) -> list[str]:
    """`docker run` arguments with the container's --name replaced by `name`."""
    at = args.index("--name") + 1
    return [*args[:at], name, *args[at + 1 :]]


def verify(container: str, wait: int, shown: str | None = None) -> str:
    """Shell that succeeds once `container` runs, has not restarted for a few seconds, and is
    healthy if it has a health check (within `wait` seconds), else prints Docker's reason and
    fails.
    While the health check is still starting it says so every PROGRESS_SECONDS on stdout, naming
    the container `shown` (the operator's name for it)."""
    c, shown = shlex.quote(container), shown or container
    fmt = shlex.quote(
        "{{.State.Status}} {{.RestartCount}} {{if .State.Health}}{{.State.Health.Status}}"
        "{{else}}none{{end}}"
    )
    return (
        f"r0=$(docker container inspect --format '{{{{.RestartCount}}}}' {c});"
        f" sleep {SETTLE_SECONDS}; i=0; ok=; while [ -z \"$ok\" ]; do"
        f" set -- $(docker container inspect --format {fmt} {c});"
        f' if [ "$1" != running ] || [ "$2" != "$r0" ] || [ "$3" = unhealthy ]; then'
        f' echo "{container} is $1 (restarts: $2, health: $3): $(docker container inspect'
        f" --format '{{{{.State.Error}}}} exit code {{{{.State.ExitCode}}}}' {c})\" >&2; ok=no;"
        f' elif [ "$3" != starting ]; then ok=yes;'
        f' [ $i -gt 0 ] && echo "{shown} is $3 after $((i+{SETTLE_SECONDS})) s";'
        f" elif [ $i -ge {wait} ]; then"
        f' echo "{container} is not healthy after {wait} s" >&2; ok=no;'
        f" else [ $((i % {PROGRESS_SECONDS})) = 0 ] && echo \"{shown}: running, waiting for"
        f" its health check to pass ($((i+{SETTLE_SECONDS})) s so far,"
        f' {wait + SETTLE_SECONDS} s at most)";'
        f" i=$((i+1)); sleep 1; fi; done; [ $ok = yes ]"
    )


def replace_script(name: str, run_args: list[str], stop_old_first: bool,
                   wait: int) -> str:
    """Shell that replaces container `name` (which may not exist) with one run from
    `run_args`. `stop_old_first` when both cannot run at once (published host ports): the old
    one is then only stopped until the new one is seen running, and started again if not."""
    old, new = shlex.quote(name), shlex.quote(next_name(name))
    create = shlex.join(["docker", "container", "create", *renamed(run_args, next_name(name))])
    has_old = f"docker container inspect {old} >/dev/null 2>&1"
    give_back = f"{has_old} && docker container start {old} >/dev/null;" if stop_old_first else ""
    return (
        f"docker container rm --force {new} >/dev/null 2>&1;"
        f" {create} >/dev/null || exit 1;"
        + (f" if {has_old}; then docker container stop {old} >/dev/null || exit 1; fi;"
           if stop_old_first else "")  # fmt: skip
        + f" if docker container start {new} >/dev/null"
        f" && {{ {verify(next_name(name), wait, name)}; }}; then"
        f" if {has_old}; then docker container stop {old} >/dev/null"
        f" && docker container rm {old} >/dev/null || exit 1; fi;"
        f" docker container rename {new} {old};"
        f" else docker container rm --force {new} >/dev/null; {give_back}"
        f' echo "agenthost: {name} was not replaced; the previous container, if any, is kept" >&2;'
        f" exit 1; fi"
    )
