"""Loading settings: local files the settings name must exist, except while drift plans."""

from agenthost import hostdata
from agenthost.settings import Settings


def test_local_files_must_exist_on_this_machine(tmp_path):
    secret = tmp_path / "agent.env"
    secret.write_text("TOKEN=x\n")
    settings = Settings(
        docker_image_preload=[str(tmp_path / "gone.tar")],
        agent_containers=[
            {"name": "agent-a", "image": "agent:1", "env_file": str(secret)},
            {"name": "agent-b", "image": "agent:1", "env_file": str(tmp_path / "missing.env")},
        ],
    )
    assert hostdata.missing_local_files(settings) == [
        f"docker_image_preload.0 = {str(tmp_path / 'gone.tar')!r}: no such file on this machine",
        f"agent_containers.1.env_file = {str(tmp_path / 'missing.env')!r}: no such file on this"
        " machine",
    ]


def test_drift_mode_is_told_by_the_report_descriptor(monkeypatch):
    monkeypatch.delenv(hostdata.DRIFT_REPORT_FD, raising=False)
    assert not hostdata.checking_drift()
    monkeypatch.setenv(hostdata.DRIFT_REPORT_FD, "5")
    assert hostdata.checking_drift()
