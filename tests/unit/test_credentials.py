"""agenthost.credentials: one rule for what is secret in text."""

import json
import subprocess
from pathlib import Path

import pytest

from agenthost.credentials import has_credentials, has_secrets, masked, proxy_url, redact


def test_redact_and_has_credentials_agree_on_what_is_secret():
    text = "x http://a:b@h:1 y https://TOKEN@h z http://h:3128"
    assert redact(text) == "x http://***@h:1 y https://***@h z http://h:3128"
    urls = ["http://a:b@h:1", "https://TOKEN@h", "http://h:3128", None]
    assert [has_credentials(url) for url in urls] == [True, True, False, False]


# Every character RFC 3986 allows in userinfo (unreserved, %-escapes, sub-delims, ":"), and what
# an operator may type raw before the settings encode it.
PASSWORDS = ["p%40ss", "a;b:c&d=e+f$g,h", "x!y~z*w", "it's", "(paren)", 'q"uote', "sp ace",
             "sl/ash", "at@sign", "back\\slash", "ha#sh?"]  # fmt: skip


@pytest.mark.parametrize("password", PASSWORDS)
def test_every_password_userinfo_allows_is_found_and_masked_as_typed_and_as_json(password):
    url = f"http://user:{password}@proxy.example:3128"
    for text in (url, repr(url), json.dumps({"proxies": {"http-proxy": url}}, indent=2),
                 f"x {url} y http://other@h z"):  # fmt: skip
        assert has_credentials(text)
        shown = redact(text)
        assert password not in shown and "user" not in shown and "http://***@proxy" in shown


def test_a_url_without_userinfo_is_left_alone():
    # (A later "@" on the same line would be taken for one: a password may hold a space.)
    text = "image@sha256:" + "a" * 64 + " from http://h:3128/x\ngit@example.com"
    assert not has_credentials(text) and redact(text) == text


def test_options_named_for_secrets_are_masked_at_any_depth():
    options = {"log-driver": "splunk", "log-opts": {"splunk-token": "T0K", "tag": "x"},
               "labels": [{"db_password": "pw"}]}  # fmt: skip
    assert masked(options) == {"log-driver": "splunk",
                               "log-opts": {"splunk-token": "***", "tag": "x"},
                               "labels": [{"db_password": "***"}]}  # fmt: skip
    assert has_secrets(options) and not has_secrets({"log-opts": {"max-size": "10m"}})


def test_a_proxy_password_is_encoded_where_userinfo_does_not_allow_it_raw():
    given = 'http://us er:q"u\\o%41%zz/@é;&=+$,!~*\'()@proxy:3128'
    assert proxy_url(given) == (
        "http://us%20er:q%22u%5Co%41%25zz%2F%40%C3%A9;&=+$,!~*'()@proxy:3128"
    )
    assert proxy_url("http://proxy:3128/") == "http://proxy:3128/"


def test_secret_files_beside_the_inventory_are_never_committed():
    repo = Path(__file__).resolve().parents[2]
    ignored = subprocess.run(["git", "-C", str(repo), "check-ignore", "-q", "secrets/ci.env"])
    assert ignored.returncode == 0, "secrets/ belongs in .gitignore"
