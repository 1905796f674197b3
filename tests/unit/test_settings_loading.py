"""Settings loaded from host data: validated, pyinfra's keys left alone, every problem named."""

import pytest

from agenthost.hostdata import yaml_group_data
from agenthost.settings import (
    Settings,
    SettingsError,
    split_data,
    validate,
)

PYINFRA_KEYS = {"ssh_port", "ssh_user", "docker_identifier"}


def error_of(data):
    with pytest.raises(SettingsError) as caught:
        validate("agent-01", data, PYINFRA_KEYS)
    return str(caught.value)


def test_defaults():
    settings = validate("agent-01", {}, PYINFRA_KEYS)
    assert settings.agent_user == "jenkins" and settings.agent_uid is None
    assert settings.docker_source == "distro" and settings.docker_userns_remap is True
    assert settings.docker_subid_count == 65536
    assert settings.daemon_json()["userns-remap"] == "jenkins"


def test_every_setting_has_a_doc():
    assert all(field.description for field in Settings.model_fields.values())


def test_pyinfra_and_foreign_keys_pass_untouched():
    data = {"ssh_port": 2222, "_sudo": True, "docker_identifier": "x", "app_port": 80}
    ours, unknown = split_data({**data, "agent_user": "ci"}, PYINFRA_KEYS)
    assert ours == {"agent_user": "ci"} and unknown == []


def test_error_names_host_setting_value_and_what_is_allowed():
    message = error_of({"docker_source": "snap"})
    assert "host agent-01: docker_source = 'snap':" in message
    assert "'distro' or 'docker-ce'" in message


def test_unknown_key_gets_did_you_mean():
    assert "agnet_user = 'ci': unknown setting, did you mean 'agent_user'?" in error_of(
        {"agnet_user": "ci"}
    )
    assert "docker_frobnicate = 1: unknown setting, it is not a setting" in error_of(
        {"docker_frobnicate": 1}
    )


def test_all_problems_reported_at_once():
    message = error_of({"agent_uid": 5, "docker_subid_count": 10, "agent_user": "Bad User"})
    assert message.count("host agent-01:") == 3


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"agent_uid": 0}, "agent_uid = 0: Input should be greater than or equal to 1000"),
        ({"docker_subid_count": 1000}, "docker_subid_count = 1000"),
        ({"docker_http_proxy": "proxy:3128"}, "docker_http_proxy = 'proxy:3128': expected a URL"),
        ({"docker_no_proxy": "localhost"}, "docker_no_proxy = 'localhost'"),
        ({"docker_version": "latest; rm"}, "docker_version = 'latest; rm'"),
        ({"agent_home": "home/ci"}, "agent_home = 'home/ci': expected a plain absolute path"),
        ({"docker_users": ["ok", "Not-OK"]}, "'Not-OK' is not a valid user name"),
        ({"docker_daemon_options": {"hosts": []}}, "'hosts' is set by the docker unit"),
        ({"agent_containers": [{"name": "ci", "image": "x", "memroy": "1g"}]},
         "agent_containers.0.memroy = '1g': Extra inputs are not permitted"),
    ],
)
def test_bad_values(data, fragment):
    assert fragment in error_of(data)


def test_secrets_never_in_errors():
    message = error_of({"docker_http_proxy": "http://u:s3cret@proxy 1", "docker_htps_proxy": "http://u:s3cret@p:1"})
    assert "s3cret" not in message and "http://***@" in message


def test_yaml_group_data_layers(tmp_path):
    (tmp_path / "all.yaml").write_text("agent_user: ci\ndocker_subid_count: 70000\n")
    (tmp_path / "fast.yml").write_text("docker_subid_count: 80000\n")
    assert yaml_group_data(tmp_path, ["fast"]) == {"agent_user": "ci", "docker_subid_count": 80000}
    assert yaml_group_data(tmp_path, []) == {"agent_user": "ci", "docker_subid_count": 70000}


def test_yaml_must_be_a_mapping(tmp_path):
    (tmp_path / "all.yaml").write_text("- a\n")
    with pytest.raises(SettingsError, match="all.yaml: expected a mapping"):
        yaml_group_data(tmp_path, [])
