"""Pressing Ctrl-C in a script run by a fresh interpreter, for the tests that
check that long computations stop when interrupted."""

import signal
import subprocess
import sys
import time
from typing import NamedTuple


class Interrupted(NamedTuple):
    stdout: str
    stderr: str
    returncode: int
    latency: float  #: seconds from the signal to the process's exit


def interrupt_script(script, *, ready="fitting", delay=1.0, timeout=30.0):
    """Run ``script`` with ``python -c``; send SIGINT ``delay`` s after ``ready``.

    The script prints ``ready`` (flushed) as its first line once everything
    that must not be interrupted (compiling kernels, making data) is done, and
    then starts the long computation. The process never outlives the call.
    """
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline().strip()
        if first != ready:
            process.kill()
            _, stderr = process.communicate()
            raise AssertionError(
                f"the script printed {first!r} instead of {ready!r}:\n{stderr}"
            )
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        sent = time.perf_counter()
        stdout, stderr = process.communicate(timeout=timeout)
        latency = time.perf_counter() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return Interrupted(first + "\n" + stdout, stderr, process.returncode, latency)
