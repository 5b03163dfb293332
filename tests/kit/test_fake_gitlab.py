"""The fake GitLab itself: auth, project ids, the call log, scripted errors, pagination."""

from __future__ import annotations

import aiohttp

from tests.fakes.gitlab import Call, FakeGitLab

TOKEN = "glpat-fake-tests"


async def test_private_token_and_bearer_are_accepted_and_anything_else_is_401() -> None:
    async with FakeGitLab(token=TOKEN) as gitlab, aiohttp.ClientSession() as session:
        gitlab.add_project("group/project", project_id=12)
        url = f"{gitlab.url}/api/v4/projects/12"
        answers = []
        for headers in (
            {"PRIVATE-TOKEN": TOKEN},
            {"Authorization": f"Bearer {TOKEN}"},
            {"Authorization": f"token {TOKEN}"},
            {"PRIVATE-TOKEN": "wrong"},
            {},
        ):
            async with session.get(url, headers=headers) as response:
                answers.append((response.status, await response.json()))

        project = {"id": 12, "path_with_namespace": "group/project"}
        unauthorized = {"message": "401 Unauthorized"}
        assert answers == [(200, project), (200, project)] + [(401, unauthorized)] * 3
        assert [call.auth for call in gitlab.calls] == [
            "private-token",
            "bearer",
            "token",
            "private-token",
            None,
        ]


async def test_projects_are_found_by_id_or_encoded_path_and_unknown_ones_are_404() -> None:
    async with FakeGitLab(token=TOKEN) as gitlab, aiohttp.ClientSession() as session:
        gitlab.add_project("group/sub/project", project_id=7)
        headers = {"PRIVATE-TOKEN": TOKEN}
        answers = []
        for ref in ("7", "group%2Fsub%2Fproject", "8", "group%2Fother"):
            async with session.get(f"{gitlab.url}/api/v4/projects/{ref}", headers=headers) as r:
                answers.append((r.status, await r.json()))

        found = {"id": 7, "path_with_namespace": "group/sub/project"}
        missing = {"message": "404 Project Not Found"}
        assert answers == [(200, found), (200, found), (404, missing), (404, missing)]
        assert gitlab.calls[1] == Call(
            method="GET",
            path="/api/v4/projects/group%2Fsub%2Fproject",
            query={},
            json=None,
            auth="private-token",
            status=200,
        )


async def test_scripted_errors_apply_n_times_to_matching_requests_with_their_headers() -> None:
    async with FakeGitLab(token=TOKEN) as gitlab, aiohttp.ClientSession() as session:
        gitlab.add_project("group/project", project_id=3)
        gitlab.fail_next("GET /api/v4/projects/*", 429, headers={"Retry-After": "7"}, times=2)
        headers = {"PRIVATE-TOKEN": TOKEN}
        answers = []
        for _ in range(3):
            async with session.get(f"{gitlab.url}/api/v4/projects/3", headers=headers) as r:
                answers.append((r.status, r.headers.get("Retry-After"), await r.json()))

        assert answers == [
            (429, "7", {"message": "429 Too Many Requests"}),
            (429, "7", {"message": "429 Too Many Requests"}),
            (200, None, {"id": 3, "path_with_namespace": "group/project"}),
        ]


async def test_unknown_routes_are_404_and_violations_and_lists_are_paginated() -> None:
    async with FakeGitLab(token=TOKEN) as gitlab, aiohttp.ClientSession() as session:
        gitlab.add_project("group/project", project_id=3)
        alice = gitlab.add_user("alice")
        for index in range(3):
            gitlab.seed_note(3, "issues/1", f"note {index}", alice)
        headers = {"PRIVATE-TOKEN": TOKEN}
        notes = f"{gitlab.url}/api/v4/projects/3/issues/1/notes?sort=asc&per_page=2"
        async with session.get(notes, headers=headers) as first:
            page_one = [note["body"] for note in await first.json()]
            link = first.headers["Link"]
        async with session.get(f"{gitlab.url}/api/v4/nothing", headers=headers) as unknown:
            unknown_answer = (unknown.status, await unknown.json())
        async with session.post(f"{gitlab.url}/api/v4/projects/3/nothing") as anonymous:
            anonymous_answer = (anonymous.status, await anonymous.json())

        assert page_one == ["note 0", "note 1"]
        assert link == (
            f"<{gitlab.url}/api/v4/projects/3/issues/1/notes?sort=asc&per_page=2&page=2>; "
            'rel="next"'
        )
        assert unknown_answer == anonymous_answer == (404, {"error": "404 Not Found"})
        assert gitlab.violations == [
            "GET /api/v4/nothing: no such route",
            "POST /api/v4/projects/3/nothing: no such route",
        ]
