"""The deploy file as a module: pyinfra's reading of the stack finds it without a scan."""

import inspect
import sys

from agenthost.tasks import deploy_file_as_module


def test_the_deploy_files_frame_has_a_module_once_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deploy.py").write_text("import sys\nframe = sys._getframe()\n")
    code = compile((tmp_path / "deploy.py").read_text(), "deploy.py", "exec")  # as pyinfra does
    ran: dict = {}
    exec(code, ran)
    assert inspect.getmodule(ran["frame"]) is None  # after scanning every module
    name = "agenthost.deploy_file:deploy.py"
    monkeypatch.setitem(sys.modules, name, None)  # so that the test's module goes after it
    del sys.modules[name]
    deploy_file_as_module("deploy.py")
    deploy_file_as_module("deploy.py")  # per host: the first one stays
    module = inspect.getmodule(ran["frame"])
    assert module is sys.modules[name]
    assert module.__file__ == str(tmp_path / "deploy.py")


def test_without_a_deploy_file_nothing_is_named():
    before = set(sys.modules)
    deploy_file_as_module(None)
    assert set(sys.modules) == before
