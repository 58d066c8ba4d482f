"""pytest plugin for nbval over the student edition: the stubs, and only the stubs, fail.

``make test-notebooks`` writes the student edition of every chapter (the chapters without their
solution cells, ``data_scripts/make_student_edition.py``) and runs it under
``pytest --nbval-lax -p student_stub_check``. One execution of each chapter then shows both that
it runs top to bottom on the synthetic data and that a learner's copy works:

- a cell that raises fails under nbval unless it is tagged ``raises-exception``, so no cell
  after a stub may need a solution's result;
- this plugin adds the converse: every cell tagged ``exercise-stub`` must raise, and with
  ``NotImplementedError`` (nbval alone lets a ``raises-exception`` cell pass silently).

Load it with ``PYTHONPATH=tests`` (the Makefile does).
"""

from __future__ import annotations

import pytest

#: Tag of the code cell a learner completes (data_scripts/make_student_edition.py).
STUB_TAG = "exercise-stub"
#: The exception every stub raises until the learner completes it.
STUB_EXCEPTION = "NotImplementedError"


def stub_failure(item) -> str | None:
    """Why this executed nbval cell breaks the stub rule, or ``None`` when it does not.

    ``item`` is an nbval cell item (``item.cell``: the notebook cell; ``item.test_outputs``: the
    outputs its execution produced, errors as ``{"output_type": "error", "ename": ...}``).
    """
    cell = getattr(item, "cell", None)
    if cell is None or STUB_TAG not in cell.get("metadata", {}).get("tags", []):
        return None
    errors = [
        output.get("ename")
        for output in (getattr(item, "test_outputs", None) or [])
        if output.get("output_type") == "error"
    ]
    if errors != [STUB_EXCEPTION]:
        return (
            f"exercise stub {cell.get('id')}: expected it to raise {STUB_EXCEPTION}, "
            f"it raised {errors or 'nothing'}"
        )
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.when == "call" and report.passed:
        problem = stub_failure(item)
        if problem:
            report.outcome = "failed"
            report.longrepr = problem
