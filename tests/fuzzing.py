"""Fuzzing a front door with Hypothesis: the scaffolding every hostile-input test shares.

Hypothesis runs a test synchronously (``@given`` does not drive a coroutine), while the
application under test is asynchronous. ``fuzzed(stack, caplog, fuzz)`` bridges the two:
it enters ``stack`` (an async context manager that starts the app, its fakes and its
database) on one ``asyncio.Runner``, calls ``fuzz(runner, entered)``, whose Hypothesis
checks send each request with ``runner.run``, leaves the stack, and returns the log records
that are errors or carry a traceback: a fuzz test asserts there are none, as it asserts
that no answer is a 5xx.

``json_bodies(keys)`` makes request bodies: raw bytes, or JSON values (nested lists and
objects) whose object keys are the platform's own field names, so the decoders get past
their first checks and meet odd types deeper in. ``FUZZ_SETTINGS`` is what every fuzz
test runs with: 150 examples, no deadline (a request goes through the real app).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

S = TypeVar("S")

FUZZ_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def json_values(
    keys: Sequence[str], *, floats: bool = False, max_keys: int = 6, max_leaves: int = 25
) -> st.SearchStrategy[object]:
    """JSON values whose objects use ``keys``; ``floats`` adds finite floats to the leaves."""
    leaves = st.none() | st.booleans() | st.integers()
    if floats:
        leaves = leaves | st.floats(allow_nan=False)
    return st.recursive(
        leaves | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.sampled_from(list(keys)), children, max_size=max_keys)
        ),
        max_leaves=max_leaves,
    )


def json_bodies(values: st.SearchStrategy[object]) -> st.SearchStrategy[bytes]:
    """Up to 300 arbitrary bytes, or one of ``values`` encoded as JSON."""
    return st.one_of(st.binary(max_size=300), values.map(lambda v: json.dumps(v).encode()))


def fuzzed(
    stack: AbstractAsyncContextManager[S],
    caplog: pytest.LogCaptureFixture,
    fuzz: Callable[[asyncio.Runner, S], None],
) -> list[logging.LogRecord]:
    """Run ``fuzz`` against the entered ``stack``; the error and traceback records logged."""
    with asyncio.Runner() as runner:
        entered = runner.run(stack.__aenter__())
        try:
            caplog.set_level(logging.WARNING)
            fuzz(runner, entered)
        finally:
            runner.run(stack.__aexit__(None, None, None))
    return [r for r in caplog.records if r.exc_info is not None or r.levelno >= logging.ERROR]
