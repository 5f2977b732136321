"""``serve``: the checkpoint behind LitServe as a real server on a free loopback port. Right answers to one problem
and to many, each bad problem's reason beside the good answers, every kind of malformed body refused with a 4xx and a
one-line reason while the server keeps serving, concurrent requests answered together, the health endpoint, SIGTERM,
and the one-line errors for bad input at start."""

import subprocess
import sys
import threading
from collections.abc import Iterator

import httpx
import pytest
import torch
from helpers import a_taken_port
from processes import QUIET_GRADIO, Server, serving

from lit_addition.__main__ import main
from lit_addition.commands.serve import MAX_PROBLEMS, USAGE
from lit_addition.inference import CheckpointAdder
from lit_addition.runtime.text import record

GOOD = ["12+34", " 7 + 8 ", "99+1", "0+0", "007+8", "7+8"]
BAD = ["5*3", "123+4", "-5+3", "", "٣+1", "1+2+3"]
# A long batch window, so that requests sent together are answered together however busy the machine is.
BATCHING = ["--max_batch_size", "16", "--batch_timeout", "0.2"]
JSON = "application/json"


@pytest.fixture(scope="module")
def server(checkpoint_path, tmp_path_factory) -> Iterator[Server]:
    command = [sys.executable, "-m", "lit_addition", "serve", "--ckpt_path", str(checkpoint_path), *BATCHING]
    with serving(command, cwd=tmp_path_factory.mktemp("serve")) as running:
        yield running


@pytest.fixture(scope="module")
def model(checkpoint_path) -> CheckpointAdder:
    return CheckpointAdder.load(checkpoint_path)


def predict(server: Server, body: dict) -> httpx.Response:
    return httpx.post(f"{server.url}/predict", json=body, timeout=60)


def expected(model: CheckpointAdder, problems: list[str]) -> list[dict]:
    """What ``answer --json`` writes for ``problems``: one record per problem, its answer or its error."""
    results = model.answer_each(problems)
    return [record(line, p, r) for line, (p, r) in enumerate(zip(problems, results, strict=True), start=1)]


def test_serve_answers_one_problem_and_many_with_each_bad_ones_reason_beside_the_good(server, model):
    assert server.url.startswith("http://127.0.0.1:")  # loopback unless --host says otherwise
    assert httpx.get(f"{server.url}/health", timeout=60).text == "ok"
    reply = predict(server, {"problem": "12+34"})
    assert reply.status_code == 200
    assert reply.json()["results"] == expected(model, ["12+34"])
    problems = [problem for pair in zip(GOOD, BAD, strict=True) for problem in pair]  # good and bad, interleaved
    reply = predict(server, {"problems": problems})
    assert reply.status_code == 200 and reply.json()["results"] == expected(model, problems)
    assert predict(server, {"problems": []}).json()["results"] == []


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"535+61", JSON, "the body is not JSON (Extra data)"),
        (b"problem: 535+61", JSON, "the body is not JSON (Expecting value)"),
        (b"", JSON, "the body is empty"),
        (b'{"problem": "1+1"}', "text/plain", "the body is sent as text/plain: send it with Content-Type: appl"),
        (b'{"problem": "1+1"}', None, "the body has no Content-Type: send it with Content-Type: application/json"),
        (b'["535+61"]', JSON, "the body is not a JSON object"),
        (b"{}", JSON, 'the body has no "problem" or "problems"'),
        (b'{"problem": "1+1", "problems": ["2+2"]}', JSON, 'the body has both "problem" and "problems"'),
        (b'{"problem": 5}', JSON, "problem: Input should be a valid string"),
        (b'{"problems": "535+61"}', JSON, "problems: Input should be a valid list"),
        (b'{"problems": ["1+1", 2]}', JSON, "problems[1]: Input should be a valid string"),
        (b'{"problem": "1+1", "answer": "2"}', JSON, "answer: Extra inputs are not permitted"),
    ],
)
def test_a_malformed_body_gets_422_and_a_one_line_reason_and_the_server_keeps_serving(
    server, model, body, content_type, reason
):
    headers = {"content-type": content_type} if content_type else {}
    reply = httpx.post(f"{server.url}/predict", content=body, headers=headers, timeout=60)
    assert reply.status_code == 422
    detail = reply.json()["detail"]
    assert detail.startswith(reason) and detail.endswith(USAGE) and "\n" not in detail
    assert predict(server, {"problem": "99+1"}).json()["results"] == expected(model, ["99+1"])


