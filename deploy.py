"""agenthost: every host in the inventory becomes a CI agent host.

    pyinfra inventory/production.py deploy.py

Every host's settings are validated first; one bad host stops the run before any is touched.
"""

from pyinfra import host, state

from agenthost.hostdata import all_settings
from tasks.agent_access import agent_access
from tasks.agent_containers import agent_containers
from tasks.agent_user import agent_user
from tasks.docker_daemon import docker_daemon_json, docker_restart
from tasks.docker_engine import docker_engine
from tasks.docker_images import docker_images
from tasks.docker_proxy import docker_proxy
from tasks.docker_prune import docker_prune
from tasks.docker_socket import docker_socket
from tasks.docker_userns import docker_userns

settings = all_settings(state)[host.name]

agent_user(settings)
docker_engine(settings)
# Everything dockerd reads is written first, then applied by at most one restart.
docker_restart(
    settings,
    [
        *docker_userns(settings),
        *docker_daemon_json(settings),
        *docker_proxy(settings),
        *docker_socket(settings),
    ],
)
agent_access(settings)
# Images go into the data root dockerd uses after the restart (userns-remap moves it).
docker_images(settings)
agent_containers(settings)
docker_prune(settings)
