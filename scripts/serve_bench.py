"""Load benchmark of the two servers, ``serve`` (LitServe) and ``demo`` (Gradio): each is started in a subprocess on a
free loopback port and driven by concurrent clients for a bounded number of requests and seconds, one request in five
malformed; then ``serve`` answers one request of 100,000 problems. Writes ``docs/serving.md``.

    python scripts/serve_bench.py --ckpt_path logs/2digit/version_0/checkpoints/last.ckpt

Each client is a thread with one keep-alive ``http.client`` connection (httpx costs about 2 ms of the client's CPU a
request, which on 2 cores is taken from the server) and sends one problem per request. A malformed request must get a
4xx (``serve``: a body ``/predict`` does not take; ``demo``: a problem the model refuses, turned away when submitted),
a good one a 200 with an answer; anything else is an unexpected error. Answers are checked against the true sums
(wrong) and against the checkpoint's own answers (differing): a wrong answer that does not differ is the model's.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shlex
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from report import ROOT, command, header, machine, table

sys.path.insert(0, str(ROOT / "tests"))
from processes import serving  # noqa: E402  (the tests' own helper: a server on a free loopback port)

from lit_addition.commands import serve as serve_command  # noqa: E402
from lit_addition.inference import CheckpointAdder  # noqa: E402
from lit_addition.runtime import app  # noqa: E402

SERVE_BAD = ["535+61", '{"problems": "535+61"}', "{}", '{"problem": 5}', '{"problem": "1+1", "x": 1}']
DEMO_BAD = ["5*3", "", "1+2+3", "-5+3", "5 3+1"]


def connect(url: str, timeout: float = 60) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(urlsplit(url).hostname, urlsplit(url).port, timeout=timeout)


def post(connection: http.client.HTTPConnection, path: str, body: str) -> tuple[int, bytes]:
    connection.request("POST", path, body, {"Content-Type": "application/json"})
    reply = connection.getresponse()
    return reply.status, reply.read()


def ask_serve(connection: http.client.HTTPConnection, index: int, problem: str) -> tuple[bool, str | None, int]:
    """One request to ``serve``: whether it got what it should, the answer, and the requests in its batch."""
    if index % 5 == 4:
        status, body = post(connection, "/predict", SERVE_BAD[index // 5 % len(SERVE_BAD)])
        return status == 422 and "\n" not in json.loads(body)["detail"], None, 0
    status, body = post(connection, "/predict", json.dumps({"problem": problem}))
    reply = json.loads(body) if status == 200 else {"results": [{}], "batch": {"requests": 0}}
    return status == 200, reply["results"][0].get("answer"), reply["batch"]["requests"]


def ask_demo(connection: http.client.HTTPConnection, index: int, problem: str) -> tuple[bool, str | None, int]:
    """One request to the demo's ``answer`` endpoint through Gradio's REST API: submit, then read the event."""
    endpoint = "/gradio_api/call/answer"
    if index % 5 == 4:
        status, body = post(connection, endpoint, json.dumps({"data": [DEMO_BAD[index // 5 % len(DEMO_BAD)]]}))
        return status == 400 and bool(json.loads(body)["detail"]), None, 0
    status, body = post(connection, endpoint, json.dumps({"data": [problem]}))
    if status != 200:
        return False, None, 0
    connection.request("GET", f"{endpoint}/{json.loads(body)['event_id']}")
    events = connection.getresponse().read().decode().split("\n")
    if "event: complete" not in events:
        return False, None, 0
    return True, json.loads(events[events.index("event: complete") + 1].removeprefix("data: "))[0], 0


def mistakes(problems: list[str], answers: list[str | None], expected: dict) -> dict[str, int]:
    """How many answers are not the true sum, and how many are not the checkpoint's own."""
    return {"wrong": sum(a != str(sum(map(int, p.split("+")))) for p, a in zip(problems, answers, strict=True)),
            "differing": sum(a != expected[p] for p, a in zip(problems, answers, strict=True))}  # fmt: skip


