"""Voter tags: the keyed hash that links a voter to their ballot without naming them."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass


class InvalidNationalId(ValueError):
    """Not a national ID number as the cycle expects it."""


# Kenyan IDs are 7-8 digits; allow some slack. ASCII only: "١٢٣٤٥٦٧" would be another voter
# than "1234567" (another tag), a second ballot for the same person.
_NATIONAL_ID = re.compile(r"^[0-9]{6,10}$")


def normalise_national_id(raw: str) -> str:
    value = re.sub(r"[\s-]", "", raw or "")
    if not _NATIONAL_ID.match(value):
        raise InvalidNationalId("an ID number has 6 to 10 digits")
    return value.lstrip("0") or "0"


@dataclass(frozen=True)
class Keyring:
    """Computes tags with a key that lives in the environment, never in the database."""

    key: bytes

    @classmethod
    def from_secret(cls, secret: str) -> Keyring:
        return cls(hashlib.sha256(b"baraza-ballot-key:" + secret.encode()).digest())

    def tag(self, scope: str, identity: str) -> str:
        """One voter within one scope (a cycle, or an organization's round)."""
        message = f"{scope}\x1f{identity}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def ballot_tag(self, cycle_id: int, identity: str) -> str:
        return self.tag(f"cycle:{cycle_id}", identity)

    def round_tag(self, organization_id: int, round_name: str, identity: str) -> str:
        return self.tag(f"round:{organization_id}:{round_name}", identity)

    def receipt_tag(self, cycle_id: int, receipt: str) -> str:
        return self.tag(f"receipt:{cycle_id}", receipt)
