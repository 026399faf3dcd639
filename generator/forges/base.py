"""The one small protocol every forge (GitHub, GitLab, Gitea) implements.

Promotion needs three operations: find the open pull request for a branch pair, open
one, and refresh its title, body and labels; `status` lists the open ones. Labels are only ever added, never
removed, so labels a reviewer put on a promotion pull request survive a re-run.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["Forge", "PullRequest", "ensure_pull_request"]


@dataclass(frozen=True)
class PullRequest:
    """A pull (GitHub, Gitea) or merge (GitLab) request, as far as modelops cares.

    `number` is what the forge shows to people: GitHub/Gitea `number`, GitLab `iid`.
    """

    number: int
    url: str
    head: str
    base: str
    title: str
    body: str
    labels: tuple[str, ...] = ()


@runtime_checkable
class Forge(Protocol):
    """Pull requests on one repository of one forge."""

    name: str

    def find_open_pull_request(self, head: str, base: str) -> PullRequest | None:
        """The open pull request from branch `head` into `base`, if there is one."""
        ...

    def create_pull_request(
        self, head: str, base: str, title: str, body: str, labels: Sequence[str] = ()
    ) -> PullRequest:
        """Open a pull request; the forge refuses a second open one for the same pair."""
        ...

    def update_pull_request(
        self, number: int, title: str, body: str, labels: Sequence[str] = ()
    ) -> PullRequest:
        """Replace title and body and add `labels` (existing labels are kept)."""
        ...

    def list_open_pull_requests(self) -> list[PullRequest]:
        """Every open pull request of the repository (all pages)."""
        ...


def ensure_pull_request(
    forge: Forge, head: str, base: str, title: str, body: str, labels: Sequence[str] = ()
) -> tuple[PullRequest, bool]:
    """Update the open pull request for head -> base, or open one; True when it was created."""
    existing = forge.find_open_pull_request(head, base)
    if existing is not None:
        return forge.update_pull_request(existing.number, title, body, labels), False
    return forge.create_pull_request(head, base, title, body, labels), True


def pull_request_from_github_shape(pull: dict[str, Any]) -> PullRequest:
    """GitHub's pull object; Gitea answers with the same fields."""
    return PullRequest(
        number=int(pull["number"]),
        url=pull.get("html_url") or pull.get("url", ""),
        head=pull["head"]["ref"],
        base=pull["base"]["ref"],
        title=pull.get("title") or "",
        body=pull.get("body") or "",
        labels=tuple(label["name"] for label in pull.get("labels") or ()),
    )


def matching_github_shape_pull(pulls: Iterable[dict[str, Any]], head: str, base: str) -> PullRequest | None:
    """The pull (GitHub's shape, which Gitea shares) from branch `head` into `base`, if any:
    a forge's list filter is only a hint, so the branches are compared here."""
    for pull in pulls:
        if pull["head"]["ref"] == head and pull["base"]["ref"] == base:
            return pull_request_from_github_shape(pull)
    return None
