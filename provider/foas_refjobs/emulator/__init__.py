"""A local, signature-verifying emulator of FOAS GetRefPackageJob (see docs/emulator.md)."""

from .faults import FAULT_KINDS, FaultPlan, FaultRule
from .server import FoasEmulator, RequestRecord
from .state import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, EmulatorState

__all__ = [
    "DEFAULT_ACCESS_KEY_ID", "DEFAULT_ACCESS_KEY_SECRET", "FAULT_KINDS", "EmulatorState",
    "FaultPlan", "FaultRule", "FoasEmulator", "RequestRecord",
]
