"""The demo page in a real browser: Debian's Chromium (``apt-get install chromium``), driven by Playwright for Python,
types problems into the page a ``demo`` process serves and reads the answers, ☑ and ☒, and a refusal back.

Playwright's own browser download is not used. The test saves a screenshot of the page; ``docs/demo.png`` was taken
by it, for the 3-digit model, with::

    LIT_ADDITION_DEMO_CKPT=CKPT LIT_ADDITION_SCREENSHOT=docs/demo.png pytest -m slow tests/test_demo_browser.py
"""

import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from playwright.sync_api import expect, sync_playwright
from processes import serving

from lit_addition.inference import CheckpointAdder
from lit_addition.problems import count_problems, problems_at
from lit_addition.runtime.app import RIGHT, WRONG
from lit_addition.runtime.text import problems_to_try

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install chromium"),
]
# Headless, and no background connections: Chromium's own update, sync and field-trial requests would be refused here.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def right_and_wrong(model) -> tuple[str, str | None]:
    """One problem the model answers right, preferring the page's own examples, and one it gets wrong, if any
    among the first 5,050 problems of its space."""
    digits = model.encoding.digits
    a, b = problems_at(digits, np.arange(min(count_problems(digits), 5_050)))
    candidates = problems_to_try(digits) + [f"{x}+{y}" for x, y in zip(a.tolist(), b.tolist(), strict=True)]
    truths = [str(sum(map(int, problem.split("+")))) for problem in candidates]
    outcomes = [answer == truth for answer, truth in zip(model.answer(candidates), truths, strict=True)]
    right = candidates[outcomes.index(True)]
    wrong = candidates[outcomes.index(False)] if False in outcomes else None
    return right, wrong


def test_a_typed_problem_gets_the_models_answer_and_a_bad_one_its_reason(checkpoint_path, tmp_path):
    ckpt = os.environ.get("LIT_ADDITION_DEMO_CKPT", str(checkpoint_path))
    model = CheckpointAdder.load(ckpt)
    right, wrong = right_and_wrong(model)
    requested: list[str] = []
    command = [sys.executable, "-m", "lit_addition", "demo", "--ckpt_path", ckpt]
    with serving(command, cwd=tmp_path) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 820})
            page.on("request", lambda request: requested.append(request.url))
            page.goto(server.url)
            expect(page.locator("#facts")).to_contain_text(f"{model.encoding.digits}-digit model")

            def ask(problem: str, submit: str) -> tuple[str, str]:
                """Type a problem, send it with the button or the Enter key, and read the answer and verdict."""
                page.locator("#problem textarea").fill(problem)
                if submit == "button":
                    page.locator("#submit").click()
                else:
                    page.locator("#problem textarea").press("Enter")
                expect(page.locator("#truth textarea")).to_have_value(str(sum(map(int, problem.split("+")))))
                return page.locator("#answer textarea").input_value(), page.locator("#verdict textarea").input_value()

            assert ask(right, "button") == (model.answer([right])[0], RIGHT)
            expect(page.locator("#confidence")).to_contain_text("10^0")
            page.screenshot(path=tmp_path / "demo.png", full_page=True)
            if wrong is not None:
                assert ask(wrong, "enter") == (model.answer([wrong])[0], WRONG)

            page.locator("#problem textarea").fill("5*3")
            page.locator("#submit").click()
            reason = """'5*3': '*' is not allowed: use only the digits 0-9, "+" and spaces, e.g. 535+61"""
            expect(page.locator("#error textarea")).to_have_value(reason)
            expect(page.locator("#answer textarea")).to_have_value("")
            expect(page.locator("#verdict textarea")).to_have_value("")

            page.get_by_text(problems_to_try(model.encoding.digits)[1], exact=True).click()  # 99+1: a full carry chain
            expect(page.locator("#truth textarea")).to_have_value("1" + "0" * model.encoding.digits)
            expect(page.locator("#error")).to_be_hidden()
        finally:
            browser.close()
    assert {urlsplit(url).hostname for url in requested} == {"127.0.0.1"}  # nothing fetched from outside
    assert (tmp_path / "demo.png").stat().st_size > 0
    if os.environ.get("LIT_ADDITION_SCREENSHOT"):
        shutil.copyfile(tmp_path / "demo.png", os.environ["LIT_ADDITION_SCREENSHOT"])
