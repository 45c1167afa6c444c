"""The web front on a real uvicorn server on 127.0.0.1: health, metrics, the body cap while
reading, clean start and stop, and a slow Slack request beside quick ones."""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.chat.slack.events import EVENTS_PATH, slack_events
from bot.config import ConfigError
from bot.web import MAX_BODY_BYTES, WebFront, build_web_app
from tests.fakes.echo_app import echo_app
from tests.fakes.fake_slack import FakeSlack, slack_post, slash_command_body

SIGNING_SECRET = "web-front-signing-secret-0123456789"


def get(url: str, accept: str = "") -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status, reply.read().decode(), dict(reply.headers.items())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers.items())


@pytest.fixture
def serve() -> Iterator[Callable[..., WebFront]]:
    fronts: list[WebFront] = []

    def start(*args: Any, **kwargs: Any) -> WebFront:
        front = WebFront(build_web_app(*args, **kwargs)).start()
        fronts.append(front)
        return front

    yield start
    for front in fronts:
        front.stop()


def raw_exchange(front: WebFront, head: bytes, chunks: Iterator[bytes]) -> bytes:
    """Send a request by hand, chunk by chunk until the server answers, and read the answer."""
    with socket.create_connection(("127.0.0.1", front.port), timeout=10) as conn:
        conn.sendall(head)
        try:
            for chunk in chunks:
                if select.select([conn], [], [], 0)[0]:
                    break  # answered mid-body
                conn.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the end of the body, as it should be
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while data := conn.recv(65536):
                answer += data
        return answer


def test_healthz_says_ok_or_what_is_wrong(serve: Callable[..., WebFront]) -> None:
    problem: list[str] = []
    front = serve(health=[lambda: problem[0] if problem else None])
    assert get(front.url + "/healthz")[:2] == (200, "ok")
    problem.append("Slack Socket Mode disconnected for 75 s")
    assert get(front.url + "/healthz")[:2] == (503, "Slack Socket Mode disconnected for 75 s")


def test_metrics_are_served_in_prometheus_format_unless_kept_off(
    serve: Callable[..., WebFront],
) -> None:
    from bot import metrics

    metrics.ALERTS_DELIVERED.inc()
    status, text, headers = get(serve().url + "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert "mentionbot_alerts_delivered_total" in text
    status, text, headers = get(serve().url + "/metrics", accept="application/openmetrics-text")
    assert headers["content-type"].startswith("application/openmetrics-text")
    assert text.rstrip().endswith("# EOF")
    assert get(serve(metrics=False).url + "/metrics")[0] == 404


def test_unknown_paths_and_the_slack_path_without_slack_are_404(
    serve: Callable[..., WebFront],
) -> None:
    front = serve()  # Socket Mode: no /slack/events on the front
    assert get(front.url + "/nope")[0] == 404
    assert slack_post(front.url + EVENTS_PATH, "a=b", SIGNING_SECRET).status == 404
    assert get(front.url + "/docs")[0] == 404  # no API browser for strangers


def test_a_chunked_body_over_the_cap_is_refused_while_reading(
    serve: Callable[..., WebFront],
) -> None:
    """No Content-Length to trust: the count of bytes read is what is refused."""
    front = serve()
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        piece = b"a" * 65536
        while sent <= 32 * MAX_BODY_BYTES:
            sent += len(piece)
            yield b"%x\r\n%s\r\n" % (len(piece), piece)

    head = (
        f"POST {EVENTS_PATH} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
    ).encode()
    answer = raw_exchange(front, head, chunks())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    assert sent < 32 * MAX_BODY_BYTES, sent  # answered during the upload, not after it


def test_a_body_that_never_finishes_is_answered_408() -> None:
    front = WebFront(build_web_app(body_timeout=0.3)).start()
    try:
        head = f"POST {EVENTS_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n".encode()
        answer = raw_exchange(front, head, iter([b"payload="]))
        assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    finally:
        front.stop()


def test_start_on_port_0_and_stop_free_the_port() -> None:
    front = WebFront(build_web_app()).start()
    port = front.port
    assert get(front.url + "/healthz")[0] == 200  # serving as soon as start() returns
    front.stop()
    with socket.create_server(("127.0.0.1", port)):  # the port is free again
        pass
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(front.url + "/healthz", timeout=2)


def test_a_port_in_use_is_one_clear_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"cannot listen on 127.0.0.1:{port} \(HTTP_HOST"):
            WebFront(build_web_app(), "127.0.0.1", port)


def test_a_slow_slack_request_does_not_hold_up_the_others(
    fake_slack: FakeSlack, serve: Callable[..., WebFront]
) -> None:
    """Bolt's App is sync: each dispatch runs in a worker thread, not on the event loop."""
    echo = echo_app(fake_slack.api_url, SIGNING_SECRET)
    front = serve([slack_events(echo.app)])
    url = front.url + EVENTS_PATH
    answers: dict[str, Any] = {}
    slow = threading.Thread(
        target=lambda: answers.update(
            slow=slack_post(url, slash_command_body("slow"), SIGNING_SECRET)
        )
    )
    slow.start()
    try:
        assert echo.held.wait(5)
        quick = slack_post(url, slash_command_body("quick"), SIGNING_SECRET, timeout=5)
        assert (quick.status, quick.body) == (200, "got quick")
        assert get(front.url + "/healthz")[0] == 200
        assert "slow" not in answers  # still held while the others were answered
    finally:
        echo.gate.set()
        slow.join(10)
    assert (answers["slow"].status, answers["slow"].body) == (200, "got slow")


def test_stop_returns_promptly_with_an_idle_keep_alive_connection() -> None:
    """A client that keeps its connection open does not keep the server from stopping."""
    front = WebFront(build_web_app()).start()
    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=5)
    try:
        conn.request("GET", "/healthz")
        reply = conn.getresponse()
        assert (reply.status, reply.read()) == (200, b"ok")
        assert reply.getheader("connection") != "close"  # kept alive, idle
        front.stop()
        assert conn.sock is not None and conn.sock.recv(1) == b""  # closed by the server
    finally:
        conn.close()
