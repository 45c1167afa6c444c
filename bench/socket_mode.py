"""Socket Mode recovery and ack latency: our client against slack_sdk's builtin one (issue 10).

Each client serves the same sync Bolt App (a /mentions command that acks at once) against a
local Socket Mode server that behaves as Slack's does (tests/fakes/fake_socket_mode.py), with
its URLs handed out by the local fake Web API. Measured, per scenario:

- drop (FIN) / drop (RST): the server ends the TCP connection without a close frame, as an
  idle proxy does; seconds until the next connection's hello, and the CPU seconds the
  process used meanwhile;
- half-open: the server stops reading and answering (no pongs) with TCP up, as behind a NAT
  that forgot the flow; seconds until the next connection's hello;
- refresh: the server sends `disconnect` (refresh_requested) and its old host then answers
  nothing, not even the close frame; the ack latency of an envelope sent on the new
  connection right after its hello (Slack's deadline: 3 s);
- steady: the ack latency of envelopes on a settled connection (median of --acks).

The builtin client is the baseline (what `mentionbot run` used before); it needs about a
minute per drop scenario, so it runs each scenario once; ours runs --repeat times (medians).

    python bench/socket_mode.py [--repeat 5] [--acks 20] [--skip-baseline]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent)]  # the repository (bot, tests)

from slack_bolt import App  # noqa: E402
from slack_sdk import WebClient  # noqa: E402

from bot.chat.slack.socket_mode import SocketModeRunner  # noqa: E402
from tests.fakes.fake_slack import FakeSlack, slash_command_body  # noqa: E402
from tests.fakes.fake_socket_mode import FakeSocketMode  # noqa: E402

APP_TOKEN = "xapp-1-A0000APP-1-bench"
GIVE_UP = 120.0  # seconds to wait for a reconnection before calling it failed
SCENARIOS = ("drop (FIN)", "drop (RST)", "half-open", "refresh", "steady")


def command(text: str) -> dict[str, str]:
    return dict(parse_qsl(slash_command_body(text), keep_blank_values=True))


def start_builtin(app: App, api_url: str) -> Callable[[], None]:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(app, APP_TOKEN, web_client=WebClient(base_url=api_url))
    handler.connect()
    return handler.close


def start_ours(app: App, api_url: str) -> Callable[[], None]:
    return SocketModeRunner(app, APP_TOKEN, api_url=api_url).start().close


def run_scenario(
    start: Callable[[App, str], Callable[[], None]], scenario: str, acks: int
) -> dict[str, Any]:
    server = FakeSocketMode().start()
    fake = FakeSlack(socket_mode=server).start()
    app = App(client=WebClient(token="xoxb-bench", base_url=fake.api_url))
    app.command("/mentions")(lambda ack: ack("ok"))
    close = start(app, fake.api_url)
    try:
        server.wait_for_connections(1)
        server.wait_for_ack(server.send_envelope("slash_commands", command("warm up")))
        if scenario == "steady":
            latencies = [
                server.wait_for_ack(server.send_envelope("slash_commands", command("x"))).latency
                for _ in range(acks)
            ]
            return {"ack": statistics.median(latencies)}
        queued = ""
        if scenario == "refresh":
            queued = server.send_after_hello("slash_commands", command("first"))
        cpu, began = time.process_time(), time.monotonic()
        if scenario.startswith("drop"):
            server.drop(reset="RST" in scenario)
        elif scenario == "half-open":
            server.go_silent()
        else:
            server.refresh(silent=True)
        try:
            conn = server.wait_for_connections(2, timeout=GIVE_UP)
        except AssertionError:
            return {"back": float("inf"), "cpu": time.process_time() - cpu}
        result = {"back": conn.hello_at - began, "cpu": time.process_time() - cpu}
        if queued:
            result["ack"] = server.wait_for_ack(queued).latency
        return result
    finally:
        close()
        fake.stop()
        server.stop()


def measure(
    name: str, start: Callable[[App, str], Callable[[], None]], repeat: int, acks: int
) -> None:
    for scenario in SCENARIOS:
        runs = [run_scenario(start, scenario, acks) for _ in range(repeat)]
        figures = []
        for key, label in (("back", "back after"), ("cpu", "CPU"), ("ack", "ack")):
            values = [run[key] for run in runs if key in run]
            if values:
                figures.append(f"{label} {statistics.median(values):7.3f} s")
        print(f"  {name:8} {scenario:11} " + ", ".join(figures) + f"   (median of {repeat})")
        sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each scenario (ours)")
    parser.add_argument("--acks", type=int, default=20, help="envelopes in the steady scenario")
    parser.add_argument("--skip-baseline", action="store_true", help="only our client")
    args = parser.parse_args()
    print("Socket Mode: reconnection after a fault, and ack latency (Slack's deadline 3 s)")
    measure("ours", start_ours, args.repeat, args.acks)
    if not args.skip_baseline:
        measure("builtin", start_builtin, 1, args.acks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
