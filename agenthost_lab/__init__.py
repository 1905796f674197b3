"""The lab: rehearsal hosts (containers with systemd, sshd and dockerd) and the engine they run on.

Apart from the product: nothing in agenthost outside this package imports it.
"""
