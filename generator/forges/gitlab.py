"""GitLab (gitlab.com and self-managed) merge requests through API v4."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import requests

from generator.forges._http import ApiSession
from generator.forges.base import PullRequest

__all__ = ["GITLAB_API", "GitLab"]

GITLAB_API = "https://gitlab.com/api/v4"
_PAGE = 100


class GitLab:
    """Merge requests of project `group[/subgroup...]/name`; `api_url` ends in /api/v4."""

    name = "gitlab"

    def __init__(
        self, repo: str, token: str, api_url: str = GITLAB_API, *, session: requests.Session | None = None
    ):
        self.project = repo
        headers = {"PRIVATE-TOKEN": token, "Accept": "application/json", "User-Agent": "modelops"}
        self._api = ApiSession("GitLab", api_url, headers, token, session=session)
        # The project path is one URL segment: every "/" of a nested group is encoded.
        self._prefix = f"/projects/{quote(repo, safe='')}/merge_requests"

    def find_open_pull_request(self, head: str, base: str) -> PullRequest | None:
        params = {"state": "opened", "source_branch": head, "target_branch": base, "per_page": 100}
        for merge_request in self._api.request("GET", self._prefix, params=params, expected=(200,)):
            if merge_request["source_branch"] == head and merge_request["target_branch"] == base:
                return _pull_request(merge_request)
        return None

    def list_open_pull_requests(self) -> list[PullRequest]:
        pulls: list[PullRequest] = []
        for page in range(1, 101):
            params = {"state": "opened", "per_page": _PAGE, "page": page}
            batch = self._api.request("GET", self._prefix, params=params, expected=(200,))
            pulls += [_pull_request(merge_request) for merge_request in batch]
            if len(batch) < _PAGE:
                break
        return pulls

    def create_pull_request(
        self, head: str, base: str, title: str, body: str, labels: Sequence[str] = ()
    ) -> PullRequest:
        payload: dict[str, Any] = {
            "source_branch": head,
            "target_branch": base,
            "title": title,
            "description": body,
        }
        if labels:
            payload["labels"] = ",".join(labels)
        return _pull_request(self._api.request("POST", self._prefix, json=payload, expected=(201,)))

    def update_pull_request(
        self, number: int, title: str, body: str, labels: Sequence[str] = ()
    ) -> PullRequest:
        payload: dict[str, Any] = {"title": title, "description": body}
        if labels:
            # `labels` would replace the set; `add_labels` keeps what reviewers added.
            payload["add_labels"] = ",".join(labels)
        merge_request = self._api.request("PUT", f"{self._prefix}/{number}", json=payload, expected=(200,))
        return _pull_request(merge_request)


def _pull_request(merge_request: dict[str, Any]) -> PullRequest:
    return PullRequest(
        number=int(merge_request["iid"]),
        url=merge_request.get("web_url", ""),
        head=merge_request["source_branch"],
        base=merge_request["target_branch"],
        title=merge_request.get("title") or "",
        body=merge_request.get("description") or "",
        labels=tuple(merge_request.get("labels") or ()),
    )
