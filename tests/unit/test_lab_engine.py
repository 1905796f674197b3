"""The lab's build machine: one lab process at a time installs packages or starts dockerd."""

import threading

from agenthost_lab import engine


def test_apt_install_waits_for_another_lab_process_preparing_the_machine(monkeypatch, tmp_path):
    monkeypatch.setattr(engine, "MACHINE_LOCK", tmp_path / "lab.lock")
    ran = []
    monkeypatch.setattr(engine, "_apt_install", lambda *packages: ran.append(packages))
    with engine.machine_lock():  # the other process (flock excludes another open file too)
        worker = threading.Thread(target=engine.apt_install, args=("qemu-utils",))
        worker.start()
        worker.join(timeout=0.5)
        assert worker.is_alive() and ran == []
    worker.join(timeout=5)
    assert ran == [("qemu-utils",)]


def test_an_engine_started_meanwhile_is_used_not_started_again(monkeypatch, tmp_path):
    monkeypatch.setattr(engine, "MACHINE_LOCK", tmp_path / "lab.lock")
    answers = iter([None, "client"])  # none before the lock, the other's dockerd after it
    monkeypatch.setattr(engine, "ping", lambda: next(answers))
    monkeypatch.setattr(engine, "_started_engine", lambda timeout: "a second dockerd")
    assert engine.ensure_engine() == "client"
