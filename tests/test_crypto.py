"""Encrypted exports: age format via pyrage, readable by the standard ``age`` tool; tampering is caught."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import time

import pytest
from pyrage import x25519

from sim.crypto import CryptoError, decrypt, encrypt, is_encrypted, parse_recipient

DATA = (
    "应急演练评估报告 After-action report\n".encode() + bytes(range(256))
) * 400  # > one 64 KiB chunk
AGE = shutil.which("age")
needs_age = pytest.mark.skipif(
    AGE is None, reason="the age tool is not installed (run-tests installs it)"
)


@pytest.fixture(scope="module")
def identity():
    return x25519.Identity.generate()


def _flip(data: bytes, pos: int) -> bytes:
    b = bytearray(data)
    b[pos] ^= 0x01
    return bytes(b)


def test_roundtrip_to_a_public_key(identity):
    ct = encrypt(DATA, [str(identity.to_public())])
    assert is_encrypted(ct) and ct.startswith(b"age-encryption.org/v1")
    assert DATA not in ct
    assert decrypt(ct, str(identity)) == DATA


def test_every_recipient_can_decrypt():
    a, b = x25519.Identity.generate(), x25519.Identity.generate()
    ct = encrypt(DATA, [str(a.to_public()), str(b.to_public())])
    assert decrypt(ct, [str(a)]) == DATA
    assert decrypt(ct, [str(b)]) == DATA
    with pytest.raises(CryptoError, match="no matching key"):
        decrypt(ct, str(x25519.Identity.generate()))


def test_key_file_text_with_comments_is_accepted(identity):
    ct = encrypt(b"x", [str(identity.to_public())])
    key_file = f"# created: 2027-01-01\n# public key: {identity.to_public()}\n{identity}\n"
    assert decrypt(ct, key_file) == b"x"


@pytest.mark.slow
def test_roundtrip_with_a_passphrase():
    ct = encrypt(DATA, passphrase="correct horse battery staple")
    assert decrypt(ct, passphrase="correct horse battery staple") == DATA
    with pytest.raises(CryptoError, match="wrong passphrase"):
        decrypt(ct, passphrase="wrong")


def test_armored_output_roundtrips(identity):
    ct = encrypt(DATA, [str(identity.to_public())], armored=True)
    assert ct.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    assert decrypt(ct, str(identity)) == DATA


@pytest.mark.parametrize("where", ["header", "stanza", "payload", "last byte"])
def test_tampered_ciphertext_is_rejected(identity, where):
    ct = encrypt(DATA, [str(identity.to_public())])
    header_end = ct.index(b"\n---") + 1
    pos = {
        "header": header_end + 6,
        "stanza": 40,
        "payload": len(ct) // 2,
        "last byte": len(ct) - 1,
    }[where]
    with pytest.raises(CryptoError):
        decrypt(_flip(ct, pos), str(identity))


def test_truncated_ciphertext_is_rejected(identity):
    ct = encrypt(DATA, [str(identity.to_public())])
    with pytest.raises(CryptoError, match="damaged or was changed"):
        decrypt(ct[:-200], str(identity))


@pytest.mark.slow
def test_tampered_passphrase_file_is_rejected():
    ct = encrypt(b"secret", passphrase="pw")
    with pytest.raises(CryptoError):
        decrypt(_flip(ct, len(ct) - 1), passphrase="pw")


def test_bad_inputs_give_clear_errors(identity):
    with pytest.raises(CryptoError, match="not a valid public key"):
        encrypt(b"x", ["age1notakey"])
    with pytest.raises(CryptoError, match="expected an age key"):
        parse_recipient("hello")
    with pytest.raises(CryptoError, match="not both"):
        encrypt(b"x", [str(identity.to_public())], passphrase="pw")
    with pytest.raises(CryptoError, match="at least one"):
        encrypt(b"x")
    with pytest.raises(CryptoError, match="not an age-encrypted file"):
        decrypt(b"%PDF-1.7 plain", str(identity))
    with pytest.raises(CryptoError, match="secret key"):
        decrypt(encrypt(b"x", [str(identity.to_public())]), "AGE-SECRET-KEY-1BROKEN")


@needs_age
@pytest.mark.parametrize("armored", [False, True])
def test_age_tool_decrypts_to_the_same_bytes(tmp_path, identity, armored):
    key = tmp_path / "key.txt"
    key.write_text(f"{identity}\n", encoding="ascii")
    enc = tmp_path / "report.pdf.age"
    enc.write_bytes(encrypt(DATA, [str(identity.to_public())], armored=armored))
    out = subprocess.run([AGE, "-d", "-i", str(key), str(enc)], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == DATA


@needs_age
def test_age_tool_rejects_a_tampered_file(tmp_path, identity):
    key = tmp_path / "key.txt"
    key.write_text(f"{identity}\n", encoding="ascii")
    ct = encrypt(DATA, [str(identity.to_public())])
    enc = tmp_path / "tampered.age"
    enc.write_bytes(_flip(ct, len(ct) // 2))
    out = subprocess.run([AGE, "-d", "-i", str(key), str(enc)], capture_output=True, timeout=60)
    assert out.returncode != 0
    assert DATA not in out.stdout


def _age_with_passphrase(path, passphrase: str, out_path) -> int:
    """Run ``age -d`` on a terminal (age reads a passphrase from the tty only) and answer it."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child process
        os.execv(AGE, [AGE, "-d", "-o", str(out_path), str(path)])
    buf, sent, deadline = b"", False, time.time() + 60
    try:
        while time.time() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            if not sent and b"passphrase" in buf.lower():
                os.write(fd, passphrase.encode() + b"\n")
                sent = True
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@needs_age
@pytest.mark.slow
def test_age_tool_decrypts_a_passphrase_file(tmp_path):
    enc = tmp_path / "report.md.age"
    enc.write_bytes(encrypt(DATA, passphrase="drill 2027 专家组"))
    out = tmp_path / "report.md"
    assert _age_with_passphrase(enc, "drill 2027 专家组", out) == 0
    assert out.read_bytes() == DATA
