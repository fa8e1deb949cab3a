"""The `corecraft` command's own behaviour: --version, a reader that closes the pipe early, an empty task folder."""

from __future__ import annotations

import subprocess
import sys

import corecraft_env


def corecraft(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "corecraft_env", *args], capture_output=True, text=True, **kwargs)


def test_version():
    result = corecraft("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"corecraft {corecraft_env.__version__}"


def test_output_to_a_pipe_closed_early_is_quiet():
    # `corecraft tasks --json | head -1`: the JSON is far larger than a pipe's buffer, so writing blocks until the
    # reader leaves, and the next write meets the closed pipe.
    process = subprocess.Popen([sys.executable, "-m", "corecraft_env", "tasks", "--json"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout.readline().strip() == b"["
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141  # 128 + SIGPIPE, as a shell reports a program stopped by a closed pipe
    assert stderr == ""


def test_validate_an_empty_folder_says_why(tmp_path):
    result = corecraft("validate", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"corecraft validate: error: no task files (*.json) under {tmp_path}: give a folder with "
                                     "train/ and heldout/ task files (and rubrics/ beside it), or one holding tasks/ and rubrics/")
    assert result.stdout == ""
