"""Gitea REST client and polling: releases and issues/PRs since the last poll.

For Gitea instances that cannot reach Home Assistant: with a token, the source polls
`/repos/issues/search` (issues and pull requests of every repository the token sees, in
one paged listing) and the releases of the watched repositories, and turns what changed
since the last poll into the same `GiteaEvent`s a webhook would produce. Each event has
a stable key (`event_key`); the source remembers the keys it notified, so a poll never
reports what a webhook already did, and the other way round.

Nothing here imports Home Assistant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import aiohttp

from ..net import split_url_credentials, url_without_credentials
from .gitea import GiteaEvent, parse_gitea_payload, repository_key
from .gitea_texts import ISSUES, PULL_REQUEST, RELEASE

API: Final = "/api/v1"
REQUEST_TIMEOUT: Final = 15.0
PAGE_SIZE: Final = 50
# At most this many pages of changed issues per poll (a huge backlog is cut short).
MAX_PAGES: Final = 20
# Release listings fetched at once.
MAX_CONCURRENT_REQUESTS: Final = 4
# Polls look this far before the previous poll, so nothing in between is missed.
POLL_OVERLAP: Final = timedelta(minutes=1)


class GiteaError(Exception):
    """Gitea could not be asked."""


class GiteaConnectionError(GiteaError):
    """Gitea is unreachable or answered with a server error."""


class GiteaAuthError(GiteaError):
    """The token was refused."""


class NotGiteaError(GiteaError):
    """The URL does not answer like a Gitea API."""


@dataclass(frozen=True, slots=True)
class GiteaServer:
    """What token validation learned."""

    version: str
    user: str | None


class GiteaClient:
    """The few Gitea API calls the source needs."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        """Talk to `base_url` (e.g. https://git.example), with an optional token."""
        self._session = session
        # URL credentials (a proxy's basic auth) live only in a header, never in the
        # URL kept, shown or put in errors.
        bare_url, self._proxy_auth = split_url_credentials(base_url.rstrip("/"))
        self._base = bare_url + API
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def __repr__(self) -> str:
        """Never show the token."""
        return f"GiteaClient({self._base!r})"

    async def _get(
        self, path: str, params: Mapping[str, str | int] | None = None
    ) -> Any:
        headers = {"Accept": "application/json"}
        # One Authorization header: the API token, else the URL's credentials.
        if self._token:
            headers["Authorization"] = f"token {self._token}"
        elif self._proxy_auth:
            headers["Authorization"] = self._proxy_auth
        try:
            async with self._session.get(
                self._base + path,
                params=params,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                if response.status in (401, 403):
                    raise GiteaAuthError(f"{path}: HTTP {response.status}")
                if response.status >= 500:
                    # "server error" is what tells the form why (net.connect_reason).
                    raise GiteaConnectionError(
                        f"{path}: server error, HTTP {response.status}"
                    )
                if response.status != 200:
                    raise NotGiteaError(f"{path}: HTTP {response.status}")
                try:
                    return await response.json(content_type=None)
                except ValueError as err:
                    raise NotGiteaError(f"{path}: not JSON") from err
        except (aiohttp.ClientError, TimeoutError) as err:
            raise GiteaConnectionError(f"{path}: {type(err).__name__}") from err

    async def async_validate(self) -> GiteaServer:
        """Check the URL is a Gitea API and, with a token, that the token works."""
        version = await self._get("/version")
        if not isinstance(version, Mapping) or not isinstance(
            version.get("version"), str
        ):
            raise NotGiteaError("/version: no version")
        user = None
        if self._token:
            data = await self._get("/user")
            user = data.get("login") if isinstance(data, Mapping) else None
            if not isinstance(user, str):
                raise NotGiteaError("/user: no login")
        return GiteaServer(version=version["version"], user=user)

    async def async_changed_issues(self, since: datetime) -> list[Mapping[str, Any]]:
        """Return issues and pull requests updated since a time (every repository)."""
        found: list[Mapping[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            batch = await self._get(
                "/repos/issues/search",
                {
                    "state": "all",
                    "since": since.isoformat(),
                    "limit": PAGE_SIZE,
                    "page": page,
                },
            )
            items = [item for item in batch or () if isinstance(item, Mapping)]
            found.extend(items)
            if len(items) < PAGE_SIZE:
                break
        return found

    async def async_releases(
        self, repositories: Iterable[str]
    ) -> dict[str, list[Mapping[str, Any]]]:
        """Return the latest releases of each repository (a few at a time)."""
        limit = asyncio.Semaphore(MAX_CONCURRENT_REQUESTS)

        async def one(repo: str) -> list[Mapping[str, Any]]:
            async with limit:
                data = await self._get(f"/repos/{repo}/releases", {"limit": PAGE_SIZE})
            return [item for item in data or () if isinstance(item, Mapping)]

        repos = list(dict.fromkeys(repositories))
        results = await asyncio.gather(*(one(repo) for repo in repos))
        return dict(zip(repos, results, strict=True))

    async def async_repositories(self) -> list[str]:
        """Return the full names of the repositories the token's user can see."""
        names: list[str] = []
        for page in range(1, MAX_PAGES + 1):
            batch = await self._get("/user/repos", {"limit": PAGE_SIZE, "page": page})
            items = [item for item in batch or () if isinstance(item, Mapping)]
            names.extend(
                name for item in items if isinstance(name := item.get("full_name"), str)
            )
            if len(items) < PAGE_SIZE:
                break
        return names


# --- Changes since the last poll ------------------------------------------------------


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _after(value: Any, since: datetime) -> bool:
    moment = _time(value)
    return moment is not None and moment > since


def event_key(event: GiteaEvent) -> str | None:
    """Return the stable id of a notified change, shared by webhook and poll."""
    ctx = event.context
    if event.event_type == ISSUES:
        number = (ctx.get("issue") or {}).get("number")
    elif event.event_type == PULL_REQUEST:
        number = (ctx.get("pull_request") or {}).get("number")
    elif event.event_type == RELEASE:
        number = (ctx.get("release") or {}).get("tag")
    else:
        return None
    if number is None or not event.repository or not event.action:
        return None
    return f"{event.event_type}:{event.repository}:{number}:{event.action}"


def issue_events(
    issues: Iterable[Mapping[str, Any]], since: datetime
) -> list[GiteaEvent]:
    """Return the opened/closed/merged changes of issues and PRs since a time."""
    events: list[GiteaEvent] = []
    for issue in issues:
        pull = issue.get("pull_request")
        is_pull = isinstance(pull, Mapping)
        actions: list[str] = []
        if _after(issue.get("created_at"), since):
            actions.append("opened")
        if issue.get("state") == "closed" and _after(issue.get("closed_at"), since):
            merged = isinstance(pull, Mapping) and bool(pull.get("merged"))
            actions.append("merged" if merged else "closed")
        common = {
            "repository": issue.get("repository"),
            "sender": issue.get("user"),
        }
        for action in actions:
            if is_pull:
                payload = {
                    **common,
                    "action": "closed" if action == "merged" else action,
                    "number": issue.get("number"),
                    "pull_request": {**issue, "merged": action == "merged"},
                }
                events.append(parse_gitea_payload(PULL_REQUEST, payload))
            else:
                payload = {**common, "action": action, "issue": issue}
                events.append(parse_gitea_payload(ISSUES, payload))
    return events


def release_events(
    base_url: str,
    releases: Mapping[str, Iterable[Mapping[str, Any]]],
    since: datetime,
) -> list[GiteaEvent]:
    """Return the releases published since a time."""
    events: list[GiteaEvent] = []
    for repo, items in releases.items():
        # A link sent to chats: never with the configured URL's credentials.
        root = url_without_credentials(base_url).rstrip("/")
        repository = {"full_name": repo, "html_url": f"{root}/{repo}"}
        for release in items:
            if release.get("draft") or not _after(
                release.get("published_at") or release.get("created_at"), since
            ):
                continue
            payload = {
                "action": "published",
                "release": release,
                "repository": repository,
                "sender": release.get("author"),
            }
            events.append(parse_gitea_payload(RELEASE, payload))
    return events


async def async_poll(
    client: GiteaClient,
    base_url: str,
    since: datetime,
    repositories: Iterable[str] | None,
) -> list[GiteaEvent]:
    """Return what changed since `since`; `repositories` None means every visible one.

    Issues and pull requests come from one cross-repository listing; releases have no
    such listing in Gitea's API, so they are fetched per repository, concurrently.
    """
    start = since - POLL_OVERLAP
    issues = await client.async_changed_issues(start)
    if repositories is None:
        repositories = await client.async_repositories()
    else:
        # Gitea names are case-insensitive: "acme/tools" is "Acme/Tools".
        wanted = {repository_key(name) for name in repositories}
        issues = [
            issue
            for issue in issues
            if isinstance(issue.get("repository"), Mapping)
            and repository_key(str(issue["repository"].get("full_name"))) in wanted
        ]
    releases = await client.async_releases(repositories)
    return [*issue_events(issues, start), *release_events(base_url, releases, start)]
