"""JSON shapes of the fake GitHub's resources, field for field as the OpenAPI schemas name them.

API ``url`` fields point at the fake itself (so a client following them stays inside the
test); ``html_url`` fields point at https://github.com as GitHub's do. User and repository
ids are derived from their names (CRC-32), so they are stable whatever a test seeds first.
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.fakes.github_state import (
    Comment,
    Delivery,
    Hook,
    Installation,
    StoredReaction,
    World,
)

WEB = "https://github.com"
PERMISSION_RANK = {"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}
PERMISSION_FLAGS = {
    "pull": "read",
    "triage": "triage",
    "push": "write",
    "maintain": "maintain",
    "admin": "admin",
}
APP_PERMISSIONS = {
    "actions": "write",
    "checks": "write",
    "contents": "read",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
    "statuses": "read",
}
APP_EVENTS = (
    "issue_comment",
    "pull_request",
    "pull_request_review_comment",
    "check_run",
    "workflow_run",
)
SECRET_MASK = "********"
APP_CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
USER_URLS = {
    "followers_url": "/followers",
    "following_url": "/following{/other_user}",
    "gists_url": "/gists{/gist_id}",
    "starred_url": "/starred{/owner}{/repo}",
    "subscriptions_url": "/subscriptions",
    "organizations_url": "/orgs",
    "repos_url": "/repos",
    "events_url": "/events{/privacy}",
    "received_events_url": "/received_events",
}
REPO_URLS = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def iso(moment: datetime | None) -> str | None:
    """GitHub's timestamp form: UTC, whole seconds, ``Z``."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, number: int) -> str:
    """GitHub's legacy global id, e.g. ``MDQ6VXNlcjE=`` for ``04:User1``."""
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def name_id(name: str) -> int:
    return zlib.crc32(name.encode())


