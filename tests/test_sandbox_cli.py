"""``toggl-import sandbox``: the new switches reach the running sandbox; the people's tokens are
printed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request

ENV = {k: v for k, v in os.environ.items() if not k.startswith("TOGGL_")}


def test_sandbox_flags_set_the_options_and_the_tokens_are_printed() -> None:
    args = ["--apply-delay", "0.25", "--apply-delay-share", "0.5", "--rate-tolerance", "0.01"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "importer", "sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        found = re.match(r"sandbox serving at (http://127\.0\.0\.1:\d+)/api/v9", lines[0])
        assert found, lines
        tokens = lines[3]
        assert "ana@example.com sandbox-ana-token (Europe/Berlin)" in tokens
        assert "cy@example.com sandbox-cy-token (Asia/Kolkata)" in tokens
        assert "sandbox-token" not in tokens  # the owner's token has a line of its own
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with direct.open(found[1] + "/_sandbox/config", timeout=10) as resp:
            config = json.load(resp)
        assert (config["apply_delay"], config["apply_delay_share"], config["rate_tolerance"]) == (
            0.25,
            0.5,
            0.01,
        )
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
