"""A fully connected layer with step modes."""

from __future__ import annotations

from torch import nn

from .folding import FoldedLayer, Layout


class Linear(FoldedLayer, nn.Linear):
    """:class:`torch.nn.Linear` with step modes.

    Input ``[N, *, in_features]`` in ``'s'`` (any number of leading dims, as in torch);
    ``[T, N, *, in_features]`` in ``'m'``. Output: the same with ``out_features`` last.

    Args:
        in_features, out_features, bias: as in :class:`torch.nn.Linear`.
        step_mode: ``'s'`` (one step) or ``'m'`` (a whole sequence).
    """

    layout = Layout(
        ranks=(1,),
        text="[N, *, in_features]",
        multi_ranks=(3,),
        multi_text="[T, N, *, in_features]",
        open_ended=True,
        feature_dim=-1,
        feature_attr="in_features",
        feature_label="in_features",
    )
    folds_time = False

    def __init__(self, in_features: int, out_features: int, bias: bool = True, step_mode: str = "s") -> None:
        super().__init__(in_features, out_features, bias)
        self.step_mode = step_mode
