"""Speed figures for lit_addition, each measured beside its baseline in the same run: writes docs/benchmarks.md/json.

    python scripts/benchmark.py            # the full run: about 10 minutes on 2 CPU cores
    python scripts/benchmark.py --quick    # every measurement, small: what the test runs so this cannot rot

1. data: generating each shipped config's problems (``setup()``) against the reference's Python loop;
2. overhead: seconds per epoch of the real Lightning fit (metrics, logging, checkpoints and progress bar on) against
   a bare PyTorch loop of the same model, data, optimiser and schedule, validation included in both; a Lightning fit
   with every optional feature off shows how much of the difference is Lightning's own loop;
3. time to accuracy: the 3-digit config and the reference's recipe, trained by the CLI in a fresh process, until
   99% exact validation accuracy, against a plain PyTorch loop with a tuned one-cycle recipe (batch 512, peak 0.02,
   12 epochs) timed before and after them;
4. inference: problems answered per second by the validation path at a large batch;
5. error analysis: ``analyze`` over every problem of the 3-digit space, pictures included.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from lightning.pytorch import Callback, LightningModule, Trainer
from report import machine_description, write_report
from timing import ROOT, TUNED_LOOP, on_a_terminal, train_config, tuned_loop

from lit_addition import AdditionDataModule, AdditionModel
from lit_addition.cli import build_cli
from lit_addition.commands.plots import carry_plot, error_map
from lit_addition.evaluation import evaluate, summary
from lit_addition.data import ProblemTensors, already_batched
from lit_addition.inference import CheckpointAdder
from lit_addition.model import optimizer_and_schedule
from lit_addition.problems import count_problems, reference_loop, sample_problems


def config_data(name: str) -> dict:
    return yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text())["data"]


def setup_seconds(data: dict, repeats: int = 3) -> float:
    """Best of ``repeats`` fresh ``setup()`` calls of a data module built from a config's ``data`` section."""
    times = []
    for _ in range(repeats):
        module = AdditionDataModule(**data)
        start = time.perf_counter()
        module.setup()
        times.append(time.perf_counter() - start)
    return min(times)


def data_generation(configs: list[str], reference: str, reference_cap: int | None = None) -> dict:
    """``setup()`` of each config, and the reference's loop on one config's problems (or the first
    ``reference_cap`` of them, which flatters the loop: it slows as the space fills)."""
    rows = []
    for name in configs:
        data = config_data(name)
        seconds = setup_seconds(data)
        problems = data["num_samples"] + data["test_samples"]
        rows.append({"config": name, "problems": problems, "seconds": seconds, "problems_per_s": problems / seconds})
    data = config_data(reference)
    problems = min(data["num_samples"] + data["test_samples"], reference_cap or float("inf"))
    start = time.perf_counter()
    reference_loop(data["digits"], problems, np.random.default_rng(0))
    loop = {"config": reference, "problems": problems, "seconds": time.perf_counter() - start}
    loop["problems_per_s"] = problems / loop["seconds"]
    ours = next(row for row in rows if row["config"] == reference)
    return {"configs": rows, "reference_loop": loop, "speedup": ours["problems_per_s"] / loop["problems_per_s"]}


