"""The VM lab's pure parts: qemu's command line, vCPU sharing, image recipe keys, the CLI."""

import argparse
import socket
from pathlib import Path

from agenthost_lab import cli, vm, vm_image
from agenthost_lab.state import Host, inventory_groups


def qemu(**overrides):
    args = {"name": "agenthost-vm-trixie-1", "image": Path("/c/img"), "directory": Path("/s/vm"),
            "port": 2222, "cpus": 1} | overrides  # fmt: skip
    return vm.qemu_command(**args)


def option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_qemu_emulates_with_a_bounded_code_cache_and_no_kvm():
    command = qemu()
    assert option(command, "-accel") == "tcg,tb-size=256"
    assert "-enable-kvm" not in command and "kvm" not in " ".join(command)


def test_qemu_forwards_ssh_on_loopback_only():
    netdev = option(qemu(port=40022), "-netdev")
    assert netdev == "user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22"


def test_qemu_boots_the_kernel_directly_and_writes_to_the_overlay():
    command = qemu()
    assert option(command, "-kernel") == "/c/img/vmlinuz"
    assert option(command, "-initrd") == "/c/img/initrd.img"
    assert option(command, "-drive") == "file=/s/vm/overlay.qcow2,if=virtio,format=qcow2"
    append = option(command, "-append")
    assert "root=/dev/vda" in append and "systemd.hostname=agenthost-vm-trixie-1" in append
    assert "net.ifnames=0" in append  # networkd's .network file names eth0
    assert option(command, "-pidfile") == "/s/vm/qemu.pid" and "-daemonize" in command


def test_overlay_is_backed_by_the_raw_image():
    command = vm.overlay_command(Path("/c/img"), Path("/s/vm"))
    assert command[-1] == "/s/vm/overlay.qcow2"
    assert option(command, "-b") == "/c/img/disk.img" and option(command, "-F") == "raw"


def test_vcpus_share_the_cores_out():
    assert vm.vcpus(1, cores=2) == 2
    assert vm.vcpus(2, cores=2) == 1
    assert vm.vcpus(3, cores=2) == 1


def test_free_port_is_free_on_loopback():
    port = vm.free_port()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


def test_recipe_keys_differ_per_release_and_follow_the_recipe(monkeypatch):
    bookworm, trixie = vm_image.recipe_id("bookworm"), vm_image.recipe_id("trixie")
    assert bookworm != trixie
    monkeypatch.setattr(vm_image, "PACKAGES", (*vm_image.PACKAGES, "vim"))
    assert vm_image.recipe_id("bookworm") != bookworm


def test_image_directory_is_named_by_release_and_recipe():
    directory = vm_image.image_dir("trixie")
    assert directory.name == f"trixie-{vm_image.recipe_id('trixie')[:8]}"


def test_vm_image_has_a_kernel_apparmor_auditd_and_a_dhcp_client():
    assert {"linux-image-amd64", "apparmor", "auditd"} <= set(vm_image.PACKAGES)
    files = vm_image.vm_files("bookworm", "ssh-ed25519 AAAA k")
    assert "DHCP=yes" in files["etc/systemd/network/80-eth0.network"]
    assert files["etc/machine-id"] == ""  # every clone makes its own
    assert files["etc/resolv.conf"] == "nameserver 10.0.2.3\n"
    assert "virtio_blk" in files["etc/initramfs-tools/modules"]


def test_vm_hosts_are_inventoried_like_container_hosts():
    host = Host("agenthost-vm-trixie-1", "trixie", 40022, "/k", "vm")
    (name, data), = inventory_groups([host])["trixie"]
    assert name == host.name and data["ssh_port"] == 40022


def parse(argv):
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["rehearsal", *argv])


def test_cli_machine_defaults_to_container():
    assert parse(["up"]).machine == "container"
    assert parse(["up", "--machine", "vm", "--release", "trixie"]).machine == "vm"
    assert callable(parse(["reboot", "--set", "vm"]).func)
