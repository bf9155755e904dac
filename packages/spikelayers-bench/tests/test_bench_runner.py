import json
import platform
import sys
import types

import pytest
import torch
from torch import nn

from spikelayers import cli, kernels, plugins
from spikelayers.base import MemoryModule
from spikelayers.benchmarks import BenchCase
from spikelayers.hookspecs import hookimpl
from spikelayers_bench.report import format_table, summarise
from spikelayers_bench.runner import build_variants, collect_cases, import_compare_modules, run_case


class Decay(MemoryModule):
    def __init__(self) -> None:
        super().__init__()
        self.register_memory("v", 0.0)

    def single_step_forward(self, x):
        self.v = self.memory_like("v", x) * 0.5 + x
        return self.v

    def multi_step_forward(self, x_seq):
        weights = 0.5 ** torch.arange(x_seq.shape[0], dtype=x_seq.dtype)
        out = torch.stack(
            [(x_seq[: t + 1] * weights[: t + 1].flip(0).view(-1, 1, 1)).sum(0) for t in range(x_seq.shape[0])]
        )
        self.v = out[-1]
        return out


CASE = BenchCase("Decay", Decay, {"small": (4, 2, 8), "large": (4, 8, 64)}, baseline=lambda: nn.Identity())


class BenchPlugin:
    @hookimpl
    def spikelayers_bench_cases(self):
        return [CASE]


@pytest.fixture
def bench_plugin(clean_registry):
    plugins.register_plugin(BenchPlugin(), name="bench-test")


@pytest.fixture
def clean_registry():
    plugins.reload()
    yield
    plugins._extra_plugins.clear()
    plugins.reload()


def test_collect_cases_filters_by_name(bench_plugin):
    assert CASE in collect_cases()
    assert collect_cases(["decay"]) == [CASE]
    assert collect_cases(["nothing-like-this"]) == []


def test_run_case_times_every_variant_with_ratios(bench_plugin):
    measurements = run_case(CASE, "small", torch.device("cpu"), repeats=2)
    assert {m.variant for m in measurements} == {"floor", "alloc-floor", "spikelayers", "reference", "baseline"}
    rows = summarise(measurements)
    ours = next(r for r in rows if r["variant"] == "spikelayers")
    assert ours["forward_vs_floor"] > 0 and ours["forward_backward_vs_floor"] > 0
    assert ours["forward_backward_vs_spikelayers"] == 1.0
    assert ours["peak_extra_vs_input"] is not None
    assert "Decay" in format_table(rows)


