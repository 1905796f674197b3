"""pyinfra's planning, sped up, orders and resolves exactly as pyinfra's own."""

from types import SimpleNamespace

import pyinfra
import pytest
from pyinfra.api import arguments, util

from agenthost import planning


@pytest.fixture
def pyinfras_own(monkeypatch):
    """pyinfra's names as they were, put back after the test; pyinfra in CLI mode."""
    for module, name in [(util, "stack"), (util, "getframeinfo"),
                         (arguments, "all_global_arguments")]:  # fmt: skip
        monkeypatch.setattr(module, name, getattr(module, name))
    monkeypatch.setattr(pyinfra, "is_cli", True)


def operation_order(state):
    return util.get_operation_order_from_stack(state)


def called_from_a_deploy(state):
    # A call over several lines: its line is where the call starts, with or without source.
    return operation_order(
        state,
    )


@pytest.mark.parametrize("deploy_file", [__file__, "/nowhere/deploy.py", None])
def test_operations_are_ordered_as_pyinfra_orders_them(pyinfras_own, deploy_file):
    state = SimpleNamespace(current_deploy_filename=deploy_file, current_op_file_number=7)
    orders = []
    for speed_up in (False, True):  # one call site for both
        if speed_up:
            assert planning.speed_up()
        orders.append(called_from_a_deploy(state))
    assert orders[0] == orders[1]
    assert len(orders[0]) > (3 if deploy_file == __file__ else 0)


def test_the_call_location_is_pyinfras(pyinfras_own):
    locations = []
    for speed_up in (False, True):
        if speed_up:
            planning.speed_up()
        locations.append(util.get_call_location(frame_offset=0))
    assert locations[0] == locations[1]
    assert "test_planning.py" in locations[0]


def test_global_arguments_are_pyinfras_resolved_once(pyinfras_own):
    own = arguments.all_global_arguments()
    planning.speed_up()
    assert arguments.all_global_arguments is not planning._all_global_arguments
    assert arguments.all_global_arguments() == own
    assert arguments.all_global_arguments() is not arguments.all_global_arguments()
    assert dict(own)["_sudo"] is bool


def test_twice_is_once(pyinfras_own):
    planning.speed_up()
    rebound = util.stack, util.getframeinfo, arguments.all_global_arguments
    planning.speed_up()
    assert (util.stack, util.getframeinfo, arguments.all_global_arguments) == rebound


def test_another_pyinfra_release_is_left_as_it_is(pyinfras_own, monkeypatch):
    monkeypatch.setattr(pyinfra, "__version__", "3.11.0")
    own = util.stack, util.getframeinfo, arguments.all_global_arguments
    assert planning.speed_up() is False
    assert (util.stack, util.getframeinfo, arguments.all_global_arguments) == own


def test_frames_of_code_without_a_source_file_are_named_as_pyinfra_names_them(pyinfras_own):
    # The deploy file pyinfra execs, compiled under a name that no file has here.
    state = SimpleNamespace(current_deploy_filename="/nowhere/deploy.py", current_op_file_number=7)
    code = compile("\n\norders.append(order(state))\n", "/nowhere/deploy.py", "exec")
    orders: list = []
    for speed_up in (False, True):
        if speed_up:
            planning.speed_up()
        exec(code, {"orders": orders, "order": operation_order, "state": state})
    assert orders[0] == orders[1]
    assert orders[0][:2] == [7, 3]  # pyinfra's op number, then the line in the exec'd file
