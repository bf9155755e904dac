"""Plot every installed surrogate function (its primitive and gradient) at documentation build time."""

from __future__ import annotations

import inspect
from pathlib import Path

import torch

# (class name, constructor keyword arguments) of the built-in surrogates, in the reference's order.
GALLERY: tuple[tuple[str, dict[str, object]], ...] = (
    ("PiecewiseQuadratic", {}),
    ("PiecewiseExp", {}),
    ("Sigmoid", {}),
    ("SoftSign", {}),
    ("ATan", {}),
    ("NonzeroSignLogAbs", {}),
    ("Erf", {}),
    ("PiecewiseLeakyReLU", {}),
    ("SquarewaveFourierSeries", {"n": 4}),
    ("S2NN", {}),
    ("QPseudoSpike", {}),
    ("LeakyKReLU", {"leak": 0.1}),
    ("FakeNumericalGradient", {}),
    ("LogTailedReLU", {"alpha": 0.1}),
)


def _curves(name: str, kwargs: dict[str, object]) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    from spikelayers import surrogate

    module = getattr(surrogate, name)(**kwargs)
    x = torch.linspace(-2.0, 2.0, 801, dtype=torch.float64)
    xi = x.clone().requires_grad_()
    module(xi).sum().backward()
    try:
        primitive = module.primitive(x)
    except NotImplementedError:
        primitive = None
    return x, primitive, xi.grad


def _summary(name: str) -> str:
    from spikelayers import surrogate

    doc = inspect.getdoc(getattr(surrogate, name)) or ""
    return " ".join(doc.split("\n\n")[0].split())


def write_gallery(rst_path: Path, image_dir: Path) -> None:
    """Write one plot per surrogate into ``image_dir`` and the page section ``rst_path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    image_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, kwargs in GALLERY:
        x, primitive, gradient = _curves(name, kwargs)
        fig, ax = plt.subplots(figsize=(4.8, 2.6), dpi=100)
        ax.plot(x, (x >= 0).double(), color="0.7", lw=1, label="heaviside (forward)")
        if primitive is not None:
            ax.plot(x, primitive, label="primitive g(x)")
        ax.plot(x, gradient, label="gradient g'(x) (backward)")
        ax.set_xlabel("x = h - v_threshold")
        ax.legend(fontsize=7, loc="upper left")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(image_dir / f"{name}.png")
        plt.close(fig)
        arguments = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
        title = f"{name}({arguments})"
        lines += [
            title,
            "~" * len(title),
            "",
            _summary(name),
            "",
            f".. image:: /_generated/surrogates/{name}.png",
            f"   :alt: primitive and gradient of {name}",
            "",
        ]
    rst_path.write_text("\n".join(lines), encoding="utf-8")
