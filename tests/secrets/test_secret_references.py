"""``bot.secrets.references``: which secrets CI files reference, per file and job.

Whole ``References`` values are compared; property tests feed it any text and any YAML-ish
text, and it must never raise.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.forge import CiFile
from bot.secrets.references import FileProblem, Reference, References, find_references

CI = ".github/workflows/ci.yml"
DEPLOY = ".github/workflows/deploy.yml"
RELEASE = ".github/workflows/release.yml"
GITLAB = ".gitlab-ci.yml"


def refs(*triples: tuple[str, str, str]) -> tuple[Reference, ...]:
    return tuple(sorted(Reference(*triple) for triple in triples))


def test_workflow_expressions_per_job_and_at_the_workflow_level() -> None:
    text = """\
name: CI
on:
  push:
env:
  REGISTRY: ${{ secrets.registry_url }}
jobs:
  build:
    runs-on: ubuntu-latest
    if: secrets.BUILD_ENABLED != ''
    steps:
      - run: echo "${{ secrets.NPM_TOKEN }}" "${{ secrets['PYPI_TOKEN'] }}"
      - run: echo ${{ secrets["QUOTED"] }} ${{ github.token }} ${{ secrets.GITHUB_TOKEN }}
      - run: echo secrets.NOT_AN_EXPRESSION
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          token: ${{ secrets.NPM_TOKEN || secrets.FALLBACK }}
"""
    assert find_references([CiFile(CI, text)]) == References(
        refs(
            ("BUILD_ENABLED", CI, "build"),
            ("FALLBACK", CI, "test"),
            ("NPM_TOKEN", CI, "build"),
            ("NPM_TOKEN", CI, "test"),
            ("PYPI_TOKEN", CI, "build"),
            ("QUOTED", CI, "build"),
            ("REGISTRY_URL", CI, ""),
        )
    )


def test_reusable_workflows_inherit_or_map_secrets() -> None:
    caller = """\
on: push
jobs:
  inherit:
    uses: ./.github/workflows/deploy.yml
    secrets: inherit
  mapped:
    uses: ./.github/workflows/deploy.yml
    secrets:
      DEPLOY_KEY: ${{ secrets.PROD_DEPLOY_KEY }}
  remote:
    uses: acme/shared/.github/workflows/x.yml@v1
    secrets: inherit
"""
    deploy = """\
on:
  workflow_call:
    secrets:
      DEPLOY_KEY:
        required: true
jobs:
  ship:
    runs-on: ubuntu-latest
    steps:
      - run: ./ship ${{ secrets.DEPLOY_KEY }} ${{ secrets.AWS_KEY }}
  nested:
    uses: ./.github/workflows/release.yml
    secrets: inherit
"""
    release = """\
on: {workflow_call: {}}
jobs:
  publish:
    steps: [{run: "${{ secrets.RELEASE_TOKEN }}"}]
  loop:
    uses: ./.github/workflows/deploy.yml
    secrets: inherit
"""
    found = find_references([CiFile(CI, caller), CiFile(DEPLOY, deploy), CiFile(RELEASE, release)])
    assert found == References(
        refs(
            ("AWS_KEY", CI, "inherit"),
            ("AWS_KEY", DEPLOY, "ship"),
            ("AWS_KEY", RELEASE, "loop"),
            ("DEPLOY_KEY", CI, "inherit"),
            ("DEPLOY_KEY", RELEASE, "loop"),
            ("PROD_DEPLOY_KEY", CI, "mapped"),
            ("RELEASE_TOKEN", CI, "inherit"),
            ("RELEASE_TOKEN", DEPLOY, "nested"),
            ("RELEASE_TOKEN", RELEASE, "publish"),
        )
    )


def test_the_on_key_read_as_true_does_not_hide_workflow_call_parameters() -> None:
    # ``on`` unquoted is YAML 1.1's True; quoted it stays "on": both declare parameters
    for on in ("on", '"on"'):
        text = f"""\
{on}:
  workflow_call:
    secrets: {{token: {{required: true}}}}
