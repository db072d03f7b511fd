"""Before any check: the server answers and serves the model, within a few seconds. Otherwise one
line that says what is wrong (no scheme, nothing listening, no answer, the key refused, the model
not served: what is served instead), and exit 3, so CI can tell "server down" (3) from "engine
broken" (1)."""
from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from conformance.errors import PreflightError
from conformance.wire.transport import tls_context

MODELS_PATH = "/v1/models"


def check_url(base_url: str) -> None:
    url = urlsplit(base_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise PreflightError(f"{base_url!r} is not an http(s) URL: give the scheme, e.g. http://127.0.0.1:8000")


def preflight(base_url: str, served_model: str, api_key: str | None = None, timeout: float = 3.0) -> str | None:
    """None when the model is listed; a note when the server answers but lists no models (a
    server without /v1/models: the checks still run). Raises PreflightError otherwise."""
    check_url(base_url)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    where = base_url.rstrip("/")
    try:
        with httpx.Client(base_url=where, headers=headers, timeout=httpx.Timeout(timeout), verify=tls_context()) as client:
            resp = client.get(MODELS_PATH)
    except httpx.ConnectError:
        raise PreflightError(f"nothing is listening at {where} (connection refused)") from None
    except httpx.TimeoutException:
        raise PreflightError(f"{where} did not answer GET {MODELS_PATH} within {timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise PreflightError(f"{where}: GET {MODELS_PATH} failed ({type(exc).__name__}: {exc})") from None
    if resp.status_code in (401, 403):
        hint = "the API key was refused" if api_key else "the server wants an API key (--api-key or OPENAI_API_KEY)"
        raise PreflightError(f"{where}: GET {MODELS_PATH} is HTTP {resp.status_code}: {hint}")
    if resp.status_code == 200 and "html" in resp.headers.get("content-type", "").lower():
        # a web page where the model list should be: a file server, a proxy's login page, a UI
        raise PreflightError(f"{where} is not an OpenAI-compatible server: GET {MODELS_PATH} answered an HTML page "
                             f"(HTTP 200), not a model list; check --base-url")
    if resp.status_code != 200:
        return f"{where} answers but lists no models (GET {MODELS_PATH}: HTTP {resp.status_code}); model not confirmed"
    try:
        served = [m.get("id") for m in resp.json().get("data", []) if isinstance(m, dict)]
    except (ValueError, AttributeError):
        return f"{where}: GET {MODELS_PATH} is not a model list; model not confirmed"
    if served_model not in served:
        listed = ", ".join(repr(s) for s in served if s) or "nothing"
        raise PreflightError(f"{where} does not serve model {served_model!r}; it serves: {listed} (pass that name as --model)")
    return None