@dataclass(frozen=True)
class Render:
    """Renders ``world``'s records for a fake served at ``api``."""

    api: str
    world: World

    def user(self, login: str) -> dict[str, Any]:
        bot = login.endswith("[bot]")
        user_id = name_id(login)
        url = f"{self.api}/users/{login}"
        html = f"{WEB}/apps/{login.removesuffix('[bot]')}" if bot else f"{WEB}/{login}"
        return {
            "login": login,
            "id": user_id,
            "node_id": node_id("Bot" if bot else "User", user_id),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
            "gravatar_id": "",
            "url": url,
            "html_url": html,
            **{key: url + suffix for key, suffix in USER_URLS.items()},
            "type": "Bot" if bot else "User",
            "site_admin": False,
        }

    def repository(
        self, full_name: str, *, fork: bool = False, private: bool = False
    ) -> dict[str, Any]:
        owner, name = full_name.split("/", 1)
        repo_id = name_id(full_name)
        url = f"{self.api}/repos/{full_name}"
        return {
            "id": repo_id,
            "node_id": node_id("Repository", repo_id),
            "name": name,
            "full_name": full_name,
            "owner": self.user(owner),
            "private": private,
            "html_url": f"{WEB}/{full_name}",
            "description": None,
            "fork": fork,
            "url": url,
            **{key: url + suffix for key, suffix in REPO_URLS.items()},
            "clone_url": f"{WEB}/{full_name}.git",
            "git_url": f"git://github.com/{full_name}.git",
            "ssh_url": f"git@github.com:{full_name}.git",
            "svn_url": f"{WEB}/{full_name}",
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "default_branch": "main",
            "forks": 0,
            "forks_count": 0,
            "stargazers_count": 0,
            "watchers": 0,
            "watchers_count": 0,
            "size": 0,
            "open_issues": 0,
            "open_issues_count": 0,
            "has_issues": True,
            "has_projects": True,
            "has_wiki": True,
            "has_pages": False,
            "has_downloads": True,
            "archived": False,
            "disabled": False,
            "license": None,
            "pushed_at": iso(APP_CREATED),
            "created_at": iso(APP_CREATED),
            "updated_at": iso(APP_CREATED),
        }

    def full_repository(self, full_name: str, *, private: bool = False) -> dict[str, Any]:
        """``repos/get``'s shape: the repository with its settings and counts."""
        return {
            **self.repository(full_name, private=private),
            "visibility": "private" if private else "public",
            "has_discussions": False,
            "network_count": 0,
            "subscribers_count": 0,
            "topics": [],
            "is_template": False,
            "allow_forking": True,
            "web_commit_signoff_required": False,
            "temp_clone_token": None,
        }

    def issue_comment(self, comment: Comment) -> dict[str, Any]:
        repo, number = comment.repo, comment.number
        where = "pull" if (repo, number) in self.world.pulls else "issues"
        return {
            "id": comment.id,
            "node_id": node_id("IssueComment", comment.id),
            "url": f"{self.api}/repos/{repo}/issues/comments/{comment.id}",
            "html_url": f"{WEB}/{repo}/{where}/{number}#issuecomment-{comment.id}",
            "body": comment.body,
            "user": self.user(comment.author),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "issue_url": f"{self.api}/repos/{repo}/issues/{number}",
            "author_association": self.world.association(repo, comment.author),
        }

    def review_comment(self, comment: Comment) -> dict[str, Any]:
        repo, number = comment.repo, comment.number
        url = f"{self.api}/repos/{repo}/pulls/comments/{comment.id}"
        html = f"{WEB}/{repo}/pull/{number}#discussion_r{comment.id}"
        pull_url = f"{self.api}/repos/{repo}/pulls/{number}"
        rendered = {
            "url": url,
            "pull_request_review_id": comment.id,
            "id": comment.id,
            "node_id": node_id("PullRequestReviewComment", comment.id),
            "diff_hunk": "@@ -1 +1 @@",
            "path": comment.path,
            "commit_id": comment.commit_id,
            "original_commit_id": comment.commit_id,
            "user": self.user(comment.author),
            "body": comment.body,
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "html_url": html,
            "pull_request_url": pull_url,
            "author_association": self.world.association(repo, comment.author),
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "pull_request": {"href": pull_url},
            },
        }
        if comment.in_reply_to is not None:
            rendered["in_reply_to_id"] = comment.in_reply_to
        return rendered

    def reaction(self, stored: StoredReaction) -> dict[str, Any]:
        return {
            "id": stored.reaction_id,
            "node_id": node_id("Reaction", stored.reaction_id),
            "user": self.user(stored.record.user),
            "content": stored.record.content,
            "created_at": iso(stored.created_at),
        }

    def collaborator(self, login: str, permission: str) -> dict[str, Any]:
        rank = PERMISSION_RANK[permission]
        return {
            **self.user(login),
            "permissions": {
                name: rank >= PERMISSION_RANK[name_level]
                for name, name_level in PERMISSION_FLAGS.items()
            },
            "role_name": permission,
        }

    def app(self) -> dict[str, Any]:
        slug = self.world.app_slug
        app_id = int(self.world.app_id or 0)
        return {
            "id": app_id,
            "slug": slug,
            "client_id": f"Iv1.{slug}",
            "node_id": node_id("Integration", app_id),
            "owner": self.user(self.world.bot_login),
            "name": slug,
            "description": "",
            "external_url": f"{WEB}/apps/{slug}",
            "html_url": f"{WEB}/apps/{slug}",
            "created_at": iso(APP_CREATED),
            "updated_at": iso(APP_CREATED),
            "permissions": dict(
                APP_PERMISSIONS
                if self.world.app_permissions is None
                else self.world.app_permissions
            ),
            "events": list(APP_EVENTS if self.world.app_events is None else self.world.app_events),
            "installations_count": len(self.world.installations),
        }

    def installation(self, installation: Installation) -> dict[str, Any]:
        url = f"{self.api}/app/installations/{installation.id}"
        return {
            "id": installation.id,
            "account": self.user(installation.account),
            "access_tokens_url": f"{url}/access_tokens",
            "repositories_url": f"{self.api}/installation/repositories",
            "html_url": f"{WEB}/settings/installations/{installation.id}",
            "app_id": int(self.world.app_id or 0),
            "app_slug": self.world.app_slug,
            "target_id": name_id(installation.account),
            "target_type": "Organization",
            "permissions": dict(installation.permissions),
            "events": list(APP_EVENTS),
            "single_file_name": None,
            "repository_selection": "selected",
            "created_at": iso(installation.created_at),
            "updated_at": iso(installation.created_at),
            "suspended_by": None,
            "suspended_at": None,
        }

    def app_hook_config(self) -> dict[str, Any]:
        """The App's webhook configuration; the secret masked, as GitHub shows it."""
        config: dict[str, Any] = {"content_type": "json", "insecure_ssl": "0", "url": ""}
        config.update(self.world.app_hook_config or {})
        if config.get("secret"):
            config["secret"] = SECRET_MASK
        return config

    def hook(self, hook: Hook) -> dict[str, Any]:
        url = f"{self.api}/repos/{hook.repo}/hooks/{hook.id}"
        config = dict(hook.config)
        if "secret" in config:
            config["secret"] = SECRET_MASK
        return {
            "type": "Repository",
            "id": hook.id,
            "name": "web",
            "active": hook.active,
            "events": list(hook.events),
            "config": config,
            "updated_at": iso(hook.updated_at),
            "created_at": iso(hook.created_at),
            "url": url,
            "test_url": f"{url}/test",
            "ping_url": f"{url}/pings",
            "deliveries_url": f"{url}/deliveries",
            "last_response": {"code": None, "status": "unused", "message": None},
        }

    def delivery(self, delivery: Delivery, *, full: bool = False) -> dict[str, Any]:
        rendered: dict[str, Any] = {
            "id": delivery.id,
            "guid": delivery.guid,
            "delivered_at": iso(delivery.delivered_at),
            "redelivery": delivery.redelivery,
            "duration": 0.1,
            "status": "OK" if 200 <= delivery.status_code < 400 else "Invalid HTTP Response",
            "status_code": delivery.status_code,
            "event": delivery.event,
            "action": delivery.action,
            "installation_id": delivery.installation_id,
            "repository_id": delivery.repository_id,
            "throttled_at": None,
        }
        if full:
            rendered["url"] = "https://chatops.example/webhooks/github"
            rendered["request"] = {
                "headers": {
                    "X-GitHub-Delivery": delivery.guid,
                    "X-GitHub-Event": delivery.event,
                    "content-type": "application/json",
                },
                "payload": delivery.payload,
            }
            rendered["response"] = {"headers": {}, "payload": None}
        return rendered
