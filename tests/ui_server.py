"""`rag ui` as a real subprocess on 127.0.0.1, for the gradio_client and browser tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

from tests.conftest import RAG, ROOT, SEED

BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update"]
CHROMIUM = "/usr/bin/chromium"


def stop(proc: subprocess.Popen | None) -> None:
    """Terminate a server process, and kill it if it does not stop within 10 s."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ui_env(home: Path, model_cache: Path, **extra: str) -> dict[str, str]:
    """A fresh project home with the seed file as its only source."""
    sources = home / "sources"
    sources.mkdir(parents=True)
    shutil.copy(SEED, sources / SEED.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_"))}
    env.update(RAG_HOME=str(home), RAG_SOURCES_DIR=str(sources), RAG_INDEX_DIR=str(home / "index"),
               RAG_MODEL_CACHE_DIR=str(model_cache), GRADIO_TEMP_DIR=str(home / "gradio-tmp"), **extra)
    return env


class UIServer:
    def __init__(self, env: dict[str, str], *args: str):
        self.env = env
        self.home = Path(env["RAG_HOME"])
        self.sources = Path(env["RAG_SOURCES_DIR"])
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.args = args
        self.output: list[str] = []
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> UIServer:
        self.proc = subprocess.Popen([RAG, "ui", "--port", str(self.port), *self.args], env=self.env,
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ready = threading.Event()

        def pump():
            for line in self.proc.stdout:
                self.output.append(line)
                if "rag UI running at" in line:
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + 240
        while not ready.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError("rag ui did not start:\n" + "".join(self.output))
        return self

    def __exit__(self, *exc) -> None:
        stop(self.proc)
