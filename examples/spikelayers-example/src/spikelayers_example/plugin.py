"""The hooks of the example plugin: it names its layer, nothing is imported yet."""

from __future__ import annotations

from spikelayers.hookspecs import hookimpl


@hookimpl
def spikelayers_provides() -> dict[str, dict[str, str]]:
    return {"layer": {"ExponentialTrace": "spikelayers_example.trace:ExponentialTrace"}}
