"""The experiment's summary: medians and spreads over repeats, the table, the seed verdict."""

import json
import shutil

import pytest

from autogradlib import cli, experiment, load


def summary_of(train_loss, train_accuracy, test_loss, test_accuracy):
    runs = [
        {"train_loss": train_loss + delta, "train_accuracy": train_accuracy - delta,
         "test_loss": test_loss + delta, "test_accuracy": test_accuracy - delta}
        for delta in (-0.001, 0.0, 0.001)
    ]  # fmt: skip
    return experiment.summarize(runs)


def test_summary_is_median_and_sample_standard_deviation():
    summary = summary_of(0.01, 0.99, 0.02, 0.98)
    assert summary["train_loss"]["median"] == pytest.approx(0.01)
    assert summary["test_accuracy"]["std"] == pytest.approx(0.001)


def test_better_medians_beat_the_seed_and_one_worse_cell_does_not():
    assert experiment.beats_seed(summary_of(0.01, 0.99, 0.02, 0.985))
    assert not experiment.beats_seed(summary_of(0.01, 0.99, 0.02, 0.980))
    assert not experiment.beats_seed(summary_of(0.03, 0.99, 0.02, 0.985))


def test_table_shows_ours_beside_the_2018_numbers():
    table = experiment.format_table(summary_of(0.0063, 0.9935, 0.0099, 0.986))
    train_row, test_row = table.splitlines()[1:]
    assert train_row.split()[:4] == ["train", "0.0063", "±", "0.0010"]
    assert "0.0228 ± 0.0023" in train_row
    assert "0.0254 ± 0.0028" in test_row


def test_a_two_repeat_training_run_writes_every_file_and_its_loss_decreases(tmp_path, capsys):
    arguments = ["--epochs", "20", "--repeats", "2", "--quiet", "--out", str(tmp_path)]
    code = cli.main(["train", *arguments])
    printed = capsys.readouterr().out
    assert code == 0
    assert "(0): Linear(in_features=2, out_features=25, bias=True)" in printed
    assert "After 20 epochs, 2 repeats:" in printed
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results) == {"config", "runs", "summary"}
    assert [run["seed"] for run in results["runs"]] == [0, 1]
    for run in results["runs"]:
        assert set(run) >= {"seed", "train_loss", "train_accuracy", "test_loss", "test_accuracy"}
        curve = run["curves"]["train_loss"]
        assert run["curves"]["epoch"] == list(range(1, 21))
        assert curve[-1] < 0.5 * curve[0]
    assert set(results["summary"]) == set(experiment.METRICS)
    assert (tmp_path / "curves.png").read_bytes().startswith(b"\x89PNG")
    assert "digraph" in (tmp_path / "model.gv").read_text()
    if shutil.which("dot"):
        assert "<svg" in (tmp_path / "model.svg").read_text()
    parameters = load(tmp_path / "model.pt")
    assert parameters["0.weight"].shape == (25, 2)
