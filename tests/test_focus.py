"""Focused epochs (``data.focus_after``): which problems an epoch takes, the same choice on every rank and across a
resume, a one-cycle schedule laid out over epochs of two lengths, and the refusals of settings that cannot work."""

import json
import math
import subprocess
import sys

import lightning as L
import pytest
import torch
from helpers import TINY, cut_by_sigterm, recorded_fit, refusal, with_probes

from lit_addition import AdditionDataModule, AdditionModel
from lit_addition.cli import build_cli
from lit_addition.focus import HardestProblems
from lit_addition.runtime.errors import InputError

FOCUS = ["--data.focus_after=1", "--data.focus_hardest=0.2", "--data.focus_others=0.1"]
# TINY's 540 training problems: epoch 0 shows all (9 batches of 64), each later epoch 162 (3 batches).
RUN = [*TINY, *FOCUS, "--trainer.max_epochs=3", "--trainer.enable_progress_bar=false", "--samples.n=0"]
RUN += ["--model.lr_schedule=onecycle"]
STEPS = 9 + 3 + 3


def losses_of(*values: float) -> torch.Tensor:
    return torch.tensor(values)


def test_a_focused_epoch_takes_the_highest_losses_and_a_random_share_of_the_rest():
    focus = HardestProblems(problems=1_000, after=2, hardest=0.1, others=0.05, seed=5)
    assert (focus.size(0), focus.size(1), focus.size(2)) == (1_000, 1_000, 150)
    assert focus.chosen(0) is None and focus.chosen(1) is None
    losses = torch.linspace(0, 1, 1_000)[torch.randperm(1_000, generator=torch.Generator().manual_seed(0))]
    focus.record(torch.arange(1_000), losses)
    focus.merge(lambda tensor: tensor)
    assert torch.equal(focus.losses, losses)

    chosen = focus.chosen(2)
    hardest = set(torch.topk(losses, 100).indices.tolist())
    assert len(chosen) == 150 and chosen.tolist() == sorted(set(chosen.tolist()))
    assert hardest <= set(chosen.tolist())
    assert torch.equal(focus.chosen(2), chosen)  # asked again, the same epoch's choice
    later = focus.chosen(3)
    assert hardest <= set(later.tolist()) and set(later.tolist()) != set(chosen.tolist())  # another random share


def test_a_problem_not_yet_trained_on_counts_as_hardest():
    focus = HardestProblems(problems=5, after=1, hardest=0.2, others=0.0, seed=0)
    focus.record(torch.tensor([0, 1, 3, 4]), losses_of(5.0, 6.0, 7.0, 8.0))
    focus.merge(lambda tensor: tensor)
    assert focus.losses[2] == math.inf and focus.chosen(1).tolist() == [2]


def test_ranks_that_trained_on_halves_hold_the_losses_of_the_whole():
    ranks = [HardestProblems(problems=6, after=1, hardest=0.5, others=0.0, seed=0) for _ in range(2)]
    ranks[0].record(torch.tensor([0, 2, 4]), losses_of(0.1, 0.9, 0.3))
    ranks[1].record(torch.tensor([1, 3, 5]), losses_of(0.8, 0.2, 0.7))
    # A sum over the two ranks, as all_reduce makes it: each buffer plus the other rank's one of the same name.
    buffers = [{"recorded": r._recorded.clone(), "new": r._new_losses.clone()} for r in ranks]
    for rank, other in ((0, 1), (1, 0)):
        names = {id(ranks[rank]._recorded): "recorded", id(ranks[rank]._new_losses): "new"}
        ranks[rank].merge(lambda tensor, names=names, other=other: tensor + buffers[other][names[id(tensor)]])
    expected = losses_of(0.1, 0.8, 0.9, 0.2, 0.3, 0.7)
    assert all(torch.allclose(r.losses, expected) for r in ranks)
    assert ranks[0].chosen(1).tolist() == ranks[1].chosen(1).tolist() == [1, 2, 5]


def test_the_state_carries_the_losses_and_the_records_of_an_unfinished_epoch():
    focus = HardestProblems(problems=4, after=1, hardest=0.5, others=0.25, seed=3)
    focus.record(torch.arange(4), losses_of(0.4, 0.1, 0.3, 0.2))
    focus.start(1, lambda tensor: tensor)
    focus.record(torch.tensor([1]), losses_of(0.9))  # mid-epoch 1
    resumed = HardestProblems(problems=4, after=1, hardest=0.5, others=0.25, seed=3)
    resumed.load_state_dict(focus.state_dict(lambda tensor: tensor))
    assert torch.equal(resumed.start(1, lambda tensor: tensor), focus.start(1, lambda tensor: tensor))
    for run in (focus, resumed):
        run.start(2, lambda tensor: tensor)
    assert torch.equal(resumed.losses, focus.losses) and resumed.losses[1] == 0.9


