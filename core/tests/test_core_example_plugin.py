"""Install the example third-party plugin into a temporary location and use it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "spikelayers-example"


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory):
    if not EXAMPLE.is_dir():
        pytest.fail(f"the example plugin is missing at {EXAMPLE}")
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(EXAMPLE),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")])}
    return env


def run(args, env):
    return subprocess.run(args, capture_output=True, text=True, env=env, check=False)


def test_outside_layer_appears_in_the_layer_namespace(installed_example):
    result = run(
        [
            sys.executable,
            "-c",
            "from spikelayers import layer; print(layer.ExponentialTrace.__module__, 'ExponentialTrace' in dir(layer))",
        ],
        installed_example,
    )
    assert result.stdout.split() == ["spikelayers_example.trace", "True"], result.stderr


def test_outside_layer_is_listed_by_the_plugins_command(installed_example):
    result = run([sys.executable, "-m", "spikelayers.cli", "plugins"], installed_example)
    assert result.returncode == 0, result.stderr
    assert "spikelayers-example 0.1.0" in result.stdout
    assert "ExponentialTrace" in result.stdout


def test_outside_layer_passes_the_conformance_kit(installed_example):
    result = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")], installed_example
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
