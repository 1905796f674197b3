"""pyinfra's per-operation planning made cheaper, deciding exactly what it decided before.

For every operation and `@deploy` call, on every host, pyinfra 3.10 does two things whose cost
has nothing to do with the deploy:
- It orders the operation by the call stack: `inspect.stack()`, then `getframeinfo` of each
  frame again. Both read every frame's source line (a stat and a linecache lookup per frame, and
  for the deploy file, which no module owns, a scan of every loaded module) only to keep the
  file name and line number, which do not depend on it. Even with a context of 0 lines,
  `getframeinfo` still looks for each frame's source file (a stat per frame, some 800 per host
  on a no-op); read from the frames themselves (the code's file name, the frame's line), the
  same names and numbers come without touching a file.
- It resolves the global arguments (`_sudo`, `_if`, ...) by `get_type_hints(AllArguments)`,
  evaluating some 30 annotations anew each time; they are constants of pyinfra's class.

On a no-op (34 operations and 13 `@deploy` calls per host, 10 hosts) the two cost about 40 ms
of the controller's CPU per host, and still about 12 ms with the module scan spared by naming
the deploy file as a module, as agenthost did before. The controller's share is the one that
adds up across a fleet, host after host. The fix belongs in pyinfra
(docs/upstream/pyinfra-planning.patch); until it is there, `speed_up` rebinds those three names
in pyinfra's modules, for the pyinfra release it was checked against only, and only while they
are still pyinfra's own. It patches the whole process, so only agenthost's own entry points
call it (deploy.py and the drift plan), never the stages a deploy of yours composes.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
from types import FrameType
from typing import NamedTuple

import pyinfra
from pyinfra.api import arguments, util

CHECKED_RELEASE = "3.10."  # the pyinfra whose util and arguments read as described above

log = logging.getLogger(__name__)
_all_global_arguments = getattr(arguments, "all_global_arguments", None)


def why_not() -> str | None:
    """Why speed_up leaves this pyinfra as it is, or None when it applies."""
    version = getattr(pyinfra, "__version__", "unknown")
    if not version.startswith(CHECKED_RELEASE):
        return f"pyinfra {version} is not the {CHECKED_RELEASE}x it was checked against"
    missing = [f"{module.__name__}.{name}" for module, name in
               [(util, "stack"), (util, "getframeinfo"), (arguments, "all_global_arguments")]
               if not hasattr(module, name)]  # fmt: skip
    return f"pyinfra no longer has {', '.join(missing)}" if missing else None


@functools.cache
def _said_why_not(reason: str) -> None:
    log.info("agenthost.planning: planning left as pyinfra does it (%s)", reason)


def speed_up() -> bool:
    """Make pyinfra's ordering and argument resolution cheap; whether it applies here (said
    once in pyinfra's log when it does not). Idempotent."""
    reason = why_not()
    if reason:
        _said_why_not(reason)
        return False
    if util.stack is inspect.stack:
        util.stack = _stack
    if util.getframeinfo is inspect.getframeinfo:
        util.getframeinfo = _frame_info
    if arguments.all_global_arguments is _all_global_arguments:
        arguments.all_global_arguments = _constant_global_arguments
    return True


class _FrameInfo(NamedTuple):
    filename: str
    lineno: int


def _stack(context: int = 1) -> list[tuple[FrameType]]:
    """The caller's frames, innermost first, each first in its tuple as in `inspect.stack`'s
    list, where pyinfra reads nothing else; without the `getframeinfo` of every frame."""
    frame, frames = sys._getframe(1), []
    while frame is not None:
        frames.append((frame,))
        frame = frame.f_back
    return frames


def _frame_info(frame: FrameType, context: int = 1) -> _FrameInfo:
    """`inspect.getframeinfo`'s file name and line number, the two pyinfra reads, without its
    look for the source file (a stat per frame): the code's file name is the one it finds."""
    return _FrameInfo(frame.f_code.co_filename, frame.f_lineno)


@functools.cache
def _global_arguments() -> tuple[tuple[str, type], ...]:
    return tuple(_all_global_arguments())


def _constant_global_arguments() -> list[tuple[str, type]]:
    """pyinfra's `all_global_arguments`, resolved once (a new list each call, as pyinfra's)."""
    return list(_global_arguments())
