"""Same seed, same run; and a run stopped mid-epoch by SIGTERM, then resumed with ``--ckpt_path last``, ends exactly
where an uninterrupted one does: same steps, same batches, same metrics, same weights, and the training time goes on
counting. The interrupted run is the one that needs a process of its own (it receives the signal); the others run in
this process."""

import lightning as L
import torch
import yaml
from helpers import STEPS_PER_EPOCH, TINY, config, cut_by_sigterm, recorded_fit, refusal
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lit_addition import AdditionDataModule, AdditionModel
from lit_addition.callbacks import TIME_METRIC

RUN = [*TINY, "--trainer.max_epochs=2", "--trainer.log_every_n_steps=1", "--trainer.enable_progress_bar=false"]
RUN += ["--samples.n=0", "--model.lr_schedule=onecycle"]  # a schedule laid out for the whole run, resumed mid-way
CUT_AT = 4  # the run is cut after step 4, in the middle of epoch 0


def scalars(run_dir) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series in a run directory, all its event files together."""
    events = EventAccumulator(str(run_dir))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_run_resumed_mid_epoch_ends_exactly_like_an_uninterrupted_one(run_main, tmp_path):
    logs = tmp_path / "logs" / config("3digit")["trainer"]["logger"]["init_args"]["name"]
    before = recorded_fit(run_main, RUN, "whole", tmp_path / "w")
    cut_by_sigterm(RUN, "cut", CUT_AT, tmp_path)
    stopped = torch.load(logs / "cut" / "checkpoints" / "last.ckpt", weights_only=False)
    assert (stopped["epoch"], stopped["global_step"]) == (0, CUT_AT)
    assert stopped["loops"]["fit_loop"]["epoch_loop.batch_progress"]["current"]["completed"] == CUT_AT
    (timer,) = [state for key, state in stopped["callbacks"].items() if key.startswith("TrainingTime")]
    seconds_before_the_cut = timer["time_elapsed"]["train"]
    assert seconds_before_the_cut > 0

    after = recorded_fit(run_main, [*RUN, "--ckpt_path=last"], "cut", tmp_path / "r")
    assert after["splits"] == before["splits"]
    # The resumed run takes up epoch 0 at the batch after the cut, and then sees the same epoch 1.
    assert after["train"]["0"] == before["train"]["0"][CUT_AT * 64 :]
    assert after["train"]["1"] == before["train"]["1"]

    # Every logged series, steps and values, the interrupted epoch's training accuracies included; the training
    # time, a clock, at the same steps, counting on from the time saved at the cut.
    expected, got = scalars(logs / "whole"), scalars(logs / "cut")
    assert {"train/loss", "train/char_acc", "val/seq_acc", "val/pos_acc/0", "train/lr", TIME_METRIC} <= expected.keys()
    assert [step for step, _ in expected["train/loss"]][: 2 * STEPS_PER_EPOCH] == list(range(2 * STEPS_PER_EPOCH))
    clock_whole, clock_cut = expected.pop(TIME_METRIC), got.pop(TIME_METRIC)
    assert got == expected
    assert [step for step, _ in clock_cut] == [step for step, _ in clock_whole]
    assert seconds_before_the_cut < clock_cut[0][1] < clock_cut[1][1]

    final = {
        name: torch.load(logs / name / "checkpoints" / "last.ckpt", weights_only=False) for name in ("whole", "cut")
    }
    assert final["cut"]["global_step"] == final["whole"]["global_step"] == 2 * STEPS_PER_EPOCH
    weights = final["whole"]["state_dict"]
    assert all(torch.equal(final["cut"]["state_dict"][name], value) for name, value in weights.items())

    # The rerun into the same directory replaced config.yaml with its own, rather than refusing to start.
    assert yaml.safe_load((logs / "cut" / "config.yaml").read_text())["ckpt_path"] == "last"


def test_resuming_a_run_that_ended_at_max_steps_is_refused_with_one_line(run_main):
    assert run_main("fit", *RUN, "--trainer.logger.version=short", f"--trainer.max_steps={CUT_AT}").status == 0
    reason = refusal(run_main("fit", *RUN, "--trainer.logger.version=short", "--ckpt_path=last"))
    assert reason.startswith(
        f"the checkpoint's one-cycle schedule spans {CUT_AT} steps, but this run is set up for {2 * STEPS_PER_EPOCH}: "
    )


def train_twice_with_one_seed() -> list[tuple[dict, dict]]:
    runs = []
    for _ in range(2):
        L.seed_everything(7, verbose=False)
        data = AdditionDataModule(digits=2, num_samples=2_000, test_samples=100, batch_size=64, seed=3)
        model = AdditionModel(digits=2)
        trainer = L.Trainer(
            max_epochs=2,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        trainer.fit(model, data)
        runs.append((dict(trainer.callback_metrics), model.state_dict()))
    return runs


def test_two_runs_with_the_same_seed_agree_exactly():
    (metrics, weights), (metrics_again, weights_again) = train_twice_with_one_seed()
    assert metrics.keys() == metrics_again.keys() and "val/seq_acc" in metrics
    assert all(torch.equal(metrics[name], metrics_again[name]) for name in metrics)
    assert all(torch.equal(weights[name], weights_again[name]) for name in weights)


def test_a_training_step_draws_no_random_numbers(small_data):
    """Nothing in a step is random (no dropout, a fixed order), so a resumed run needs no saved random state."""
    model = AdditionModel(digits=2)
    optimizer = torch.optim.AdamW(model.parameters())
    before = torch.get_rng_state()
    loss = model._shared_step(small_data.dataset("train")[0:64], "train")  # the step, without a trainer to log to
    loss.backward()
    optimizer.step()
    assert torch.equal(torch.get_rng_state(), before)
