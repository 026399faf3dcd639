"""A smart-HTTP git server for tests: `git http-backend` as CGI behind a local HTTP server.

Bare repositories under `root` are served at http://127.0.0.1:PORT/<name>.git for clone,
fetch and push (``http.receivepack`` is turned on, ``GIT_HTTP_EXPORT_ALL`` exports every
repository). With `auth=(user, password)` every request needs that HTTP Basic credential
(401 with a ``WWW-Authenticate`` challenge otherwise), which lets tests check how a client
hands a token to git. Request bodies may be chunked or gzip-encoded, as git sends them.

    with GitHttpServer(tmp_path / "srv", auth=("x-access-token", "t0ken")) as server:
        init_bare(server.root, "gitops")
        git.Repo.clone_from(server.repo_url("gitops"), tmp_path / "clone", env=...)
"""
from __future__ import annotations

import base64
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from tests.emulators._server import LoopbackServer

__all__ = ["GitHttpServer", "GitRequest", "init_bare", "isolated_git_env"]

GIT = shutil.which("git") or "git"


@dataclass(frozen=True)
class GitRequest:
    method: str
    path: str
    query: str
    user: str | None  # the Basic-auth user, None when no credential was sent
    status: int
    chunked: bool = False


def isolated_git_env(home: Path) -> dict[str, str]:
    """Environment for git in tests: no system/global config, no prompts, fixed identity."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="",
        GIT_AUTHOR_NAME="modelops-test",
        GIT_AUTHOR_EMAIL="modelops-test@example.invalid",
        GIT_COMMITTER_NAME="modelops-test",
        GIT_COMMITTER_EMAIL="modelops-test@example.invalid",
    )
    return env


def init_bare(root: Path, name: str, initial_branch: str = "main") -> Path:
    """Create the bare repository `root/<name>.git` (HEAD on `initial_branch`)."""
    path = root / f"{name}.git"
    env = isolated_git_env(root / ".home")
    subprocess.run([GIT, "init", "--quiet", "--bare", f"--initial-branch={initial_branch}", str(path)],
                   check=True, env=env)
    return path


def _backend_env(root: Path, handler: BaseHTTPRequestHandler, user: str | None, length: int) -> dict[str, str]:
    parts = urlsplit(handler.path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k in ("PATH", "LANG", "LC_ALL")}
    env.update(
        GIT_PROJECT_ROOT=str(root),
        GIT_HTTP_EXPORT_ALL="1",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        HOME=str(root),
        # Pushing over HTTP is off by default unless REMOTE_USER is set; tests push anonymously too.
        GIT_CONFIG_COUNT="1",
        GIT_CONFIG_KEY_0="http.receivepack",
        GIT_CONFIG_VALUE_0="true",
        GATEWAY_INTERFACE="CGI/1.1",
        SERVER_PROTOCOL="HTTP/1.1",
        REQUEST_METHOD=handler.command,
        PATH_INFO=parts.path,
        QUERY_STRING=parts.query,
        CONTENT_TYPE=handler.headers.get("Content-Type", ""),
        CONTENT_LENGTH=str(length),
        REMOTE_ADDR=handler.client_address[0],
    )
    if user:
        env["REMOTE_USER"] = user
    if handler.headers.get("Content-Encoding"):
        env["HTTP_CONTENT_ENCODING"] = handler.headers["Content-Encoding"]
    if handler.headers.get("Git-Protocol"):
        env["GIT_PROTOCOL"] = handler.headers["Git-Protocol"]
    return env


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _split_cgi(output: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    head, sep, body = output.partition(b"\r\n\r\n")
    if not sep:
        head, _, body = output.partition(b"\n\n")
    status, headers = 200, []
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            headers.append((name.strip(), value.strip()))
    return status, headers, body


class GitHttpServer(LoopbackServer):
    """Serve the bare repositories under `root` over smart HTTP on 127.0.0.1 (ephemeral port)."""

    def __init__(self, root: Path, auth: tuple[str, str] | None = None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.auth = auth
        self.requests: list[GitRequest] = []
        self._lock = threading.Lock()

    def repo_url(self, name: str, credentials: tuple[str, str] | None = None) -> str:
        """URL of `<name>.git`, with `user:password@` when `credentials` are given."""
        if credentials is None:
            return f"{self.url}/{name}.git"
        user, password = (quote(part, safe="") for part in credentials)
        return f"{self.url.replace('http://', f'http://{user}:{password}@')}/{name}.git"

    def _user(self, header: str | None) -> tuple[str | None, bool]:
        """(user named by the Authorization header, whether the request may proceed)."""
        user = password = None
        if header and header.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
            except ValueError:
                user = None
        allowed = self.auth is None or (user, password) == self.auth
        return user, allowed

    def _record(self, handler: BaseHTTPRequestHandler, user: str | None, status: int) -> None:
        parts = urlsplit(handler.path)
        chunked = handler.headers.get("Transfer-Encoding", "").lower() == "chunked"
        with self._lock:
            self.requests.append(GitRequest(handler.command, parts.path, parts.query, user, status, chunked))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                body = _read_body(self)
                user, allowed = server._user(self.headers.get("Authorization"))
                if not allowed:
                    server._record(self, user, 401)
                    self._reply(401, [("WWW-Authenticate", 'Basic realm="git"')], b"authentication required\n")
                    return
                env = _backend_env(server.root, self, user, len(body))
                result = subprocess.run([GIT, "http-backend"], input=body, env=env, capture_output=True, check=False)
                status, headers, payload = _split_cgi(result.stdout)
                if result.returncode != 0 and status == 200:
                    status, headers, payload = 500, [("Content-Type", "text/plain")], result.stderr
                server._record(self, user, status)
                self._reply(status, headers, payload)

            def _reply(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("content-length", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
