"""The UCI handwritten digits bundled with scikit-learn, as tensors."""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset


def load_digits_split(test_fraction: float = 0.2, seed: int = 0) -> tuple[TensorDataset, TensorDataset]:
    """Train and held-out test sets of 8x8 digit images ``[N, 1, 8, 8]`` in ``[0, 1]``.

    The split is stratified by class and fixed by ``seed``. No download: the data ships
    with scikit-learn.
    """
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as error:
        raise ImportError("the demo needs scikit-learn: pip install 'spikelayers[demo]'") from error
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(digits.target, dtype=torch.long)
    train_idx, test_idx = train_test_split(
        torch.arange(len(labels)).numpy(), test_size=test_fraction, random_state=seed, stratify=labels.numpy()
    )
    train_idx, test_idx = torch.as_tensor(train_idx), torch.as_tensor(test_idx)
    return TensorDataset(images[train_idx], labels[train_idx]), TensorDataset(images[test_idx], labels[test_idx])
