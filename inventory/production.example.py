"""An example inventory: copy to production.py and list your agent hosts.

Groups are lists of hosts, optionally with data; every host's data is validated against the
settings model before anything runs (see the README's settings table).
"""

linux_agents = (
    [
        ("agent-01.example.com", {"agent_uid": 1500}),
        "agent-02.example.com",
    ],
    {
        "ssh_user": "admin",
        "_sudo": True,
        "docker_http_proxy": "http://proxy.example.com:3128",
        "docker_https_proxy": "http://proxy.example.com:3128",
        "docker_no_proxy": ["localhost", "127.0.0.1", ".example.com"],
    },
)
