"""jinja2 templates of the files agenthost writes on hosts, shipped as package data."""