def test_bench_command_writes_json(bench_plugin, tmp_path, capsys):
    assert cli.main(["bench", "--only", "Decay", "--sizes", "small", "--repeats", "1", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bench.json").read_text())
    assert {row["variant"] for row in report["summary"]} >= {"spikelayers", "reference"}
    assert "f+b/floor" in capsys.readouterr().out


class ForeignDecay(nn.Module):
    """A stand-in for another library's layer: plain nn.Module, ``step_mode`` and ``reset()``."""

    resets = 0

    def __init__(self) -> None:
        super().__init__()
        self.step_mode = "s"

    def reset(self) -> None:
        type(self).resets += 1

    def forward(self, x_seq):
        assert self.step_mode == "m"
        return x_seq.cumsum(0)


def test_compare_takes_the_class_from_the_first_module_that_has_it(bench_plugin, monkeypatch):
    empty, other = types.ModuleType("empty_lib"), types.ModuleType("other_lib")
    other.Decay = ForeignDecay
    monkeypatch.setitem(sys.modules, "empty_lib", empty)
    monkeypatch.setitem(sys.modules, "other_lib", other)
    ForeignDecay.resets = 0
    modules = import_compare_modules(["empty_lib", "other_lib"])
    measurements = run_case(CASE, "small", torch.device("cpu"), repeats=2, compare=modules)
    compared = next(m for m in measurements if m.variant == "compare")
    assert compared.forward_ms > 0 and compared.forward_backward_ms > 0
    assert ForeignDecay.resets >= 4, "the foreign layer is reset before every run"
    row = next(r for r in summarise(measurements) if r["variant"] == "compare")
    assert row["forward_backward_vs_spikelayers"] is not None and row["forward_backward_gbps"] > 0


def test_compare_with_a_missing_module_is_a_clear_error(bench_plugin, capsys):
    assert cli.main(["bench", "--only", "Decay", "--compare", "no_such_module_here"]) == 2
    assert "--compare module 'no_such_module_here'" in capsys.readouterr().err


class NeedsModules(nn.Module):
    def __init__(self, sub_module: nn.Module) -> None:
        super().__init__()
        self.sub_module = sub_module


def test_compare_skips_a_class_it_cannot_build_with_a_warning(bench_plugin, monkeypatch):
    other = types.ModuleType("container_lib")
    other.Decay = NeedsModules
    monkeypatch.setitem(sys.modules, "container_lib", other)
    with pytest.warns(UserWarning, match=r"cannot build .*Decay"):
        measurements = run_case(CASE, "small", torch.device("cpu"), repeats=1, compare=[other])
    assert "compare" not in {m.variant for m in measurements}


def _gpu_report(device_name, triton_ms, loop_ms):
    floor_ms, traffic_mb = 1.0, 2 * 64.0
    measurements, summary = [], []
    for case in ("LIFNode", "SynapseFilter"):
        measurements.append({"case": case, "size": "gpu", "variant": "floor", "traffic_mb": traffic_mb,
                             "forward_ms": floor_ms / 2, "forward_backward_ms": floor_ms})  # fmt: skip
        gbps = 2 * traffic_mb * 2**20 / (triton_ms * 1e-3) / 1e9
        summary.append({"case": case, "size": "gpu", "variant": "spikelayers[triton]",
                        "forward_backward_ms": triton_ms, "forward_backward_gbps": gbps})  # fmt: skip
        summary.append({"case": case, "size": "gpu", "variant": "reference", "forward_backward_ms": loop_ms})
    return {"meta": {"device_name": device_name}, "summary": summary, "measurements": measurements}


def test_gpu_targets_against_the_cards_peak(tmp_path, capsys):
    from spikelayers_bench.targets import card_peak_gbps, check_targets, main

    assert card_peak_gbps("NVIDIA H200") == 4800.0 and card_peak_gbps("NVIDIA H100 PCIe") == 2000.0
    assert card_peak_gbps("Some other card") is None
    # 4 x 64 MiB in 0.07 ms is about 3.8 TB/s: 80 % of an H200, over 5x the 1 ms loop.
    met = check_targets(_gpu_report("NVIDIA H200", 0.07, 1.0))
    assert all(r["bandwidth_met"] and r["speedup_met"] for r in met)
    assert met[0]["share_of_copy"] == pytest.approx(1.0 / 0.07, rel=1e-6)
    missed = check_targets(_gpu_report("NVIDIA H200", 0.5, 1.0))
    assert not any(r["bandwidth_met"] or r["speedup_met"] for r in missed)
    assert check_targets(_gpu_report("Mystery", 0.07, 1.0))[0]["bandwidth_met"] is None
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(_gpu_report("NVIDIA H200", 0.07, 1.0)))
    assert main([str(path)]) == 0
    assert "LIFNode" in capsys.readouterr().out
    path.write_text(json.dumps({"meta": {}, "summary": [], "measurements": []}))
    assert main([str(path)]) == 2


def test_allocator_choice_is_checked_and_reported(bench_plugin, tmp_path):
    from spikelayers_bench.allocator import apply_allocator

    with pytest.raises(ValueError, match="allocator must be one of"):
        apply_allocator("jemalloc")
    assert apply_allocator("system") == "system"
    args = ["bench", "--only", "Decay", "--sizes", "small", "--repeats", "1", "--out", str(tmp_path)]
    assert cli.main([*args, "--allocator", "system"]) == 0
    assert json.loads((tmp_path / "bench.json").read_text())["meta"]["allocator"] == "system"


def test_keep_freed_memory_in_a_fresh_process():
    import subprocess

    code = "from spikelayers_bench.allocator import apply_allocator; print(apply_allocator('keep'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    expected = "keep" if platform.libc_ver()[0] == "glibc" else "system"
    assert out == expected


class SingleStepOnly(MemoryModule):
    step_modes = ("s",)

    def __init__(self) -> None:
        super().__init__()
        self.register_memory("v", 0.0)
        self.calls = 0

    def single_step_forward(self, x):
        self.calls += 1
        self.v = self.memory_like("v", x) * 0.5 + x
        return self.v


def test_a_single_step_case_is_driven_one_step_at_a_time():
    case = BenchCase("SingleStepOnly", SingleStepOnly, {"small": (5, 2, 3)}, step_mode="s")
    x = torch.rand(5, 2, 3)
    variants = build_variants(case, x, torch.device("cpu"))
    assert [v.name for v in variants] == ["spikelayers"], "a single-step layer has no separate loop reference"
    ours = variants[0]
    before = ours.module.calls
    ours.forward()
    assert ours.module.calls - before == 5
    assert {m.variant for m in run_case(case, "small", torch.device("cpu"), repeats=1)} >= {"spikelayers", "floor"}
    with pytest.raises(ValueError, match="step_mode must be 's' or 'm'"):
        BenchCase("Bad", SingleStepOnly, {"small": (5, 2, 3)}, step_mode="x")


class TwoWays(Decay):
    """A layer with a backend of its own ('loop'), outside the kernel registry."""

    supported_backends = ("torch", "loop", "triton", "inductor")


def test_every_backend_a_case_lists_gets_a_row_where_it_can_run():
    case = BenchCase("TwoWays", TwoWays, {"small": (4, 2, 8)}, backends=("loop", "triton", "inductor"))
    variants = build_variants(case, torch.rand(4, 2, 8), torch.device("cpu"))
    names = [v.name for v in variants]
    assert "spikelayers[loop]" in names, "a layer's own backend runs wherever the layer does"
    assert next(v for v in variants if v.name == "spikelayers[loop]").module.backend == "loop"
    assert ("spikelayers[inductor]" in names) == (kernels.backend_unavailable_reason("inductor", "cpu") is None)
    assert ("spikelayers[triton]" in names) == (kernels.backend_unavailable_reason("triton", "cpu") is None)
