"""What agents may ask Docker: the checks of agenthost's Docker policy, pure and stdlib only.

The deploy copies this package onto agent hosts (agenthost.policy.server serves it there);
the unit tests call these checks directly. A request is refused when it would leave the
remapped user namespace or the host's confinement, unless the socket's allowances say so.
"""

from __future__ import annotations

import json
import os
import re
from urllib.parse import parse_qs, unquote, urlsplit

DOCKER_SOCKETS = ("/run/docker.sock", "/run/containerd/containerd.sock")
POLICY_SOCKETS = "/run/agenthost-docker"  # docker_policy.SOCKET_DIR (this package is stdlib only)
MIN_API = (1, 24)  # older versions took a HostConfig at start, unchecked
_VERSION = re.compile(r"^/v([0-9]+)\.([0-9]+)(/.*)$")


class Refused(Exception):
    """A request the policy refuses: `what` it asked for and the `allowance` that would allow it."""

    def __init__(self, what: str, allowance: str | None = None, status: int = 403):
        super().__init__(what)
        self.what, self.allowance, self.status = what, allowance, status


# Endpoints agents may use, by method; a path not listed is refused (swarm, plugins, ...).
_WRITE = {
    "POST": re.compile(
        r"^/(containers/create|containers/prune|containers/[^/]+/(start|stop|restart|kill|wait"
        r"|resize|attach|attach/ws|exec|rename|pause|unpause|update)|exec/[^/]+/(start|resize)"
        r"|build|build/prune|build/cancel|images/create|images/load|images/prune|images/.+/"
        r"(tag|push)|commit|networks/create|networks/prune|networks/[^/]+/(connect|disconnect)"
        r"|volumes/create|volumes/prune|session|grpc|auth)$"
    ),
    "PUT": re.compile(r"^/containers/[^/]+/archive$"),
    "DELETE": re.compile(r"^/(containers/[^/]+|images/.+|networks/[^/]+|volumes/[^/]+)$"),
}
_REFUSED_READS = re.compile(r"^/(plugins|swarm|services|nodes|secrets|configs|tasks)(/|$)")
# Reads that hand out a container's files: only of a container the agent could have made.
_TARGET_READS = re.compile(r"^/containers/([^/]+)/(archive|export)$")
_TARGET_WRITES = re.compile(r"^/containers/([^/]+)/(attach|attach/ws|exec|archive|start)$")


def route(method: str, target: str) -> tuple[str, dict[str, list[str]]]:
    """The API path without its version prefix, and the query; refuses what Docker would read
    another way than it reads here."""
    split = urlsplit(target)
    if split.scheme or split.netloc or not split.path.startswith("/"):
        raise Refused(f"request target {target!r}", status=400)
    path = unquote(split.path, errors="strict")
    if re.search(r"//|/\.\.?(/|$)|[\x00-\x20\\]", path):
        raise Refused(f"path {path!r}", status=400)
    version = _VERSION.match(path)
    if version:
        if (int(version[1]), int(version[2])) < MIN_API:
            raise Refused(f"API version {version[1]}.{version[2]} (below 1.24)", status=400)
        path = version[3]
    path = path.rstrip("/") or "/"
    if method in ("GET", "HEAD"):
        if _REFUSED_READS.match(path):
            raise Refused(f"{method} {path}")
    elif method not in _WRITE or not _WRITE[method].match(path):
        raise Refused(f"{method} {path}: not an endpoint agents use")
    return path, parse_qs(split.query)