jobs:
  go:
    steps: [{{run: "${{{{ secrets.token }}}} ${{{{ secrets.OTHER }}}}"}}]
"""
        assert find_references([CiFile(CI, text)]) == References(refs(("OTHER", CI, "go")))


def test_gitlab_variables_per_job_without_predefined_or_local_ones() -> None:
    text = """\
variables:
  IMAGE: registry.example.com/app
  URL: https://$REGISTRY_HOST/$IMAGE
default:
  before_script:
    - docker login -p "$REGISTRY_PASSWORD"
.deploy:
  script:
    - ./deploy --key "${DEPLOY_KEY}"
stages: [test, deploy]
test:
  stage: test
  variables:
    LOCAL: "1"
  script:
    - export BUILT=yes; COUNT=3 ./run $LOCAL $BUILT $COUNT $CI_JOB_TOKEN $GITLAB_USER_LOGIN
    - for f in *; do echo $f $HOME; done
    - echo $$ESCAPED ${SONAR_TOKEN} %WIN_SECRET%
  rules:
    - if: '$CI_COMMIT_BRANCH == "main" && $RUN_TESTS'
production:
  extends: .deploy
  script: ./release $RELEASE_TOKEN
"""
    assert find_references([CiFile(GITLAB, text)]) == References(
        refs(
            ("DEPLOY_KEY", GITLAB, "production"),
            ("REGISTRY_HOST", GITLAB, ""),
            ("REGISTRY_PASSWORD", GITLAB, ""),
            ("RELEASE_TOKEN", GITLAB, "production"),
            ("RUN_TESTS", GITLAB, "test"),
            ("SONAR_TOKEN", GITLAB, "test"),
            ("WIN_SECRET", GITLAB, "test"),
        )
    )


def test_unreadable_files_are_reported_and_the_rest_still_counts() -> None:
    files = [
        CiFile(CI, "jobs:\n  a:\n    steps: [{run: '${{ secrets.GOOD }}'}]\n"),
        CiFile(DEPLOY, "jobs: [\n"),
        CiFile(RELEASE, "- just\n- a list\n"),
        CiFile(".github/workflows/empty.yml", ""),
        CiFile(".github/workflows/date.yml", "when: 2001-02-30\n"),
    ]
    assert find_references(files) == References(
        refs(("GOOD", CI, "a")),
        (
            FileProblem(".github/workflows/date.yml", "not valid YAML: ValueError"),
            FileProblem(
                DEPLOY,
                "not valid YAML at line 2: did not find expected node content",
            ),
            FileProblem(RELEASE, "not a mapping of keys to values"),
        ),
    )


def test_self_referencing_aliases_are_walked_once() -> None:
    text = """\
jobs:
  a: &job
    steps:
      - run: ${{ secrets.LOOPED }}
      - *job
  b: *job
"""
    assert find_references([CiFile(CI, text)]) == References(
        refs(("LOOPED", CI, "a"), ("LOOPED", CI, "b"))
    )


def test_deep_nesting_is_cut_off_not_fatal() -> None:
    text = "jobs:\n  a: " + "[" * 200 + "'${{ secrets.DEEP }}'" + "]" * 200 + "\n"
    assert find_references([CiFile(CI, text)]) == References()


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises_on_any_text(text: str) -> None:
    found = find_references([CiFile(CI, text), CiFile(GITLAB, text)])
    assert isinstance(found, References)


TOKENS = [*"ab:-[]{}&*!|>'\"$%#\n ?,.=@`\\", "on", "jobs", "${{", "}}", "secrets.", "  "]
YAMLISH = st.lists(st.sampled_from(TOKENS), max_size=120).map("".join)


@settings(max_examples=300, deadline=None)
@given(YAMLISH)
def test_never_raises_on_yaml_like_text(text: str) -> None:
    found = find_references([CiFile(CI, text), CiFile(GITLAB, text)])
    assert all(problem.path in (CI, GITLAB) for problem in found.problems)
