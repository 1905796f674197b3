"""`python -m agenthost`: the `agenthost` command."""

import sys

from agenthost.cli import main

sys.exit(main())
