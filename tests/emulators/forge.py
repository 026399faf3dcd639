"""A local, in-memory emulator of the pull-request APIs of GitHub, GitLab and Gitea.

One `ThreadingHTTPServer` on 127.0.0.1 (ephemeral port) serves three API roots:

* ``/api/v3`` - GitHub REST v3 as on GitHub Enterprise Server: ``GET/POST
  /repos/{o}/{r}/pulls``, ``GET/PATCH /repos/{o}/{r}/pulls/{n}``, ``POST/PUT
  /repos/{o}/{r}/issues/{n}/labels``.
* ``/api/v4`` - GitLab v4 merge requests: ``GET/POST /projects/{id}/merge_requests``,
  ``GET/PUT /projects/{id}/merge_requests/{iid}``; ``{id}`` is the URL-encoded path
  (``acme%2Fgitops``), exactly one path segment, as GitLab requires.
* ``/api/v1`` - Gitea v1: ``GET/POST /repos/{o}/{r}/pulls``, ``GET/PATCH
  /repos/{o}/{r}/pulls/{index}``, ``GET/POST /repos/{o}/{r}/labels``.

How strict it is (each rule mirrors what the real service answers):

* Authentication on every request: GitHub ``Authorization: Bearer|token T``, GitLab
  ``PRIVATE-TOKEN: T`` (or Bearer), Gitea ``Authorization: token T`` (or Bearer);
  missing or wrong -> 401 with the service's JSON error (never echoing the token).
* GitHub: a ``body`` over 65,536 characters -> 422 "body is too long"; an ``Accept``
  other than JSON -> 415; an ``X-GitHub-Api-Version`` other than
  2022-11-28 -> 400; a body that is not JSON -> 400 "Problems parsing JSON"; missing
  ``title``/``head``/``base`` -> 422 "Validation Failed" (``missing_field``); a second
  open pull request for the same head/base -> 422 "A pull request already exists for
  owner:branch."; ``head`` filters only in ``owner:branch`` form (else it is ignored).
* GitLab: a body content type other than JSON -> 415; malformed JSON -> 400; missing
  ``source_branch``/``target_branch``/``title`` -> 400 "... is missing"; a second open
  merge request for the same source/target -> 409 "Another open merge request already
  exists for this source branch: !N"; ``labels`` a comma-separated string or a list;
  PUT without any known parameter -> 400.
* Gitea: non-JSON content type or malformed JSON -> 422; missing ``head``/``base``/
  ``title`` -> 422 RequiredError; ``labels`` must be existing label ids (422 otherwise);
  duplicate open pull request -> 409; PATCH answers 201 as Gitea does; lists honour
  ``page``/``limit`` with limit capped at 50 and an ``X-Total-Count`` header.
* Unknown repositories and routes -> 404; unknown methods on known routes -> 405.

Every request is recorded (`requests`) for assertions about what a client sent.
"""
from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.emulators._server import LoopbackServer

GITHUB_BODY_LIMIT = 65_536  # characters of a pull request body; more -> 422

__all__ = ["ForgeEmulator", "HttpEmulator", "HttpError", "RecordedRequest", "Response"]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # raw, still percent-encoded
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


class HttpError(Exception):
    """Raised by a route to answer with `status` and a JSON `payload`."""

    def __init__(self, status: int, payload: Any, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status, self.payload, self.headers = status, payload, headers or {}


Response = tuple[int, Any, dict[str, str]]


class HttpEmulator(LoopbackServer):
    """Base for the JSON emulators: server lifecycle, request recording, one lock for state.

    Subclasses implement `handle(request) -> (status, payload, headers)`; a payload of
    None sends no body. Use as a context manager; `url` is http://127.0.0.1:PORT.
    """

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def handle(self, request: RecordedRequest) -> Response:
        raise NotImplementedError

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)

    def dispatch(self, request: RecordedRequest) -> Response:
        with self._lock:
            self.requests.append(request)
            try:
                return self.handle(request)
            except HttpError as error:
                return error.status, error.payload, error.headers


