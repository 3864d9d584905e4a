"""A tiny randomly initialised chat model made on the spot (nothing is downloaded), served by
`transformers serve` in a subprocess: a real OpenAI-compatible server for the LLM path's tests.

The tokenizer is a byte-level BPE trained on the seed text with `tokenizers`; the model is a
2-layer GPT-2 with random weights. Its generation config forbids the special tokens, so the model
never ends an answer on its own: every answer runs to the request's `max_tokens`, which makes the
token counts the server reports exact and the text it streams never empty.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections import deque
from pathlib import Path

from tests.ui_server import free_port

TRANSFORMERS = str(Path(sys.executable).parent / "transformers")
SPECIAL = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>"]
CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")
VOCAB = 800
# The answer prompt (system rules + five passages of the seed) is ~960 tokens with this small
# vocabulary; the server generates up to 1,024 tokens when a request names no max_tokens.
N_POSITIONS = 4096


class ServerUnavailable(RuntimeError):
    """`transformers serve` (or the model it needs) cannot run on this machine."""


def build(out: Path, text: str, seed: int = 0):
    """Tokenizer + random GPT-2 saved in `out` (safetensors); returns the tokenizer."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator([text], trainers.BpeTrainer(
        vocab_size=VOCAB, special_tokens=SPECIAL, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token=SPECIAL[0], bos_token=SPECIAL[0],
                                  pad_token=SPECIAL[0])
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(out)

    torch.manual_seed(seed)
    eos = tok.eos_token_id
    config = GPT2Config(vocab_size=len(tok), n_positions=N_POSITIONS, n_embd=64, n_layer=2, n_head=2,
                        bos_token_id=eos, eos_token_id=eos, tie_word_embeddings=False)
    model = GPT2LMHeadModel(config).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=eos, eos_token_id=eos, pad_token_id=eos,
        suppress_tokens=tok.convert_tokens_to_ids(SPECIAL))
    model.save_pretrained(out, safe_serialization=True)
    if not (out / "model.safetensors").is_file():
        raise RuntimeError(f"no model.safetensors in {out}: {sorted(p.name for p in out.iterdir())}")
    return tok


class TransformersServe:
    """`transformers serve MODEL_DIR --host 127.0.0.1 --port N` on a free port, offline."""

    def __init__(self, model_dir: Path, log: Path, deadline: float = 90.0):
        self.model_dir, self.log, self.deadline = model_dir, log, deadline
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/v1"
        self.model_id = ""
        self.proc: subprocess.Popen | None = None
        self._started = 0.0

    def _get(self, path: str) -> dict:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
        with opener.open(self.base + path, timeout=2) as resp:
            return json.loads(resp.read())

    def tail(self, n: int = 15) -> str:
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return "".join(deque(f, maxlen=n)).rstrip()
        except OSError:
            return ""

    def start(self) -> TransformersServe:
        self.launch()
        return self.wait()

    def launch(self) -> None:
        """Start the process; `wait()` then waits for it to answer."""
        if not Path(TRANSFORMERS).exists():
            raise ServerUnavailable(f"no `transformers` CLI at {TRANSFORMERS}")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "HF_HUB_DISABLE_TELEMETRY": "1", "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false",
               # one thread: a 64-wide model generates ~10x faster than with two on a busy 2-core machine
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        cmd = [TRANSFORMERS, "serve", str(self.model_dir), "--host", "127.0.0.1", "--port", str(self.port),
               "--device", "cpu", "--dtype", "float32", "--log-level", "warning"]
        try:
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise ServerUnavailable(f"`transformers serve` cannot be started: {exc}") from None
        self._started = time.monotonic()

    def wait(self) -> TransformersServe:
        deadline = self._started + self.deadline
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerUnavailable(f"`transformers serve` exited with code {self.proc.returncode}:\n"
                                        f"{self.tail()}")
            try:
                if self._get("/health").get("status") == "ok":
                    models = self._get("/v1/models")["data"]
                    self.model_id = models[0]["id"]
                    return self
            except (OSError, ValueError, KeyError, IndexError):
                time.sleep(0.2)
        self.stop()
        raise ServerUnavailable(f"`transformers serve` did not answer /health within {self.deadline:g} s:\n"
                                f"{self.tail()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> TransformersServe:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