def load(ask, url: str, pool: list[str], expected: dict, clients: int, requests: int, seconds: float) -> dict:
    """Drive the server with ``clients`` threads until ``requests`` are sent or ``seconds`` pass."""
    counter, lock, latencies, answered, unexpected = iter(range(requests)), threading.Lock(), [], [], 0
    warm = connect(url)
    for index in range(20):  # warm up: the first forward passes
        ask(warm, index * 5, pool[index])
    warm.close()

    def one_client() -> None:
        nonlocal unexpected
        connection = connect(url)
        for index in counter:  # next() on a shared range iterator is atomic
            if time.perf_counter() > deadline:
                return
            start = time.perf_counter()
            try:
                ok, answer, batch = ask(connection, index, pool[index % len(pool)])
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                ok, answer, batch = False, None, 0
                connection.close()
            with lock:
                latencies.append(time.perf_counter() - start)
                unexpected += not ok
                if ok and index % 5 != 4:
                    answered.append((pool[index % len(pool)], answer, batch))

    threads = [threading.Thread(target=one_client) for _ in range(clients)]
    started = time.perf_counter()
    deadline = started + seconds
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    still = ask(connect(url), 0, pool[0])
    problems, answers, batches = zip(*answered, strict=True)
    return {
        "clients": clients, "requests": len(latencies), "requests_per_s": len(latencies) / elapsed,
        "problems_per_s": len(answered) / elapsed, "p50_ms": 1000 * float(np.percentile(latencies, 50)),
        "p99_ms": 1000 * float(np.percentile(latencies, 99)), "unexpected_errors": unexpected,
        "mean_batch": round(float(np.mean(batches)), 1) if any(batches) else None,
        "answers_after": still[0] and still[1] == expected[pool[0]], **mistakes(problems, answers, expected),
    }  # fmt: skip


def big_request(url: str, problems: list[str], expected: dict) -> dict:
    """One request of every problem in ``problems`` to ``serve``, timed from sending to the parsed answers."""
    start = time.perf_counter()
    status, body = post(connect(url, timeout=600), "/predict", json.dumps({"problems": problems}))
    answers = [result.get("answer") for result in json.loads(body)["results"]]
    seconds = time.perf_counter() - start
    return {"problems": len(problems), "status": status, "seconds": seconds,
            "problems_per_s": len(problems) / seconds, **mistakes(problems, answers, expected)}  # fmt: skip


