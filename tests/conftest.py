"""Test-suite policy: a skip is allowed on a developer's machine, never in CI.

CI (``.ci/run``, run with ``CI=true``) installs everything the suite needs: the Fashion-MNIST
system package, torch, and it has ``../shared`` beside the checkout. A test that skips there
means an install step did not work, so in CI every skip is turned into a failure, unless the
test is marked ``@pytest.mark.allow_skip("why this skip is legitimate even in CI")``.

Tests say what they need with :func:`need`::

    from conftest import need

    def test_fashion():
        need(FASHION_DIR.is_dir(), "apt-get install dataset-fashion-mnist")

Locally that skips, and the end of the run lists every skipped test in a banner that says CI
would fail on it; with ``CI=true`` it fails at once, naming what is missing.
"""

from __future__ import annotations

import os

import pytest

#: True when the suite runs in CI (CI sets CI=true in the environment; .ci/run exports it too).
IN_CI = os.environ.get("CI", "").lower() == "true"

_CI_FIX = "CI installs this in .ci/run: that step did not work; fix it rather than skipping"


def need(condition: object, reason: str) -> None:
    """Go on if ``condition`` is true; otherwise skip locally but FAIL in CI.

    Parameters
    ----------
    condition : object
        What the test needs, e.g. ``FASHION_DIR.is_dir()`` or ``importlib.util.find_spec("torch")
        is not None``; tested for truth.
    reason : str
        What is missing and how to get it, e.g. "needs `apt-get install dataset-fashion-mnist`".
    """
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must not skip: {reason} ({_CI_FIX})", pytrace=False)
    pytest.skip(f"[CI would FAIL here] {reason}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "allow_skip(reason): this test may skip even in CI (say why); every other skip fails CI",
    )


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (path, lineno, "Skipped: why")
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """In CI, report a skip (skipif, importorskip, pytest.skip) as a failure."""
    outcome = yield
    report = outcome.get_result()
    if (
        IN_CI
        and report.skipped
        and not hasattr(report, "wasxfail")
        and item.get_closest_marker("allow_skip") is None
    ):
        reason = _skip_reason(report)
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} skipped in CI: {reason}\n{_CI_FIX} (or mark the test "
            '@pytest.mark.allow_skip("...") if the skip is legitimate in CI too).'
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI, a whole module skipped at collection (module-level importorskip) fails the run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not IN_CI or reporter is None:
        return
    skipped = [r for r in reporter.stats.get("skipped", []) if isinstance(r, pytest.CollectReport)]
    if skipped:
        reporter.write_line("")
    for report in skipped:
        reporter.write_line(f"CI: module skipped at collection: {report.nodeid}: "
                            f"{_skip_reason(report)}", red=True)
    if skipped:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Locally, list every skipped test loudly: CI would fail on each of them."""
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if not hasattr(r, "wasxfail") and "allow_skip" not in getattr(r, "keywords", {})]
    if not skipped or IN_CI:
        return
    write = terminalreporter.write_line
    terminalreporter.section("SKIPPED HERE, WOULD FAIL IN CI", sep="!", red=True, bold=True)
    for report in skipped:
        write(f"  {report.nodeid}: {_skip_reason(report)}", red=True)
    write(f"{len(skipped)} test(s) did not run on this machine; CI (CI=true) fails on each of "
          "them unless it is marked allow_skip.", red=True, bold=True)
