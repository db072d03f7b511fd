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
