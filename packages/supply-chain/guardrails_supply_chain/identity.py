"""Who signed a bundle (certificate SANs and OIDC issuer) and sigstore policies for our signer rules."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier
from guardrails_core.settings import SignerRule
from sigstore.errors import VerificationError
from sigstore.verify import policy

# Fulcio certificate extensions (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md).
_OIDC_ISSUER_V1 = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")  # raw string; what policy.Identity checks
_OIDC_ISSUER_V2 = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")  # DER UTF8String
_SAN_OTHERNAME = ObjectIdentifier("1.3.6.1.4.1.57264.1.7")  # Sigstore "username" other-name SAN


@dataclass(frozen=True)
class CertificateIdentity:
    sans: tuple[str, ...]
    issuer: str | None

    @property
    def primary(self) -> str | None:
        return self.sans[0] if self.sans else None


def _der_utf8(value: bytes) -> str | None:
    # Short-form or long-form DER length for a UTF8String (tag 0x0C); the values Fulcio writes are URLs.
    if len(value) < 2 or value[0] != 0x0C:
        return None
    length, offset = value[1], 2
    if length & 0x80:
        count = length & 0x7F
        length, offset = int.from_bytes(value[2 : 2 + count], "big"), 2 + count
    return value[offset : offset + length].decode("utf-8", errors="replace")


def certificate_identity(cert: x509.Certificate) -> CertificateIdentity:
    """SANs (email, URI, Sigstore other-name) and the OIDC issuer claimed by a Fulcio certificate."""
    sans: list[str] = []
    try:
        san_ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans.extend(san_ext.get_values_for_type(x509.RFC822Name))
        sans.extend(san_ext.get_values_for_type(x509.UniformResourceIdentifier))
        sans.extend(
            other.value.decode("utf-8", errors="replace")
            for other in san_ext.get_values_for_type(x509.OtherName)
            if other.type_id == _SAN_OTHERNAME
        )
    except x509.ExtensionNotFound:
        pass
    issuer: str | None = None
    for oid, decode in ((_OIDC_ISSUER_V1, lambda b: b.decode("utf-8", errors="replace")), (_OIDC_ISSUER_V2, _der_utf8)):
        try:
            raw = cert.extensions.get_extension_for_oid(oid).value.value  # type: ignore[attr-defined]
        except x509.ExtensionNotFound:
            continue
        issuer = decode(raw)
        if issuer:
            break
    return CertificateIdentity(sans=tuple(sans), issuer=issuer)


def rule_matches(rule: SignerRule, who: CertificateIdentity) -> str | None:
    """The SAN that satisfies `rule`, or None."""
    if who.issuer != rule.issuer:
        return None
    for san in who.sans:
        if rule.identity is not None and san == rule.identity:
            return san
        if rule.identity_regex is not None and re.fullmatch(rule.identity_regex, san):
            return san
    return None


class IdentityRegex:
    """Like `sigstore.verify.policy.Identity`, but the SAN must fully match a regex (cosign's
    `--certificate-identity-regexp`). The issuer is still compared exactly."""

    def __init__(self, *, pattern: str, issuer: str) -> None:
        self._pattern = re.compile(pattern)
        self._issuer = policy.OIDCIssuer(issuer)

    def verify(self, cert: x509.Certificate) -> None:
        self._issuer.verify(cert)
        sans = certificate_identity(cert).sans
        if not any(self._pattern.fullmatch(san) for san in sans):
            raise VerificationError(
                f"Certificate's SANs do not match /{self._pattern.pattern}/; actual SANs: {set(sans)}"
            )


def sigstore_policy(rule: SignerRule) -> policy.VerificationPolicy:
    if rule.identity is not None:
        return policy.Identity(identity=rule.identity, issuer=rule.issuer)
    assert rule.identity_regex is not None  # guaranteed by SignerRule validation
    return IdentityRegex(pattern=rule.identity_regex, issuer=rule.issuer)
