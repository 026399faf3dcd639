"""Gitea (and Forgejo, e.g. Codeberg) pull requests through API v1."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests

from generator.forges._http import ApiSession
from generator.forges.base import PullRequest, matching_github_shape_pull, pull_request_from_github_shape

__all__ = ["LABEL_COLOR", "Gitea"]

# Colour of labels modelops has to create; Gitea requires one.
LABEL_COLOR = "#0e8a16"
_PAGE = 50


class Gitea:
    """Pull requests of `owner/repo`; `api_url` is https://HOST/api/v1."""

    name = "gitea"

    def __init__(self, repo: str, token: str, api_url: str, *, session: requests.Session | None = None):
        self.owner, self.repo = repo.split("/", 1)
        headers = {"Authorization": f"token {token}", "Accept": "application/json", "User-Agent": "modelops"}
        self._api = ApiSession("Gitea", api_url, headers, token, session=session)
        self._prefix = f"/repos/{self.owner}/{self.repo}"

    def find_open_pull_request(self, head: str, base: str) -> PullRequest | None:
        return matching_github_shape_pull(self._pages(f"{self._prefix}/pulls", {"state": "open"}), head, base)

    def list_open_pull_requests(self) -> list[PullRequest]:
        return [_pull_request(pull) for pull in self._pages(f"{self._prefix}/pulls", {"state": "open"})]

    def create_pull_request(
        self, head: str, base: str, title: str, body: str, labels: Sequence[str] = ()
    ) -> PullRequest:
        payload = {"head": head, "base": base, "title": title, "body": body, "labels": self._label_ids(labels)}
        return _pull_request(self._api.request("POST", f"{self._prefix}/pulls", json=payload, expected=(201,)))

    def update_pull_request(
        self, number: int, title: str, body: str, labels: Sequence[str] = ()
    ) -> PullRequest:
        payload: dict[str, Any] = {"title": title, "body": body}
        if labels:
            # `labels` on edit replaces the set: send the union to keep reviewers' labels.
            current = self._api.request("GET", f"{self._prefix}/pulls/{number}", expected=(200,))
            keep = [label["id"] for label in current.get("labels") or ()]
            payload["labels"] = sorted(set(keep) | set(self._label_ids(labels)))
        pull = self._api.request("PATCH", f"{self._prefix}/pulls/{number}", json=payload, expected=(200, 201))
        return _pull_request(pull)

    def _label_ids(self, names: Sequence[str]) -> list[int]:
        """Ids of the repository labels called `names`, creating the missing ones."""
        if not names:
            return []
        existing = {label["name"]: label["id"] for label in self._pages(f"{self._prefix}/labels", {})}
        ids = []
        for name in names:
            if name not in existing:
                created = self._api.request(
                    "POST", f"{self._prefix}/labels", json={"name": name, "color": LABEL_COLOR}, expected=(201,)
                )
                existing[name] = created["id"]
            ids.append(int(existing[name]))
        return ids

    def _pages(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            batch = self._api.request("GET", path, params={**params, "page": page, "limit": _PAGE}, expected=(200,))
            # Servers may cap `limit` below what was asked: only an empty page ends the list.
            if not batch:
                return items
            items.extend(batch)
            page += 1


_pull_request = pull_request_from_github_shape
