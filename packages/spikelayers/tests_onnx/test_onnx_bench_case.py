"""The benchmark case that times the demo network in onnxruntime against eager PyTorch."""

import torch

from spikelayers import functional
from spikelayers_bench.runner import collect_cases, run_case, step_loop
from spikelayers_demo.bench import SHAPES, EagerDigits, OnnxRuntimeDigits, pixel_steps


def test_onnxruntime_variant_computes_what_eager_computes():
    pixels = pixel_steps(SHAPES["small"], torch.device("cpu"), torch.float32)
    eager = EagerDigits()
    functional.set_step_mode(eager, "s")
    with torch.no_grad():
        expected = step_loop(eager)(pixels)
    actual = OnnxRuntimeDigits()(pixels)
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)


def test_bench_times_both_variants_in_one_run():
    (case,) = collect_cases(["DigitsSNN streamed"])
    measurements = run_case(case, "small", torch.device("cpu"), repeats=1)
    by_variant = {m.variant: m for m in measurements}
    assert {"spikelayers", "baseline"} <= set(by_variant)
    assert by_variant["baseline"].forward_ms > 0 and by_variant["spikelayers"].forward_ms > 0
    assert by_variant["baseline"].forward_backward_ms is None  # inference only
