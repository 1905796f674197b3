"""agenthost's Docker policy: what agents and their builds may ask Docker (see README)."""
