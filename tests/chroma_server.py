"""A real Chroma server (`chroma run --path DIR --host 127.0.0.1 --port N`) in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.ui_server import free_port, stop

CHROMA = str(Path(sys.executable).parent / "chroma")


class ChromaServer:
    def __init__(self, data: Path, port: int | None = None):
        self.data, self.port = data, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> ChromaServer:
        log = open(self.data.parent / f"chroma-{self.port}.log", "ab")  # noqa: SIM115 - the server's
        self.proc = subprocess.Popen([CHROMA, "run", "--path", str(self.data), "--host", "127.0.0.1",
                                      "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait on the heartbeat, not on a sleep
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("chroma run did not answer its heartbeat within 60 s")

    def stop(self) -> None:
        stop(self.proc)

    def __enter__(self) -> ChromaServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
