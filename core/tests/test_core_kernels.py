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


def test_registering_one_kernel_twice_is_an_error(clean_registry):
    plugins.register_plugin(KernelPlugin(), name="kernel-a")
    plugins.register_plugin(KernelPlugin(), name="kernel-b")
    with pytest.raises(ValueError, match="registered twice"):
        kernels.registered()
