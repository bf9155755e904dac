"""Developer workflows (tasks, not tests; the tests live in tox.ini).

nox -s dev       one editable environment with everything (.nox/dev)
nox -s demo      train the demo spiking network (pass demo options after --)
nox -s bench     benchmark every installed layer (pass bench options after --)
nox -s docs      build the documentation (`-- serve` to serve it on localhost:8000)
nox -s gpu       on a CUDA machine: the triton kernel tests and the GPU benchmarks
nox -s wheels    build a wheel of every distribution into dist/
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

ROOT = Path(__file__).parent
CONSTRAINTS = str(ROOT / "constraints.txt")
DISTRIBUTIONS = [ROOT / "core", *sorted((ROOT / "plugins").iterdir()), *sorted((ROOT / "packages").iterdir())]

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["bench"]
# uv must see the same local wheels as pip (the CPU build of torch), and the same pins.
os.environ.setdefault("UV_FIND_LINKS", os.environ.get("PIP_FIND_LINKS", ""))
os.environ.setdefault("UV_CONSTRAINT", CONSTRAINTS)
os.environ.setdefault("PIP_CONSTRAINT", CONSTRAINTS)


def install_all(session: nox.Session, *extra: str) -> None:
    session.install("-r", str(ROOT / "requirements-all.txt"), *extra)


@nox.session(python="3.11")
def dev(session: nox.Session) -> None:
    """Everything installed editable, with the test, bench and docs tools."""
    install_all(session, "-r", str(ROOT / "docs" / "requirements.txt"), "nox", "tox", "tox-uv", "ruff")
    session.log(f"ready: activate with `source {session.virtualenv.location}/bin/activate`")


@nox.session(python="3.11")
def demo(session: nox.Session) -> None:
    """Train and evaluate the demo network on the bundled digits."""
    install_all(session)
    session.run("spikelayers", "demo", *session.posargs)


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Time every layer of every installed plugin (and the demo network in onnxruntime); writes bench-results/."""
    install_all(session, "-e", str(ROOT / "packages" / "spikelayers[onnx]"))
    session.run("spikelayers", "bench", *(session.posargs or ["--out", "bench-results"]))


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """Build the Sphinx site into docs/_build/html."""
    install_all(session, "-r", str(ROOT / "docs" / "requirements.txt"))
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")
    if "serve" in session.posargs:
        session.run("python", "-m", "http.server", "8000", "--bind", "127.0.0.1", "-d", "docs/_build/html")


@nox.session(python="3.11")
def gpu(session: nox.Session) -> None:
    """Triton kernel tests on CUDA (no interpreter) and the GPU benchmarks."""
    install_all(session)
    session.run("python", "-c", "import torch, triton; assert torch.cuda.is_available(), 'no CUDA device'")
    env = {"TRITON_INTERPRET": "0", "SPIKELAYERS_TEST_DEVICE": "cuda"}
    session.run("pytest", "-q", "-k", "triton", "plugins", env=env)
    session.run("spikelayers", "bench", "--device", "cuda", "--out", "bench-results/gpu", *session.posargs, env=env)


@nox.session(python="3.11")
def wheels(session: nox.Session) -> None:
    """Build a wheel and an sdist of every distribution into dist/."""
    session.install("build")
    for folder in DISTRIBUTIONS:
        if (folder / "pyproject.toml").exists():
            session.run("python", "-m", "build", "--outdir", str(ROOT / "dist"), str(folder))
