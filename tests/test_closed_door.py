"""A closed door by default: started the README's way with no settings, the dashboard listens on
loopback only, whatever addresses the machine has."""

from __future__ import annotations

import contextlib
import shutil
import socket
import sys
from pathlib import Path

import pytest

from glasspane.settings import PROJECT_DIR
from tests.servers import Process, free_port

LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp*


def listening_addresses(port: int) -> set[str]:
    """The local addresses (hex, as the kernel prints them) of every socket listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] == LISTEN and int(hex_port, 16) == port:
                found.add(address)
    return found


def other_addresses() -> list[str]:
    """This machine's IPv4 addresses that are not loopback (the one its default route would use)."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as probe, contextlib.suppress(OSError):
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing address
        address = probe.getsockname()[0]
        return [address] if not address.startswith("127.") else []
    return []


def test_a_bare_streamlit_run_listens_on_loopback_only(tmp_path):
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
    ]
    server = Process(
        command,
        f"http://127.0.0.1:{port}/_stcore/health",
        env={"GLASSPANE_STORE": str(tmp_path / "s")},
        cwd=PROJECT_DIR,
    )
    try:
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, and nothing else (no 0.0.0.0, no ::)
        for address in other_addresses():
            with socket.socket() as client:
                assert client.connect_ex((address, port)) != 0, f"the dashboard answers on {address}"
    finally:
        server.stop()


def _script_checkout(folder: Path) -> Path:
    """The project as scripts/dashboard.sh sees it, without `.streamlit/config.toml` (so only the script
    decides the address) and with setup already done (the shared .venv)."""
    for name in ("app.py", "pages", "glasspane", "collectors", ".venv"):
        (folder / name).symlink_to(PROJECT_DIR / name)
    (folder / "scripts").mkdir()
    shutil.copy(PROJECT_DIR / "scripts" / "dashboard.sh", folder / "scripts" / "dashboard.sh")
    (folder / "scripts" / "setup.sh").write_text("#!/bin/sh\n")
    (folder / "scripts" / "setup.sh").chmod(0o755)
    return folder / "scripts" / "dashboard.sh"


@pytest.mark.parametrize(("address", "listening"), [(None, {"0100007F"}), ("0.0.0.0", {"00000000"})])
def test_the_dashboard_script_binds_to_loopback_unless_told_otherwise(tmp_path, address, listening):
    script = _script_checkout(tmp_path)
    port = free_port()
    env = {"GLASSPANE_STORE": str(tmp_path / "s"), "PYTHONPATH": str(PROJECT_DIR)}
    if address:
        env["GLASSPANE_ADDRESS"] = address
    server = Process(
        [str(script), "--server.headless", "true", "--server.port", str(port)],
        f"http://127.0.0.1:{port}/_stcore/health",
        env=env,
    )
    try:
        assert listening_addresses(port) == listening
    finally:
        server.stop()
