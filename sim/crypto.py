"""Encryption of exports for e-mail, in the age format (via ``pyrage``).

The plan requires e-mail about exam-security incidents to be encrypted (应急保障: 电子邮件需要
进行加密技术处理). An export is encrypted either to the recipients' public keys (age ``age1…``
keys, or SSH ``ssh-ed25519`` / ``ssh-rsa`` public keys) or with a passphrase; the recipient
decrypts it with the standard ``age`` tool (``age -d -i key.txt file.age``) or with
:func:`decrypt`. age authenticates every chunk, so a changed byte makes decryption fail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pyrage
from pyrage import passphrase as _passphrase
from pyrage import ssh, x25519

ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
BINARY_MAGIC = b"age-encryption.org/v1"
SUFFIX = ".age"


class CryptoError(ValueError):
    """A key, passphrase or ciphertext that cannot be used; the message says which."""


def parse_recipient(text: str):
    """A recipient from its public key text: ``age1…`` or an SSH public key line.

    An error never repeats secret material: a secret key given by mistake is named only as
    such, and text that is not shaped like a public key is not echoed at all. Only a mistyped
    public key (``age1…``, ``ssh-…``), which is meant to be shared, is quoted, shortened.
    """
    key = text.strip()
    if _looks_secret(key):
        raise CryptoError(
            "recipient: this is a secret key (private key); give the recipient's public key"
            " (age1…, printed by `age-keygen -y`) and keep the secret key to yourself"
        )
    try:
        if key.startswith("age1"):
            return x25519.Recipient.from_str(key)
        if key.startswith(("ssh-ed25519 ", "ssh-rsa ")):
            return ssh.Recipient.from_str(key)
    except pyrage.RecipientError:
        raise CryptoError(f"recipient {_short(key)}: not a valid public key") from None
    if key.startswith(("age1", "ssh-")):
        raise CryptoError(f"recipient {_short(key)}: not a valid public key")
    raise CryptoError(
        "recipient: expected an age key (age1…) or an SSH public key"
        " (ssh-ed25519 … or ssh-rsa …); the text given is not repeated here"
    )


def parse_identities(text: str) -> list:
    """Identities (private keys) from an age key file's text: ``AGE-SECRET-KEY-1…`` lines.

    A line that is not a valid key is named by its number, never quoted.
    """
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            out.append(x25519.Identity.from_str(line))
        except pyrage.IdentityError:
            raise CryptoError(f"identity (line {n}): not a valid age secret key") from None
    if not out:
        raise CryptoError("identity: no AGE-SECRET-KEY-1… line found")
    return out


def encrypt(
    data: bytes,
    recipients: Iterable[str] | None = None,
    passphrase: str | None = None,
    *,
    armored: bool = False,
) -> bytes:
    """Encrypt ``data`` to public keys or with a passphrase (exactly one of the two).

    Binary age by default (what ``age -d`` reads); ``armored`` gives the PEM-like text form
    for pasting into a mail body.
    """
    keys = [r for r in (recipients or ()) if r and r.strip()]
    if keys and passphrase:
        raise CryptoError("encrypt either to recipients' keys or with a passphrase, not both")
    if not keys and not passphrase:
        raise CryptoError("encrypt needs at least one recipient key or a passphrase")
    try:
        if passphrase:
            return _passphrase.encrypt(data, passphrase, armored=armored)
        return pyrage.encrypt(data, [parse_recipient(k) for k in keys], armored=armored)
    except pyrage.EncryptError as exc:  # pragma: no cover - pyrage refuses only bad input
        raise CryptoError(f"encryption failed: {exc}") from None


def is_encrypted(data: bytes) -> bool:
    """Whether ``data`` looks like an age file (binary or armored)."""
    head = data.lstrip()[:64]
    return head.startswith(BINARY_MAGIC) or head.startswith(ARMOR_BEGIN)


def decrypt(
    data: bytes,
    identities: Iterable[str] | str | None = None,
    passphrase: str | None = None,
) -> bytes:
    """Decrypt an age file with secret keys (key-file text or ``AGE-SECRET-KEY-1…`` strings)
    or a passphrase.

    Raises :class:`CryptoError` for a wrong key or passphrase, and for a file that was changed
    or cut short after encryption (age's authentication fails).
    """
    if not is_encrypted(data):
        raise CryptoError("not an age-encrypted file")
    try:
        if passphrase is not None:
            return _passphrase.decrypt(data, passphrase)
        if identities is None:
            raise CryptoError("decrypt needs a secret key or a passphrase")
        texts = [identities] if isinstance(identities, str) else list(identities)
        ids = [i for text in texts for i in parse_identities(text)]
        return pyrage.decrypt(data, ids)
    except pyrage.DecryptError as exc:
        message = str(exc)
        if "No matching keys" in message:
            raise CryptoError(
                "no matching key: the file was encrypted for other recipients, or its header was changed"
            ) from None
        if passphrase is not None and "Decryption failed" in message:
            raise CryptoError(
                "wrong passphrase, or the file was changed after encryption"
            ) from None
        raise CryptoError(
            f"the encrypted file is damaged or was changed after encryption ({message})"
        ) from None


_SECRET = re.compile(r"secret|private|AGE-PLUGIN-", re.IGNORECASE)


def _looks_secret(text: str) -> bool:
    """Whether typed key text is (or holds) a secret: an age secret key in any case, an
    OpenSSH or PEM private key, an age plugin identity."""
    return bool(_SECRET.search(text))


def _short(key: str) -> str:
    """A public key, shortened for an error message (only ever called on ``age1…``/``ssh-…``)."""
    return key if len(key) <= 24 else key[:20] + "…"
