"""Binary hourglass landmark localizers in Brevitas (Bulat & Tzimiropoulos).

The names below load on first use, so that a light submodule (`brevitas_models.files`,
`brevitas_models.landmarks`) imports without torch and Brevitas.
"""
import importlib
import warnings

# Brevitas' equalization module announces an optional CUDA kernel it never needs here.
warnings.filterwarnings("ignore", message="fast_hadamard_transform package not found")

_EXPORTS = {"DEFAULT_PRESET": "config", "PRESETS": "config", "ConfigError": "config",
            "HGConfig": "config", "get_preset": "config",
            "BinaryHourglassNet": "hourglass", "build_model": "hourglass"}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
