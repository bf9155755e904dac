"""DropConnect: a linear layer whose connections are dropped per sample."""

from __future__ import annotations

import torch
from torch import nn

from spikelayers import functional
from spikelayers.base import MemoryModule, StepModule
from spikelayers.shapes import Layout, floating_input
from spikelayers.validators import positive_int, probability

_DEFAULT_ACTIVATION = nn.ReLU()
_LAYOUT = Layout((2,), "[N, in_features]", feature_dim=-1, feature_label="in_features")


class DropConnectLinear(nn.Linear, MemoryModule):
    """A linear layer with DropConnect, followed by an activation.

    Training: every sample ``n`` of the batch gets its own masks over the weights
    ``[out, in]`` and the bias ``[out]``, each connection kept with probability
    ``1 - p`` (not rescaled), and ``y[n] = activation(W_n x[n] + b_n)`` with the masked
    ``W_n``, ``b_n``. With ``invariant=True`` the masks drawn at the first step after a
    reset are kept (memories ``weight_mask`` ``[N, out, in]`` and ``bias_mask``
    ``[N, out]``) until ``reset()``; otherwise every step draws new masks.

    Eval: Gaussian moment matching. With ``mu = (1 - p)(W x + b)`` and
    ``var = p (1 - p)(W^2 x^2 + b^2)``, ``samples_num`` samples of
    ``N(mu, var)`` go through ``activation`` and are averaged.

    A step is ``[N, in_features]``, a sequence ``[T, N, in_features]``; the output has
    ``out_features`` in the last dim. An activation that is itself a step module is
    kept in single-step mode and driven one step at a time; ``reset()`` resets it too.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias.
        p: probability of a connection to be dropped, ``0 <= p <= 1``.
        samples_num: number of Gaussian samples averaged at inference.
        invariant: keep the masks from the first step until ``reset()``.
        activation: the module applied after the masked linear map (``None``: identity).
        state_mode: the step mode, ``'s'`` or ``'m'`` (the reference's spelling).
        step_mode: keyword alias of ``state_mode``; wins when given.
    """

    keeps_child_step_mode = True

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        p: float = 0.5,
        samples_num: int = 1024,
        invariant: bool = False,
        activation: nn.Module | None = _DEFAULT_ACTIVATION,
        state_mode: str = "s",
        *,
        step_mode: str | None = None,
    ) -> None:
        name = type(self).__name__
        super().__init__(
            positive_int(name, "in_features", in_features), positive_int(name, "out_features", out_features), bias
        )
        self.p = probability(name, "p", p)
        self.samples_num = positive_int(name, "samples_num", samples_num)
        self.invariant = bool(invariant)
        if activation is _DEFAULT_ACTIVATION:
            activation = nn.ReLU()
        self.activation = activation if activation is not None else nn.Identity()
        if isinstance(self.activation, StepModule) and "s" in self.activation.supported_step_mode():
            self.activation.step_mode = "s"
        self.register_memory("weight_mask", None)
        self.register_memory("bias_mask", None)
        self.step_mode = step_mode if step_mode is not None else state_mode

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        return MemoryModule.forward(self, *args)

    def extra_repr(self) -> str:
        return (
            f"{nn.Linear.extra_repr(self)}, p={self.p}, samples_num={self.samples_num}, "
            f"invariant={self.invariant}, {MemoryModule.extra_repr(self)}"
        )

    def reset(self) -> None:
        """Forget the masks (the next training step draws new ones) and reset a stateful activation."""
        super().reset()
        functional.reset_net(self.activation)

    # -- masks ----------------------------------------------------------------------

    def drop(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Draw boolean keep-masks ``[N, out, in]`` and ``[N, out]`` (``None`` without bias)."""
        device = self.weight.device
        keep_weight = torch.rand((batch_size, *self.weight.shape), device=device) >= self.p
        keep_bias = None
        if self.bias is not None:
            keep_bias = torch.rand((batch_size, self.out_features), device=device) >= self.p
        return keep_weight, keep_bias

    def _masks(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The masks of this step: new ones, or the kept ones of an invariant layer.

        New masks of an invariant layer are stored by :meth:`_keep` once the step that
        drew them has succeeded, so a call that raises keeps no mask.
        """
        if not self.invariant or self.weight_mask is None:
            return self.drop(batch_size)
        probe = torch.empty(0, device=self.weight.device)
        self.memory_like("weight_mask", probe, shape=(batch_size, *self.weight.shape))
        return self.weight_mask, self.bias_mask

    def _keep(self, masks: tuple[torch.Tensor, torch.Tensor | None], y: torch.Tensor) -> torch.Tensor:
        """Store newly drawn invariant masks, after the step that drew them succeeded; return ``y``."""
        if self.invariant and self.weight_mask is None:
            self.weight_mask, self.bias_mask = masks
        return y

    def _masked_linear(self, x: torch.Tensor, masks: tuple[torch.Tensor, torch.Tensor | None]) -> torch.Tensor:
        """``x`` ``[N, in]`` or ``[T, N, in]`` through the per-sample masked weights -> ``[..., N, out]``."""
        keep_weight, keep_bias = masks
        weights = keep_weight.to(self.weight.dtype) * self.weight  # [N, out, in]
        if x.dim() == 2:
            y = torch.bmm(weights, x.unsqueeze(-1)).squeeze(-1)
        else:
            y = torch.bmm(weights, x.permute(1, 2, 0)).permute(2, 0, 1)
        if self.bias is not None:
            y = y + keep_bias.to(self.bias.dtype) * self.bias
        return y

    # -- inference ------------------------------------------------------------------

    def _moments(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        keep = 1.0 - self.p
        mean = keep * nn.functional.linear(x, self.weight, self.bias)
        bias_sq = None if self.bias is None else self.bias * self.bias
        var = self.p * keep * nn.functional.linear(x * x, self.weight * self.weight, bias_sq)
        tiny = torch.finfo(var.dtype).tiny
        return mean, var.clamp_min(tiny).sqrt()

    def _sample_average(self, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        # Drawn in float32 whatever the input's dtype, so that one seed gives the same
        # samples in every precision (and a dtype change mid-sequence keeps the stream).
        noise = torch.randn((self.samples_num, *mean.shape), dtype=torch.float32, device=mean.device).to(mean.dtype)
        return self.activation(mean + std * noise).mean(0)

    # -- forward --------------------------------------------------------------------

    def _check(self, x: torch.Tensor, multi_step: bool) -> torch.Tensor:
        """Check ``x`` against the layout of the step mode; ``bool``/integer spikes become floats."""
        _LAYOUT.check(self, x, multi_step, self.in_features, "in_features")
        return floating_input(self, x, self.weight)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """One step, ``[N, in_features] -> [N, out_features]``."""
        x = self._check(x, False)
        if not self.training:
            return self._sample_average(*self._moments(x))
        masks = self._masks(x.shape[0])
        return self._keep(masks, self.activation(self._masked_linear(x, masks)))

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """A sequence, ``[T, N, in_features] -> [T, N, out_features]``."""
        x_seq = self._check(x_seq, True)
        if x_seq.shape[0] == 0:
            return x_seq.new_empty((0, x_seq.shape[1], self.out_features))
        if self.training and not self.invariant:
            return torch.stack([self.single_step_forward(x) for x in x_seq])
        if self.training:
            masks = self._masks(x_seq.shape[1])
            return self._keep(masks, self._activate_sequence(self._masked_linear(x_seq, masks)))
        mean, std = self._moments(x_seq)
        return torch.stack([self._sample_average(m, s) for m, s in zip(mean, std)])

    def _activate_sequence(self, y: torch.Tensor) -> torch.Tensor:
        if isinstance(self.activation, StepModule):
            return torch.stack([self.activation(step) for step in y])
        return self.activation(y)
