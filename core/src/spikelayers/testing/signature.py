"""Compare a class's constructor signature with the reference API's."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .reference_signatures import NAMESPACE_SIGNATURES, SPIKINGJELLY2_SIGNATURES

_INSTANCE_DEFAULT = re.compile(r"^surrogate\.(\w+)\((.*)\)$")


@dataclass(frozen=True)
class ReferenceParameter:
    name: str
    kind: str  # "positional", "var_positional" or "var_keyword"
    default: str | None  # the default's source text, None when required


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def reference_parameters(name: str, namespace: str = "layer") -> list[ReferenceParameter]:
    """The reference constructor's parameters for ``name`` of ``namespace``.

    ``namespace``: ``"layer"``, ``"neuron"`` or ``"surrogate"``. A layer that SpikingJelly
    2.0.0 adds beyond the reference API is checked against SpikingJelly 2.0.0's signature.
    """
    signatures = NAMESPACE_SIGNATURES.get(namespace)
    if signatures is None:
        raise KeyError(f"{namespace!r} is not a namespace of the reference API; known: {sorted(NAMESPACE_SIGNATURES)}")
    if namespace == "layer" and name not in signatures:
        signatures = SPIKINGJELLY2_SIGNATURES
    if name not in signatures:
        raise KeyError(f"{name!r} is not a class of the reference {namespace} API")
    params = []
    for part in _split_top_level(signatures[name]):
        if part.startswith("**"):
            params.append(ReferenceParameter(part[2:], "var_keyword", None))
            continue
        if part.startswith("*"):
            params.append(ReferenceParameter(part[1:], "var_positional", None))
            continue
        head, eq, default = part.partition("=")
        param_name = head.split(":")[0].strip()
        params.append(ReferenceParameter(param_name, "positional", default.strip() if eq else None))
    return params


def _kind(param: inspect.Parameter) -> str:
    if param.kind is inspect.Parameter.VAR_POSITIONAL:
        return "var_positional"
    if param.kind is inspect.Parameter.VAR_KEYWORD:
        return "var_keyword"
    return "positional"


def _same_default(ours: object, reference: str) -> bool:
    if repr(ours) == reference or str(ours) == reference:
        return True
    instance = _INSTANCE_DEFAULT.match(reference)
    if instance is not None:
        # A default instance such as ``surrogate.Sigmoid()``: ours must be of that class.
        return type(ours).__name__ == instance.group(1) and not instance.group(2).strip()
    try:
        return ours == eval(reference, {"__builtins__": {}}, {})  # literals only
    except Exception:
        return False


def check_signature(
    cls: type, name: str | None = None, aliases: Mapping[str, str] | None = None, namespace: str = "layer"
) -> None:
    """Assert that ``cls(...)`` takes the reference parameters of ``name`` in ``namespace``.

    ``cls`` is a class (its constructor is compared) or a function. ``namespace`` is
    ``"layer"`` (default), ``"neuron"`` or ``"surrogate"``.

    Names, order, kinds and defaults must match. ``aliases`` maps an extra keyword-only
    parameter of ours to the reference parameter it stands for (e.g. ``{"delay":
    "delay_steps"}``): such a reference parameter may become optional, since either
    spelling may be given. Extra parameters are only allowed as keyword-only aliases.
    """
    name = name or cls.__name__
    aliases = dict(aliases or {})
    reference = reference_parameters(name, namespace)
    if inspect.isclass(cls):
        ours = list(inspect.signature(cls.__init__).parameters.values())[1:]
    else:
        ours = list(inspect.signature(cls).parameters.values())
    positional = [p for p in ours if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    keyword_only = {p.name: p for p in ours if p.kind is inspect.Parameter.KEYWORD_ONLY}
    problems = []
    if [p.name for p in positional] != [p.name for p in reference]:
        problems.append(f"parameters {[p.name for p in positional]} != reference {[p.name for p in reference]}")
    else:
        aliased = set(aliases.values())
        for mine, ref in zip(positional, reference):
            if _kind(mine) != ref.kind:
                problems.append(f"{mine.name}: kind {_kind(mine)} != reference {ref.kind}")
            if ref.kind != "positional":
                continue
            mine_default = None if mine.default is inspect.Parameter.empty else mine.default
            if ref.default is None:
                if mine.default is not inspect.Parameter.empty and ref.name not in aliased:
                    problems.append(f"{mine.name}: has default {mine_default!r}, reference requires it")
            elif mine.default is inspect.Parameter.empty:
                problems.append(f"{mine.name}: required, reference default is {ref.default}")
            elif not _same_default(mine_default, ref.default):
                problems.append(f"{mine.name}: default {mine_default!r} != reference {ref.default}")
    for extra in keyword_only:
        if extra not in aliases:
            problems.append(f"extra keyword-only parameter {extra!r} is not a declared alias")
    if problems:
        raise AssertionError(f"{cls.__name__} signature differs from the reference {name}: " + "; ".join(problems))


def check_namespace_signatures(namespace: str) -> list[str]:
    """Check every name of ``spikelayers.<namespace>`` that the reference API also has.

    Covers whichever plugins are installed; returns the names checked (empty when no
    plugin provides one). Raises ``AssertionError`` listing every name whose signature
    differs from the reference.
    """
    reference = NAMESPACE_SIGNATURES[namespace]
    module = importlib.import_module(f"spikelayers.{namespace}")
    checked, problems = [], []
    for name in sorted(set(dir(module)) & set(reference)):
        try:
            check_signature(getattr(module, name), name, namespace=namespace)
        except AssertionError as error:
            problems.append(str(error))
        checked.append(name)
    if problems:
        raise AssertionError(f"spikelayers.{namespace}: " + "\n".join(problems))
    return checked