def folded(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object as Go's encoding/json fills a struct: keys match case-insensitively and a
    repeated object is merged into the first."""
    result: dict = {}
    for key, value in pairs:
        key = key.casefold()
        if isinstance(result.get(key), dict) and isinstance(value, dict):
            result[key] = {**result[key], **value}
        else:
            result[key] = value
    return result


def parse_json(body: bytes) -> dict:
    if not body.strip():
        return {}
    try:
        value = json.loads(body, object_pairs_hook=folded)
    except (ValueError, RecursionError) as error:
        raise Refused(f"a body that is not JSON ({error})", status=400) from None
    if not isinstance(value, dict):
        raise Refused("a JSON body that is not an object", status=400)
    return value


def _get(obj: dict, *keys: str):
    for key in keys:
        obj = obj.get(key.casefold()) if isinstance(obj, dict) else None
    return obj


def _beneath(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


class Policy:
    """One socket's policy: what its agent may ask beyond the remapped, confined default.

    config: {"socket": its path, "setting": the setting that holds the allowances, "allow":
    {privileged, userns_host, host_namespaces, capabilities, devices, unconfined, bind_paths,
    docker_socket, plugins}, "binds": host paths the agent's own settings declare}
    """

    def __init__(self, config: dict):
        self.allow = config["allow"]
        self.setting = config["setting"]
        self.socket = os.path.realpath(config["socket"])
        self.docker_sockets = [os.path.realpath(path) for path in DOCKER_SOCKETS]
        paths = [*config["binds"], *self.allow.get("bind_paths", [])]
        self.binds = [os.path.realpath(path) for path in paths]

    def message(self, refusal: Refused) -> str:
        head = f"agenthost docker policy refuses {refusal.what}"
        if refusal.allowance is None:
            return head
        return f"{head} (allow it with {self.setting}.{refusal.allowance})"

    def need(self, allowance: str, what: str) -> None:
        if not self.allow.get(allowance):
            raise Refused(what, allowance)

    def request(self, method: str, path: str, query: dict, body: dict) -> list[str]:
        """Refuses what `body` asks beyond the policy; returns the containers ("c:NAME"), execs
        ("e:ID") and volumes ("v:NAME") that must be inspected and pass too."""
        if path.startswith("/plugins") and method not in ("GET", "HEAD"):
            self.need("plugins", "installing or changing plugins")
            return []
        if path == "/containers/create":
            return self.host_config(_get(body, "HostConfig") or {}, created=True)
        if re.match(r"^/containers/[^/]+/exec$", path):
            if _get(body, "Privileged"):
                self.need("privileged", "a privileged exec (--privileged)")
        if path.endswith("/start") and path.startswith("/containers/") and body:
            raise Refused("a start request with a body (a HostConfig at start)", status=400)
        if path == "/volumes/create":
            self.volume(_get(body, "Driver") or "local", _get(body, "DriverOpts") or {})
        if path == "/commit":
            return [f"c:{name}" for name in query.get("container", [])]
        exec_start = re.match(r"^/exec/([^/]+)/start$", path)
        if exec_start:
            return [f"e:{exec_start[1]}"]
        target = _TARGET_WRITES.match(path) if method != "GET" else _TARGET_READS.match(path)
        return [f"c:{target[1]}"] if target else []

    def volume(self, driver: str, options: dict) -> None:
        if driver != "local" or options:
            self.need("bind_paths", f"a volume with driver {driver!r} or driver options"
                      f" {sorted(options)} (they can bind any host path)")  # fmt: skip

    def host_config(self, config: dict, created: bool) -> list[str]:
        """Checks a container's HostConfig (`created`: as asked for; else as inspected)."""
        if config.get("privileged"):
            self.need("privileged", "a privileged container (--privileged)")
        if config.get("usernsmode"):
            self.need("userns_host", f"user namespace mode {config['usernsmode']!r} (--userns)")
        targets = []
        # cgroupns "host" is dockerd's own default on cgroup v1 hosts: refused only when asked.
        for key in ("pidmode", "ipcmode", "utsmode", *(["cgroupnsmode"] if created else [])):
            mode = str(config.get(key) or "")
            if mode == "host":
                self.need("host_namespaces", f"the host's {key[:-4]} namespace")
            elif mode.startswith("container:"):
                targets.append("c:" + mode.split(":", 1)[1])
        for cap in config.get("capadd") or []:
            name = str(cap).upper().removeprefix("CAP_")
            if name not in self.allow.get("capabilities", []):
                raise Refused(f"the added capability {name} (--cap-add)", "capabilities")
        for key in ("devices", "devicerequests", "devicecgrouprules"):
            if config.get(key):
                self.need("devices", f"host devices ({key})")
        for option in config.get("securityopt") or []:
            self.security_option(str(option))
        for key in ("maskedpaths", "readonlypaths"):
            if config.get(key) is not None and created:
                self.need("unconfined", "unmasked system paths (systempaths=unconfined)")
        for bind in config.get("binds") or []:
            source = str(bind).split(":", 1)[0]
            if source.startswith("/"):
                self.bind(source)
            elif created:
                targets.append(f"v:{source}")
        for mount in config.get("mounts") or []:
            targets += self.mount(mount if isinstance(mount, dict) else {}, created)
        if created:
            targets += [f"c:{str(name).split(':')[0]}" for name in config.get("volumesfrom") or []]
        return targets

    def security_option(self, option: str) -> None:
        key, _, value = option.replace(":", "=", 1).partition("=")
        if key == "no-new-privileges" and value in ("", "true"):
            return
        if key == "apparmor" and value == "docker-default":
            return
        self.need("unconfined", f"the security option {option!r} (--security-opt)")

    def mount(self, mount: dict, created: bool) -> list[str]:
        kind = str(mount.get("type") or "volume")
        if kind == "bind":
            self.bind(str(mount.get("source") or ""))
        elif kind == "volume":
            options = _get(mount, "VolumeOptions", "DriverConfig") or {}
            if options:
                self.volume(str(options.get("name") or "local"), options.get("options") or {})
            if created and mount.get("source"):
                return [f"v:{mount['source']}"]
        elif kind != "tmpfs":
            raise Refused(f"a mount of type {kind!r}", "bind_paths")
        return []

    def bind(self, source: str) -> None:
        """A host path: beneath the workspace or a declared path, and not a Docker socket."""
        real = os.path.realpath(source)
        if real == self.socket:
            return  # its own socket: the same policy again
        held = any(_beneath(socket, real) for socket in self.docker_sockets)
        if held or real.startswith(POLICY_SOCKETS):
            self.need("docker_socket", f"a bind mount of {source} (it is or holds a Docker socket)")
        if not any(_beneath(real, root) for root in self.binds):
            self.need("bind_paths", f"a bind mount of the host path {source}")

    def inspected(self, kind: str, found: dict) -> list[str]:
        """Checks what an inspect returned: a container, an exec, or a volume."""
        if kind == "e":
            if found.get("privileged"):
                self.need("privileged", "starting a privileged exec")
            return [f"c:{found.get('containerid')}"]
        if kind == "v":
            self.volume(str(found.get("driver") or "local"), found.get("options") or {})
            return []
        targets = self.host_config(found.get("hostconfig") or {}, created=False)
        for mount in found.get("mounts") or []:
            self.mount(mount if isinstance(mount, dict) else {}, created=False)
        return targets


