"""The deploy that `agenthost drift` plans with `pyinfra --dry`; not to be imported.

pyinfra executes it once per host that it reached: the whole agent host is planned as a deploy
would plan it (every operation reads the host's facts, live ones included), then what would
change on this host is reported at once, so each host's result shows as soon as it is known.
"""

from pyinfra import host, state

from agenthost import planning
from agenthost.drift import report_planned
from agenthost.tasks import agent_host

planning.speed_up()  # as deploy.py: pyinfra's per-operation overhead
agent_host()
report_planned(state, host)