def report(results: dict, path: Path) -> None:
    s, d, big = results["serve"], results["demo"], results["big"]
    targets = [
        ("`serve`: at least 500 requests/s", f"{s['requests_per_s']:,.0f}", s["requests_per_s"] >= 500),
        ("`serve`: p99 latency under 200 ms", f"{s['p99_ms']:.1f} ms", s["p99_ms"] < 200),
        ("`serve`: 100,000 problems in one request at 100,000/s", f"{big['problems_per_s']:,.0f}/s",
         big["problems"] >= 100_000 and big["problems_per_s"] >= 100_000),
        ("`demo`: at least 60 requests/s (5x 12)", f"{d['requests_per_s']:,.0f}", d["requests_per_s"] >= 60),
        ("no unexpected error", f"{s['unexpected_errors']}, {d['unexpected_errors']}",
         not (s["unexpected_errors"] or d["unexpected_errors"] or big["status"] != 200)),
        ("no answer differing from the checkpoint's", f"{s['differing']}, {d['differing']}, {big['differing']}",
         not (s["differing"] or d["differing"] or big["differing"])),
        ("each server still answers afterwards", f"{s['answers_after']}, {d['answers_after']}",
         s["answers_after"] and d["answers_after"]),
    ]  # fmt: skip
    settings = "; ".join(f"`{name}`: " + ", ".join(f"{k} {v}" for k, v in values.items())
                         for name, values in results["settings"].items())  # fmt: skip
    what = (
        "The clients (threads, one `http.client` connection each) ran on the same machine. Each request holds one "
        f"problem drawn uniformly from the space of the checkpoint ({results['checkpoint']}, {results['digits']} "
        "digits); one in five is malformed and must get a 4xx. Wrong: answers that are not the true sum; differing: "
        f"answers that are not the checkpoint's own. Settings: {settings}. Load average as the run began (other "
        f"work on the machine included): {results['load']:.1f}."
    )
    head = ["server", "clients", "requests", "requests/s", "problems/s", "p50 ms", "p99 ms", "unexpected errors",
            "wrong", "differing", "requests per batch"]  # fmt: skip
    rows = [[f"`{name}`", r["clients"], f"{r['requests']:,}", f"{r['requests_per_s']:,.0f}",
             f"{r['problems_per_s']:,.0f}", f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}", r["unexpected_errors"],
             r["wrong"], r["differing"], r["mean_batch"] or "–"]
            for name, r in (("serve", s), ("demo", d))]  # fmt: skip
    lines = [
        *header("Serving under load", results, what), "", *table(head, rows), "",
        f"One request of {big['problems']:,} problems to `serve`: HTTP {big['status']} in {big['seconds']:.2f} s, "
        f"{big['problems_per_s']:,.0f} problems/s (the client's JSON encoding and decoding included), {big['wrong']} "
        f"wrong, {big['differing']} differing.", "",
        *table(["target", "measured", ""], [[t, f, "met" if ok else "**not met**"] for t, f, ok in targets]),
    ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="Load-test `serve` and `demo` on loopback; write docs/serving.md.")
    parser.add_argument("--ckpt_path", required=True, help="a well-trained checkpoint, e.g. of configs/2digit.yaml")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default: %(default)s)")
    parser.add_argument("--requests", type=int, default=6_000, help="most requests per server (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=30, help="most seconds per server (default: %(default)s)")
    parser.add_argument("--big", type=int, default=100_000, help="problems in the one large request")
    parser.add_argument("--serve_args", default="", help='extra flags for serve, e.g. "--max_batch_size 32"')
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "serving.md", help="the report to write")
    args = parser.parse_args()
    ckpt = str(Path(args.ckpt_path).resolve())
    adder = CheckpointAdder.load(ckpt)
    a, b = np.random.default_rng(0).integers(0, adder.encoding.max_operand + 1, (2, max(args.requests, args.big)))
    pool = [f"{x}+{y}" for x, y in zip(a.tolist(), b.tolist(), strict=True)]
    expected = dict(zip(pool, adder.answer(pool), strict=True))
    flags = argparse.ArgumentParser()
    serve_command.add_arguments(flags)  # the settings serve runs with: its defaults, and --serve_args
    serve_settings = vars(flags.parse_args(["--ckpt_path", ckpt, *shlex.split(args.serve_args)]))
    results = {
        "command": command(), "machine": machine(), "load": os.getloadavg()[0],
        "checkpoint": Path(ckpt).name, "digits": adder.encoding.digits,
        "settings": {"serve": {k: v for k, v in serve_settings.items() if k not in ("ckpt_path", "host", "port")},
                     "demo": {"max_batch_size": app.MAX_BATCH_SIZE, "concurrency_limit": app.CONCURRENCY_LIMIT}},
    }  # fmt: skip
    python = [sys.executable, "-m", "lit_addition"]
    with tempfile.TemporaryDirectory() as cwd:
        with serving([*python, "serve", "--ckpt_path", ckpt, *shlex.split(args.serve_args)], Path(cwd)) as server:
            results["serve"] = load(ask_serve, server.url, pool, expected, args.clients, args.requests, args.seconds)
            results["big"] = big_request(server.url, pool[: args.big], expected)
        with serving([*python, "demo", "--ckpt_path", ckpt], Path(cwd)) as server:
            results["demo"] = load(ask_demo, server.url, pool, expected, args.clients, args.requests, args.seconds)
    report(results, args.output)
    print(args.output.read_text())


if __name__ == "__main__":
    main()
