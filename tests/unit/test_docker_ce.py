from agenthost import docker_ce


def test_sources_trust_only_dockers_keyring():
    text = docker_ce.sources("bookworm", "amd64")
    assert "Suites: bookworm\n" in text and "Architectures: amd64\n" in text
    assert f"Signed-By: {docker_ce.KEYRING}\n" in text
    assert "URIs: https://download.docker.com/linux/debian\n" in text


def test_pin_only_with_a_version():
    assert docker_ce.preferences(None) is None
    pin = docker_ce.preferences("27.3.1")
    assert "Pin: version 5:27.3.1-*\n" in pin and "Pin-Priority: 1001" in pin
    assert pin.startswith("Package: docker-ce docker-ce-cli\n")
