"""Speed figures for lit_addition, each beside its baseline timed in the same run: writes docs/benchmarks.md and .json.

    python scripts/benchmark.py            # about 7 minutes on 2 CPU cores
    python scripts/benchmark.py --quick    # the 2-digit config for 2 epochs: what the test runs, so this cannot rot

1. time to know: the shipped 3-digit config's whole ``fit`` (validation included) and the wrong answers of the
   checkpoint it kept over every ordered problem, against the tuned plain loop's training seconds to 99% exact on
   validation and the loop's own final accuracy and wrong answers; each side runs twice, in turn, the faster counts;
2. Lightning's own cost: epochs of ``fit`` against the bare loop of the same network, data, optimiser, schedule,
   clipping and precision, in pairs side by side, each in a fresh process;
3. how close to the machine's limit: the training's GFLOP/s, from the network's shapes, beside what ``torch.mm`` of
   the LSTM's own shapes reaches here, in float32 and (where the CPU has it) bfloat16;
4. drawing each shipped config's problems, and asking the model every problem of the 3-digit space.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from baselines import TUNED, model_settings, settings, tuned_loop
from report import DOCS, command, header, machine, percent, seconds, table
from runs import fit, knows

from lit_addition import AdditionDataModule
from lit_addition.evaluation import evaluate
from lit_addition.inference import NetworkAdder
from lit_addition.network import AdditionLSTM, build_network, cpu_lstm_runs
from lit_addition.runtime.encoding import Encoding


def flops_per_problem(net: AdditionLSTM, question_length: int) -> int:
    """Multiply-adds, counted twice, of one problem's forward and backward pass (backward: twice the forward's),
    from the network's shapes: its matrix products, which are all but a sliver of the arithmetic."""
    vocab, hidden, steps = net.vocab_size, net.encoder.hidden_size, net.answer_length
    encoder = question_length * 2 * 4 * hidden * (vocab + hidden)
    first = (2 * 4 * hidden * hidden) * (1 + (steps - 1)) if net.project_once else steps * 2 * 4 * hidden * 2 * hidden
    upper = (net.decoder.num_layers - 1) * steps * 2 * 4 * hidden * 2 * hidden
    return 3 * (encoder + first + upper + steps * 2 * hidden * vocab)


def matmul_peak(rows: int, hidden: int, dtype: torch.dtype, repeats: int = 200) -> float:
    """GFLOP/s of ``torch.mm`` of a batch's hidden states by an LSTM's gate weights, ``(rows, hidden) @ (hidden,
    4*hidden)``, best of five rounds."""
    a, b = torch.randn(rows, hidden, dtype=dtype), torch.randn(hidden, 4 * hidden, dtype=dtype)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            torch.mm(a, b)
        best = min(best, (time.perf_counter() - start) / repeats)
    return 2 * rows * hidden * 4 * hidden / best / 1e9


def time_to_know(config: str, loop_epochs: int, folder: str, overrides: list[str]) -> dict:
    """The config's whole fit and its kept checkpoint's wrong answers, and the tuned loop, each run twice, in turn:
    this machine's speed drifts from minute to minute, so each side's faster run counts. The two fits are the same
    run (one seed, one CPU), so one checkpoint is asked."""
    data = settings(config)["data"]
    loops, runs = [], []
    for folder_of_run in (Path(folder) / "know0", Path(folder) / "know1"):
        loops.append(tuned_loop(data, loop_epochs))
        runs.append(fit(config, *overrides, folder=folder_of_run))
    run = min(runs, key=lambda each: each.train_s)
    ours = knows(run.checkpoint)
    records, net = loops[-1]
    loop_99 = [next((r for r in records if r["val/seq_acc"] >= 0.99), None) for records, _ in loops]
    loop_99_s = min((r["train_s"] for r in loop_99 if r), default=None)
    return {
        "config": config,
        "fit_s": run.train_s,
        "fit_runs_s": [each.train_s for each in runs],
        "epochs": len(run.epochs),
        "examples": run.examples,
        "fit_99": run.first("val/seq_acc", 0.99),
        "wrong": ours["wrong"],
        "problems": ours["problems"],
        "hard_wrong": ours["hard_wrong"],
        "ask_s": ours["seconds"],
        "loop_99_s": loop_99_s,
        "loop_99_epoch": loop_99[-1] and loop_99[-1]["epoch"],
        "loop_99_examples": loop_99[-1] and loop_99[-1]["examples"],
        "loop_s": min(records[-1]["train_s"] for records, _ in loops),
        "loop_final_val": records[-1]["val/seq_acc"],
        "loop_wrong": int((~evaluate(NetworkAdder(net.eval(), Encoding(data["digits"])), None).correct).sum()),
        "ratio": loop_99_s and run.train_s / loop_99_s,
    }


