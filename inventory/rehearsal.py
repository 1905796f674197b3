"""pyinfra inventory of the rehearsal hosts started by `agenthost rehearsal up`.

Groups: `rehearsal` (every host), `bookworm` and `trixie`. The set is chosen with
AGENTHOST_REHEARSAL_SET (default "default"); its hosts are read from .rehearsal/<set>/hosts.json.
Once `agenthost rehearsal agent-image` saved the lab's agent image for the set, every host also
runs a Docker-out-of-Docker agent container from it (what `scripts/rehearse` shows).
"""

import os

from pyinfra.api.exceptions import InventoryError

from agenthost_lab import quickstart
from agenthost_lab.state import DEFAULT_SET, RehearsalError, inventory_groups, load_hosts

_set = os.environ.get("AGENTHOST_REHEARSAL_SET", DEFAULT_SET)
try:
    _hosts = load_hosts(_set)
except RehearsalError as error:
    raise InventoryError(str(error)) from None  # pyinfra prints its own errors without a traceback
_groups = inventory_groups(_hosts)

rehearsal = (_groups["rehearsal"], quickstart.settings(_set))
bookworm = _groups["bookworm"]
trixie = _groups["trixie"]
