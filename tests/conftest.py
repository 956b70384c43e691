"""Shared fixtures: real simulators and a real SMTP sink on loopback, a fresh $MINHU_HOME."""

from __future__ import annotations

import email
import email.policy
import socket
from email.header import decode_header, make_header
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def sources_url():
    """The simulators (case platform + finance system) on a free loopback port, for the session."""
    from simulators.server import serve_in_thread

    server, url = serve_in_thread(0)
    yield url
    server.shutdown()


@pytest.fixture(scope="session")
def smtp_port():
    """The SMTP sink; it stores each message under the $MINHU_HOME of the test that sent it."""
    from simulators import smtp_sink

    port = free_port()
    controller = smtp_sink.start(port=port)
    yield port
    controller.stop()


@pytest.fixture
def home(tmp_path, monkeypatch, sources_url, smtp_port):
    """A fresh $MINHU_HOME wired to the session's simulators and SMTP sink."""
    monkeypatch.setenv("MINHU_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MINHU_SOURCE_URL", sources_url)
    monkeypatch.setenv("MINHU_SMTP_PORT", str(smtp_port))
    return tmp_path / "home"


def read_eml(path: Path) -> email.message.Message:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def subject_of(msg) -> str:
    return str(make_header(decode_header(msg["Subject"])))