def overhead(config: str, folder: str, rounds: int) -> dict:
    """Lightning's own cost: ``rounds`` pairs of one bare-loop epoch and one epoch of ``fit`` (a fresh one-epoch fit,
    as a user runs it), each epoch's training and validation. This machine's speed drifts from minute to
    minute, so the two run side by side, the first of each pair alternating, and each pair gives a ratio. The bare
    epoch runs in a fresh process, as the fit does: in this process, warm from the loops before, it ran faster."""
    configured = settings(config)

    def bare() -> float:
        script = [sys.executable, str(Path(__file__).with_name("baselines.py")), config]
        record = json.loads(subprocess.run(script, capture_output=True, text=True, check=True).stdout)[0]
        return record["epoch_s"] + record["val_s"]

    def ours(round_: int) -> float:
        run = fit(config, "--trainer.max_epochs=1", folder=Path(folder) / f"overhead{round_}")
        return run.epochs[0]["time/train_s"]

    pairs = []
    for round_ in range(rounds):
        order = ("bare_s", "fit_s") if round_ % 2 == 0 else ("fit_s", "bare_s")
        pairs.append({key: bare() if key == "bare_s" else ours(round_) for key in order})
    data = AdditionDataModule(**configured["data"])
    data.setup()
    _, net = build_network(model_settings(configured))
    flops = flops_per_problem(net, data.encoding.question_length)
    examples = len(data.dataset("train"))
    bare_s, fit_s = (statistics.median(pair[key] for pair in pairs) for key in ("bare_s", "fit_s"))
    return {
        "batch_size": configured["data"]["batch_size"],
        "hidden_size": net.encoder.hidden_size,
        "pairs": pairs,
        "ratio": statistics.median(pair["fit_s"] / pair["bare_s"] for pair in pairs),
        "bare_epoch_s": bare_s,
        "fit_epoch_s": fit_s,
        "flops": flops,
        "fit_gflops": examples * flops / fit_s / 1e9,
        "bare_gflops": examples * flops / bare_s / 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the 2-digit config for 2 epochs, for the test")
    parser.add_argument("--output", type=Path, default=DOCS, help="where benchmarks.md and .json go")
    args = parser.parse_args()
    config = "2digit" if args.quick else "3digit"
    results = {"machine": machine(), "command": command(), "quick": args.quick}
    with tempfile.TemporaryDirectory() as folder:
        overrides = ["--trainer.max_epochs=2"] if args.quick else []
        results["know"] = time_to_know(config, 2 if args.quick else TUNED["epochs"], folder, overrides)
        results["overhead"] = overhead(config, folder, 1 if args.quick else 6)
    dtypes = [torch.float32] + ([torch.bfloat16] if cpu_lstm_runs(torch.bfloat16) else [])
    batch, hidden = results["overhead"]["batch_size"], results["overhead"]["hidden_size"]
    results["peak_gflops"] = {str(dtype).removeprefix("torch."): matmul_peak(batch, hidden, dtype) for dtype in dtypes}
    results["setup_s"] = {}
    for name in ("2digit",) if args.quick else ("2digit", "3digit", "4digit", "5digit"):
        data = AdditionDataModule(**settings(name)["data"])
        start = time.perf_counter()
        data.setup()
        results["setup_s"][name] = time.perf_counter() - start
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "benchmarks.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.output / "benchmarks.md").write_text("\n".join(report(results)) + "\n")
    print(f"wrote {args.output / 'benchmarks.md'}")


def report(results: dict) -> list[str]:
    k, o = results["know"], results["overhead"]
    lines = header("Benchmarks", results, "Every figure beside a baseline timed in the same run; compare ratios.")
    if results["quick"]:
        lines += ["", "**Quick mode**: the 2-digit config for 2 epochs, so that the script cannot rot; no figure here "
                  "says anything about speed."]  # fmt: skip
    ours = k["fit_99"] and f"epoch {k['fit_99']['epoch']:.0f}, at {seconds(k['fit_99']['time/train_s'])} s"
    loop = k["loop_99_epoch"] is not None and f"epoch {k['loop_99_epoch']}"
    loop_examples = f"{k['loop_99_examples']:,}" if k["loop_99_examples"] else ""
    lines += ["", "## Time to know", ""] + table(
        ["", "training seconds", "examples shown", "99% exact on validation",
         "wrong answers over every ordered problem"],
        [
            [f"`configs/{k['config']}.yaml`: the whole fit, {k['epochs']} epochs, validation included (the faster "
             f"of {' and '.join(seconds(s) for s in k['fit_runs_s'])} s)",
             seconds(k["fit_s"]), f"{k['examples']:,}", ours or "not reached",
             f"**{k['wrong']:,}** of {k['problems']:,}"],
            [f"the tuned plain loop, to 99% exact, the faster of two runs ({seconds(k['loop_s'])} s for all "
             f"{TUNED['epochs']} epochs)",
             seconds(k["loop_99_s"]), loop_examples, loop or "not reached",
             f"{k['loop_wrong']:,} after all its epochs (final validation {percent(k['loop_final_val'])})"],
        ],
    )  # fmt: skip
    if k["ratio"]:
        lines += ["", f"Time to know: the whole fit takes **{k['ratio']:.2f}x** the tuned loop's time to 99% "
                  "(target: at most 1.0x; stretch: 0.5x)."]  # fmt: skip
    rows = [[i + 1, f"{p['bare_s']:.2f}", f"{p['fit_s']:.2f}", f"{p['fit_s'] / p['bare_s']:.3f}x"]
            for i, p in enumerate(o["pairs"])]  # fmt: skip
    rows.append(["median", f"{o['bare_epoch_s']:.2f}", f"{o['fit_epoch_s']:.2f}", f"**{o['ratio']:.3f}x**"])
    lines += ["", "## Lightning's own cost", "", f"Pairs of one epoch (training and validation) of the bare loop and "
              f"one of `fit`, side by side, each in a fresh process, the same network, data, optimiser, schedule, "
              f"clipping and precision, at batch {o['batch_size']}; the first of each pair alternates. The ratio is "
              "the median of the pairs' ratios (target: at most 1.05x).", ""]  # fmt: skip
    lines += table(["pair", "bare loop s/epoch", "`fit` s/epoch", "ratio"], rows)
    peaks = ", ".join(f"{dtype} **{value:,.0f} GFLOP/s**" for dtype, value in results["peak_gflops"].items())
    lines += ["", "## How close to the machine's limit", "",
              f"{o['flops'] / 1e6:.2f} MFLOP per training problem, forward and backward, counted from the network's "
              f"shapes: over the median epochs above, validation included, `fit` trained at **{o['fit_gflops']:,.1f} "
              f"GFLOP/s** and the bare loop at {o['bare_gflops']:,.1f}; `torch.mm` of the LSTM's own shapes at batch "
              f"{o['batch_size']} (width {o['hidden_size']}) reaches {peaks} here.", "",
              "## Drawing and asking the problems", ""]  # fmt: skip
    drawn = ", ".join(f"{name} {value:.3f} s" for name, value in results["setup_s"].items())
    lines += [f"`setup()` of each config: {drawn}. Every ordered problem of the {k['config']} space asked and "
              f"tallied (what `analyze` does): {k['problems']:,} in {k['ask_s']:.1f} s."]  # fmt: skip
    return lines


if __name__ == "__main__":
    main()
