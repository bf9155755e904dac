"""Where each public name of spikelayers' own distributions lives.

The registry answers from the installed plugins; this table lets it tell a user which
distribution to install (or to stop excluding) when they ask for a known name that is
missing, settle a name that two plugins provide in favour of its catalogued owner, and
point to the right namespace (``layer.LIFNode`` -> ``spikelayers.neuron.LIFNode``). A test
holds it to what the installed plugins provide.
"""

from __future__ import annotations

_FAMILIES: dict[str, dict[str, tuple[str, ...]]] = {
    "layer": {
        "spikelayers-core": (
            "MultiStepContainer",
            "SeqToANNContainer",
            "StepModeContainer",
            "PrintShapeModule",
            "TLastMultiStepContainer",
            "TLastSeqToANNContainer",
        ),
        "spikelayers-stateless": (
            "Conv1d",
            "Conv2d",
            "Conv3d",
            "ConvTranspose1d",
            "ConvTranspose2d",
            "ConvTranspose3d",
            "MaxPool1d",
            "MaxPool2d",
            "MaxPool3d",
            "AvgPool1d",
            "AvgPool2d",
            "AvgPool3d",
            "AdaptiveAvgPool1d",
            "AdaptiveAvgPool2d",
            "AdaptiveAvgPool3d",
            "Linear",
            "Flatten",
            "Upsample",
            "VotingLayer",
            "MaxUnpool1d",
            "MaxUnpool2d",
            "MaxUnpool3d",
        ),
        "spikelayers-norm": (
            "BatchNorm1d",
            "BatchNorm2d",
            "BatchNorm3d",
            "GroupNorm",
            "NeuNorm",
            "ThresholdDependentBatchNorm1d",
            "ThresholdDependentBatchNorm2d",
            "ThresholdDependentBatchNorm3d",
            "TemporalEffectiveBatchNormNd",
            "TemporalEffectiveBatchNorm1d",
            "TemporalEffectiveBatchNorm2d",
            "TemporalEffectiveBatchNorm3d",
            "BatchNormThroughTime1d",
            "BatchNormThroughTime2d",
            "BatchNormThroughTime3d",
        ),
        "spikelayers-dropout": ("Dropout", "Dropout2d", "DropConnectLinear"),
        "spikelayers-synapse": ("SynapseFilter", "LowPassSynapse", "Delay", "SpikeCountToBinary", "TemporalBinSum"),
        "spikelayers-recurrent": ("ElementWiseRecurrentContainer", "LinearRecurrentContainer"),
        "spikelayers-attention": ("TemporalWiseAttention", "MultiDimensionalAttention"),
        "spikelayers-transformer": (
            "SpikingSelfAttention",
            "QKAttention",
            "TokenQKAttention",
            "ChannelQKAttention",
            "SpikeDrivenSelfAttention",
        ),
        "spikelayers-ottt": ("ReplaceforGrad", "GradwithTrace", "SpikeTraceOp", "OTTTSequential"),
        "spikelayers-ws": ("WSConv2d", "WSLinear"),
    },
    "neuron": {
        "spikelayers-neuron": (
            "SimpleBaseNode",
            "BaseNode",
            "AdaptBaseNode",
            "IFNode",
            "LIFNode",
            "ParametricLIFNode",
            "QIFNode",
            "EIFNode",
            "IzhikevichNode",
            "LIAFNode",
            "KLIFNode",
            "SLTTLIFNode",
            "PSN",
            "MaskedPSN",
            "SlidingPSN",
            "GatedLIFNode",
            "DSRIFNode",
            "DSRLIFNode",
        ),
        "spikelayers-ottt": ("OTTTLIFNode",),
    },
    "surrogate": {
        "spikelayers-neuron": (
            "heaviside",
            "SurrogateFunctionBase",
            "MultiArgsSurrogateFunctionBase",
            "PiecewiseQuadratic",
            "PiecewiseExp",
            "Sigmoid",
            "SoftSign",
            "ATan",
            "NonzeroSignLogAbs",
            "Erf",
            "PiecewiseLeakyReLU",
            "SquarewaveFourierSeries",
            "S2NN",
            "QPseudoSpike",
            "LeakyKReLU",
            "FakeNumericalGradient",
            "LogTailedReLU",
            "piecewise_quadratic",
            "piecewise_exp",
            "sigmoid",
            "soft_sign",
            "atan",
            "nonzero_sign_log_abs",
            "erf",
            "piecewise_leaky_relu",
            "squarewave_fourier_series",
            "s2nn",
            "q_pseudo_spike",
            "leaky_k_relu",
            "fake_numerical_gradient",
            "log_tailed_relu",
            "check_manual_grad",
        ),
    },
}

KNOWN: dict[str, dict[str, str]] = {
    namespace: {name: dist for dist, names in families.items() for name in names}
    for namespace, families in _FAMILIES.items()
}


def distribution_for(namespace: str, name: str) -> str | None:
    """The distribution that provides ``namespace.name`` in the reference API, if known."""
    return KNOWN.get(namespace, {}).get(name)
