"""agenthost.credentials: one rule for what is secret in text."""

from agenthost.credentials import has_credentials, redact


def test_redact_and_has_credentials_agree_on_what_is_secret():
    text = "x http://a:b@h:1 y https://TOKEN@h z http://h:3128"
    assert redact(text) == "x http://***@h:1 y https://***@h z http://h:3128"
    urls = ["http://a:b@h:1", "https://TOKEN@h", "http://h:3128", None]
    assert [has_credentials(url) for url in urls] == [True, True, False, False]
