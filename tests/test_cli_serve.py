"""``drillsim serve``: loopback by default, the room's network only when asked, XSRF always on."""

from __future__ import annotations

import argparse

import pytest

from sim.cli import UsageError, main
from sim.cli_serve import lan_address, public_url, serve_command


def _args(**kw) -> argparse.Namespace:
    base = {"lan": False, "address": None, "port": 8501, "dry_run": True}
    return argparse.Namespace(**{**base, **kw})


def _opt(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


def test_default_binds_loopback_with_xsrf():
    cmd = serve_command(_args())
    assert _opt(cmd, "--server.address") == "127.0.0.1"
    assert _opt(cmd, "--server.enableXsrfProtection") == "true"


def test_lan_binds_the_local_network_address():
    cmd = serve_command(_args(lan=True))
    assert _opt(cmd, "--server.address") == lan_address()
    assert _opt(cmd, "--server.enableXsrfProtection") == "true"
    assert _opt(cmd, "--browser.serverAddress") == lan_address()


@pytest.mark.parametrize("bad", ["x;rm -rf /", "example.org", "999.1.1.1"])
def test_an_address_must_be_an_ip(bad):
    with pytest.raises(UsageError):
        serve_command(_args(address=bad))


@pytest.mark.parametrize("port", [0, 80, 70000])
def test_port_is_in_range(port, capsys):
    assert main(["serve", "--dry-run", "--port", str(port)]) == 2
    assert "--port" in capsys.readouterr().err


def test_dry_run_prints_the_command(capsys):
    assert main(["serve", "--dry-run", "--address", "10.0.0.5", "--port", "8600"]) == 0
    out = capsys.readouterr()
    assert "--server.address 10.0.0.5 --server.port 8600" in out.out
    assert "http://10.0.0.5:8600" in out.err
    assert public_url("::1", 8501) == "http://[::1]:8501"
