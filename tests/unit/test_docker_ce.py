from agenthost import docker_ce


def test_sources_trust_only_dockers_keyring():
    url = docker_ce.repository_url("debian", None)
    text = docker_ce.sources(url, "bookworm", "amd64")
    assert "Suites: bookworm\n" in text and "Architectures: amd64\n" in text
    assert f"Signed-By: {docker_ce.KEYRING}\n" in text
    assert "URIs: https://download.docker.com/linux/debian\n" in text


def test_ubuntu_and_a_sites_mirror():
    assert docker_ce.repository_url("ubuntu", None) == "https://download.docker.com/linux/ubuntu"
    mirror = "https://mirror.example/docker/ubuntu/"
    assert docker_ce.repository_url("ubuntu", mirror) == mirror.rstrip("/")
    assert docker_ce.key_url("ubuntu", mirror, None) == "https://mirror.example/docker/ubuntu/gpg"
    assert docker_ce.key_url("ubuntu", mirror, "https://keys.example/d.asc") == (
        "https://keys.example/d.asc"
    )
