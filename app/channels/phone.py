"""Phone numbers: always E.164 inside Baraza, masked in logs."""

from __future__ import annotations

import phonenumbers


class InvalidPhoneNumber(ValueError):
    """A number that cannot be a real phone in the given region."""


def normalise_msisdn(raw: str, region: str) -> str:
    """Return `raw` as E.164, read in `region` when it has no country code."""
    text = (raw or "").strip()
    if not text or len(text) > 32:
        raise InvalidPhoneNumber(f"not a phone number: {mask(text)!r}")
    if text[0].isdigit() and text.startswith(_country_prefix(region)) and len(text) > 10:
        # "254712345678": a "+" that arrived unencoded became a space, then got stripped.
        text = "+" + text
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"not a phone number: {mask(text)!r}") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(f"not a valid number for {region}: {mask(text)!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _country_prefix(region: str) -> str:
    return str(phonenumbers.country_code_for_region(region) or "")


def mask(msisdn: str) -> str:
    """+254712345678 -> +2547****5678: enough to tell numbers apart in a log, no more."""
    if len(msisdn) <= 8:
        return "*" * len(msisdn)
    return f"{msisdn[:5]}****{msisdn[-4:]}"
