import subprocess

from agenthost_lab import rehearsal_image
from agenthost_lab.rehearsal_image import KEY_LABEL, RECIPE_LABEL, image_labels


def test_key_lives_in_the_xdg_cache_and_is_private(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    key = rehearsal_image.ensure_key()
    assert key == tmp_path / "agenthost" / "rehearsal_ed25519"
    assert key.stat().st_mode & 0o777 == 0o600
    assert rehearsal_image.ensure_key().read_bytes() == key.read_bytes()  # generated once


def test_fingerprint_matches_ssh_keygen(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    public = rehearsal_image.ensure_key().with_suffix(".pub")
    printed = subprocess.run(["ssh-keygen", "-lf", str(public)], capture_output=True,
                             text=True, check=True).stdout.split()[1]
    assert rehearsal_image.key_fingerprint(public.read_text()) == printed


def test_image_files_allow_root_by_key_only_and_carry_the_key():
    files = rehearsal_image.image_files("trixie", "ssh-ed25519 AAAA test\n")
    assert files["root/.ssh/authorized_keys"] == "ssh-ed25519 AAAA test\n"
    sshd = files["etc/ssh/sshd_config.d/agenthost-rehearsal.conf"]
    assert "PermitRootLogin prohibit-password" in sshd
    assert "PasswordAuthentication no" in sshd
    assert files["etc/machine-id"] == ""
    assert "deb http://deb.debian.org/debian-security trixie-security main" in (
        files["etc/apt/sources.list"])


def test_image_labels_change_with_key_and_release_not_otherwise():
    labels = image_labels("bookworm", "SHA256:a")
    assert labels == image_labels("bookworm", "SHA256:a")
    assert labels[KEY_LABEL] != image_labels("bookworm", "SHA256:b")[KEY_LABEL]
    assert labels[RECIPE_LABEL] != image_labels("trixie", "SHA256:a")[RECIPE_LABEL]


def test_import_changes_boot_systemd_and_label_the_image():
    changes = rehearsal_image.import_changes({"agenthost.rehearsal.key": "SHA256:a/b+c"})
    assert 'CMD ["/lib/systemd/systemd"]' in changes
    assert "ENV container=docker" in changes
    assert 'LABEL agenthost.rehearsal.key="SHA256:a/b+c"' in changes


def test_the_image_tag_follows_the_recipe_so_checkouts_sharing_an_engine_do_not_clash(
    monkeypatch,
):
    tag = rehearsal_image.image_tag("bookworm")
    assert tag.startswith("agenthost-rehearsal:bookworm-")
    monkeypatch.setattr(rehearsal_image, "MASKED_UNITS", ())
    assert rehearsal_image.image_tag("bookworm") != tag


def test_the_journal_of_a_rehearsal_host_is_small_and_in_memory():
    conf = rehearsal_image.image_files("bookworm", "k")[
        "etc/systemd/journald.conf.d/agenthost-rehearsal.conf"
    ]
    assert "Storage=volatile" in conf and "RuntimeMaxUse=16M" in conf
