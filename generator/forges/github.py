"""GitHub (github.com and GitHub Enterprise Server) pull requests through REST v3."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests

from generator.forges._http import ApiSession
from generator.forges.base import PullRequest, matching_github_shape_pull, pull_request_from_github_shape

__all__ = ["GITHUB_API", "GitHub"]

GITHUB_API = "https://api.github.com"
_PAGE = 100


class GitHub:
    """Pull requests of `owner/repo`; `api_url` is https://HOST/api/v3 on Enterprise Server."""

    name = "github"

    def __init__(
        self, repo: str, token: str, api_url: str = GITHUB_API, *, session: requests.Session | None = None
    ):
        self.owner, self.repo = repo.split("/", 1)
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "modelops",
        }
        self._api = ApiSession("GitHub", api_url, headers, token, session=session)
        self._prefix = f"/repos/{self.owner}/{self.repo}"

    def find_open_pull_request(self, head: str, base: str) -> PullRequest | None:
        # `head` must be qualified "owner:branch" or GitHub ignores the filter.
        params = {"state": "open", "head": f"{self.owner}:{head}", "base": base, "per_page": 100}
        pulls = self._api.request("GET", f"{self._prefix}/pulls", params=params, expected=(200,))
        return matching_github_shape_pull(pulls, head, base)

    def list_open_pull_requests(self) -> list[PullRequest]:
        pulls: list[PullRequest] = []
        for page in range(1, 101):
            params = {"state": "open", "per_page": _PAGE, "page": page}
            batch = self._api.request("GET", f"{self._prefix}/pulls", params=params, expected=(200,))
            pulls += [_pull_request(pull) for pull in batch]
            if len(batch) < _PAGE:
                break
        return pulls

    def create_pull_request(
        self, head: str, base: str, title: str, body: str, labels: Sequence[str] = ()
    ) -> PullRequest:
        payload = {"title": title, "head": head, "base": base, "body": body}
        pull = self._api.request("POST", f"{self._prefix}/pulls", json=payload, expected=(201,))
        return self._with_labels(pull, labels)

    def update_pull_request(
        self, number: int, title: str, body: str, labels: Sequence[str] = ()
    ) -> PullRequest:
        payload = {"title": title, "body": body}
        pull = self._api.request("PATCH", f"{self._prefix}/pulls/{number}", json=payload, expected=(200,))
        return self._with_labels(pull, labels)

    def _with_labels(self, pull: dict[str, Any], labels: Sequence[str]) -> PullRequest:
        if labels:
            # Pull requests are issues for labels; POST adds and keeps existing labels.
            path = f"{self._prefix}/issues/{pull['number']}/labels"
            current = self._api.request("POST", path, json={"labels": list(labels)}, expected=(200,))
            pull = {**pull, "labels": current}
        return _pull_request(pull)


_pull_request = pull_request_from_github_shape
