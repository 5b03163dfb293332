"""Tests for bot.parsing: finding commands, splitting arguments and reading targets."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.messages import Forge, Target, TargetKind
from bot.parsing import (
    InvalidTarget,
    ParseError,
    TrailingEscape,
    UnclosedQuote,
    find_commands,
    join_args,
    looks_like_target,
    parse_target,
    place_target,
    split_args,
)

MENTIONS = ("@chatops", "<@U0BOT>", "<@123456789>")

PR = TargetKind.PULL_REQUEST
MR = TargetKind.MERGE_REQUEST
ISSUE = TargetKind.ISSUE
REPO = TargetKind.REPOSITORY
GITHUB = Forge.GITHUB
GITLAB = Forge.GITLAB

ACCEPTED = (
    " Accepted forms: owner/repo, owner/repo#12, group/project!12, group/subgroup/project#12, "
    "github:owner/repo#12, gitlab:group/project#12, "
    "the URL of a pull request, merge request or issue, "
    "or #12 and !12 where the repository is known."
)

# --- find_commands ----------------------------------------------------------------------------

FIND_CASES = [
    ("plain", "@chatops status acme/web#12", ["status acme/web#12"]),
    ("only the mention", "@chatops", [""]),
    ("only the mention, trailing space", "@chatops   ", [""]),
    ("colon", "@chatops: deploy", ["deploy"]),
    ("comma", "@chatops, deploy", ["deploy"]),
    ("colon alone", "@chatops:", [""]),
    ("colon glued to the command", "@chatops:deploy", []),
    ("two colons", "@chatops:: deploy", []),
    ("longer name", "@chatopsy deploy", []),
    ("case-insensitive", "@ChatOps Deploy", ["Deploy"]),
    ("slack user id", "<@U0BOT> retry", ["retry"]),
    ("slack user id, lower case", "<@u0bot> retry", ["retry"]),
    ("discord user id", "<@123456789> retry", ["retry"]),
    ("discord id prefix is not a mention", "<@1234567890> retry", []),
    ("three spaces of indentation", "   @chatops run", ["run"]),
    ("surrounding whitespace stripped", "@chatops \t run ci  \t", ["run ci"]),
    ("mid-line mention", "hey @chatops run", []),
    ("list item", "- @chatops run", []),
    ("empty text", "", []),
    (
        "several lines, in order",
        "Thanks!\n@chatops status\nsome prose\n@chatops retry  \n<@U0BOT>\n",
        ["status", "retry", ""],
    ),
    ("crlf", "hi\r\n@chatops one\r\n@chatops two\r\n", ["one", "two"]),
    ("bare cr", "hi\r@chatops one\r@chatops two", ["one", "two"]),
    # fenced code
    ("backtick fence", "```\n@chatops no\n```\n@chatops yes", ["yes"]),
    ("tilde fence with info", "~~~ text\n@chatops no\n~~~\n@chatops yes", ["yes"]),
    ("indented fence", "   ```\n@chatops no\n   ```\n@chatops yes", ["yes"]),
    ("closed by a longer fence", "```\n@chatops no\n`````\n@chatops yes", ["yes"]),
    ("not closed by a shorter fence", "````\n```\n@chatops no\n````\n@chatops yes", ["yes"]),
    ("not closed by the other char", "```\n~~~\n@chatops no\n```\n@chatops yes", ["yes"]),
    ("closer with trailing spaces", "```\n@chatops no\n```  \n@chatops yes", ["yes"]),
    ("closer with text is content", "```\n``` x\n@chatops no", []),
    ("closer indented four spaces is content", "```\n    ```\n@chatops no", []),
    ("unclosed fence runs to the end", "```python\n@chatops no\n\n@chatops no", []),
    ("inline code is not a fence", "```code``` here\n@chatops yes", ["yes"]),
    ("two backticks are not a fence", "``\n@chatops yes", ["yes"]),
    ("fence indented four spaces is code", "    ```\n@chatops yes", ["yes"]),
    # indented code
    ("four spaces", "    @chatops no", []),
    ("tab", "\t@chatops no", []),
    ("spaces then tab", "  \t@chatops no", []),
    # quotes
    ("quoted", "> @chatops no", []),
    ("quoted, no space", ">@chatops no", []),
    ("quoted, indented", "   > @chatops no", []),
    ("nested quote", "> > @chatops no\n@chatops yes", ["yes"]),
    # HTML comments
    ("comment block", "<!--\n@chatops no\n-->\n@chatops yes", ["yes"]),
    ("one-line comment", "<!-- @chatops no -->\n@chatops yes", ["yes"]),
    ("after a comment on the same line", "<!-- x --> @chatops no", []),
    ("after a comment closes", "<!--\nx\n--> @chatops no\n@chatops yes", ["yes"]),
    ("after a comment closes, no space", "<!--\n-->@chatops no", []),
    ("comment removed from the command", "@chatops run <!-- hidden --> now", ["run  now"]),
    ("comment opened on the mention line", "@chatops run <!-- a\n@chatops no\n-->", ["run"]),
    ("comment reopened", "<!-- a --> <!--\n@chatops no\n-->\n@chatops yes", ["yes"]),
    ("closed and reopened", "<!--\n--> x <!--\n@chatops no\n-->\n@chatops yes", ["yes"]),
    ("empty comment <!-->", "<!-->\n@chatops yes", ["yes"]),
    ("empty comment <!--->", "<!--->\n@chatops yes", ["yes"]),
    ("unclosed comment runs to the end", "<!-- draft\n@chatops no\n@chatops no", []),
    ("comment inside a fence is text", "```\n<!--\n```\n@chatops yes", ["yes"]),
    ("comment in indented code is text", "    <!--\n@chatops yes", ["yes"]),
    ("fence inside a comment is text", "<!--\n```\n-->\n@chatops yes", ["yes"]),
    ("comment opened in a quote", "> <!--\n@chatops no\n-->\n@chatops yes", ["yes"]),
    # mentions compare as ASCII only: no Unicode case folding or compatibility mapping
    ("long s does not fold to s", "@chatop\u017f no\n@chatops yes", ["yes"]),
    ("capital long-s look-alike", "@CHATOP\u017f no", []),
    ("kelvin sign is not k", "<@U0BOT> yes\n@chatops\u212a no", ["yes"]),
    ("full-width letters are not ASCII", "@\uff43hatops no", []),
    ("dotless i is not i", "@chatops yes\n<@\u0131> no", ["yes"]),
    ("mention then a no-break space", "@chatops\u00a0ping", ["ping"]),
]


@pytest.mark.parametrize(
    ("text", "expected"), [case[1:] for case in FIND_CASES], ids=[case[0] for case in FIND_CASES]
)
def test_find_commands(text: str, expected: list[str]) -> None:
    assert find_commands(text, MENTIONS) == expected


@pytest.mark.parametrize("body", [12, 1.5, None, ["@chatops ping"], {"text": "@chatops ping"}])
def test_find_commands_in_a_body_that_is_not_text_finds_nothing(body: object) -> None:
    assert find_commands(body, MENTIONS) == []  # type: ignore[arg-type]


def test_find_commands_without_mentions_finds_nothing() -> None:
    assert find_commands("@chatops run\n run", []) == []
    assert find_commands("@chatops run\n run", [""]) == []


def test_find_commands_prefers_the_longest_mention() -> None:
    assert find_commands("@chat:ops run", ["@chat", "@chat:ops"]) == ["run"]


def test_find_commands_takes_mentions_literally() -> None:
    assert find_commands("@c.* run\n@cx run", ["@c.*"]) == ["run"]


COMMAND_TEXT = st.text(st.characters(exclude_characters="\r\n<"), max_size=40)
HIDING_CONTEXTS = [
    "```\n{line}\n```",
    "~~~~ sh\n{line}\n~~~~",
    "  ```\n\n{line}\n  ```",
    "    {line}",
    "\t{line}",
    "> {line}",
    "  >{line}",
    "<!--\n{line}\n-->",
    "<!-- {line} -->",
    "<!--\n\n{line} -->",
]


@given(
    mention=st.sampled_from(MENTIONS),
    command=COMMAND_TEXT,
    context=st.sampled_from(HIDING_CONTEXTS),
)
def test_hidden_mention_lines_never_yield_commands(
    mention: str, command: str, context: str
) -> None:
    line = f"{mention} {command}"
    hidden = context.format(line=line)
    assert find_commands(line, MENTIONS) == [command.strip()]
    assert find_commands(hidden, MENTIONS) == []
    assert find_commands(f"{hidden}\n{line}", MENTIONS) == [command.strip()]


# --- split_args / join_args -------------------------------------------------------------------

SPLIT_CASES = [
    ("", []),
    ("   \t ", []),
    ("status", ["status"]),
    ("  run  ci \t now ", ["run", "ci", "now"]),
    ("a\nb", ["a", "b"]),
    ("a\u00a0b", ["a", "b"]),
    ("'a b'", ["a b"]),
    ("'a \\\" b'", ['a \\" b']),
    ('"a b"', ["a b"]),
    ('"say \\"hi\\""', ['say "hi"']),
    ('"back\\\\slash"', ["back\\slash"]),
    ('"keep \\n and \\x"', ["keep \\n and \\x"]),
    ('"it\'s"', ["it's"]),
    ("'say \"hi\"'", ['say "hi"']),
    ('a"b c"d', ["ab cd"]),
    ("x'y z'\"w\"", ["xy zw"]),
    ('""', [""]),
    ("''", [""]),
    ('a "" b', ["a", "", "b"]),
    ('x""', ["x"]),
    ("a\\ b", ["a b"]),
    ('\\"quoted\\"', ['"quoted"']),
    ("\\\\", ["\\"]),
    ("\\a", ["a"]),
    ("a\\\nb", ["a\nb"]),
    ("\u201chello world\u201d x", ["hello world", "x"]),
    ("\u201chello world\u201c", ["hello world"]),
    ("--title=\u201cfix bug\u201d", ["--title=fix bug"]),
    ("\u201dhello world\u201d", ["hello world"]),
    ("12\u201d screen", ["12\u201d", "screen"]),
    ('\u201ca "b" c\u201d', ['a "b" c']),
    ("\u201ca \\\u201d b\u201d", ["a \u201d b"]),
    ('"a \u201d b"', ["a \u201d b"]),
    ("\u2018one two\u2019", ["one two"]),
    ("\u2018one two\u2018", ["one two"]),
    ("\u2019one two\u2019", ["one two"]),
    ("don\u2019t panic", ["don\u2019t", "panic"]),
    ("it\u2018s", ["it\u2018s"]),
    ("\u2018don\u2019t merge\u2019 now", ["don\u2019t merge", "now"]),
    ("\u2018a\\b\u2019", ["a\\b"]),
    ("'don\u2019t'", ["don\u2019t"]),
    ("\u00e9t\u00e9 \U0001f680", ["\u00e9t\u00e9", "\U0001f680"]),
]


@pytest.mark.parametrize(("line", "expected"), SPLIT_CASES)
def test_split_args(line: str, expected: list[str]) -> None:
    assert split_args(line) == expected


SPLIT_ERRORS = [
    ('abc "de', UnclosedQuote, 'unclosed " starting at character 5', 4),
    ("'", UnclosedQuote, "unclosed ' starting at character 1", 0),
    ('a "b\\"', UnclosedQuote, 'unclosed " starting at character 3', 2),
    ('"a\\', UnclosedQuote, 'unclosed " starting at character 1', 0),
    ("ok \u201cno end", UnclosedQuote, "unclosed \u201c starting at character 4", 3),
    ("\u2018don\u2019t", UnclosedQuote, "unclosed \u2018 starting at character 1", 0),
    ("x \\", TrailingEscape, "the \\ at character 3 ends the text, so it escapes nothing", 2),
    ("\\", TrailingEscape, "the \\ at character 1 ends the text, so it escapes nothing", 0),
]


@pytest.mark.parametrize(("line", "error", "message", "position"), SPLIT_ERRORS)
def test_split_args_errors(line: str, error: type[ParseError], message: str, position: int) -> None:
    with pytest.raises(ParseError) as caught:
        split_args(line)
    assert type(caught.value) is error
    assert (caught.value.message, str(caught.value), caught.value.position) == (
        message,
        message,
        position,
    )


def test_unclosed_quote_names_the_quote() -> None:
    with pytest.raises(UnclosedQuote) as caught:
        split_args("go \u2018there")
    assert (caught.value.quote, caught.value.position) == ("\u2018", 3)


def test_error_tree() -> None:
    assert issubclass(ParseError, ValueError)
    for error in (UnclosedQuote, TrailingEscape, InvalidTarget):
        assert issubclass(error, ParseError)


JOIN_CASES = [
    ([], ""),
    (["status", "acme/web#12", "--force"], "status acme/web#12 --force"),
    ([""], '""'),
    (["a b"], '"a b"'),
    (["it's"], '"it\'s"'),
    (['say "hi"'], '"say \\"hi\\""'),
    (["C:\\dir"], '"C:\\\\dir"'),
    (["line\nbreak"], '"line\nbreak"'),
    (["don\u2019t", "12\u201d"], "don\u2019t 12\u201d"),
    (["\u2019quoted", "x\u201cy"], '"\u2019quoted" "x\u201cy"'),
    (["\u00e9t\u00e9"], "\u00e9t\u00e9"),
]


@pytest.mark.parametrize(("args", "expected"), JOIN_CASES)
def test_join_args(args: list[str], expected: str) -> None:
    assert join_args(args) == expected
    assert split_args(expected) == args


QUOTING_TEXT = st.text(st.sampled_from(" \t\n\u00a0\\'\"\u201c\u201d\u2018\u2019ab#/"))


@given(st.lists(st.one_of(st.text(), QUOTING_TEXT)))
def test_join_then_split_round_trips(args: list[str]) -> None:
    assert split_args(join_args(args)) == args


def _error_from(parse: Callable[[str], object], text: str) -> ParseError | None:
    """Run ``parse`` on ``text``; return the ParseError it raised, if any (others propagate)."""
    try:
        parse(text)
    except ParseError as error:
        return error
    return None


@given(st.one_of(st.text(), QUOTING_TEXT))
def test_split_args_raises_only_parse_errors(line: str) -> None:
    error = _error_from(split_args, line)
    if isinstance(error, UnclosedQuote):
        assert error.position is not None
        assert line[error.position] == error.quote
    elif isinstance(error, TrailingEscape):
        assert (error.position, line[-1]) == (len(line) - 1, "\\")
    else:
        assert error is None


# --- parse_target / looks_like_target ---------------------------------------------------------

TARGET_CASES = [
    ("owner/repo#12", Target("owner/repo", PR, 12, None)),
    ("owner/repo", Target("owner/repo", REPO, None, None)),
    ("  owner/repo#12\n", Target("owner/repo", PR, 12, None)),
    ("Owner_1/re.po-2#7", Target("Owner_1/re.po-2", PR, 7, None)),
    ("group/sub/project#12", Target("group/sub/project", ISSUE, 12, GITLAB)),
    ("group/sub/project", Target("group/sub/project", REPO, None, GITLAB)),
    ("group/project!12", Target("group/project", MR, 12, GITLAB)),
    ("group/sub/project!12", Target("group/sub/project", MR, 12, GITLAB)),
    ("github:owner/repo#12", Target("owner/repo", PR, 12, GITHUB)),
    ("github:owner/repo", Target("owner/repo", REPO, None, GITHUB)),
    ("GitHub:owner/repo", Target("owner/repo", REPO, None, GITHUB)),
    ("gitlab:group/project#12", Target("group/project", ISSUE, 12, GITLAB)),
    ("gitlab:group/project!12", Target("group/project", MR, 12, GITLAB)),
    ("gitlab:group/project", Target("group/project", REPO, None, GITLAB)),
    ("gitlab:a/b/c/d#3", Target("a/b/c/d", ISSUE, 3, GITLAB)),
    ("o/r#2147483647", Target("o/r", PR, 2147483647, None)),
    ("o/r#007", Target("o/r", PR, 7, None)),
    ("https://github.com/owner/repo/pull/12", Target("owner/repo", PR, 12, GITHUB)),
    ("https://github.com/owner/repo/issues/12", Target("owner/repo", PR, 12, GITHUB)),
    ("https://github.com/owner/repo/pull/12/", Target("owner/repo", PR, 12, GITHUB)),
    ("https://github.com/owner/repo/pull/12/files", Target("owner/repo", PR, 12, GITHUB)),
    (
        "https://github.com/owner/repo/issues/12#issuecomment-99",
        Target("owner/repo", PR, 12, GITHUB),
    ),
    ("HTTP://ghe.example.com:8443/o/r/pull/3?w=1", Target("o/r", PR, 3, GITHUB)),
    (
        "https://gitlab.com/group/sub/project/-/merge_requests/12",
        Target("group/sub/project", MR, 12, GITLAB),
    ),
    ("https://git.example.org/g/p/-/merge_requests/12/diffs", Target("g/p", MR, 12, GITLAB)),
    ("https://gitlab.com/group/project/-/issues/12/", Target("group/project", ISSUE, 12, GITLAB)),
    ("https://gitlab.com/g/p/-/issues/12#note_1", Target("g/p", ISSUE, 12, GITLAB)),
    # short targets: the repository comes from the thread or the channel
    ("#12", Target("", PR, 12, None)),
    (" #7\n", Target("", PR, 7, None)),
    ("#007", Target("", PR, 7, None)),
    ("#2147483647", Target("", PR, 2147483647, None)),
    ("!12", Target("", MR, 12, GITLAB)),
]


@pytest.mark.parametrize(("text", "expected"), TARGET_CASES)
def test_parse_target(text: str, expected: Target) -> None:
    assert parse_target(text) == expected
    assert looks_like_target(text)


NAME_RULE = '(use letters, digits, "_", "." and "-", not starting with "." or "-")'
TARGET_ERRORS = [
    ("", '"" is not a valid target: it is empty.'),
    ("   ", '"" is not a valid target: it is empty.'),
    ("owner / repo", '"owner / repo" is not a valid target: it contains whitespace.'),
    (
        "repo",
        '"repo" is not a valid target: it needs an owner or group and a repository, '
        "as in owner/repo.",
    ),
    ("#", '"#" is not a valid target: the number is missing.'),
    ("!", '"!" is not a valid target: the number is missing.'),
    ("#x", '"#x" is not a valid target: "x" is not a number.'),
    ("#12/a", '"#12/a" is not a valid target: "12/a" is not a number.'),
    ("#1#2", '"#1#2" is not a valid target: "1#2" is not a number.'),
    ("!0", '"!0" is not a valid target: the number must be between 1 and 2147483647.'),
    (
        "github:#12",
        '"github:#12" is not a valid target: a short target such as #12 or !12 takes no prefix.',
    ),
    (
        "gitlab:!3",
        '"gitlab:!3" is not a valid target: a short target such as #12 or !12 takes no prefix.',
    ),
    ("a//b", '"a//b" is not a valid target: it has an empty path segment.'),
    ("a/b/", '"a/b/" is not a valid target: it has an empty path segment.'),
    (".a/b", f'".a/b" is not a valid target: ".a" is not a valid name {NAME_RULE}.'),
    ("a/-b", f'"a/-b" is not a valid target: "-b" is not a valid name {NAME_RULE}.'),
    ("a/b@c", f'"a/b@c" is not a valid target: "b@c" is not a valid name {NAME_RULE}.'),
    ("a/b:c", f'"a/b:c" is not a valid target: "b:c" is not a valid name {NAME_RULE}.'),
    ("a/b#", '"a/b#" is not a valid target: the number is missing.'),
    ("a/b#+1", '"a/b#+1" is not a valid target: "+1" is not a number.'),
    ("a/b#-1", '"a/b#-1" is not a valid target: "-1" is not a number.'),
    ("a/b#1#2", '"a/b#1#2" is not a valid target: "1#2" is not a number.'),
    ("a/b#\u0661", '"a/b#\u0661" is not a valid target: "\u0661" is not a number.'),
    ("a/b#0", '"a/b#0" is not a valid target: the number must be between 1 and 2147483647.'),
    (
        "a/b#2147483648",
        '"a/b#2147483648" is not a valid target: the number must be between 1 and 2147483647.',
    ),
    (
        "github:a/b!1",
        '"github:a/b!1" is not a valid target: GitHub has no merge requests ("!"); '
        'use "#" for a pull request.',
    ),
    (
        "github:a/b/c#1",
        '"github:a/b/c#1" is not a valid target: a GitHub repository is exactly owner/repo.',
    ),
    (
        "bitbucket:a/b",
        '"bitbucket:a/b" is not a valid target: "bitbucket:" is not a known prefix '
        "(use github: or gitlab:).",
    ),
    (
        "github:repo",
        '"github:repo" is not a valid target: it needs an owner or group and a repository, '
        "as in owner/repo.",
    ),
    (
        "ftp://github.com/a/b/pull/1",
        '"ftp://github.com/a/b/pull/1" is not a valid target: '
        "it is not a well-formed http or https URL.",
    ),
    (
        "https://github.com/owner/repo",
        '"https://github.com/owner/repo" is not a valid target: '
        "the URL does not point at a pull request, merge request or issue.",
    ),
    (
        "https://github.com/a/b/c/pull/1",
        '"https://github.com/a/b/c/pull/1" is not a valid target: '
        "the URL does not point at a pull request, merge request or issue.",
    ),
    (
        "https://gitlab.com/g/p/merge_requests/1",
        '"https://gitlab.com/g/p/merge_requests/1" is not a valid target: '
        "the URL does not point at a pull request, merge request or issue.",
    ),
    (
        "https://gitlab.com/-/issues/1",
        '"https://gitlab.com/-/issues/1" is not a valid target: '
        "it needs an owner or group and a repository, as in owner/repo.",
    ),
    (
        "https://github.com/o/r/pull/0",
        '"https://github.com/o/r/pull/0" is not a valid target: '
        "the number must be between 1 and 2147483647.",
    ),
    (
        "https://github.com/o/r/pull/1/files/x",
        '"https://github.com/o/r/pull/1/files/x" is not a valid target: '
        "the URL does not point at a pull request, merge request or issue.",
    ),
    (
        "a/" + "b" * 70 + "#x",
        '"a/' + "b" * 57 + '\u2026" is not a valid target: "x" is not a number.',
    ),
]


@pytest.mark.parametrize(("text", "message"), TARGET_ERRORS)
def test_parse_target_errors(text: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_target(text)
    assert type(caught.value) is InvalidTarget
    assert (caught.value.message, caught.value.position) == (message + ACCEPTED, None)


LOOKS_CASES = [
    ("owner/repo", True),
    ("  owner/repo#12 ", True),
    ("https://github.com/o/r/pull/1", True),
    ("github:repo", True),
    ("GITLAB:x", True),
    ("a//b", True),
    ("feature/login", True),
    ("repo", False),
    ("#12", True),
    ("!3", True),
    ("#1x", True),
    ("#general", False),
    ("#", False),
    ("!", False),
    ("--force", False),
    ("key:value", False),
    ("a b/c", False),
    ("", False),
    ("   ", False),
]


@pytest.mark.parametrize(("text", "expected"), LOOKS_CASES)
def test_looks_like_target(text: str, expected: bool) -> None:
    assert looks_like_target(text) is expected


SEGMENT = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,8}", fullmatch=True)
NUMBER = st.integers(1, 2**31 - 1).map(str)
URL_END = st.sampled_from(["", "/", "#top", "?tab=1", "/files", "/diffs/"])
HOST = st.sampled_from(["github.com", "gitlab.com", "git.example.org:8443"])


@st.composite
def reference_texts(draw: st.DrawFn) -> str:
    """A valid ``[prefix:]path[#N|!N]`` target in any of the accepted shapes."""
    prefix = draw(st.sampled_from(["", "github:", "gitlab:", "GitLab:"]))
    github = prefix == "github:"
    segments = draw(st.lists(SEGMENT, min_size=2, max_size=2 if github else 4))
    sigil = draw(st.sampled_from(["", "#"] if github else ["", "#", "!"]))
    number = draw(NUMBER) if sigil else ""
    return f"{prefix}{'/'.join(segments)}{sigil}{number}"


@st.composite
def short_texts(draw: st.DrawFn) -> str:
    """A valid short target: ``#N`` or ``!N``."""
    return f"{draw(st.sampled_from(['#', '!']))}{draw(NUMBER)}"


@st.composite
def url_texts(draw: st.DrawFn) -> str:
    """A valid pull request, merge request or issue URL."""
    host, number, end = draw(HOST), draw(NUMBER), draw(URL_END)
    if draw(st.booleans()):
        owner, repo, page = draw(SEGMENT), draw(SEGMENT), draw(st.sampled_from(["pull", "issues"]))
        return f"https://{host}/{owner}/{repo}/{page}/{number}{end}"
    path = "/".join(draw(st.lists(SEGMENT, min_size=2, max_size=4)))
    page = draw(st.sampled_from(["merge_requests", "issues"]))
    return f"https://{host}/{path}/-/{page}/{number}{end}"


@given(st.one_of(reference_texts(), url_texts(), short_texts()))
def test_every_parsed_target_round_trips_through_str(text: str) -> None:
    target = parse_target(text)
    assert parse_target(str(target)) == target
    assert looks_like_target(text)
    assert looks_like_target(str(target))


@given(st.one_of(st.text(), st.text(st.sampled_from("ab/#!:-. 0123456789githublab"))))
def test_parse_target_raises_only_invalid_target(text: str) -> None:
    error = _error_from(parse_target, text)
    if error is None:
        assert looks_like_target(text)
        assert parse_target(str(parse_target(text))) == parse_target(text)
    else:
        assert type(error) is InvalidTarget
        assert error.message.endswith(ACCEPTED)


def test_short_targets_are_relative_and_print_as_typed() -> None:
    assert [(t.relative, str(t)) for t in map(parse_target, ["#12", "!3", "a/b#12"])] == [
        (True, "#12"),
        (True, "!3"),
        (False, "a/b#12"),
    ]


PLACE_CASES = [
    ("#12", "acme/web", GITHUB, Target("acme/web", PR, 12, GITHUB)),
    ("#12", "acme/web", None, Target("acme/web", PR, 12, None)),
    ("#12", "group/project", GITLAB, Target("group/project", ISSUE, 12, GITLAB)),
    ("!12", "group/project", GITLAB, Target("group/project", MR, 12, GITLAB)),
    ("!12", "group/project", None, Target("group/project", MR, 12, GITLAB)),
    ("#3", "group/sub/project", None, Target("group/sub/project", ISSUE, 3, GITLAB)),
]


@pytest.mark.parametrize(("short", "repo", "forge", "expected"), PLACE_CASES)
def test_place_target_follows_the_long_form_rules(
    short: str, repo: str, forge: Forge | None, expected: Target
) -> None:
    assert place_target(parse_target(short), repo, forge) == expected


def test_place_target_refuses_a_merge_request_on_github() -> None:
    with pytest.raises(InvalidTarget) as caught:
        place_target(parse_target("!12"), "acme/web", GITHUB)
    assert caught.value.problem == (
        'GitHub has no merge requests ("!"); use "#" for a pull request'
    )
    assert caught.value.text == "github:acme/web!12"


def test_place_target_takes_only_short_targets() -> None:
    with pytest.raises(ValueError, match="acme/web#1 is not a short target"):
        place_target(parse_target("acme/web#1"), "acme/api", None)


@given(
    short=short_texts(),
    repo=st.lists(SEGMENT, min_size=2, max_size=4).map("/".join),
    forge=st.sampled_from([None, GITHUB, GITLAB]),
)
def test_placing_a_short_target_is_parsing_its_long_form(
    short: str, repo: str, forge: Forge | None
) -> None:
    long_form = f"{forge}:{repo}{short}" if forge else f"{repo}{short}"
    expected = _error_from(parse_target, long_form)
    if expected is None:
        assert place_target(parse_target(short), repo, forge) == parse_target(long_form)
    else:
        with pytest.raises(InvalidTarget) as caught:
            place_target(parse_target(short), repo, forge)
        assert caught.value.message == expected.message
