"""Secrets are redacted from argv however they are passed, and their values found for the logs."""
from conformance.redact import redact_argv, redact_text, secrets_in_argv


def test_secret_flags_in_every_form():
    argv = ["vllm", "--api-key", "k1", "--hf-token=k2", "--engine-arg=--token=k3", "--engine-arg=--api-key",
            "--engine-arg=k4", "--model", "m"]
    assert secrets_in_argv(argv) == ["k1", "k2", "k3", "k4"]
    out = redact_argv(argv)
    assert out[:5] == ["vllm", "--api-key", "***", "--hf-token=***", "--engine-arg=--token=***"]
    assert not {"k1", "k2", "k3", "k4"} & set(" ".join(out).replace("=", " ").split())


def test_a_given_secret_is_redacted_anywhere_in_text():
    assert redact_argv(["tokconf", "--note=Bearer sk-abc"], ["sk-abc"]) == ["tokconf", "--note=Bearer ***"]
    assert redact_text("Authorization: Bearer sk-abcdef", ["sk-abc", "sk-abcdef"]) == "Authorization: Bearer ***"


def test_a_url_password_is_redacted_without_being_registered():
    text = "nothing is listening at http://bob:pa55-w0rd@10.0.0.1:8000/v1 (and https://x:y@h)"
    assert redact_text(text) == "nothing is listening at http://bob:***@10.0.0.1:8000/v1 (and https://x:***@h)"
    assert redact_text("mail bob@example.com, see http://example.com/a@b") == \
        "mail bob@example.com, see http://example.com/a@b"  # no password: nothing to hide


def test_credentials_in_authorization_headers_but_not_prose():
    assert redact_text("headers: {'Authorization': 'Bearer abc.def-123456'}") == "headers: {'Authorization': 'Bearer ***'}"
    assert redact_text("Authorization: Basic dXNlcjpwYXNzd29yZA==") == "Authorization: Basic ***"
    assert redact_text("curl -H 'authorization: bearer sk-live-0123456789'") == "curl -H 'authorization: bearer ***'"
    prose = "Bearer token for the gateway URL (never printed or saved); Bearer authentication"
    assert redact_text(prose) == prose


def test_registered_secrets_go_in_every_escaped_form():
    from conformance.redact import register, registered, secrets_in_url

    secret = 'p"a<ss>&w\\rd'
    register(secret)
    import html
    import json

    for form in (secret, json.dumps(secret)[1:-1], html.escape(secret)):
        assert form in registered()
        assert redact_text(f"x {form} y") == "x *** y"
    assert secrets_in_url("http://u:p%40ss@h") == ["p%40ss", "p@ss"]
    assert secrets_in_url("http://h:80/") == [] and secrets_in_url("http://[bad") == []


def test_a_redacting_stream_redacts_each_write_and_is_otherwise_the_stream():
    import io

    from conformance.redact import RedactingStream, register

    register("hunter2-secret")
    buf = io.StringIO()
    stream = RedactingStream(buf)
    assert stream.write("key hunter2-secret\n") == len("key hunter2-secret\n")
    print("again", "hunter2-secret", file=stream)
    assert buf.getvalue() == "key ***\nagain ***\n"
    assert stream.isatty() is False and stream.getvalue() == buf.getvalue()
