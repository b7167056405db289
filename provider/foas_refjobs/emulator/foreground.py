"""`foas-refjobs emulator`: the emulator served in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import Any, Optional

from ..errors import FoasError, InvalidInputError
from .server import FoasEmulator
from .state import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, EmulatorState


def serve(data: Optional[str], *, host: str, port: int, latency_ms: float, max_page_size: int,
          clamp_page_size: bool, max_in_flight: Optional[int], verbose: bool,
          say: Callable[[str], None]) -> None:
    """Serve `data` (a JSON file; the demo data set when None) until interrupted.

    `say` prints the lines a script waits for: the URL first, then, for the
    demo data, its AccessKey.
    """
    if not 0 <= port <= 65535:
        raise InvalidInputError(f"--port must be 0..65535, got {port}")
    if not 0 <= latency_ms <= 3_600_000:  # also rejects nan and inf
        raise InvalidInputError(f"--latency-ms must be 0..3600000, got {latency_ms}")
    if max_page_size < 1:
        raise InvalidInputError(f"--max-page-size must be at least 1, got {max_page_size}")
    if max_in_flight is not None and max_in_flight < 1:
        raise InvalidInputError(f"--max-in-flight must be at least 1, got {max_in_flight}")
    try:
        state = EmulatorState.from_file(data) if data else EmulatorState.default()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FoasError(f"cannot load emulator data {data}: {exc}", code="InvalidData") from None
    state.max_page_size = max_page_size
    state.clamp_page_size = clamp_page_size
    try:
        emu = FoasEmulator(state, host=host, port=port, latency_ms=latency_ms, verbose=verbose)
        emu.max_in_flight = max_in_flight
    except OSError as exc:
        raise FoasError(f"cannot listen on {host}:{port}: {exc.strerror}",
                        code="ListenFailed") from None

    def _stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    say(f"FOAS emulator listening on {emu.url}")
    if not data:
        say(f"demo AccessKey: ALIBABA_CLOUD_ACCESS_KEY_ID={DEFAULT_ACCESS_KEY_ID} "
            f"ALIBABA_CLOUD_ACCESS_KEY_SECRET={DEFAULT_ACCESS_KEY_SECRET}")
    try:
        emu.serve_forever()
    except KeyboardInterrupt:
        print("emulator stopped", file=sys.stderr)
    finally:
        emu.stop()
