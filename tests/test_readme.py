"""The README's commands run as written: the code blocks that need no running
server are executed, on the embedded defaults (MiniLM embeddings included)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

BIN = Path(sys.executable).parent  # the .venv/bin the README names


def sh_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", (REPO / "README.md").read_text(), re.S)


def commands(block: str) -> list[str]:
    """The block's commands, comments dropped; `[x]` (an optional argument) run without and with it."""
    found = []
    for line in block.splitlines():
        command = re.sub(r"\s+#.*$", "", line).strip()
        if optional := re.search(r"\s*\[(\w+)\]", command):
            found += [command.replace(optional.group(0), ""), command.replace(optional.group(0), f" {optional[1]}")]
        elif command:
            found.append(command)
    return found


def run(command: str, home: Path, stdin: str = "") -> subprocess.CompletedProcess:
    argv = [os.path.expanduser(arg).replace("~", str(home)) for arg in shlex.split(command)]
    argv[0] = argv[0].replace(".venv/bin/", f"{BIN}/")
    env = {**os.environ, "HOME": str(home), "AGENT_SERVICE_KB_ROOT": str(home / "knowledge_base")}
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=180, env=env, cwd=home)


def test_the_knowledge_base_commands_run_as_written(tmp_path: Path):
    block = next(block for block in sh_blocks() if "agent-service kb create" in block)
    manuals = tmp_path / "Documents" / "manuals"
    manuals.mkdir(parents=True)
    (manuals / "pump.md").write_text("# Pump\n\nError E-7731 means the pump lost pressure. Check the valve.")

    outputs = []
    for command in (command for command in commands(block) if "--url" not in command):  # no server here
        done = run(command.replace("~/", f"{tmp_path}/"), tmp_path)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)

    assert "created manuals" in outputs[0]
    assert "indexed  pump.md" in outputs[1]
    assert any("E-7731 means the pump lost pressure" in out for out in outputs)
    assert outputs[-1].strip() == "deleted manuals"


def test_the_terminal_chat_starts_in_process_and_names_its_model(tmp_path: Path):
    block = next(block for block in sh_blocks() if "agent-service chat" in block)
    in_process = next(command for command in commands(block) if "--url" not in command)

    done = run(in_process, tmp_path, stdin="/exit\n")

    assert done.returncode == 0, done.stderr
    assert "model: local · SmolLM2-135M-Instruct — a small offline model" in done.stderr
