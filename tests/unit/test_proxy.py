import json

import pytest

from agenthost import desired, proxy
from agenthost.paths import APT_NO_PROXY
from agenthost.settings import Settings, SettingsError, redact, validate


def settings(**values):
    return Settings(**values)


def test_no_proxy_means_no_variables():
    assert proxy.variables(settings()) == {}


def test_variables_in_both_cases():
    env = proxy.variables(
        settings(docker_http_proxy="http://p:3128", docker_no_proxy=["localhost", ".corp"])
    )
    assert env == {
        "HTTP_PROXY": "http://p:3128",
        "NO_PROXY": "localhost,.corp",
        "http_proxy": "http://p:3128",
        "no_proxy": "localhost,.corp",
    }


def test_systemd_quote_escapes_specifiers_quotes_and_backslashes():
    assert proxy.systemd_quote("HTTP_PROXY=http://u:p%40ss@p") == '"HTTP_PROXY=http://u:p%%40ss@p"'
    assert proxy.systemd_quote('a"b\\c') == '"a\\"b\\\\c"'


def test_env_file_keeps_percent_and_escapes_dollar():
    body = proxy.env_file({"HTTP_PROXY": "http://u:p%40$x@p:1"})
    assert body == 'HTTP_PROXY="http://u:p%40\\$x@p:1"\n'


def test_credentials_detected_in_either_url():
    def secret(**given):
        """apt's drop-in root-only, and dockerd's proxies in a root-only environment file."""
        apt = desired.apt_proxy(settings(**given))
        env_file = desired.proxy_files(settings(**given), desired.Account("/home/j", "j"))[1]
        return apt.mode == "600", env_file.content is not None

    assert secret(docker_http_proxy="http://p:3128") == (False, False)
    assert secret(docker_https_proxy="http://u:secret@p:3128") == (True, True)
    assert secret(docker_http_proxy="http://token@p:3128") == (True, True)


def test_client_config():
    config = json.loads(
        proxy.client_config_json(
            settings(docker_https_proxy="http://p:1", docker_no_proxy=["a", "b"])
        )
    )
    assert config == {"proxies": {"default": {"httpsProxy": "http://p:1", "noProxy": "a,b"}}}


def test_apt_goes_through_the_proxies_and_asks_the_bypass_program_about_each_host():
    conf = proxy.apt_conf(settings(
        docker_http_proxy="http://u:pw@p:3128", docker_https_proxy="http://p:3128",
        docker_no_proxy=["localhost", ".corp", "10.0.0.0/8", "mirror.lan"],
    ))  # fmt: skip
    assert conf.splitlines()[1:] == [
        'Acquire::http::Proxy "http://u:pw@p:3128";',
        'Acquire::https::Proxy "http://p:3128";',
        f'Acquire::http::Proxy-Auto-Detect "{APT_NO_PROXY}";',
        f'Acquire::https::Proxy-Auto-Detect "{APT_NO_PROXY}";',
    ]
    assert proxy.apt_conf(settings()) is None
    off = settings(docker_http_proxy="http://p:3128", docker_apt_proxy=False)
    assert proxy.apt_conf(off) is None and proxy.apt_no_proxy_script(off) is None
    none = settings(docker_http_proxy="http://p:3128", docker_no_proxy=["10.0.0.0/8"])
    assert "Auto-Detect" not in proxy.apt_conf(none) and proxy.apt_no_proxy_script(none) is None


@pytest.mark.parametrize(("url", "direct"), [
    ("http://deb.example.com/debian/dists/x", True),   # a domain, as Docker matches it
    ("https://a.b.example.com:8443/x", True),
    ("http://example.com/x", False),                   # `.example.com`: subdomains only
    ("http://mirror.lan/debian", True),                # a name and its subdomains
    ("http://pkgs.mirror.lan/debian", True),
    ("http://MIRROR.LAN/debian", True),
    ("http://user:pw@deb.corp.internal/x", True),     # `*.corp.internal`
    ("http://deb.debian.org/debian", False),
    ("http://10.1.2.3/debian", False),                 # networks are not matched for apt
    ("http://evilmirror.lan/x", False),
])
def test_apts_bypass_program_says_direct_for_what_docker_no_proxy_names(url, direct, tmp_path):
    import subprocess

    script = proxy.apt_no_proxy_script(settings(
        docker_http_proxy="http://p:3128",
        docker_no_proxy=[".example.com", "mirror.lan", "*.corp.internal", "10.0.0.0/8"],
    ))  # fmt: skip
    (tmp_path / "detect").write_text(script)
    said = subprocess.run(["sh", str(tmp_path / "detect"), url], capture_output=True, text=True)
    assert said.stdout == ("DIRECT\n" if direct else "") and said.returncode == 0


def test_apt_proxy_file_is_root_only_with_credentials():
    from agenthost import desired

    secret = desired.apt_proxy(settings(docker_http_proxy="http://u:pw@p:3128"))
    assert (secret.mode, secret.secret) == ("600", True)
    plain = desired.apt_proxy(settings(docker_http_proxy="http://p:3128"))
    assert (plain.mode, plain.secret) == ("644", False)
@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("http://builder:pa/ss word@proxy.example:3128", "http://builder:pa%2Fss%20word@proxy.example:3128"),
        ("http://TOKEN@proxy.example:3128/", "http://TOKEN@proxy.example:3128/"),
        ("http://u:s3cr%t@proxy.example:3128", "http://u:s3cr%25t@proxy.example:3128"),
    ],
)  # fmt: skip
def test_proxy_passwords_with_slash_or_space_are_percent_encoded_and_never_printed(given, kept):
    assert Settings(docker_http_proxy=given).docker_http_proxy == kept
    shown = redact(f"docker_http_proxi = {given!r}: unknown")
    assert shown.startswith("docker_http_proxi = 'http://***@proxy.example:3128")
    assert given.split("//")[1].split("@")[0] not in shown


def test_daemon_json_holding_credentials_is_root_only_and_secret():
    plain = desired.daemon_json(Settings())
    assert (plain.mode, plain.secret) == ("644", False)
    options = {"proxies": {"http-proxy": "http://u:tok@proxy.example:3128"}}
    secret = desired.daemon_json(Settings(docker_daemon_options=options))
    assert (secret.mode, secret.secret) == ("600", True)


@pytest.mark.parametrize("options", [
    {"log-driver": "splunk", "log-opts": {"splunk-token": "T0K3N", "splunk-url": "https://s:8088"}},
    {"log-driver": "gelf", "log-opts": {"gelf-address": "udp://u:T0K3N@graylog:12201"}},
    {"log-driver": "fluentd", "log-opts": {"fluentd-password": "T0K3N"}},
])  # fmt: skip
def test_daemon_json_with_a_log_drivers_secret_is_root_only_and_masked_in_errors(options):
    file = desired.daemon_json(Settings(docker_daemon_options=options))
    assert (file.mode, file.secret) == ("600", True)
    with pytest.raises(SettingsError) as refused:  # a key in the wrong form: the value is shown
        validate("h", {"docker_daemon_options": {**options, "icc": "no"}}, set())
    assert "T0K3N" not in str(refused.value) and "icc" in str(refused.value)
