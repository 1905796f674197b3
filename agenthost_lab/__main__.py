"""`python -m agenthost_lab ...`: the lab's command line, as `agenthost rehearsal ...`."""

import sys

from agenthost_lab.cli import main

sys.exit(main())
