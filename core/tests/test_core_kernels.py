import pytest
import torch

from spikelayers import kernels, plugins
from spikelayers.errors import BackendUnavailableError
from spikelayers.hookspecs import hookimpl
from spikelayers.kernels import KernelSpec


def double_torch(x):
    return x * 2


def double_triton(x):
    return x + x


class KernelPlugin:
    @hookimpl
    def spikelayers_kernels(self):
        return [KernelSpec("test.double", "torch", double_torch), KernelSpec("test.double", "triton", double_triton)]


@pytest.fixture
def kernel_plugin(clean_registry):
    plugins.register_plugin(KernelPlugin(), name="kernel-test")


def test_torch_backend_is_always_available(kernel_plugin):
    assert kernels.get_kernel("test.double", "torch", "cpu") is double_torch


def test_auto_takes_torch_on_cpu_without_interpreter(kernel_plugin, monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert kernels.select_backend("test.double", "auto", torch.device("cpu")) == "torch"


def test_forced_triton_on_cpu_without_interpreter_raises_clearly(kernel_plugin, monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(BackendUnavailableError, match=r"test\.double.*triton.*(CUDA|not installed)"):
        kernels.get_kernel("test.double", "triton", torch.device("cpu"))


def test_interpreter_makes_triton_available_when_installed(kernel_plugin, monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    if kernels.triton_installed():
        assert kernels.get_kernel("test.double", "triton", "cpu") is double_triton
        assert kernels.select_backend("test.double", "auto", "cpu") == "triton"
    else:
        assert "not installed" in kernels.backend_unavailable_reason("triton", "cpu")


def test_unregistered_op_or_backend_raises(kernel_plugin):
    with pytest.raises(BackendUnavailableError, match="no 'torch' kernel"):
        kernels.get_kernel("test.missing", "torch", "cpu")
    assert kernels.backend_unavailable_reason("cuda") is not None


def test_registering_one_kernel_twice_reports_the_second_plugin_and_keeps_the_first(clean_registry):
    plugins.register_plugin(KernelPlugin(), name="kernel-a")
    plugins.register_plugin(KernelPlugin(), name="kernel-b")
    assert kernels.get_kernel("test.double", "torch", "cpu") is double_torch
    assert kernels.kernel_table().providers[("test.double", "torch")] == "kernel-a"
    problems = plugins.get_registry().problems()
    assert "kernel-a" not in problems
    assert "already provided by plugin 'kernel-a'" in problems["kernel-b"][0].message


class BadKernelPlugin:
    @hookimpl
    def spikelayers_kernels(self):
        return [KernelSpec("test.bad", "cupy", double_torch)]


class RaisingKernelPlugin:
    @hookimpl
    def spikelayers_kernels(self):
        raise RuntimeError("kernels boom")


def test_a_plugin_with_bad_or_raising_kernels_does_not_hide_the_others(kernel_plugin):
    plugins.register_plugin(BadKernelPlugin(), name="kernel-bad")
    plugins.register_plugin(RaisingKernelPlugin(), name="kernel-raising")
    assert kernels.get_kernel("test.double", "torch", "cpu") is double_torch
    problems = plugins.get_registry().problems()
    assert "unknown backend 'cupy'" in problems["kernel-bad"][0].message
    assert "RuntimeError: kernels boom" in problems["kernel-raising"][0].message
    assert isinstance(problems["kernel-raising"][0].error, RuntimeError)


def only_small(size: int) -> str | None:
    return None if size <= 4 else f"takes at most 4 elements, got {size}"


class PickyPlugin:
    @hookimpl
    def spikelayers_kernels(self):
        return [
            KernelSpec("test.picky", "torch", double_torch),
            KernelSpec("test.picky", "triton", double_triton, supports=only_small),
        ]


@pytest.fixture
def picky_plugin(clean_registry, monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    plugins.register_plugin(PickyPlugin(), name="picky")


def test_auto_skips_a_kernel_whose_supports_gives_a_reason(picky_plugin):
    if not kernels.triton_installed():
        assert kernels.select_backend("test.picky", "auto", "cpu", size=2) == "torch"
        return
    assert kernels.get_kernel("test.picky", "auto", "cpu", size=2) is double_triton
    assert kernels.get_kernel("test.picky", "auto", "cpu", size=9) is double_torch
    assert kernels.available_backends("test.picky", "cpu", size=9) == ["torch"]


def test_a_forced_backend_that_cannot_take_the_call_raises_before_any_work(picky_plugin):
    reason = "takes at most 4 elements, got 9" if kernels.triton_installed() else "triton is not installed"
    with pytest.raises(BackendUnavailableError, match=rf"test\.picky.*'triton'.*{reason}"):
        kernels.get_kernel("test.picky", "triton", "cpu", size=9)


def test_unknown_backend_is_rejected(kernel_plugin):
    with pytest.raises(BackendUnavailableError, match="unknown backend 'cupy'"):
        kernels.get_kernel("test.double", "cupy", "cpu")


def test_kernel_choice_is_kept_on_the_snapshot_and_redecided_after_reload(kernel_plugin):
    first = plugins.get_registry()
    kernels.get_kernel("test.double", "torch", "cpu")
    assert double_torch in first.cache.values()
    plugins.reload()
    assert plugins.get_registry() is not first
    assert double_torch not in plugins.get_registry().cache.values()
    assert kernels.get_kernel("test.double", "torch", "cpu") is double_torch


class _Square(torch.autograd.Function):
    """A fast path in the old style (``forward(ctx, ...)``), which torch.func cannot transform."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x * grad


def _square_reference(x):
    return x.pow(2)


@kernels.reference_under_torch_func(_square_reference)
def square(x):
    return _Square.apply(x)


def test_a_decorated_kernel_runs_its_reference_only_under_torch_func():
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    assert not kernels.torch_func_active()
    assert square(x).grad_fn.name() == "_SquareBackward"  # eager: the fast path
    assert square.reference is _square_reference and square.__name__ == "square"
    assert torch.func.vmap(lambda v: (kernels.torch_func_active(), square(v))[1])(x.detach()).tolist() == [1, 4, 9]
    assert torch.func.grad(lambda v: square(v).sum())(x.detach()).tolist() == [2.0, -4.0, 6.0]
    with pytest.raises(RuntimeError, match="setup_context"):  # what the decorator saves callers from
        torch.func.grad(lambda v: _Square.apply(v).sum())(x.detach())


def test_get_kernel_answers_with_the_torch_kernel_under_torch_func(kernel_plugin, monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    if not kernels.triton_installed():
        pytest.skip("needs triton for a triton kernel to choose")
    assert kernels.get_kernel("test.double", "auto", "cpu") is double_triton
    chosen = []

    def call(x):
        for backend in ("auto", "triton", "torch"):
            chosen.append(kernels.get_kernel("test.double", backend, "cpu"))
        return x

    torch.func.vmap(call)(torch.zeros(2, 3))
    torch.func.grad(lambda x: call(x).sum())(torch.zeros(3))
    assert chosen == [double_torch] * 6
    assert kernels.get_kernel("test.double", "triton", "cpu") is double_triton  # outside again


def test_inductor_runs_on_cpu_tensors_with_a_cxx_compiler(monkeypatch, tmp_path):
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    reason = kernels.backend_unavailable_reason("inductor", "cpu")
    assert reason is not None and "C++ compiler" in reason and "g++" in reason
    compiler = tmp_path / "my-c++"
    compiler.write_text("#!/bin/sh\n")
    compiler.chmod(0o755)
    monkeypatch.setenv("CXX", "my-c++")
    assert kernels.cxx_compiler() == str(compiler)
    assert kernels.backend_unavailable_reason("inductor", "cpu") is None
    assert "CPU kernels only (got a cuda tensor)" in kernels.backend_unavailable_reason("inductor", "cuda")
    assert "got no device" in kernels.backend_unavailable_reason("inductor")


def test_auto_never_picks_inductor():
    assert "inductor" in kernels.BACKENDS and "inductor" not in kernels.AUTO_PREFERENCE
