"""pyinfra inventory of the rehearsal hosts started by `agenthost rehearsal up`.

Groups: `rehearsal` (every host), `bookworm` and `trixie`. The set is chosen with
AGENTHOST_REHEARSAL_SET (default "default"); its hosts are read from .rehearsal/<set>/hosts.json.
"""

import os

from pyinfra.api.exceptions import InventoryError

from agenthost.lab.rehearsal import DEFAULT_SET, inventory_groups, load_hosts
from agenthost.lab.rehearsal_image import RehearsalError

try:
    _hosts = load_hosts(os.environ.get("AGENTHOST_REHEARSAL_SET", DEFAULT_SET))
except RehearsalError as error:
    raise InventoryError(str(error)) from None  # pyinfra prints its own errors without a traceback
_groups = inventory_groups(_hosts)

rehearsal = _groups["rehearsal"]
bookworm = _groups["bookworm"]
trixie = _groups["trixie"]
