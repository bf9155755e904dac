import json

from spikelayers import cli, plugins
from spikelayers.hookspecs import hookimpl


def test_plugins_command_lists_the_core(capsys):
    assert cli.main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "spikelayers-core" in out
    assert "MultiStepContainer" in out and "step modes: m" in out


def test_plugins_command_json(capsys):
    cli.main(["plugins", "--json"])
    described = json.loads(capsys.readouterr().out)
    core = next(p for p in described if p["plugin"] == "core")
    names = {entry["name"]: entry for entry in core["provides"]["layer"]}
    assert names["StepModeContainer"]["step_modes"] == ["s", "m"]


class CommandPlugin:
    @hookimpl
    def spikelayers_add_commands(self, subparsers):
        parser = subparsers.add_parser("hello", help="say hello")
        parser.add_argument("--name", default="world")
        parser.set_defaults(handler=lambda args: print(f"hello {args.name}") or 3)


def test_plugins_add_subcommands(clean_registry, capsys):
    plugins.register_plugin(CommandPlugin(), name="hello")
    assert cli.main(["hello", "--name", "snn"]) == 3
    assert capsys.readouterr().out.strip() == "hello snn"


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "plugins" in capsys.readouterr().out


def test_version_prints_every_installed_distribution(capsys):
    import pytest

    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    versions = dict(line.split(" ", 1) for line in lines)
    import spikelayers

    assert versions["spikelayers-core"] == spikelayers.__version__
    for info in plugins.get_registry().plugins.values():
        if info.distribution:
            assert versions[info.distribution] == info.version
    assert "torch" in versions


def test_plugins_check_passes_when_every_plugin_is_healthy(clean_registry, capsys):
    assert cli.main(["plugins", "--check"]) == 0
    described = cli.describe_plugins()
    assert [p["plugin"] for p in described] == sorted(p["plugin"] for p in described)
    assert all(p["status"] == "ok" and not p["problems"] for p in described)