def loss_of(net: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    questions, answers = batch
    return F.cross_entropy(net(questions).transpose(1, 2), answers)


def exact_answers(net: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    questions, answers = batch
    return (net(questions).argmax(-1) == answers).all(-1).sum()


def bare_fit(data: AdditionDataModule, hparams: dict, epochs: int) -> float:
    """The same network, optimiser and schedule as the Lightning fit, in a plain loop; seconds per epoch."""
    torch.manual_seed(0)
    net = AdditionModel(**hparams).net
    train, val = data.dataset("train"), data.dataset("val")
    batches = -(-len(train) // data.hparams.batch_size)
    optimizer, scheduler = optimizer_and_schedule(net.parameters(), hparams, epochs * batches, fused=True)
    start = time.perf_counter()
    for _ in range(epochs):
        net.train()
        for index in torch.randperm(len(train)).split(data.hparams.batch_size):
            loss = loss_of(net, train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
        net.eval()
        with torch.inference_mode():
            for index in torch.arange(len(val)).split(data.hparams.eval_batch_size):
                exact_answers(net, val[index])
    return (time.perf_counter() - start) / epochs


class PlainModule(LightningModule):
    """Lightning's floor: the bare loop's network, loss, optimiser and validation, with no metrics or logging."""

    def __init__(self, hparams: dict) -> None:
        super().__init__()
        self.recipe = hparams
        self.net = AdditionModel(**hparams).net

    def training_step(self, batch, batch_idx):
        return loss_of(self.net, batch)

    def validation_step(self, batch, batch_idx):
        exact_answers(self.net, batch)

    def configure_optimizers(self):
        total_steps = self.trainer.estimated_stepping_batches
        optimizer, scheduler = optimizer_and_schedule(self.net.parameters(), self.recipe, total_steps, fused=True)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def plain_lightning_fit(data: AdditionDataModule, hparams: dict, epochs: int) -> float:
    """A Lightning fit of :class:`PlainModule` on the same data module, with every optional feature off."""
    torch.manual_seed(0)
    clock = FitClock()
    trainer = Trainer(
        max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, num_sanity_val_steps=0, callbacks=[clock],
    )  # fmt: skip
    trainer.fit(PlainModule(hparams), datamodule=data)
    return clock.seconds / epochs


class FitClock(Callback):
    def on_train_start(self, trainer, pl_module):
        self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module):
        self.seconds = time.perf_counter() - self.start


def lightning_fit(config: str, batch_size: int, epochs: int, log_dir: str) -> float:
    """The CLI's own fit, everything on, the live bar drawing as on a terminal; seconds per epoch from the first
    training step to the last checkpoint."""
    with on_a_terminal():  # the progress bar still draws, into a buffer
        cli = build_cli(
            ["--config", config, f"--data.batch_size={batch_size}", f"--trainer.max_epochs={epochs}",
             f"--trainer.logger.init_args.save_dir={log_dir}"],
            run=False,
        )  # fmt: skip
        clock = FitClock()
        cli.trainer.callbacks.append(clock)
        cli.trainer.fit(cli.model, cli.datamodule)
    return clock.seconds / epochs


def overhead(config: str, batch_sizes: list[int], epochs: int, repeats: int) -> list[dict]:
    rows = []
    for batch_size in batch_sizes:
        cli = build_cli(["--config", config, f"--data.batch_size={batch_size}", "--trainer.logger=false"], run=False)
        cli.datamodule.setup()
        hparams = {k: v for k, v in cli.model.hparams.items() if not k.startswith("_")}
        bare, plain, lightning = [], [], []
        with tempfile.TemporaryDirectory() as log_dir:
            for _ in range(repeats):  # interleaved, so a change in machine load hits all three alike
                bare.append(bare_fit(cli.datamodule, hparams, epochs))
                plain.append(plain_lightning_fit(cli.datamodule, hparams, epochs))
                lightning.append(lightning_fit(config, batch_size, epochs, log_dir))
        train = len(cli.datamodule.dataset("train"))
        rows.append(
            {"batch_size": batch_size, "bare_s_per_epoch": min(bare), "plain_lightning_s_per_epoch": min(plain),
             "lightning_s_per_epoch": min(lightning), "bare_samples_per_s": train / min(bare),
             "lightning_samples_per_s": train / min(lightning), "ratio": min(lightning) / min(bare),
             "plain_ratio": min(plain) / min(bare), "bare_all": bare, "plain_all": plain, "lightning_all": lightning}
        )  # fmt: skip
    return rows


def time_to_accuracy(recipes: dict[str, dict], threshold: float, log_dir: str) -> list[dict]:
    rows = []
    for name, recipe in recipes.items():
        run = train_config(
            recipe["config"], f"--trainer.logger.init_args.save_dir={log_dir}", *recipe.get("overrides", ()),
            stop_at=recipe.get("stop_at"), test=recipe.get("test", True),
        )  # fmt: skip
        reached = run.first("val/seq_acc", threshold)
        rows.append(
            {"recipe": name, **recipe, "epochs_run": len(run.epochs),
             "epoch_reached": reached and reached["epoch"], "train_s_to_reach": reached and reached["train_s"],
             "process_s_to_reach": reached and run.process_seconds(reached),
             "final_val_seq_acc": run.epochs[-1]["val/seq_acc"], "test_seq_acc": run.test.get("test/seq_acc"),
             "train_s_total": run.epochs[-1]["train_s"], "curve": [r["val/seq_acc"] for r in run.epochs]}
        )  # fmt: skip
    return rows


def loop_to_accuracy(config: str, epochs: int, threshold: float = 0.99) -> dict:
    records = tuned_loop(config_data(config), epochs)
    reached = next((r for r in records if r["val/seq_acc"] >= threshold), None)
    curve = [r["val/seq_acc"] for r in records]
    return {"epochs": epochs, "epoch_reached": reached and reached["epoch"],
            "train_s_to_reach": reached and reached["train_s"], "train_s_total": records[-1]["train_s"],
            "curve": curve}  # fmt: skip


def best_loop(loops: list[dict]) -> dict:
    """The fastest of the loop's runs, to 99% and in all (the runs reach 99% at the same epoch: same seed)."""
    reach = [loop["train_s_to_reach"] for loop in loops if loop["train_s_to_reach"] is not None]
    return {"epoch_reached": loops[0]["epoch_reached"], "train_s_to_reach": min(reach) if reach else None,
            "train_s_total": min(loop["train_s_total"] for loop in loops)}  # fmt: skip


class ValidateClock(Callback):
    def on_validation_start(self, trainer, pl_module):
        self.start = time.perf_counter()

    def on_validation_end(self, trainer, pl_module):
        self.seconds = time.perf_counter() - self.start


def inference(digits: int, batch_size: int) -> dict:
    """Every problem of a ``digits`` space through ``trainer.validate``: forward, argmax and metric updates."""
    encoding = AdditionModel(digits=digits).encoding
    a, b = sample_problems(digits, count_problems(digits), np.random.default_rng(0))
    dataset = ProblemTensors(
        torch.from_numpy(encoding.encode_questions(a, b)), torch.from_numpy(encoding.encode_answers(a, b))
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, collate_fn=already_batched)
    clock = ValidateClock()
    trainer = Trainer(logger=False, callbacks=[clock], enable_progress_bar=False, enable_model_summary=False)
    trainer.validate(AdditionModel(digits=digits), loader, verbose=False)
    return {"digits": digits, "problems": len(dataset), "batch_size": batch_size, "seconds": clock.seconds,
            "problems_per_s": len(dataset) / clock.seconds}  # fmt: skip


def analysis_speed(config: str) -> dict:
    """What ``analyze`` does for a config's whole problem space: regenerate the split, ask every problem, tally the
    report and draw both pictures. The weights are untrained: the time does not depend on them."""
    settings = yaml.safe_load((ROOT / "configs" / f"{config}.yaml").read_text())
    shared = {name: settings["data"][name] for name in ("digits", "reverse", "reverse_answer")}
    model = AdditionModel(**settings["model"], **shared)
    # The checkpoint `fit` would write, as the inference core reads it.
    checkpoint = {"hyper_parameters": dict(model.hparams), "datamodule_hyper_parameters": settings["data"],
                  "state_dict": model.state_dict()}  # fmt: skip
    adder = CheckpointAdder(checkpoint, f"{config} (untrained)")
    start = time.perf_counter()
    evaluation = evaluate(adder, adder.splits())
    report = summary(evaluation)
    with tempfile.TemporaryDirectory() as folder:
        error_map(evaluation, Path(folder) / "errors.png", config)
        carry_plot(report, Path(folder) / "carry.png", config)
    return {"config": config, "problems": report["problems"], "whole_space": report["whole_space"],
            "evaluation_s": evaluation.seconds, "total_s": time.perf_counter() - start}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for the test")
    parser.add_argument("--output", type=Path, default=ROOT / "docs", help="where benchmarks.md/json go")
    args = parser.parse_args()
    command = "python scripts/benchmark.py" + (" --quick" if args.quick else "")
    quick = args.quick
    results = {"machine": machine_description(), "command": command, "quick": quick}
    results["data"] = data_generation(["2digit", "3digit"] if quick else ["2digit", "3digit", "4digit", "5digit"],
                                      reference="3digit" if quick else "5digit",
                                      reference_cap=2_000 if quick else None)  # fmt: skip
    results["overhead"] = overhead(
        str(ROOT / "configs" / ("2digit.yaml" if quick else "3digit.yaml")),
        batch_sizes=[32] if quick else [32, 192],
        epochs=1,
        repeats=1 if quick else 3,
    )
    with tempfile.TemporaryDirectory() as log_dir:
        if quick:
            two_epochs = {"config": "configs/2digit.yaml", "overrides": ["--trainer.max_epochs=2"]}
            recipes = {"2-digit config, 2 epochs": two_epochs}
        else:
            recipes = {
                "shipped 3-digit config": {"config": "configs/3digit.yaml"},
                # The reference's recipe is stopped once it gets there: only its time to 99% is wanted.
                "reference recipe": {"config": "configs/reference/3digit.yaml", "stop_at": 0.99, "test": False},
            }
        # The tuned plain loop before and after the recipes, so that a change in machine load shows; the best counts.
        loop = ("2digit", 2) if quick else ("3digit", TUNED_LOOP["epochs"])
        loops = [loop_to_accuracy(*loop)]
        results["time_to_accuracy"] = time_to_accuracy(recipes, threshold=0.99, log_dir=log_dir)
        loops.append(loop_to_accuracy(*loop))
    results["tuned_loop"] = {**TUNED_LOOP, "runs": loops, **best_loop(loops)}
    results["inference"] = inference(digits=2 if quick else 3, batch_size=8192)
    results["analysis"] = analysis_speed("2digit" if quick else "3digit")
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "benchmarks.json").write_text(json.dumps(results, indent=2) + "\n")
    write_report(results, args.output / "benchmarks.md")
    print(f"wrote {args.output / 'benchmarks.md'} and benchmarks.json")


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    main()
