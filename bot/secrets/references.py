"""Which CI secrets a repository's CI files reference, per file and job. Pure, no I/O.

``find_references(files)`` reads ``bot.forge.CiFile`` texts with PyYAML's safe loader
(libyaml's when available):

- GitHub workflows (``.github/workflows/*.yml``): ``${{ secrets.NAME }}`` and
  ``${{ secrets['NAME'] }}`` inside expressions anywhere in a job, and in ``if:`` conditions
  (which are expressions without the braces). Names are upper-cased, as GitHub stores
  them. Keys outside ``jobs`` (a workflow-level ``env:``) count for the whole file (job
  ``""``). YAML 1.1 reads the ``on`` key as ``True``; both spellings are understood.
- Reusable workflows of the same repository (``jobs.<id>.uses: ./.github/workflows/x.yml``):
  with ``secrets: inherit`` every secret the called file references (following its own
  calls) counts for the calling job; with explicit ``secrets:`` mappings only the mapped
  values count (they are ordinary expressions of the caller). Inside a workflow that
  declares ``on.workflow_call.secrets``, references to those declared names are the
  caller's parameters, not repository secrets, and do not count for the file itself.
  Workflows of other repositories (``owner/repo/...@ref``) cannot be read and are skipped.
- GitLab CI (``.gitlab-ci.yml`` and other non-workflow files): ``$NAME``, ``${NAME}`` and
  ``%NAME%`` in every string of a job (scripts, variables, rules), per job; top-level
  ``variables``, ``default`` and ``before_script``/``after_script`` count for the file
  (job ``""``). Hidden jobs (``.template``) count through the jobs that ``extends`` them.
  Not references: GitLab's predefined ``CI_*`` / ``GITLAB_*`` variables, names defined in
  the file's own ``variables:`` (top level or the job's), names assigned in the job's
  scripts (``NAME=...``, ``export NAME``), ``$$NAME`` (an escaped dollar), lower-case
  names (shell locals such as a loop's ``$f``) and a few shell built-ins (``HOME``...).

Invariants: ``GITHUB_TOKEN`` is built in and never a reference; a file that does not parse,
or is not a mapping, is listed in ``References.problems`` and contributes nothing; no
input text makes ``find_references`` raise; every walk is bounded (shared YAML aliases are
visited once per job, nesting depth is capped).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from bot.forge import CiFile

# libyaml's safe loader when PyYAML was built with it (its wheels are): ~20x faster
SAFE_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)
BUILT_IN_SECRETS = frozenset({"GITHUB_TOKEN"})
WORKFLOWS_DIR = ".github/workflows/"
MAX_DEPTH = 64  # deeper YAML is not a CI file anyone writes; the rest is ignored

_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_SECRET_IN_EXPRESSION = re.compile(
    r"\bsecrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_-]*)|\[\s*(['\"])([^'\"\]]+)\2\s*\])"
)
# ``$$`` escapes a dollar; ``$NAME``, ``${NAME}``; ``%NAME%`` on Windows runners
_GITLAB_VARIABLE = re.compile(
    r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)|%([A-Za-z_][A-Za-z0-9_]*)%"
)
_SHELL_ASSIGNMENT = re.compile(
    r"(?:^|[\s;&|(])(?:export\s+|local\s+|readonly\s+)?([A-Za-z_][A-Za-z0-9_]*)(?==)"
)
_SHELL_EXPORT = re.compile(r"\bexport\s+([A-Za-z_][A-Za-z0-9_]*)")
GITLAB_RESERVED = frozenset(
    {
        "default",
        "include",
        "stages",
        "variables",
        "workflow",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
        "spec",
    }
)
GITLAB_FILE_LEVEL = frozenset({"variables", "default", "before_script", "after_script"})
SHELL_BUILT_INS = frozenset(
    {"HOME", "PATH", "PWD", "OLDPWD", "USER", "SHELL", "HOSTNAME", "RANDOM", "IFS", "TMPDIR"}
)


@dataclass(frozen=True, slots=True, order=True)
class Reference:
    """``name`` is referenced in CI file ``path`` by job ``job`` (``""``: the whole file)."""

    name: str
    path: str
    job: str


@dataclass(frozen=True, slots=True)
class FileProblem:
    """A CI file that could not be read for references, and why."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class References:
    """Every reference found, sorted and unique, and the files that could not be read."""

    references: tuple[Reference, ...] = ()
    problems: tuple[FileProblem, ...] = ()

    def names(self) -> frozenset[str]:
        return frozenset(reference.name for reference in self.references)

    def by_name(self) -> dict[str, tuple[Reference, ...]]:
        found: dict[str, list[Reference]] = {}
        for reference in self.references:
            found.setdefault(reference.name, []).append(reference)
        return {name: tuple(refs) for name, refs in found.items()}


