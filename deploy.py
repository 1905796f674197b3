"""agenthost: every host in the inventory becomes a CI agent host.

    pyinfra inventory/production.py deploy.py

The stages, in order, are in agenthost/tasks/__init__.py (`agent_host`).
"""

from agenthost import confirm, planning
from agenthost.tasks import agent_host

planning.speed_up()  # pyinfra's per-operation overhead, before the first operation
confirm.skip_when_unchanged()  # a run that plans no change asks nothing
agent_host()