def test_focused_batches_carry_their_indices_and_epochs_take_the_chosen_problems():
    data = AdditionDataModule(digits=2, num_samples=600, test_samples=50, batch_size=64, focus_after=1, seed=2)
    data.setup()
    train = data.dataset("train")
    questions, answers, indices = next(iter(data.train_dataloader()))
    assert torch.equal(questions, train.questions[indices]) and torch.equal(answers, train.answers[indices])
    assert [data.epoch_problems(epoch) for epoch in range(3)] == [540, 135 + 108, 135 + 108]  # 25% and 20% of 540
    assert data.epoch_batches(3) == [9, 4, 4]


def test_a_focused_fit_anneals_over_the_steps_it_takes(run_main, tmp_path):
    ran = run_main("fit", *RUN, "--trainer.logger=false")
    assert ran.status == 0, ran.err
    checkpoint = torch.load(next((tmp_path / "checkpoints").glob("last.ckpt")), weights_only=False)
    (schedule,) = checkpoint["lr_schedulers"]
    assert checkpoint["global_step"] == schedule["total_steps"] == schedule["last_epoch"] == STEPS
    assert len(checkpoint["AdditionDataModule"]["focus"]["losses"]) == 540


def test_a_focused_run_resumed_mid_epoch_chooses_and_ends_like_an_uninterrupted_one(run_main, tmp_path):
    before = recorded_fit(run_main, RUN, "whole", tmp_path / "w")
    cut_by_sigterm(RUN, "cut", 9 + 1, tmp_path)  # in epoch 1, the first focused one
    after = recorded_fit(run_main, [*RUN, "--ckpt_path=last"], "cut", tmp_path / "r")
    assert after["train"]["1"] == before["train"]["1"][64:] and after["train"]["2"] == before["train"]["2"]
    assert after["focus_losses"]["2"] == before["focus_losses"]["2"]
    final = {name: torch.load(next(tmp_path.glob(f"logs/*/{name}/checkpoints/last.ckpt")), weights_only=False)
             for name in ("whole", "cut")}  # fmt: skip
    weights = final["whole"]["state_dict"]
    assert all(torch.equal(final["cut"]["state_dict"][name], value) for name, value in weights.items())


def test_two_ranks_choose_the_same_problems_and_train_on_halves_of_them(tmp_path):
    command = [
        sys.executable,
        "-m",
        "lit_addition",
        *("fit", *TINY, *FOCUS, "--trainer.max_epochs=2", "--trainer.logger=false", "--samples.n=0"),
        *("--trainer.accelerator=cpu", "--trainer.devices=2", "--trainer.strategy=ddp"),
        *("--trainer.callbacks+=probes.RecordRank", f"--trainer.callbacks.out={tmp_path / 'ranks'}"),
    ]
    result = subprocess.run(command, cwd=tmp_path, env=with_probes(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    ranks = [json.loads((tmp_path / "ranks" / f"rank{r}.json").read_text()) for r in (0, 1)]
    losses = [r["focus_losses"]["1"] for r in ranks]
    assert losses[0] == losses[1]
    assert sum(math.isinf(loss) for loss in losses[0]) == 540 - 2 * 270  # every problem trained on by one rank
    shares = [r["train"]["1"] for r in ranks]
    assert len(shares[0]) == len(shares[1]) == 162 // 2 and not set(shares[0]) & set(shares[1])


def test_the_command_line_builds_the_loader_every_epoch_where_epochs_focus():
    for focus_after, reload_every in ((0, 0), (2, 1)):
        cli = build_cli([*TINY, f"--data.focus_after={focus_after}", "--trainer.logger=false"], run=False)
        assert cli.trainer.reload_dataloaders_every_n_epochs == reload_every


def test_a_trainer_that_builds_the_loader_once_is_refused_for_focused_epochs(tmp_path):
    data = AdditionDataModule(digits=2, num_samples=600, test_samples=50, focus_after=1)
    trainer = L.Trainer(max_epochs=2, logger=False, enable_checkpointing=False, default_root_dir=tmp_path)
    with pytest.raises(InputError) as refused:
        trainer.fit(AdditionModel(digits=2), data)
    assert str(refused.value) == (
        "data.focus_after makes epochs of two lengths, which Lightning counts only when it builds the training "
        "loader anew every epoch: set trainer.reload_dataloaders_every_n_epochs to 1"
    )


def test_focused_shares_that_add_up_to_more_than_every_problem_are_refused(run_main):
    reason = refusal(run_main("fit", *TINY, *FOCUS, "--data.focus_hardest=0.8", "--data.focus_others=0.3"))
    assert reason.startswith("data.focus_hardest + data.focus_others is 1.1: a focused epoch needs")