def find_references(files: Sequence[CiFile]) -> References:
    """The secret references of ``files`` (see the module docstring for what counts)."""
    problems: list[FileProblem] = []
    documents: dict[str, Mapping[Any, Any]] = {}
    for ci_file in files:
        loaded = _load(ci_file)
        if isinstance(loaded, FileProblem):
            problems.append(loaded)
        else:
            documents[ci_file.path] = loaded
    found: set[Reference] = set()
    workflows = {path: doc for path, doc in documents.items() if is_workflow(path)}
    for path, document in documents.items():
        if path in workflows:
            found.update(_workflow_references(path, workflows))
        else:
            found.update(_gitlab_references(path, document))
    return References(tuple(sorted(found)), tuple(sorted(problems, key=lambda p: p.path)))


def is_workflow(path: str) -> bool:
    return path.startswith(WORKFLOWS_DIR)


def _load(ci_file: CiFile) -> Mapping[Any, Any] | FileProblem:
    try:
        document = yaml.load(ci_file.text, Loader=SAFE_LOADER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return FileProblem(ci_file.path, f"not valid YAML{where}: {error.problem or error}")
    except Exception as error:  # PyYAML also raises ValueError etc. on odd scalars
        return FileProblem(ci_file.path, f"not valid YAML: {type(error).__name__}")
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        return FileProblem(ci_file.path, "not a mapping of keys to values")
    return document


# GitHub workflows


def _workflow_references(path: str, workflows: Mapping[str, Mapping[Any, Any]]) -> set[Reference]:
    document = workflows[path]
    parameters = _declared_call_secrets(document)
    found: set[Reference] = set()
    for key, value in document.items():
        if key == "jobs" or key in ("on", True):
            continue
        found.update(
            Reference(name, path, "")
            for name in _expression_secrets(value)
            if name not in parameters
        )
    jobs = document.get("jobs")
    if not isinstance(jobs, Mapping):
        return found
    for job_id, job in jobs.items():
        if not isinstance(job, Mapping):
            continue
        job_name = str(job_id)
        own = {name for name in _expression_secrets(job) if name not in parameters}
        if job.get("secrets") == "inherit":
            called = _called_path(job.get("uses"))
            if called is not None:
                own |= _inherited(called, workflows, seen={path})
        found.update(Reference(name, path, job_name) for name in own)
    return found


def _inherited(path: str, workflows: Mapping[str, Mapping[Any, Any]], seen: set[str]) -> set[str]:
    """Every secret name a called workflow reads from its caller with ``secrets: inherit``."""
    document = workflows.get(path)
    if document is None or path in seen:
        return set()
    seen = seen | {path}
    names = set(_expression_secrets({k: v for k, v in document.items() if k not in ("on", True)}))
    jobs = document.get("jobs")
    if isinstance(jobs, Mapping):
        for job in jobs.values():
            if isinstance(job, Mapping) and job.get("secrets") == "inherit":
                called = _called_path(job.get("uses"))
                if called is not None:
                    names |= _inherited(called, workflows, seen)
    return names


def _called_path(uses: object) -> str | None:
    """The repository path of a same-repository reusable workflow (``./.github/...``)."""
    if not isinstance(uses, str) or not uses.startswith("./"):
        return None
    return uses.removeprefix("./").split("@", 1)[0]


def _declared_call_secrets(document: Mapping[Any, Any]) -> frozenset[str]:
    """Names declared under ``on.workflow_call.secrets``: parameters, not repository secrets."""
    triggers = document.get("on", document.get(True))
    if not isinstance(triggers, Mapping):
        return frozenset()
    call = triggers.get("workflow_call")
    declared = call.get("secrets") if isinstance(call, Mapping) else None
    if not isinstance(declared, Mapping):
        return frozenset()
    return frozenset(str(name).upper() for name in declared)


def _expression_secrets(value: object) -> Iterator[str]:
    """Secret names in the expressions of every string under ``value``."""
    for key, text in _strings(value):
        chunks = [text] if key == "if" else _EXPRESSION.findall(text)
        for chunk in chunks:
            for match in _SECRET_IN_EXPRESSION.finditer(chunk):
                name = (match.group(1) or match.group(3) or "").strip().upper()
                if name and name not in BUILT_IN_SECRETS:
                    yield name


# GitLab CI


def _gitlab_references(path: str, document: Mapping[Any, Any]) -> set[Reference]:
    defined = set(_variable_names(document.get("variables")))
    found: set[Reference] = set()
    for key in GITLAB_FILE_LEVEL:
        if key in document:
            found.update(Reference(n, path, "") for n in _variables_used(document[key], defined))
    templates = {
        str(key): job
        for key, job in document.items()
        if isinstance(key, str) and key.startswith(".") and isinstance(job, Mapping)
    }
    for key, job in document.items():
        if not isinstance(key, str) or key in GITLAB_RESERVED or key.startswith("."):
            continue
        if not isinstance(job, Mapping):
            continue
        parts = [job, *_extended(job, templates)]
        local = set(defined)
        for part in parts:
            local.update(_variable_names(part.get("variables")))
            local.update(_assigned(part))
        for part in parts:
            found.update(Reference(name, path, key) for name in _variables_used(part, local))
    return found


def _extended(job: Mapping[Any, Any], templates: Mapping[str, Mapping[Any, Any]]) -> list[Any]:
    """The hidden jobs ``job`` extends, directly or through them (each once)."""
    found: list[Any] = []
    pending = _names(job.get("extends"))
    seen: set[str] = set()
    while pending and len(seen) < len(templates) + 1:
        name = pending.pop(0)
        if name in seen or name not in templates:
            continue
        seen.add(name)
        found.append(templates[name])
        pending.extend(_names(templates[name].get("extends")))
    return found


def _names(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _variable_names(variables: object) -> Iterator[str]:
    if isinstance(variables, Mapping):
        yield from (str(name) for name in variables)


def _assigned(job: Mapping[Any, Any]) -> Iterator[str]:
    """Names the job's scripts assign (``NAME=value``, ``export NAME``): shell variables."""
    for key in ("script", "before_script", "after_script"):
        for _, text in _strings(job.get(key)):
            yield from _SHELL_ASSIGNMENT.findall(text)
            yield from _SHELL_EXPORT.findall(text)


def _variables_used(value: object, defined: Iterable[str]) -> Iterator[str]:
    known = set(defined)
    for _, text in _strings(value):
        for match in _GITLAB_VARIABLE.finditer(text):
            name = match.group(1) or match.group(2) or match.group(3)
            if name and _is_gitlab_secret_name(name) and name not in known:
                yield name


def _is_gitlab_secret_name(name: str) -> bool:
    if name.startswith(("CI_", "GITLAB_")) or name in ("CI", "GITLAB_CI"):
        return False
    return name.upper() == name and any(c.isalpha() for c in name) and name not in SHELL_BUILT_INS


# Walking YAML


def _strings(value: object) -> Iterator[tuple[str | None, str]]:
    """Every string under ``value`` with the mapping key it sits under; bounded.

    Containers are visited once each (YAML aliases can share, or even contain, themselves)
    and no deeper than ``MAX_DEPTH``.
    """
    seen: set[int] = set()
    stack: list[tuple[str | None, object, int]] = [(None, value, 0)]
    while stack:
        key, item, depth = stack.pop()
        if isinstance(item, str):
            yield key, item
            continue
        if depth >= MAX_DEPTH or not isinstance(item, Mapping | list):
            continue
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Mapping):
            for child_key, child in item.items():
                name = child_key if isinstance(child_key, str) else None
                stack.append((name, child, depth + 1))
        else:
            stack.extend((key, child, depth + 1) for child in item)