def _handler_for(emulator: HttpEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in one segment: no 40 ms delayed-ACK stall per request.
        wbufsize = -1
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = RecordedRequest(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            status, payload, headers = emulator.dispatch(request)
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            if payload is not None:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


Route = tuple[str, re.Pattern[str], Callable[..., Response]]


def route(routes: Iterable[Route], request: RecordedRequest, path: str, not_found: Any) -> Response:
    """Call the handler whose pattern matches `path` and whose method matches, else 404/405."""
    allowed = []
    for method, pattern, handler in routes:
        match = pattern.fullmatch(path)
        if match:
            if method == request.method:
                return handler(request, *match.groups())
            allowed.append(method)
    if allowed:
        raise HttpError(405, {"message": "Method Not Allowed"}, {"Allow": ", ".join(allowed)})
    raise HttpError(404, not_found)


@dataclass
class _Repo:
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    labels: dict[int, dict[str, Any]] = field(default_factory=dict)  # gitea: id -> label
    next_number: int = 1


_GH_DOCS = "https://docs.github.com/rest"
_GH_NOT_FOUND = {"message": "Not Found", "documentation_url": _GH_DOCS, "status": "404"}
_GL_NOT_FOUND = {"message": "404 Project Not Found"}
_GT_NOT_FOUND = {"message": "The target couldn't be found.", "url": "", "errors": []}
_HEX_COLOR = re.compile(r"#?[0-9a-fA-F]{6}")


class ForgeEmulator(HttpEmulator):
    """GitHub, GitLab and Gitea pull requests for `repos` ("owner/name"), accepting `token`."""

    def __init__(self, token: str = "test-token", repos: Iterable[str] = ("acme/gitops",)):
        super().__init__()
        self.token = token
        self._repos = {(flavor, name): _Repo() for flavor in ("github", "gitlab", "gitea") for name in repos}
        self._next_label_id = 1
        repo = r"/repos/([^/]+)/([^/]+)"
        self._github: list[Route] = [
            ("GET", re.compile(repo + r"/pulls"), self._gh_list),
            ("POST", re.compile(repo + r"/pulls"), self._gh_create),
            ("GET", re.compile(repo + r"/pulls/(\d+)"), self._gh_get),
            ("PATCH", re.compile(repo + r"/pulls/(\d+)"), self._gh_update),
            ("POST", re.compile(repo + r"/issues/(\d+)/labels"), self._gh_add_labels),
            ("PUT", re.compile(repo + r"/issues/(\d+)/labels"), self._gh_set_labels),
        ]
        mrs = r"/projects/([^/]+)/merge_requests"
        self._gitlab: list[Route] = [
            ("GET", re.compile(mrs), self._gl_list),
            ("POST", re.compile(mrs), self._gl_create),
            ("GET", re.compile(mrs + r"/(\d+)"), self._gl_get),
            ("PUT", re.compile(mrs + r"/(\d+)"), self._gl_update),
        ]
        self._gitea: list[Route] = [
            ("GET", re.compile(repo + r"/pulls"), self._gt_list),
            ("POST", re.compile(repo + r"/pulls"), self._gt_create),
            ("GET", re.compile(repo + r"/pulls/(\d+)"), self._gt_get),
            ("PATCH", re.compile(repo + r"/pulls/(\d+)"), self._gt_update),
            ("GET", re.compile(repo + r"/labels"), self._gt_list_labels),
            ("POST", re.compile(repo + r"/labels"), self._gt_create_label),
        ]

    # -- helpers for tests -------------------------------------------------------------

    def pulls(self, flavor: str, repo: str) -> list[dict[str, Any]]:
        """The stored pull/merge requests of one repository, in creation order."""
        with self._lock:
            return [dict(p) for p in self._repos[(flavor, repo)].pulls.values()]

    def close(self, flavor: str, repo: str, number: int) -> None:
        with self._lock:
            pull = self._repos[(flavor, repo)].pulls[number]
            pull["state"] = "closed"

    # -- dispatch ----------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Response:
        for prefix, check, routes, not_found in (
            ("/api/v3", self._gh_auth, self._github, _GH_NOT_FOUND),
            ("/api/v4", self._gl_auth, self._gitlab, {"error": "404 Not Found"}),
            ("/api/v1", self._gt_auth, self._gitea, _GT_NOT_FOUND),
        ):
            if request.path.startswith(prefix + "/"):
                check(request)
                return route(routes, request, request.path[len(prefix):], not_found)
        raise HttpError(404, {"message": "Not Found"})

    def _repo(self, flavor: str, owner: str, name: str, not_found: Any) -> _Repo:
        repo = self._repos.get((flavor, f"{unquote(owner)}/{unquote(name)}"))
        if repo is None:
            raise HttpError(404, not_found)
        return repo

    def _bearer_or(self, request: RecordedRequest, scheme: str) -> str | None:
        value = request.headers.get("authorization")
        if value is None:
            return None
        kind, _, credential = value.partition(" ")
        return credential if kind.lower() in ("bearer", scheme) else ""

    # -- GitHub ------------------------------------------------------------------------

    def _gh_auth(self, request: RecordedRequest) -> None:
        credential = self._bearer_or(request, "token")
        if credential is None:
            raise HttpError(401, {"message": "Requires authentication", "documentation_url": _GH_DOCS})
        if credential != self.token:
            raise HttpError(401, {"message": "Bad credentials", "documentation_url": _GH_DOCS, "status": "401"})
        accept = request.headers.get("accept", "application/vnd.github+json")
        if not any(kind in accept for kind in ("application/vnd.github", "application/json", "*/*")):
            raise HttpError(415, {"message": f"Unsupported 'Accept' header: {accept!r}", "documentation_url": _GH_DOCS})
        version = request.headers.get("x-github-api-version", "2022-11-28")
        if version != "2022-11-28":
            raise HttpError(400, {"message": f"API version {version!r} is not supported.", "documentation_url": _GH_DOCS})

    def _gh_body(self, request: RecordedRequest) -> dict[str, Any]:
        if request.content_type not in ("application/json", "application/vnd.github+json"):
            raise HttpError(415, {"message": "Unsupported Media Type", "documentation_url": _GH_DOCS})
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            raise HttpError(400, {"message": "Problems parsing JSON", "documentation_url": _GH_DOCS}) from None
        if not isinstance(body, dict):
            raise HttpError(400, {"message": "Body should be a JSON object", "documentation_url": _GH_DOCS})
        return body

    def _gh_invalid(self, errors: list[dict[str, Any]]) -> HttpError:
        return HttpError(422, {"message": "Validation Failed", "errors": errors, "documentation_url": _GH_DOCS})

    def _gh_view(self, owner: str, name: str, pull: dict[str, Any]) -> dict[str, Any]:
        number = pull["number"]
        return {
            "id": 1000 + number,
            "number": number,
            "state": pull["state"],
            "title": pull["title"],
            "body": pull["body"],
            "url": f"{self.url}/api/v3/repos/{owner}/{name}/pulls/{number}",
            "html_url": f"{self.url}/{owner}/{name}/pull/{number}",
            "head": {"ref": pull["head"], "label": f"{owner}:{pull['head']}", "sha": "0" * 40},
            "base": {"ref": pull["base"], "label": f"{owner}:{pull['base']}", "sha": "0" * 40},
            "labels": [self._gh_label(label) for label in pull["labels"]],
            "draft": False,
        }

    @staticmethod
    def _gh_label(name: str) -> dict[str, Any]:
        return {"id": abs(hash(name)) % 10**8, "name": name, "color": "ededed", "default": False, "description": None}

    def _gh_list(self, request: RecordedRequest, owner: str, name: str) -> Response:
        repo = self._repo("github", owner, name, _GH_NOT_FOUND)
        state = request.param("state", "open")
        if state not in ("open", "closed", "all"):
            raise self._gh_invalid([{"resource": "PullRequest", "field": "state", "code": "invalid"}])
        head, base = request.param("head"), request.param("base")
        # Only "owner:branch" filters; a bare branch name is silently ignored by GitHub.
        head_ref = head.split(":", 1)[1] if head and ":" in head and head.split(":", 1)[0] == unquote(owner) else None
        if head and ":" in head and head_ref is None:
            return 200, [], {}
        per_page = min(int(request.param("per_page", "30") or 30), 100)
        page = max(int(request.param("page", "1") or 1), 1)
        found = [
            self._gh_view(owner, name, p)
            for p in repo.pulls.values()
            if (state == "all" or p["state"] == state)
            and (head_ref is None or p["head"] == head_ref)
            and (base is None or p["base"] == base)
        ]
        return 200, found[(page - 1) * per_page:page * per_page], {}

    def _gh_create(self, request: RecordedRequest, owner: str, name: str) -> Response:
        repo = self._repo("github", owner, name, _GH_NOT_FOUND)
        body = self._gh_body(request)
        missing = [key for key in ("title", "head", "base") if not isinstance(body.get(key), str) or not body[key]]
        if missing:
            raise self._gh_invalid([{"resource": "PullRequest", "field": k, "code": "missing_field"} for k in missing])
        head = body["head"].split(":", 1)[-1]
        if head == body["base"]:
            raise self._gh_invalid([{"resource": "PullRequest", "code": "custom",
                                     "message": f"No commits between {body['base']} and {head}"}])
        for pull in repo.pulls.values():
            if pull["state"] == "open" and pull["head"] == head and pull["base"] == body["base"]:
                raise self._gh_invalid([{"resource": "PullRequest", "code": "custom",
                                         "message": f"A pull request already exists for {owner}:{head}."}])
        self._gh_body_limit(body)
        pull = self._store(repo, head, body["base"], body["title"], body.get("body") or "", [])
        view = self._gh_view(owner, name, pull)
        return 201, view, {"Location": view["url"]}

    def _gh_body_limit(self, body: dict[str, Any]) -> None:
        if len(body.get("body") or "") > GITHUB_BODY_LIMIT:
            raise self._gh_invalid([{"resource": "Issue", "code": "custom", "field": "body",
                                     "message": f"body is too long (maximum is {GITHUB_BODY_LIMIT} characters)"}])

    def _gh_pull(self, owner: str, name: str, number: str) -> dict[str, Any]:
        pull = self._repo("github", owner, name, _GH_NOT_FOUND).pulls.get(int(number))
        if pull is None:
            raise HttpError(404, _GH_NOT_FOUND)
        return pull

    def _gh_get(self, request: RecordedRequest, owner: str, name: str, number: str) -> Response:
        return 200, self._gh_view(owner, name, self._gh_pull(owner, name, number)), {}

    def _gh_update(self, request: RecordedRequest, owner: str, name: str, number: str) -> Response:
        pull = self._gh_pull(owner, name, number)
        body = self._gh_body(request)
        for key in ("title", "body", "base"):
            if key in body and not isinstance(body[key], str):
                raise self._gh_invalid([{"resource": "PullRequest", "field": key, "code": "invalid"}])
        if "state" in body and body["state"] not in ("open", "closed"):
            raise self._gh_invalid([{"resource": "PullRequest", "field": "state", "code": "invalid"}])
        self._gh_body_limit(body)
        pull.update({k: body[k] for k in ("title", "body", "base", "state") if k in body})
        return 200, self._gh_view(owner, name, pull), {}

    def _gh_label_names(self, request: RecordedRequest) -> list[str]:
        body = self._gh_body(request)
        labels = body.get("labels")
        if not isinstance(labels, list) or not labels:
            raise self._gh_invalid([{"resource": "Label", "field": "labels", "code": "missing_field"}])
        names = [label["name"] if isinstance(label, dict) else label for label in labels]
        if not all(isinstance(n, str) and n for n in names):
            raise self._gh_invalid([{"resource": "Label", "field": "labels", "code": "invalid"}])
        return names

    def _gh_add_labels(self, request: RecordedRequest, owner: str, name: str, number: str) -> Response:
        pull = self._gh_pull(owner, name, number)
        pull["labels"] += [n for n in self._gh_label_names(request) if n not in pull["labels"]]
        return 200, [self._gh_label(n) for n in pull["labels"]], {}

    def _gh_set_labels(self, request: RecordedRequest, owner: str, name: str, number: str) -> Response:
        pull = self._gh_pull(owner, name, number)
        pull["labels"] = list(dict.fromkeys(self._gh_label_names(request)))
        return 200, [self._gh_label(n) for n in pull["labels"]], {}

    # -- GitLab ------------------------------------------------------------------------

    def _gl_auth(self, request: RecordedRequest) -> None:
        credential = request.headers.get("private-token")
        if credential is None:
            credential = self._bearer_or(request, "bearer")
        if credential != self.token:
            raise HttpError(401, {"message": "401 Unauthorized"})

    def _gl_body(self, request: RecordedRequest) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise HttpError(415, {"error": f"The provided content-type '{request.content_type}' is not supported."})
        try:
            body = json.loads(request.body or b"null")
        except ValueError as exc:
            raise HttpError(400, {"error": f"{exc}"}) from None
        if not isinstance(body, dict):
            raise HttpError(400, {"error": "body is invalid"})
        return body

    def _gl_project(self, project: str) -> tuple[str, _Repo]:
        path = unquote(project)
        if "/" not in path:
            raise HttpError(404, _GL_NOT_FOUND)
        owner, name = path.split("/", 1)
        return path, self._repo("gitlab", owner, name, _GL_NOT_FOUND)

    def _gl_view(self, path: str, pull: dict[str, Any]) -> dict[str, Any]:
        iid = pull["number"]
        return {
            "id": 5000 + iid,
            "iid": iid,
            "project_id": 42,
            "title": pull["title"],
            "description": pull["body"],
            "state": "opened" if pull["state"] == "open" else pull["state"],
            "source_branch": pull["head"],
            "target_branch": pull["base"],
            "labels": list(pull["labels"]),
            "web_url": f"{self.url}/{path}/-/merge_requests/{iid}",
        }

    @staticmethod
    def _gl_labels(value: Any) -> list[str]:
        if isinstance(value, str):
            names = [n.strip() for n in value.split(",")]
        elif isinstance(value, list) and all(isinstance(n, str) for n in value):
            names = [n.strip() for n in value]
        else:
            raise HttpError(400, {"error": "labels is invalid"})
        return [n for n in dict.fromkeys(names) if n]

    def _gl_list(self, request: RecordedRequest, project: str) -> Response:
        path, repo = self._gl_project(project)
        state = request.param("state", "all")
        if state not in ("opened", "closed", "locked", "merged", "all"):
            raise HttpError(400, {"error": "state does not have a valid value"})
        source, target = request.param("source_branch"), request.param("target_branch")
        found = [
            self._gl_view(path, p)
            for p in reversed(repo.pulls.values())
            if (state == "all" or self._gl_view(path, p)["state"] == state)
            and (source is None or p["head"] == source)
            and (target is None or p["base"] == target)
        ]
        return 200, found, {}

    def _gl_create(self, request: RecordedRequest, project: str) -> Response:
        path, repo = self._gl_project(project)
        body = self._gl_body(request)
        missing = [k for k in ("source_branch", "target_branch", "title") if not isinstance(body.get(k), str)]
        if missing:
            raise HttpError(400, {"error": ", ".join(f"{k} is missing" for k in missing)})
        for pull in repo.pulls.values():
            if pull["state"] == "open" and pull["head"] == body["source_branch"] and pull["base"] == body["target_branch"]:
                raise HttpError(409, {"message": [
                    f"Another open merge request already exists for this source branch: !{pull['number']}"]})
        labels = self._gl_labels(body["labels"]) if "labels" in body else []
        pull = self._store(repo, body["source_branch"], body["target_branch"], body["title"],
                           body.get("description") or "", labels)
        return 201, self._gl_view(path, pull), {}

    def _gl_pull(self, project: str, iid: str) -> tuple[str, dict[str, Any]]:
        path, repo = self._gl_project(project)
        pull = repo.pulls.get(int(iid))
        if pull is None:
            raise HttpError(404, {"message": "404 Not found"})
        return path, pull

    def _gl_get(self, request: RecordedRequest, project: str, iid: str) -> Response:
        return 200, self._gl_view(*self._gl_pull(project, iid)), {}

    def _gl_update(self, request: RecordedRequest, project: str, iid: str) -> Response:
        path, pull = self._gl_pull(project, iid)
        body = self._gl_body(request)
        known = ("title", "description", "labels", "add_labels", "remove_labels", "state_event", "target_branch")
        if not any(k in body for k in known):
            raise HttpError(400, {"error": f"{', '.join(known)} are missing, at least one parameter must be provided"})
        for key, attribute in (("title", "title"), ("description", "body"), ("target_branch", "base")):
            if key in body:
                if not isinstance(body[key], str):
                    raise HttpError(400, {"error": f"{key} is invalid"})
                pull[attribute] = body[key]
        if "labels" in body:
            pull["labels"] = self._gl_labels(body["labels"])
        if "add_labels" in body:
            pull["labels"] += [n for n in self._gl_labels(body["add_labels"]) if n not in pull["labels"]]
        if "remove_labels" in body:
            drop = set(self._gl_labels(body["remove_labels"]))
            pull["labels"] = [n for n in pull["labels"] if n not in drop]
        if body.get("state_event") == "close":
            pull["state"] = "closed"
        return 200, self._gl_view(path, pull), {}

    # -- Gitea -------------------------------------------------------------------------

    def _gt_auth(self, request: RecordedRequest) -> None:
        credential = self._bearer_or(request, "token")
        if credential is None:
            raise HttpError(401, {"message": "token is required", "url": ""})
        if credential != self.token:
            raise HttpError(401, {"message": "user does not exist [uid: 0, name: ]", "url": ""})

    def _gt_body(self, request: RecordedRequest) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise HttpError(422, [{"fieldNames": [], "classification": "ContentTypeError",
                                   "message": "Unsupported Content-Type"}])
        try:
            body = json.loads(request.body or b"null")
        except ValueError as exc:
            raise HttpError(422, [{"fieldNames": [], "classification": "DeserializationError",
                                   "message": str(exc)}]) from None
        if not isinstance(body, dict):
            raise HttpError(422, [{"fieldNames": [], "classification": "DeserializationError",
                                   "message": "expected a JSON object"}])
        return body

    @staticmethod
    def _gt_required(body: dict[str, Any], keys: Iterable[str]) -> None:
        missing = [k for k in keys if not isinstance(body.get(k), str) or not body[k]]
        if missing:
            raise HttpError(422, [{"fieldNames": [k.capitalize() for k in missing],
                                   "classification": "RequiredError", "message": "Required"}])

    def _gt_view(self, owner: str, name: str, repo: _Repo, pull: dict[str, Any]) -> dict[str, Any]:
        number = pull["number"]
        return {
            "id": 2000 + number,
            "number": number,
            "state": pull["state"],
            "title": pull["title"],
            "body": pull["body"],
            "url": f"{self.url}/{owner}/{name}/pulls/{number}",
            "html_url": f"{self.url}/{owner}/{name}/pulls/{number}",
            "head": {"ref": pull["head"], "label": pull["head"]},
            "base": {"ref": pull["base"], "label": pull["base"]},
            "labels": [repo.labels[i] for i in pull["labels"]],
        }

    def _gt_label_ids(self, repo: _Repo, value: Any) -> list[int]:
        if not isinstance(value, list) or not all(isinstance(i, int) for i in value):
            raise HttpError(422, [{"fieldNames": ["Labels"], "classification": "DeserializationError",
                                   "message": "labels must be a list of label ids"}])
        unknown = [i for i in value if i not in repo.labels]
        if unknown:
            raise HttpError(422, {"message": f"label does not exist [id: {unknown[0]}]", "url": ""})
        return list(dict.fromkeys(value))

    @staticmethod
    def _page(request: RecordedRequest, items: list[Any]) -> Response:
        page = max(int(request.param("page", "1") or 1), 1)
        limit = min(max(int(request.param("limit", "30") or 30), 1), 50)
        return 200, items[(page - 1) * limit: page * limit], {"X-Total-Count": str(len(items))}

    def _gt_list(self, request: RecordedRequest, owner: str, name: str) -> Response:
        repo = self._repo("gitea", owner, name, _GT_NOT_FOUND)
        state = request.param("state", "open")
        if state not in ("open", "closed", "all"):
            raise HttpError(422, {"message": f"invalid state {state!r}", "url": ""})
        found = [self._gt_view(owner, name, repo, p) for p in reversed(repo.pulls.values())
                 if state == "all" or p["state"] == state]
        return self._page(request, found)

    def _gt_create(self, request: RecordedRequest, owner: str, name: str) -> Response:
        repo = self._repo("gitea", owner, name, _GT_NOT_FOUND)
        body = self._gt_body(request)
        self._gt_required(body, ("head", "base", "title"))
        labels = self._gt_label_ids(repo, body.get("labels") or [])
        for pull in repo.pulls.values():
            if pull["state"] == "open" and pull["head"] == body["head"] and pull["base"] == body["base"]:
                raise HttpError(409, {"message": (
                    f"pull request already exists for these targets [id: {2000 + pull['number']}, "
                    f"issue_id: {pull['number']}, head_repo_id: 1, base_repo_id: 1, "
                    f"head_branch: {pull['head']}, base_branch: {pull['base']}]"), "url": ""})
        pull = self._store(repo, body["head"], body["base"], body["title"], body.get("body") or "", labels)
        return 201, self._gt_view(owner, name, repo, pull), {}

    def _gt_pull(self, owner: str, name: str, number: str) -> tuple[_Repo, dict[str, Any]]:
        repo = self._repo("gitea", owner, name, _GT_NOT_FOUND)
        pull = repo.pulls.get(int(number))
        if pull is None:
            raise HttpError(404, _GT_NOT_FOUND)
        return repo, pull

    def _gt_get(self, request: RecordedRequest, owner: str, name: str, number: str) -> Response:
        repo, pull = self._gt_pull(owner, name, number)
        return 200, self._gt_view(owner, name, repo, pull), {}

    def _gt_update(self, request: RecordedRequest, owner: str, name: str, number: str) -> Response:
        repo, pull = self._gt_pull(owner, name, number)
        body = self._gt_body(request)
        for key, attribute in (("title", "title"), ("body", "body"), ("base", "base"), ("state", "state")):
            if key in body:
                if not isinstance(body[key], str):
                    raise HttpError(422, [{"fieldNames": [key.capitalize()], "classification": "DeserializationError",
                                           "message": f"{key} must be a string"}])
                pull[attribute] = body[key]
        if "labels" in body:
            pull["labels"] = self._gt_label_ids(repo, body["labels"])
        return 201, self._gt_view(owner, name, repo, pull), {}

    def _gt_list_labels(self, request: RecordedRequest, owner: str, name: str) -> Response:
        repo = self._repo("gitea", owner, name, _GT_NOT_FOUND)
        return self._page(request, list(repo.labels.values()))

    def _gt_create_label(self, request: RecordedRequest, owner: str, name: str) -> Response:
        repo = self._repo("gitea", owner, name, _GT_NOT_FOUND)
        body = self._gt_body(request)
        self._gt_required(body, ("name", "color"))
        if not _HEX_COLOR.fullmatch(body["color"]):
            raise HttpError(422, {"message": f"invalid color {body['color']!r}", "url": ""})
        label = {"id": self._next_label_id, "name": body["name"], "color": body["color"].lstrip("#"),
                 "description": body.get("description") or "", "exclusive": False}
        self._next_label_id += 1
        repo.labels[label["id"]] = label
        return 201, label, {}

    # -- shared ------------------------------------------------------------------------

    @staticmethod
    def _store(repo: _Repo, head: str, base: str, title: str, body: str, labels: list[Any]) -> dict[str, Any]:
        pull = {"number": repo.next_number, "state": "open", "head": head, "base": base,
                "title": title, "body": body, "labels": labels}
        repo.pulls[repo.next_number] = pull
        repo.next_number += 1
        return pull
