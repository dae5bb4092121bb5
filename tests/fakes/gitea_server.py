"""A fake Gitea API server: real aiohttp on 127.0.0.1, following Gitea's v1 API shapes.

It serves what the Notify Bridge Gitea source uses: `GET /api/v1/version`,
`GET /api/v1/user` (token checked: `Authorization: token <t>`), the cross-repository
issue search `GET /api/v1/repos/issues/search` (`state`, `since` on `updated_at`,
`limit`, `page`), `GET /api/v1/user/repos` and `GET /api/v1/repos/{owner}/{repo}/releases`.
Tests add issues, pull requests and releases, change the token, make it fail on demand,
and read the request log.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

TOKEN = "gitea-test-token-0123456789"
USER = {"id": 1, "login": "alice", "username": "alice", "full_name": "Alice A."}


def iso(moment: datetime) -> str:
    """Format like Gitea (RFC 3339 with an offset)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeGitea:
    """State of the fake instance and the server serving it."""

    token: str = TOKEN
    version: str = "1.22.3"
    repos: list[str] = field(default_factory=lambda: ["acme/tools"])
    issues: list[dict[str, Any]] = field(default_factory=list)
    releases: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Status to answer every API call with instead of the real answer.
    fail_with: int | None = None
    requests: Counter[str] = field(default_factory=Counter)
    _runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_get("/api/v1/version", self._version)
        app.router.add_get("/api/v1/user", self._user)
        app.router.add_get("/api/v1/user/repos", self._user_repos)
        app.router.add_get("/api/v1/repos/issues/search", self._search)
        app.router.add_get("/api/v1/repos/{owner}/{repo}/releases", self._releases)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    # --- State changes ------------------------------------------------------------

    def add_issue(
        self,
        repo: str,
        number: int,
        title: str,
        *,
        created: datetime,
        pull: bool = False,
        closed: datetime | None = None,
        merged: bool = False,
    ) -> dict[str, Any]:
        """Add (or replace) an issue or pull request."""
        owner, name = repo.split("/")
        issue: dict[str, Any] = {
            "id": 1000 + number,
            "number": number,
            "title": title,
            "body": f"Body of {title}",
            "user": USER,
            "labels": [],
            "assignees": None,
            "state": "closed" if closed else "open",
            "html_url": f"{self.url}/{repo}/{'pulls' if pull else 'issues'}/{number}",
            "created_at": iso(created),
            "updated_at": iso(closed or created),
            "closed_at": iso(closed) if closed else None,
            "pull_request": {"merged": merged, "merged_at": iso(closed)}
            if pull and closed
            else ({"merged": False, "merged_at": None} if pull else None),
            "repository": {
                "id": 7,
                "name": name,
                "owner": owner,
                "full_name": repo,
            },
        }
        self.issues = [
            item
            for item in self.issues
            if not (
                item["number"] == number and item["repository"]["full_name"] == repo
            )
        ]
        self.issues.append(issue)
        return issue

    def add_release(
        self, repo: str, tag: str, *, published: datetime, draft: bool = False
    ) -> dict[str, Any]:
        """Publish a release."""
        release = {
            "id": len(self.releases.get(repo, [])) + 1,
            "tag_name": tag,
            "target_commitish": "main",
            "name": f"Release {tag}",
            "body": "Notes",
            "draft": draft,
            "prerelease": False,
            "html_url": f"{self.url}/{repo}/releases/tag/{tag}",
            "created_at": iso(published),
            "published_at": iso(published),
            "author": USER,
        }
        self.releases.setdefault(repo, []).insert(0, release)
        return release

    # --- Handlers -----------------------------------------------------------------

    async def _guard(self, request: web.Request, *, auth: bool) -> web.Response | None:
        self.requests[request.path] += 1
        if self.fail_with is not None:
            return web.json_response({"message": "fail"}, status=self.fail_with)
        if auth and request.headers.get("Authorization") != f"token {self.token}":
            return web.json_response({"message": "token is required"}, status=401)
        return None

    async def _version(self, request: web.Request) -> web.Response:
        if (refused := await self._guard(request, auth=False)) is not None:
            return refused
        return web.json_response({"version": self.version})

    async def _user(self, request: web.Request) -> web.Response:
        if (refused := await self._guard(request, auth=True)) is not None:
            return refused
        return web.json_response(USER)

    async def _user_repos(self, request: web.Request) -> web.Response:
        if (refused := await self._guard(request, auth=True)) is not None:
            return refused
        page, limit = _paging(request)
        repos = [{"full_name": repo, "name": repo.split("/")[1]} for repo in self.repos]
        return web.json_response(repos[(page - 1) * limit : page * limit])

    async def _search(self, request: web.Request) -> web.Response:
        if (refused := await self._guard(request, auth=True)) is not None:
            return refused
        page, limit = _paging(request)
        since = request.query.get("since")
        found = self.issues
        if since:
            moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
            found = [
                issue
                for issue in found
                if datetime.fromisoformat(issue["updated_at"].replace("Z", "+00:00"))
                >= moment
            ]
        state = request.query.get("state", "open")
        if state != "all":
            found = [issue for issue in found if issue["state"] == state]
        return web.json_response(found[(page - 1) * limit : page * limit])

    async def _releases(self, request: web.Request) -> web.Response:
        if (refused := await self._guard(request, auth=True)) is not None:
            return refused
        asked = f"{request.match_info['owner']}/{request.match_info['repo']}"
        # Like Gitea, owner and repository names in paths ignore case.
        repo = next((r for r in self.repos if r.lower() == asked.lower()), None)
        if repo is None:
            return web.json_response({"message": "not found"}, status=404)
        _, limit = _paging(request)
        return web.json_response(self.releases.get(repo, [])[:limit])


def _paging(request: web.Request) -> tuple[int, int]:
    return int(request.query.get("page", "1")), int(request.query.get("limit", "30"))
