"""The plain PyTorch loops that lit_addition is measured against, over the package's own network, loss, metric and
optimiser, with no Lightning:

* :func:`bare_epochs`: a shipped config's network, data, optimiser, schedule, clipping and precision in a bare loop,
  for Lightning's own cost per epoch. ``python scripts/baselines.py 3digit`` runs one epoch of it in a fresh process,
  as ``fit`` runs, and prints its record as JSON;
* :func:`tuned_loop`: what a competent engineer writes without this project, the baseline of "time to know": the
  reference's network as ``nn.LSTM`` runs it (its decoder reads the repeated vector), the config's problem counts,
  split and seed drawn as the reference draws them, each problem in one order, the answer written as the reference
  writes it, PyTorch's default AdamW at batch 512 under a one-cycle schedule to 0.02 over 12 epochs.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping
from typing import Any

import torch
import yaml
from report import ROOT, SHIPPED_CONFIGS, positive

from lit_addition import AdditionDataModule
from lit_addition.cli import SHARED_DATA_ARGUMENTS
from lit_addition.data import ProblemTensors
from lit_addition.metrics import AnswerAccuracy
from lit_addition.model import fused_adamw, optimizer_and_schedule
from lit_addition.network import AdditionLSTM, answer_loss, build_network
from lit_addition.runtime.encoding import VOCAB_SIZE

TUNED = {"batch_size": 512, "learning_rate": 0.02, "epochs": 12}


def run_loop(
    net: AdditionLSTM,
    data: AdditionDataModule,
    recipe: Mapping[str, Any],
    epochs: int,
    fused: bool,
    clip: float | None = None,
    bf16: bool = False,
) -> list[dict]:
    """Train ``net`` on ``data``'s training split for ``epochs`` epochs under ``recipe`` (the model's
    hyperparameters; ``fused``: AdamW's one-kernel update; ``clip``: the gradients' largest norm, as the Trainer's
    ``gradient_clip_val`` clips them; ``bf16``: the forward passes under bfloat16 autocast, as ``bf16-mixed`` runs
    them), validating after each; one record per epoch: the training seconds so far (validation excluded), the
    epoch's training and validation seconds, the exact validation accuracy and the training examples shown so far."""
    train, val = data.dataset("train"), data.dataset("val")
    batch_size = data.hparams.batch_size
    steps = epochs * -(-len(train) // batch_size)
    optimizer, scheduler = optimizer_and_schedule(net.parameters(), recipe, steps, fused)
    generator = torch.Generator().manual_seed(data.hparams.seed)
    records, total = [], 0.0
    for epoch in range(epochs):
        net.train()
        start = time.perf_counter()
        for index in torch.randperm(len(train), generator=generator).split(batch_size):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = answer_loss(net(train.questions[index]), train.answers[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
        seconds = time.perf_counter() - start
        total += seconds
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            accuracy = exact(net, val)
        records.append({"epoch": epoch, "train_s": total, "epoch_s": seconds, "val_s": time.perf_counter() - start,
                        "val/seq_acc": accuracy, "examples": (epoch + 1) * len(train)})  # fmt: skip
    return records


def exact(net: AdditionLSTM, split: ProblemTensors) -> float:
    """The share of a split's answers that ``net`` gets right in every character."""
    accuracy = AnswerAccuracy(split.answers.shape[1], positions=False)
    net.eval()
    with torch.inference_mode():
        for start in range(0, len(split), 8192):
            accuracy.update(net(split.questions[start : start + 8192]).argmax(-1), split.answers[start : start + 8192])
    return accuracy.compute()["seq_acc"].item()


def settings(config: str) -> dict:
    """The settings of ``configs/<config>.yaml``."""
    return yaml.safe_load((ROOT / "configs" / f"{config}.yaml").read_text())


def model_settings(configured: Mapping[str, Any]) -> dict:
    """A config's model hyperparameters, with those it takes from the data section (as the CLI links them)."""
    return {**configured["model"], **{k: configured["data"][k] for k in SHARED_DATA_ARGUMENTS}}


def bare_epochs(config: str, epochs: int) -> list[dict]:
    """``configs/<config>.yaml``'s recipe on its own data in a bare loop: its model's hyperparameters, and the
    Trainer's ``gradient_clip_val`` and ``precision`` (``32-true`` or ``bf16-mixed``)."""
    configured = settings(config)
    recipe = model_settings(configured)
    clip, precision = configured["trainer"].get("gradient_clip_val"), configured["trainer"]["precision"]
    data = AdditionDataModule(**configured["data"])
    data.setup()
    torch.manual_seed(0)
    _, net = build_network(recipe)
    bf16 = precision == "bf16-mixed"
    fused = fused_adamw(torch.device("cpu"), bool(clip), mixed=bf16)  # the model's choice on this CPU
    return run_loop(net, data, recipe, epochs, fused=fused, clip=clip, bf16=bf16)


def tuned_loop(data_settings: Mapping[str, Any], epochs: int = TUNED["epochs"]) -> tuple[list[dict], AdditionLSTM]:
    """The tuned plain loop on a config's problem counts, split and seed; its records and its trained network."""
    kept = {name: data_settings[name] for name in ("digits", "num_samples", "val_fraction", "test_samples", "seed")}
    data = AdditionDataModule(**kept, batch_size=TUNED["batch_size"])  # the reference's draw, answer and order
    data.setup()
    torch.manual_seed(data_settings["seed"])
    net = AdditionLSTM(VOCAB_SIZE, data.encoding.answer_length, project_once=False)
    # torch.optim.AdamW's defaults but for the rate; OneCycleLR's default warm-up.
    recipe = {"learning_rate": TUNED["learning_rate"], "betas": (0.9, 0.999), "weight_decay": 0.01,
              "lr_schedule": "onecycle", "warmup_fraction": 0.3}  # fmt: skip
    return run_loop(net, data, recipe, epochs, fused=False), net


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A shipped config's recipe in a bare loop; its records as JSON.")
    parser.add_argument("config", choices=SHIPPED_CONFIGS, help="a config of configs/, e.g. 3digit")
    parser.add_argument("--epochs", type=positive, default=1)
    args = parser.parse_args()
    print(json.dumps(bare_epochs(args.config, args.epochs)))
