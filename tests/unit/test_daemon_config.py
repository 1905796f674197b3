import json

import pytest

from agenthost.daemon_config import DEFAULTS, DaemonConfigError, check_options, merged, render


def test_defaults_are_hardened():
    config = merged("jenkins", {})
    assert config == {**DEFAULTS, "userns-remap": "jenkins"}
    assert config["icc"] is False and config["no-new-privileges"] is True
    assert config["live-restore"] is True and config["userland-proxy"] is False


def test_no_userns_remap_when_off():
    assert "userns-remap" not in merged(None, {})


def test_options_override_and_merge_dicts_one_level():
    config = merged(None, {"icc": True, "log-opts": {"max-size": "50m"}, "debug": True})
    assert config["icc"] is True and config["debug"] is True
    assert config["log-opts"] == {"max-file": "3", "max-size": "50m"}


def test_null_removes_a_default():
    assert "live-restore" not in merged(None, {"live-restore": None})


def test_merge_does_not_mutate_defaults():
    merged(None, {"log-opts": {"max-size": "1m"}})
    assert DEFAULTS["log-opts"]["max-size"] == "10m"


def test_render_is_sorted_json():
    text = render({"b": 1, "a": {"d": 2, "c": 3}})
    assert text.endswith("\n") and json.loads(text) == {"a": {"c": 3, "d": 2}, "b": 1}
    assert text.index('"a"') < text.index('"b"') and text.index('"c"') < text.index('"d"')


@pytest.mark.parametrize(
    "options, message",
    [
        ({"hosts": ["unix:///x"]}, "'hosts' is set by the docker unit as `-H fd://`"),
        ({"containerd": "/run/x.sock"}, "'containerd' is set by the docker unit"),
        ({"userns-remap": "x"}, "managed by docker_userns_remap"),
        ({"iptabels": False}, "'iptabels' is not a known daemon.json key"),
        ({"icc": "no"}, "'icc' must be a JSON bool, got 'no'"),
        ({"mtu": True}, "'mtu' must be a JSON int, got True"),
        ({"dns": "8.8.8.8"}, "'dns' must be a JSON list"),
    ],
)
def test_refused_options(options, message):
    with pytest.raises(DaemonConfigError, match=message.replace("(", r"\(")):
        check_options(options)


def test_accepted_options():
    check_options({"mtu": 1400, "dns": ["10.0.0.2"], "live-restore": None, "log-opts": {}})
