"""The lab: rehearsal hosts (containers with systemd, sshd and dockerd), the engine they run on,
a slow network in front of them, and a Jenkins pipeline replayed through them.

An extra of agenthost (`pip install 'agenthost[lab]'` brings the docker SDK it needs). It builds
on the product; the product never imports it (tests/unit/test_imports.py checks): the `agenthost`
command finds `rehearsal` through the entry point `agenthost.commands` (agenthost_lab.cli).
"""
