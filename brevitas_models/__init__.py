"""Binary hourglass landmark localizers in Brevitas (Bulat & Tzimiropoulos)."""
import warnings

# Brevitas' equalization module announces an optional CUDA kernel it never needs here.
warnings.filterwarnings("ignore", message="fast_hadamard_transform package not found")

from .config import DEFAULT_PRESET, PRESETS, ConfigError, HGConfig, get_preset  # noqa: E402
from .hourglass import BinaryHourglassNet, build_model  # noqa: E402

__all__ = ["DEFAULT_PRESET", "PRESETS", "ConfigError", "HGConfig", "get_preset",
           "BinaryHourglassNet", "build_model"]
