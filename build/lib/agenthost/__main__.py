import sys

from agenthost.cli import main

sys.exit(main())
