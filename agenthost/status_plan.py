"""The deploy file that `agenthost status` runs with `pyinfra --dry`; not to be imported.

pyinfra executes it once per host that it reached: one read-only command, whose output is sent
at once (agenthost.status.report_status). It plans no operation.
"""

from pyinfra import host, state

from agenthost.status import report_status

report_status(state, host)
