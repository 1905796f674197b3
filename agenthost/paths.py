"""Where the deploy writes on a host: the tasks write there, the drift checks read there."""

DAEMON_JSON = "/etc/docker/daemon.json"
PROXY_DROP_IN = "/etc/systemd/system/docker.service.d/http-proxy.conf"
PROXY_ENV_FILE = "/etc/docker/proxy.env"
SOCKET_DROP_IN = "/etc/systemd/system/docker.socket.d/agenthost.conf"
# Where an administrator's drop-ins for dockerd and its socket go, persistent (/etc) and until
# the next boot (/run, `systemctl edit --runtime`): only ours may be there. Packages' own
# (/usr/lib) are the distribution's; `set-property`'s (system.control) hold only resource limits.
DROP_IN_DIRS = ("/etc/systemd/system/docker.service.d", "/etc/systemd/system/docker.socket.d")
RUNTIME_DROP_IN_DIRS = ("/run/systemd/system/docker.service.d",
                        "/run/systemd/system/docker.socket.d")  # fmt: skip
# Whole units in place of the packaged ones (`systemctl edit --full`, with --runtime in /run):
# a TCP listener, another ExecStart, out of the drop-ins' sight.
UNIT_OVERRIDES = ("/etc/systemd/system/docker.service", "/etc/systemd/system/docker.socket",
                  "/run/systemd/system/docker.service", "/run/systemd/system/docker.socket")
AGENT_ENV_DIR = "/etc/agenthost"
APT_PROXY = "/etc/apt/apt.conf.d/80agenthost-proxy"
# apt's Proxy-Auto-Detect, run by apt as _apt: outside root-only /etc/agenthost.
APT_NO_PROXY = "/usr/local/lib/agenthost/apt-no-proxy"
AGENT_PIN = "/etc/apt/preferences.d/agenthost-agent"  # agent_packages given as name=version
PRUNE_UNIT = "agenthost-docker-prune"
SUBID_FILES = ("/etc/subuid", "/etc/subgid")  # ours: only the agent's lines
BACKUP_DIR = "/var/backups/agenthost"  # <UTC run stamp>/<path> of what a run replaced
RUN_LOCK = "/run/agenthost.lock"  # one agenthost run at a time (reads.run_lock)
WORK_DIR = "/var/lib/agenthost"
# 0711: a remapped container root (the agent) passes through to its own secret's mount.
AGENT_SECRET_DIR = f"{WORK_DIR}/agent-secrets"
# Root-only: the apply script, its log and the record of what it applied. Not WORK_DIR itself,
# which the agent passes through to reach its workspace.
APPLY_DIR = f"{WORK_DIR}/apply"
# The transient unit that applies dockerd's configuration (tasks.docker_daemon); a run waits
# for one left running by a run whose connection dropped (reads.run_lock).
APPLY_UNIT = "agenthost-docker-apply"
# "<checksum of dockerd's files> <run stamp>", written after each healthy apply.
APPLIED_RECORD = f"{APPLY_DIR}/docker-applied"


def agent_secret_file(container: str) -> str:
    """An inbound agent's JENKINS_SECRET, the agent's to read: mounted into its container, never
    in its environment (which `docker inspect` shows to anyone on the socket)."""
    return f"{AGENT_SECRET_DIR}/{container}.jenkins-secret"


def agent_env_file(container: str) -> str:
    """The root-only copy of an agent container's env_file."""
    return f"{AGENT_ENV_DIR}/{container}.env"
# What a run makes and removes before it ends (image tarballs, build contexts, a pull's registry
# login, a build's proxies): any there when a run starts was left by one that failed.
IMAGE_UPLOADS = f"{WORK_DIR}/images"
BUILD_CONTEXTS = f"{WORK_DIR}/build"
PULL_CONFIG = f"{WORK_DIR}/pull-auth"
BUILD_CONFIG = f"{WORK_DIR}/build-proxies"
SCRATCH = (IMAGE_UPLOADS, BUILD_CONTEXTS, PULL_CONFIG, BUILD_CONFIG)
SCRATCH_DIRS = (IMAGE_UPLOADS, BUILD_CONTEXTS)  # what is in them; of the others, themselves
# {"when", "version", "settings"}: the last deploy that changed the host, or its settings or
# agenthost's version (agenthost status reads it; not a drift item).
DEPLOY_STAMP = f"{WORK_DIR}/deployed.json"
