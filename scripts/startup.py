"""How long the commands take to start, beside a bare ``import torch, lightning`` timed in the same run, and which
heavy optional modules each one imports.

    python scripts/startup.py --ckpt_path CKPT                      # this checkout
    python scripts/startup.py --ckpt_path CKPT --tree OTHER_CHECKOUT  # another checkout of lit_addition, same Python

Each command runs in a fresh interpreter, interleaved with the others, ``--repeats`` times; the table gives the best
wall time of each. ``answer`` answers one problem; ``fit --help`` prints the help and exits.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from report import machine_description

HEAVY = ("gradio", "onnx", "onnxscript", "onnxruntime", "matplotlib", "lightning")
# Runs a module as `python -m` would and reports, at exit, which of the HEAVY modules it imported.
WATCH = """
import atexit, json, runpy, sys
heavy = {heavy}
atexit.register(lambda: print("@imported " + json.dumps([m for m in heavy if m in sys.modules]), file=sys.stderr))
sys.argv = {argv}
runpy.run_module("lit_addition", run_name="__main__", alter_sys=True)
"""


def timed(command: list[str], env: dict, tree: Path) -> tuple[float, list[str] | None]:
    start = time.perf_counter()
    # In the tree, so that `python -c` (which puts the current folder first on sys.path) imports the tree's package.
    result = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{result.stderr[-2000:]}")
    imported = [line for line in result.stderr.splitlines() if line.startswith("@imported ")]
    return seconds, json.loads(imported[-1].split(" ", 1)[1]) if imported else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt_path", required=True, help="a checkpoint for `answer`")
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1], help="checkout to time")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(args.tree.resolve())}
    commands = {
        "python -c 'import torch, lightning'": [sys.executable, "-c", "import torch, lightning"],
        "answer --ckpt_path CKPT 1+1": ["answer", "--ckpt_path", str(Path(args.ckpt_path).resolve()), "1+1"],
        "fit --help": ["fit", "--help"],
    }
    best: dict[str, float] = {}
    imports: dict[str, list[str] | None] = {}
    for _ in range(args.repeats):
        for name, command in commands.items():
            if command[0] != sys.executable:
                command = [sys.executable, "-c", WATCH.format(heavy=HEAVY, argv=["lit_addition", *command])]
            seconds, imports[name] = timed(command, env, args.tree.resolve())
            best[name] = min(best.get(name, float("inf")), seconds)
    m = machine_description()
    tree = args.tree.resolve()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True, text=True).stdout
    where = f"{tree} (commit {commit.strip() or 'unknown'})"
    print(f"{where}, {m['date']}, {m['cpu']}, {m['cores']} cores, best of {args.repeats}:\n")
    print("| command | start-up s | of the bare import | heavy modules imported |\n|---|---|---|---|")
    bare = best["python -c 'import torch, lightning'"]
    for name, seconds in best.items():
        heavy = "–" if imports[name] is None else ", ".join(imports[name]) or "none"
        print(f"| `{name}` | {seconds:.2f} | {seconds / bare:.2f}x | {heavy} |")


if __name__ == "__main__":
    main()
