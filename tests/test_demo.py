"""The web demo: the page's pieces computed from the model, the batched ``answer`` endpoint of ``demo`` run as a real
server and queried with gradio_client, one request at a time and many at once, bad problems refused one by one with
their one-line reason while the server keeps serving, SIGTERM, and the exported ``app.py`` serving the same answers in
a process that cannot import lit_addition."""

import json
import subprocess
import sys
from dataclasses import replace

import httpx
import numpy as np
import pytest
from gradio_client import Client
from helpers import a_taken_port
from processes import BLOCK_LIT_ADDITION, QUIET_GRADIO, serving

from lit_addition.__main__ import main
from lit_addition.evaluation import longest_carry_chain
from lit_addition.inference import CheckpointAdder
from lit_addition.runtime.app import RIGHT, WRONG, describe, explain
from lit_addition.runtime.errors import InputError
from lit_addition.runtime.text import parse, problems_to_try

GOOD = ["12+34", " 7 + 8 ", "99+1", "0+0", "53+6"]
BAD = ["5*3", "123+4", "-5+3", "", "٣+1", "1+2+3", "<b>1</b>+2"]

# The exported folder's app.py, run as a Hugging Face Space runs it, by a Python that cannot import lit_addition.
EXPORTED_APP = (
    BLOCK_LIT_ADDITION
    + r"""
import runpy
folder = sys.argv[1]
sys.path.insert(0, folder)
sys.argv = ["app.py", *sys.argv[2:]]
runpy.run_path(f"{folder}/app.py", run_name="__main__")
"""
)


def reason(digits: int, problem: str) -> str:
    """The one-line reason why ``answer`` refuses a problem."""
    with pytest.raises(InputError) as error:
        parse(problem, digits)
    return str(error.value)


def client(url: str) -> Client:
    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def refusal(job) -> str:
    """The one-line reason the demo gave for refusing a request: HTTP 400 when it was submitted."""
    with pytest.raises(httpx.HTTPStatusError) as error:
        job.result()
    assert error.value.response.status_code == 400
    return error.value.response.json()["detail"]


def test_the_problems_to_try_parse_and_include_the_longest_carry_chain():
    for digits in (1, 2, 3, 5):
        a, b = np.array([parse(problem, digits) for problem in problems_to_try(digits)]).T
        assert longest_carry_chain(a, b, digits).max() == digits
    assert problems_to_try(3)[:2] == ["535+61", "999+1"]


@pytest.mark.parametrize("reverse_answer", [True, False])
def test_explain_shows_the_models_answer_the_truth_and_each_characters_confidence(checkpoint_path, reverse_answer):
    adder = CheckpointAdder.load(checkpoint_path)
    adder.encoding = replace(adder.encoding, reverse_answer=reverse_answer)  # the same network, read either way
    places = ["10^2", "10^1", "10^0"] if reverse_answer else ["character 1", "character 2", "character 3"]
    for problem in GOOD:
        answer, truth, verdict, rows = explain(adder, problem)
        a, b = parse(problem, 2)
        assert (answer, truth) == (adder.answer([problem])[0], str(a + b))
        assert verdict == (RIGHT if answer == truth else WRONG)
        assert [row[1] for row in rows] == places  # most significant first
        assert "".join(row[0] for row in rows if row[0] != "(none)") == answer
        logits = adder.logits(adder.encoding.encode_questions(np.array([a]), np.array([b])))[0]
        top = np.exp(logits.max(-1)) / np.exp(logits).sum(-1)
        assert [row[2] for row in rows] == [f"{p:.1%}" for p in (top[::-1] if reverse_answer else top)]
    with pytest.raises(InputError, match="'5\\*3': '\\*' is not allowed"):
        explain(adder, "5*3")


def test_facts_line():
    facts = {"digits": 3, "parameters": 206_348, "test_seq_acc": 0.99944, "test_problems": 5_000, "source": "a.ckpt"}
    assert describe(facts) == (
        "**3-digit model** · 206,348 parameters · test split: 99.94% exact on 5,000 held-out problems · from `a.ckpt`"
    )
    assert "test-split accuracy not measured" in describe({**facts, "test_seq_acc": None})


def test_demo_answers_by_api_refuses_bad_problems_keeps_serving_and_stops_on_sigterm(checkpoint_path, tmp_path):
    model = CheckpointAdder.load(checkpoint_path)
    command = [sys.executable, "-m", "lit_addition", "demo", "--ckpt_path", str(checkpoint_path)]
    with serving(command, cwd=tmp_path) as server:
        assert server.url.startswith("http://127.0.0.1:")  # loopback unless --host says otherwise
        demo = client(server.url)
        assert [demo.predict(problem, api_name="/answer") for problem in GOOD] == model.answer(GOOD)
        for problem in BAD:
            assert refusal(demo.submit(problem, api_name="/answer")) == reason(2, problem)
        assert demo.predict("99+1", api_name="/answer") == model.answer(["99+1"])[0]  # still serving
        # Many at once, good and bad mixed: the good ones share batches, each bad one is refused on its own.
        problems = [f"{a}+{b}" for a, b in np.random.default_rng(1).integers(0, 100, (40, 2))] + BAD
        jobs = {problem: demo.submit(problem, api_name="/answer") for problem in problems}
        assert [jobs[problem].result() for problem in problems[:40]] == model.answer(problems[:40])
        assert [refusal(jobs[problem]) for problem in BAD] == [reason(2, problem) for problem in BAD]
        page = httpx.get(server.url, timeout=30)
        assert page.status_code == 200 and "lit_addition: 2-digit addition" in page.text
        assert server.stop() == 0
    assert server.lines[-1] == "demo stopped"
    assert not any("Traceback" in line for line in server.lines)
    assert list(tmp_path.iterdir()) == []  # nothing written to the current directory


def test_exported_app_serves_the_same_answers_without_lit_addition(exported, checkpoint_path, tmp_path):
    model = CheckpointAdder.load(checkpoint_path)
    facts = json.loads((exported / "facts.json").read_text())
    command = [sys.executable, "-I", "-B", "-c", EXPORTED_APP, str(exported)]
    with serving(command, cwd=tmp_path) as server:
        demo = client(server.url)
        assert [demo.predict(problem, api_name="/answer") for problem in GOOD] == model.answer(GOOD)
        assert refusal(demo.submit("123+4", api_name="/answer")) == reason(2, "123+4")
        config = httpx.get(server.url + "config", timeout=30).json()
        shown = next(c["props"]["value"] for c in config["components"] if c["props"].get("elem_id") == "facts")
        assert describe(facts) in shown
        assert server.stop() == 0


def test_bad_input_gets_one_line(checkpoint_path, tmp_path, capsys):
    # A bad checkpoint: tests/test_checkpoints.py, for every command.
    with a_taken_port() as port, pytest.raises(SystemExit) as exit:
        main(["demo", "--ckpt_path", str(checkpoint_path), "--port", str(port)])
    assert exit.value.code == 2
    assert capsys.readouterr().err == (
        f"error: cannot serve on 127.0.0.1:{port} (Cannot find empty port in range: {port}-{port}): pick another "
        "--port, or --host\n"
    )
    without_gradio = (
        "import sys\nsys.modules['gradio'] = None\nfrom lit_addition.__main__ import main\nmain(sys.argv[1:])"
    )
    result = subprocess.run(
        [sys.executable, "-c", without_gradio, "demo", "--ckpt_path", str(checkpoint_path)],
        capture_output=True, text=True, env=QUIET_GRADIO,
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (
        2, "error: the demo needs gradio, not installed here: pip install 'lit-addition[demo]'\n",
    )  # fmt: skip
