import pytest
import torch

from spikelayers import cli, functional
from spikelayers_demo.data import load_digits_split
from spikelayers_demo.model import DigitsSNN
from spikelayers_demo.train import class_scores, evaluate, train


def test_digits_split_is_stratified_and_fixed_by_seed():
    train_a, test_a = load_digits_split(seed=3)
    train_b, test_b = load_digits_split(seed=3)
    assert len(train_a) + len(test_a) == 1797
    assert torch.equal(test_a.tensors[1], test_b.tensors[1])
    assert torch.equal(train_a.tensors[0], train_b.tensors[0])
    counts = torch.bincount(test_a.tensors[1], minlength=10)
    assert counts.min() >= 33
    assert train_a.tensors[0].shape[1:] == (1, 8, 8) and train_a.tensors[0].max() <= 1.0


def test_network_uses_five_families_and_runs_multi_step():
    model = DigitsSNN()
    families = {type(m).__module__.split(".")[0] for m in model.modules()}
    assert {
        "spikelayers_stateless",
        "spikelayers_norm",
        "spikelayers_neuron",
        "spikelayers_dropout",
        "spikelayers_synapse",
    } <= families
    scores = class_scores(model, torch.rand(5, 1, 8, 8), T=3)
    assert scores.shape == (5, 10)


def test_training_improves_on_chance_and_is_deterministic():
    train_data, test_data = load_digits_split(seed=0)
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        model = DigitsSNN()
        result = train(
            model, train_data, test_data, epochs=1, T=4, lr=5e-3, batch_size=64, device=torch.device("cpu"), seed=0
        )
        results.append(result.history[-1])
        functional.reset_net(model)
    assert results[0] == results[1]
    assert results[0].test_accuracy > 0.3
    assert evaluate(model, test_data, 4, torch.device("cpu")) == results[0].test_accuracy


def test_demo_command_reports_accuracy_and_time(tmp_path, capsys):
    plot = tmp_path / "demo.png"
    assert cli.main(["demo", "--epochs", "1", "--T", "2", "--no-progress", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "test accuracy:" in out and "elapsed:" in out
    assert f"plot written to {plot.resolve()}" in out
    assert plot.stat().st_size > 10_000


def test_demo_rejects_bad_arguments():
    with pytest.raises(SystemExit, match="--epochs must be at least 1"):
        cli.main(["demo", "--epochs", "0"])


def test_triton_backend_without_cuda_exits_with_one_line(monkeypatch):
    import importlib.util

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: object() if name == "triton" else real_find_spec(name, *a)
    )
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--backend", "triton", "--epochs", "1"])
    message = str(exit_info.value.code)
    assert "\n" not in message and "CUDA" in message and "--backend torch" in message


def test_the_plot_has_integer_time_ticks_and_says_what_each_raster_shows():
    from spikelayers_demo.plot import build_figure, record_spikes
    from spikelayers_demo.train import DemoResult, EpochResult

    torch.manual_seed(0)
    model = DigitsSNN()
    spikes = record_spikes(model, torch.rand(1, 8, 8), T=3)
    result = DemoResult(history=[EpochResult(1, 1.0, 0.5, 0.4), EpochResult(2, 0.8, 0.6, 0.5)], elapsed_s=1.0)
    fig = build_figure(result, spikes)
    rasters = fig.axes[2:]
    assert len(rasters) == len(spikes)
    fig.canvas.draw()
    for ax, (name, recorded) in zip(rasters, spikes.items()):
        assert name in ax.get_title() and f"all {recorded.shape[1]} neurons" in ax.get_title()
        ticks = [t for t in ax.get_xticks() if -0.5 <= t <= 2.5]
        assert ticks and all(float(t).is_integer() for t in ticks)
    assert all(float(t).is_integer() for t in fig.axes[0].get_xticks())


def test_inductor_backend_without_a_compiler_exits_with_one_line(monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("CXX", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--backend", "inductor", "--epochs", "1"])
    message = str(exit_info.value.code)
    assert "\n" not in message and "C++ compiler" in message and "--backend torch" in message
