"""Signing credentials: a folder holding a PEM certificate chain and its private key.

Layout of a credentials folder (``packshot export --credentials DIR`` or ``PACKSHOT_CREDENTIALS``)::

    DIR/chain.pem          the signer's certificate first, then its intermediates (PEM)
    DIR/key.pem            the signer's private key (PEM, PKCS#8 or traditional; when encrypted,
                           its passphrase comes from $PACKSHOT_KEY_PASSPHRASE)
    DIR/credentials.json   optional: {"tsa_url": "http://timestamp.example", "development": false}

The key type chooses the algorithm: EC P-256 -> ES256, P-384 -> ES384, P-521 -> ES512,
RSA -> PS256, Ed25519 -> Ed25519. Everything is checked when the folder is loaded, before any
file is written: files present and readable, certificate valid now (not expired, not yet valid),
key matching the certificate, the certificate fit to sign C2PA claims (an end-entity certificate,
not a CA; digitalSignature key usage; an extended key usage C2PA accepts; not self-signed).

``packshot credentials init DIR`` writes a *development* CA and a signer issued by it in this
layout. Readers do not trust it (it is on no C2PA trust list): manifests signed with it are
reported as valid but untrusted, which is right for trials and wrong for production.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, require

CHAIN_NAME = "chain.pem"
KEY_NAME = "key.pem"
CONFIG_NAME = "credentials.json"
DEV_CA_NAME = "dev-ca.pem"
ENV_VAR = "PACKSHOT_CREDENTIALS"
PASSPHRASE_VAR = "PACKSHOT_KEY_PASSPHRASE"

# extended key usages C2PA accepts for a claim signer (C2PA 2.x, certificate profile)
_C2PA_EKUS = {
    "1.3.6.1.5.5.7.3.4": "emailProtection",
    "1.3.6.1.5.5.7.3.36": "documentSigning",
    "1.3.6.1.5.5.7.3.8": "timeStamping",
    "1.3.6.1.5.5.7.3.9": "OCSPSigning",
    "1.3.6.1.4.1.311.76.59.1.9": "MS C2PA signing",
    "1.3.6.1.4.1.62558.2.1": "c2pa-kp-claimSigning",
}


class CredentialsError(InputError):
    """The signing credentials cannot be used (the message names the file and the problem)."""


@dataclass(frozen=True)
class Credentials:
    """A loaded, checked signer."""

    folder: Path
    chain_pem: bytes
    key_pem: bytes
    alg: str
    """"es256", "es384", "es512", "ps256" or "ed25519"."""
    subject: str
    issuer: str
    not_after: _dt.datetime
    tsa_url: str | None = None
    development: bool = False
    """Made by ``packshot credentials init``: readers report it as untrusted."""

    def describe(self) -> str:
        dev = " (development CA: readers report it as UNTRUSTED)" if self.development else ""
        return f"{self.subject}, issued by {self.issuer}, {self.alg.upper()}, valid until {self.not_after:%Y-%m-%d}{dev}"


def _x509():
    require("cryptography", "credentials", "Content Credentials")
    from cryptography import x509

    return x509


def _name(name: Any) -> str:
    from cryptography.x509.oid import NameOID

    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        attrs = name.get_attributes_for_oid(oid)
        if attrs:
            return str(attrs[0].value)
    return name.rfc4514_string() or "<no name>"


def _alg_for(key: Any, where: Path) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        algs = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name not in algs:
            raise CredentialsError(where, f"EC curve {key.curve.name} is not usable for C2PA; use P-256, P-384 or P-521")
        return algs[key.curve.name]
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise CredentialsError(where, f"RSA key of {key.key_size} bits is too short; use at least 2048")
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise CredentialsError(where, f"{type(key).__name__} keys cannot sign C2PA manifests; use EC (ES256), RSA (PS256) "
                                  "or Ed25519")


def _public_bytes(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def resolve_folder(folder: str | Path | None) -> Path | None:
    """The credentials folder: ``folder`` if given, else ``$PACKSHOT_CREDENTIALS``, else None."""
    if folder is not None and str(folder) != "":
        return Path(folder)
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env) if env else None


def load_credentials(folder: str | Path, now: _dt.datetime | None = None) -> Credentials:
    """Read and check a credentials folder.

    Raises
    ------
    CredentialsError
        Missing folder or file, unreadable PEM, expired or not-yet-valid certificate, a key that
        does not match the certificate, an unsuitable certificate or key type. The message names
        the file and the problem.
    MissingExtraError
        ``cryptography`` is not installed (extra ``credentials``).
    """
    x509 = _x509()
    from cryptography.hazmat.primitives import serialization

    root = Path(folder)
    if not root.is_dir():
        raise CredentialsError(root, "credentials folder does not exist (make one with `packshot credentials init "
                                     f"{root}` for trials)")
    chain_path, key_path = root / CHAIN_NAME, root / KEY_NAME
    for p, what in ((chain_path, "certificate chain"), (key_path, "private key")):
        if not p.is_file():
            raise CredentialsError(p, f"{what} file is missing (a credentials folder holds {CHAIN_NAME} and "
                                      f"{KEY_NAME})")
    chain_pem = chain_path.read_bytes()
    key_pem = key_path.read_bytes()
    try:
        certs = x509.load_pem_x509_certificates(chain_pem)
    except ValueError as exc:
        raise CredentialsError(chain_path, f"not a PEM certificate chain ({exc})") from exc
    if not certs:
        raise CredentialsError(chain_path, "holds no certificate")
    passphrase = os.environ.get(PASSPHRASE_VAR)
    try:
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except TypeError:  # encrypted: decrypt with the passphrase, keep the plain key in memory only
            if not passphrase:
                raise CredentialsError(key_path, f"the private key is encrypted; set {PASSPHRASE_VAR} to its "
                                                 "passphrase") from None
            key = serialization.load_pem_private_key(key_pem, password=passphrase.encode("utf-8"))
            key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    except ValueError as exc:
        raise CredentialsError(key_path, f"not a PEM private key, or a wrong passphrase "
                                         f"({str(exc).splitlines()[0]})") from exc
    alg = _alg_for(key, key_path)

    leaf = certs[0]
    if _public_bytes(leaf.public_key()) != _public_bytes(key.public_key()):
        raise CredentialsError(key_path, f"the private key does not match the certificate of "
                                         f"'{_name(leaf.subject)}' (first in {chain_path.name})")
    now = now or _dt.datetime.now(_dt.timezone.utc)
    for i, cert in enumerate(certs):
        what = "signer certificate" if i == 0 else f"chain certificate {i + 1} ('{_name(cert.subject)}')"
        if cert.not_valid_after_utc <= now:
            raise CredentialsError(chain_path, f"the {what} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC")
        if cert.not_valid_before_utc > now:
            raise CredentialsError(chain_path, f"the {what} is not valid before "
                                               f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")
    _check_signer_profile(leaf, chain_path)
    for child, parent in zip(certs, certs[1:]):
        if child.issuer != parent.subject:
            raise CredentialsError(chain_path, f"certificate '{_name(child.subject)}' is not issued by the next one in "
                                               f"the chain ('{_name(parent.subject)}'); order it signer first")
    config: dict[str, Any] = {}
    config_path = root / CONFIG_NAME
    if config_path.exists():
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CredentialsError(config_path, f"not readable JSON ({exc})") from exc
        if not isinstance(config, dict):
            raise CredentialsError(config_path, "must be a JSON object")
    tsa = config.get("tsa_url") or None
    if tsa is not None and not str(tsa).startswith(("http://", "https://")):
        raise CredentialsError(config_path, f"field 'tsa_url': {tsa!r} is not an http(s) URL")
    return Credentials(folder=root, chain_pem=chain_pem, key_pem=key_pem, alg=alg, subject=_name(leaf.subject),
                       issuer=_name(leaf.issuer), not_after=leaf.not_valid_after_utc, tsa_url=tsa,
                       development=bool(config.get("development", False)))


def _check_signer_profile(cert: Any, where: Path) -> None:
    x509 = _x509()
    name = _name(cert.subject)
    if cert.subject == cert.issuer:
        raise CredentialsError(where, f"the signer certificate '{name}' is self-signed; C2PA needs a signer issued by "
                                      "a CA (`packshot credentials init` makes a development CA and signer)")
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if bc.ca:
            raise CredentialsError(where, f"the signer certificate '{name}' is a CA certificate; put the end-entity "
                                          "signer certificate first")
    except x509.ExtensionNotFound:
        pass
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not ku.digital_signature:
            raise CredentialsError(where, f"the signer certificate '{name}' lacks the digitalSignature key usage")
    except x509.ExtensionNotFound:
        pass
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        raise CredentialsError(where, f"the signer certificate '{name}' has no extended key usage; C2PA needs one of "
                                      f"{', '.join(sorted(set(_C2PA_EKUS.values())))}") from None
    if not any(oid.dotted_string in _C2PA_EKUS for oid in eku):
        raise CredentialsError(where, f"the signer certificate '{name}' has no extended key usage C2PA accepts (one of "
                                      f"{', '.join(sorted(set(_C2PA_EKUS.values())))})")


def init_dev_credentials(folder: str | Path, days: int = 365, common_name: str = "packshot development signer",
                         organization: str = "packshot development", overwrite: bool = False,
                         now: _dt.datetime | None = None, tsa_url: str | None = None,
                         key_type: str = "es256") -> Credentials:
    """Write a development CA and an ES256 signer it issued into ``folder``.

    Writes ``chain.pem`` (signer, then CA), ``key.pem`` (the signer's key), ``dev-ca.pem`` (the CA
    alone, to add to a reader's trust anchors for tests) and ``credentials.json``
    (``"development": true``). The CA's private key is not kept. Readers report manifests signed
    with it as untrusted. ``key_type`` is the signer's algorithm: "es256" (EC P-256), "ps256"
    (RSA 2048) or "ed25519".

    Raises
    ------
    CredentialsError
        ``folder`` already holds credentials and ``overwrite`` is false.
    """
    x509 = _x509()
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    from ..imaging import atomic_write_bytes, atomic_write_text

    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    makers = {"es256": lambda: ec.generate_private_key(ec.SECP256R1()),
              "ps256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
              "ed25519": ed25519.Ed25519PrivateKey.generate}
    if key_type not in makers:
        raise CredentialsError("--key-type", f"'{key_type}' is not one of {', '.join(makers)}")
    root = Path(folder)
    if tsa_url is not None and not str(tsa_url).startswith(("http://", "https://")):
        raise CredentialsError("--tsa-url", f"{tsa_url!r} is not an http(s) URL")
    if not overwrite and ((root / CHAIN_NAME).exists() or (root / KEY_NAME).exists()):
        raise CredentialsError(root, f"already holds {CHAIN_NAME} / {KEY_NAME}; pass --force to replace them")
    root.mkdir(parents=True, exist_ok=True)
    now = now or _dt.datetime.now(_dt.timezone.utc)
    start, end = now - _dt.timedelta(minutes=5), now + _dt.timedelta(days=days)

    def usage(sign: bool) -> Any:
        return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                             data_encipherment=False, key_agreement=False, key_cert_sign=not sign, crl_sign=not sign,
                             encipher_only=False, decipher_only=False)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "packshot development CA (untrusted)"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(usage(False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = makers[key_type]()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage(True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    ca_pem = ca.public_bytes(pem)
    atomic_write_bytes(root / KEY_NAME, key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    try:
        os.chmod(root / KEY_NAME, 0o600)
    except OSError:  # pragma: no cover - filesystems without modes
        pass
    atomic_write_bytes(root / CHAIN_NAME, cert.public_bytes(pem) + ca_pem)
    atomic_write_bytes(root / DEV_CA_NAME, ca_pem)
    atomic_write_text(root / CONFIG_NAME, json.dumps({"development": True, "tsa_url": tsa_url}, indent=2) + "\n")
    return load_credentials(root, now=now)
