"""One JSON-over-HTTP session per forge: timeouts, error messages, token redaction."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from generator.errors import ModelopsError

__all__ = ["DEFAULT_TIMEOUT", "ApiSession", "ForgeError", "redact"]

# (connect, read) seconds: a forge that does not answer must not hang a CI job.
DEFAULT_TIMEOUT = (10.0, 60.0)


class ForgeError(ModelopsError):
    """A forge API call failed; `status` is the HTTP status (0 when no response came)."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


def redact(text: str, secret: str) -> str:
    """`text` with every occurrence of `secret` masked (error text may echo a request)."""
    return text.replace(secret, "***") if secret else text


def _server_message(response: requests.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason or ""
    if isinstance(payload, dict):
        parts = [str(payload.get(key)) for key in ("message", "error") if payload.get(key)]
        for error in payload.get("errors") or []:
            parts.append(str(error.get("message") or error) if isinstance(error, dict) else str(error))
        return "; ".join(parts) or str(payload)[:300]
    return str(payload)[:300]


class ApiSession:
    """Requests against one API base URL with fixed headers; failures become ForgeError."""

    def __init__(
        self,
        forge: str,
        base_url: str,
        headers: Mapping[str, str],
        token: str,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ):
        self.forge = forge
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._session = session or requests.Session()
        # Never let ~/.netrc or proxy variables swap in other credentials.
        self._session.trust_env = False
        self._session.headers.update(headers)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        expected: tuple[int, ...] = (200, 201),
    ) -> Any:
        """Send one request and return the decoded JSON body of an expected response."""
        where = f"{self.forge} API {method} {self.base_url}{path}"
        try:
            response = self._session.request(
                method, self.base_url + path, params=params, json=json, timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise ForgeError(redact(f"{where} failed: {exc}", self._token)) from None
        if response.status_code not in expected:
            raise ForgeError(self._failure(where, response), response.status_code)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ForgeError(f"{where} returned a body that is not JSON") from None

    def _failure(self, where: str, response: requests.Response) -> str:
        message = f"{where} failed: HTTP {response.status_code} {_server_message(response)}".rstrip()
        if response.status_code == 401:
            message += " (check that the token is valid and not expired)"
        elif response.status_code in (403, 404):
            message += " (check the repository path and that the token may access it)"
        return redact(message, self._token)