def test_too_many_problems_in_one_request_are_refused_whole(server, model):
    reply = predict(server, {"problems": ["1+1"] * (MAX_PROBLEMS + 1)})
    assert reply.status_code == 422
    assert reply.json()["detail"].startswith(f"problems: List should have at most {MAX_PROBLEMS} items")
    assert predict(server, {"problems": ["1+1"] * MAX_PROBLEMS}).status_code == 200  # the cap itself is served


def test_concurrent_requests_share_a_forward_pass_and_each_gets_its_own_answers(server, model):
    problems = [[f"{a}+{b}", "5*3"][: 1 + a % 2] for a, b in zip(range(24), range(50, 74), strict=True)]
    replies: list[dict] = [{}] * len(problems)
    start = threading.Barrier(len(problems))

    def ask(index: int) -> None:
        start.wait()
        replies[index] = predict(server, {"problems": problems[index]}).json()

    threads = [threading.Thread(target=ask, args=(index,)) for index in range(len(problems))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [reply["results"] for reply in replies] == [expected(model, each) for each in problems]
    assert max(reply["batch"]["requests"] for reply in replies) > 1  # LitServe put some of them together
    assert all(reply["batch"]["problems"] >= len(each) for reply, each in zip(replies, problems, strict=True))


def test_serve_stops_on_sigterm_without_a_traceback(server):
    assert server.stop() == 0
    assert server.lines[-1] == "serve stopped"
    assert not any("Traceback" in line for line in server.lines)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here: the network stays on the CPU")
def test_serve_answers_on_the_gpu(checkpoint_path, model, tmp_path):
    command = [sys.executable, "-m", "lit_addition", "serve", "--ckpt_path", str(checkpoint_path)]
    with serving(command, cwd=tmp_path) as running:
        assert httpx.get(f"{running.url}/info", timeout=60).json()["server"]["devices"] == ["cuda:0"]
        assert predict(running, {"problems": GOOD}).json()["results"] == expected(model, GOOD)


def test_bad_input_at_start_gets_one_line(checkpoint_path, tmp_path, capsys):
    # A bad checkpoint: tests/test_checkpoints.py, for every command.
    with a_taken_port() as port, pytest.raises(SystemExit) as exit:
        main(["serve", "--ckpt_path", str(checkpoint_path), "--port", str(port)])
    assert exit.value.code == 2
    assert capsys.readouterr().err == (
        f"error: cannot serve on 127.0.0.1:{port} (Address already in use): pick another --port, or --host\n"
    )
    for flags, message in [
        (["--host", "10.1.2.3"], "error: --host 10.1.2.3: LitServe listens on 127.0.0.1, 0.0.0.0, ::; 127.0.0.1"),
        (["--port", "80"], "error: --port 80: pick a port from 1024 to 65535"),
        (["--max_batch_size", "0"], "error: --max_batch_size must be at least 1, got 0"),
        (["--batch_timeout", "-1"], "error: --batch_timeout must be 0 or more seconds, got -1.0"),
    ]:
        with pytest.raises(SystemExit) as exit:
            main(["serve", "--ckpt_path", str(checkpoint_path), *flags])
        assert exit.value.code == 2 and capsys.readouterr().err.startswith(message)
    without_litserve = "import sys\nsys.modules['litserve'] = None\nfrom lit_addition.__main__ import main\nmain()"
    result = subprocess.run(
        [sys.executable, "-c", without_litserve, "serve", "--ckpt_path", str(checkpoint_path)],
        capture_output=True, text=True, env=QUIET_GRADIO,
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (
        2, "error: serve needs litserve, not installed here: pip install 'lit-addition[serve]'\n",
    )  # fmt: skip
