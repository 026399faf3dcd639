"""Forge clients against the local forge emulator, and forge detection from remotes."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from generator.errors import ModelopsError
from generator.forges import Forge, ForgeError, Gitea, GitHub, GitLab, PullRequest, ensure_pull_request
from generator.forges.detect import forge_from_remote, parse_remote
from tests.emulators.forge import ForgeEmulator

TOKEN = "s3cr3t-token-value"
REPO = "acme/gitops"
NESTED = "platform/ml/gitops"
API = {"github": "/api/v3", "gitlab": "/api/v4", "gitea": "/api/v1"}
CLIENTS = {"github": GitHub, "gitlab": GitLab, "gitea": Gitea}


@pytest.fixture
def emulator() -> Iterator[ForgeEmulator]:
    with ForgeEmulator(token=TOKEN, repos=(REPO, NESTED)) as server:
        yield server


@pytest.fixture(params=["github", "gitlab", "gitea"])
def flavor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def client(emulator: ForgeEmulator, flavor: str, token: str = TOKEN, repo: str = REPO) -> Forge:
    return CLIENTS[flavor](repo, token, emulator.url + API[flavor])


def test_create_then_find(emulator: ForgeEmulator, flavor: str) -> None:
    forge = client(emulator, flavor)
    assert forge.find_open_pull_request("promote/prod", "main") is None
    created = forge.create_pull_request("promote/prod", "main", "Promote to prod", "body text", ["promotion"])
    assert created == PullRequest(
        number=1, url=created.url, head="promote/prod", base="main", title="Promote to prod",
        body="body text", labels=("promotion",),
    )
    assert created.url.startswith(emulator.url)
    assert forge.find_open_pull_request("promote/prod", "main") == created
    assert forge.find_open_pull_request("promote/prod", "release") is None
    assert forge.find_open_pull_request("promote/staging", "main") is None


def test_update_replaces_text_and_adds_labels(emulator: ForgeEmulator, flavor: str) -> None:
    forge = client(emulator, flavor)
    created = forge.create_pull_request("promote/prod", "main", "old", "old body", ["promotion"])
    updated = forge.update_pull_request(created.number, "new", "new body", ["promotion", "env:prod"])
    assert (updated.title, updated.body, updated.labels) == ("new", "new body", ("promotion", "env:prod"))
    # Labels are only ever added: an update without labels keeps them.
    again = forge.update_pull_request(created.number, "newer", "", [])
    assert again.labels == ("promotion", "env:prod")
    assert forge.find_open_pull_request("promote/prod", "main") == again


def test_no_duplicate_pull_request(emulator: ForgeEmulator, flavor: str) -> None:
    forge = client(emulator, flavor)
    forge.create_pull_request("promote/prod", "main", "t", "b")
    with pytest.raises(ForgeError) as caught:
        forge.create_pull_request("promote/prod", "main", "t", "b")
    assert caught.value.status in (409, 422)
    assert "already exists" in str(caught.value)
    assert len(emulator.pulls(flavor, REPO)) == 1


def test_ensure_updates_instead_of_duplicating(emulator: ForgeEmulator, flavor: str) -> None:
    forge = client(emulator, flavor)
    first, created = ensure_pull_request(forge, "promote/prod", "main", "v1", "b1", ["promotion"])
    second, created_again = ensure_pull_request(forge, "promote/prod", "main", "v2", "b2", ["promotion"])
    assert (created, created_again) == (True, False)
    assert second.number == first.number and second.title == "v2"
    assert len(emulator.pulls(flavor, REPO)) == 1


def test_closed_pull_request_is_not_found(emulator: ForgeEmulator, flavor: str) -> None:
    forge = client(emulator, flavor)
    first = forge.create_pull_request("promote/prod", "main", "t", "b")
    emulator.close(flavor, REPO, first.number)
    assert forge.find_open_pull_request("promote/prod", "main") is None
    assert forge.create_pull_request("promote/prod", "main", "t", "b").number == first.number + 1


def test_bad_token_message_names_the_problem_not_the_token(emulator: ForgeEmulator, flavor: str) -> None:
    wrong = "wrong-" + TOKEN
    with pytest.raises(ModelopsError) as caught:
        client(emulator, flavor, token=wrong).find_open_pull_request("a", "main")
    message = str(caught.value)
    assert "401" in message and "token" in message
    assert wrong not in message and TOKEN not in message


def test_unreachable_forge_is_a_modelops_error(flavor: str) -> None:
    forge = CLIENTS[flavor](REPO, TOKEN, "http://127.0.0.1:9" + API[flavor])
    with pytest.raises(ModelopsError, match="failed") as caught:
        forge.find_open_pull_request("a", "main")
    assert TOKEN not in str(caught.value)


def test_unknown_repository_is_reported(emulator: ForgeEmulator, flavor: str) -> None:
    with pytest.raises(ForgeError) as caught:
        client(emulator, flavor, repo="acme/missing").create_pull_request("a", "main", "t", "b")
    assert caught.value.status == 404 and "repository path" in str(caught.value)


def test_github_request_shape(emulator: ForgeEmulator) -> None:
    forge = client(emulator, "github")
    forge.create_pull_request("promote/prod", "main", "t", "b", ["promotion"])
    forge.find_open_pull_request("promote/prod", "main")
    create, labels, find = emulator.requests
    assert (create.method, create.path) == ("POST", "/api/v3/repos/acme/gitops/pulls")
    assert create.headers["authorization"] == f"Bearer {TOKEN}"
    assert create.headers["accept"] == "application/vnd.github+json"
    assert create.headers["x-github-api-version"] == "2022-11-28"
    assert (labels.method, labels.path) == ("POST", "/api/v3/repos/acme/gitops/issues/1/labels")
    assert find.param("head") == "acme:promote/prod" and find.param("state") == "open"


def test_gitlab_nested_project_is_one_encoded_segment(emulator: ForgeEmulator) -> None:
    forge = client(emulator, "gitlab", repo=NESTED)
    created = forge.create_pull_request("promote/prod", "main", "t", "b", ["a", "b"])
    assert created.url == f"{emulator.url}/{NESTED}/-/merge_requests/1"
    request = emulator.requests[-1]
    assert request.path == "/api/v4/projects/platform%2Fml%2Fgitops/merge_requests"
    assert request.headers["private-token"] == TOKEN
    assert b'"labels": "a,b"' in request.body


def test_gitea_creates_missing_labels_once(emulator: ForgeEmulator) -> None:
    forge = client(emulator, "gitea")
    forge.create_pull_request("promote/prod", "main", "t", "b", ["promotion"])
    forge.create_pull_request("promote/dev", "main", "t", "b", ["promotion"])
    label_posts = [r for r in emulator.requests if r.method == "POST" and r.path.endswith("/labels")]
    assert len(label_posts) == 1
    assert emulator.requests[0].headers["authorization"] == f"token {TOKEN}"
    assert [p["labels"] for p in emulator.pulls("gitea", REPO)] == [[1], [1]]


def test_gitea_pagination_finds_pull_requests_past_the_first_page(emulator: ForgeEmulator) -> None:
    forge = client(emulator, "gitea")
    for i in range(60):
        forge.create_pull_request(f"feature/{i}", "main", "t", "b")
    assert forge.find_open_pull_request("feature/0", "main") is not None


# -- the emulator itself is strict ----------------------------------------------------------


def _raw(emulator: ForgeEmulator, method: str, path: str, headers: dict[str, str], data: bytes) -> requests.Response:
    return requests.request(method, emulator.url + path, headers=headers, data=data, timeout=5)


@pytest.mark.parametrize(
    ("path", "headers", "data", "status"),
    [
        ("/api/v3/repos/acme/gitops/pulls", {"Authorization": f"Bearer {TOKEN}",
                                             "Content-Type": "application/json"}, b"{nope", 400),
        ("/api/v3/repos/acme/gitops/pulls", {"Authorization": f"Bearer {TOKEN}",
                                             "Content-Type": "application/json"}, b'{"title": "t"}', 422),
        ("/api/v3/repos/acme/gitops/pulls", {}, b"{}", 401),
        ("/api/v4/projects/acme%2Fgitops/merge_requests", {"PRIVATE-TOKEN": TOKEN,
                                                           "Content-Type": "text/plain"}, b"{}", 415),
        ("/api/v4/projects/acme%2Fgitops/merge_requests", {"PRIVATE-TOKEN": TOKEN,
                                                           "Content-Type": "application/json"}, b"{}", 400),
        ("/api/v4/projects/acme/gitops/merge_requests", {"PRIVATE-TOKEN": TOKEN,
                                                         "Content-Type": "application/json"}, b"{}", 404),
        ("/api/v1/repos/acme/gitops/pulls", {"Authorization": f"token {TOKEN}",
                                             "Content-Type": "application/json"}, b"[1", 422),
        ("/api/v1/repos/acme/gitops/pulls", {"Authorization": f"token {TOKEN}",
                                             "Content-Type": "application/json"}, b'{"head": "x"}', 422),
        ("/api/v1/repos/acme/gitops/pulls", {"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
         b'{"head": "x", "base": "main", "title": "t", "labels": [99]}', 422),
    ],
)
def test_emulator_rejects_bad_requests(
    emulator: ForgeEmulator, path: str, headers: dict[str, str], data: bytes, status: int
) -> None:
    assert _raw(emulator, "POST", path, headers, data).status_code == status
    assert all(not p for p in (emulator.pulls(f, REPO) for f in API))


def test_emulator_github_missing_fields_are_named(emulator: ForgeEmulator) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    reply = _raw(emulator, "POST", "/api/v3/repos/acme/gitops/pulls", headers, b'{"title": "t"}').json()
    assert reply["message"] == "Validation Failed"
    assert {e["field"] for e in reply["errors"]} == {"head", "base"}


# -- detection ------------------------------------------------------------------------------

ENV = {"GITHUB_TOKEN": "gh", "GITLAB_TOKEN": "gl", "GITEA_TOKEN": "gt"}


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("https://github.com/acme/gitops.git", ("github", "https://api.github.com", "acme/gitops")),
        ("git@github.com:acme/gitops.git", ("github", "https://api.github.com", "acme/gitops")),
        ("ssh://git@github.com/acme/gitops", ("github", "https://api.github.com", "acme/gitops")),
        ("https://x-access-token:abc@github.com/acme/gitops", ("github", "https://api.github.com", "acme/gitops")),
        ("https://gitlab.com/platform/ml/gitops.git", ("gitlab", "https://gitlab.com/api/v4", "platform/ml/gitops")),
        ("git@gitlab.example.com:acme/gitops.git", ("gitlab", "https://gitlab.example.com/api/v4", "acme/gitops")),
        ("ssh://git@gitea.example.com:2222/acme/gitops.git",
         ("gitea", "https://gitea.example.com/api/v1", "acme/gitops")),
        ("https://codeberg.org/acme/gitops.git", ("gitea", "https://codeberg.org/api/v1", "acme/gitops")),
        ("https://octo.ghe.com/acme/gitops.git", ("github", "https://api.octo.ghe.com", "acme/gitops")),
    ],
)
def test_detection_from_remote(remote: str, expected: tuple[str, str, str]) -> None:
    forge = forge_from_remote(remote, env=ENV)
    assert _describe(forge) == expected


def _describe(forge: Forge) -> tuple[str, str, str]:
    repo = forge.project if isinstance(forge, GitLab) else f"{forge.owner}/{forge.repo}"  # type: ignore[attr-defined]
    return forge.name, forge._api.base_url, repo  # type: ignore[attr-defined]


def test_github_enterprise_and_self_hosted_need_flags() -> None:
    with pytest.raises(ModelopsError, match="--forge"):
        forge_from_remote("git@git.corp.example:acme/gitops.git", env=ENV)
    ghe = forge_from_remote("git@git.corp.example:acme/gitops.git", forge="github", env=ENV)
    assert _describe(ghe) == ("github", "https://git.corp.example/api/v3", "acme/gitops")
    gitlab = forge_from_remote("https://code.corp.example/acme/gitops.git", forge="gitlab",
                               forge_url="https://gl.corp.example", env=ENV)
    assert _describe(gitlab) == ("gitlab", "https://gl.corp.example/api/v4", "acme/gitops")
    gitea = forge_from_remote("https://code.corp.example/acme/gitops.git", forge="gitea",
                              env={**ENV, "MODELOPS_FORGE_URL": "https://gt.corp.example/api/v1/"})
    assert _describe(gitea) == ("gitea", "https://gt.corp.example/api/v1", "acme/gitops")
    api = forge_from_remote("git@github.com:acme/gitops.git", forge_url="https://api.github.com/", env=ENV)
    assert _describe(api)[1] == "https://api.github.com"
    override = forge_from_remote("https://github.com/acme/gitops.git", repo="other/repo", env=ENV)
    assert _describe(override)[2] == "other/repo"


def test_missing_token_names_the_variable() -> None:
    with pytest.raises(ModelopsError, match="GITLAB_TOKEN"):
        forge_from_remote("https://gitlab.com/acme/gitops.git", env={"GITHUB_TOKEN": "x"})


@pytest.mark.parametrize("remote", ["not a url", "https://github.com/only-owner", "git@host:"])
def test_unparseable_remote(remote: str) -> None:
    with pytest.raises(ModelopsError):
        parse_remote(remote)


def test_remote_credentials_never_reach_messages() -> None:
    with pytest.raises(ModelopsError) as caught:
        parse_remote("https://user:hunter2@example.com/")
    assert "hunter2" not in str(caught.value)


def test_detected_forge_talks_to_the_emulator(emulator: ForgeEmulator, flavor: str) -> None:
    env = {"GITHUB_TOKEN": TOKEN, "GITLAB_TOKEN": TOKEN, "GITEA_TOKEN": TOKEN}
    forge = forge_from_remote(f"{emulator.url}/acme/gitops.git", forge=flavor, forge_url=emulator.url, env=env)
    pull, created = ensure_pull_request(forge, "promote/prod", "main", "t", "b", ["promotion"])
    assert created and pull.labels == ("promotion",)


def test_list_open_pull_requests_reads_every_page(emulator: ForgeEmulator, flavor: str) -> None:
    forge = client(emulator, flavor)
    count = 105 if flavor == "github" else 55  # more than one page (GitHub 100, Gitea 50 per page)
    for index in range(count):
        forge.create_pull_request(f"promote/m{index}/dev", "main", f"t{index}", f"body {index}")
    emulator.close(flavor, REPO, 1)
    pulls = forge.list_open_pull_requests()
    assert sorted(p.head for p in pulls) == sorted(f"promote/m{i}/dev" for i in range(1, count))
    assert all(p.body.startswith("body ") for p in pulls)


def test_forge_flags_accept_a_remote_that_is_a_path(emulator: ForgeEmulator) -> None:
    env = {"GITHUB_TOKEN": TOKEN}
    forge = forge_from_remote("/srv/git/gitops.git", "github", emulator.url + "/api/v3", REPO, env=env)
    assert forge.find_open_pull_request("x", "main") is None
    with pytest.raises(ModelopsError, match="pass --repo OWNER/NAME"):
        forge_from_remote("file:///srv/git/gitops.git", "gitea", emulator.url + "/api/v1", None, env=env)
    with pytest.raises(ModelopsError, match="pass --forge-url"):
        forge_from_remote("/srv/git/gitops.git", "gitlab", None, REPO, env={"GITLAB_TOKEN": TOKEN})
