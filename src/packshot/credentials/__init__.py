"""Content Credentials (C2PA) for exported images: signing credentials, manifests, verification,
and the accessibility / disclosure text every export writes.

- :mod:`.keys`: a credentials folder (PEM chain + key), checked before anything is written;
  ``init_dev_credentials`` makes an untrusted development CA and signer.
- :mod:`.context`: what export knows about a frame (source photo, master, QA, label text, scene)
  and the alt text / description built from it.
- :mod:`.manifest`: the manifest of one exported file and :class:`ContentSigner`.
- :mod:`.verify`: ``packshot verify``.

c2pa-python and cryptography come with the extra ``credentials``; without them export works as
before and asking for credentials names the extra to install.
"""

from __future__ import annotations

from .context import FrameContext, alt_text, description, frame_context
from .keys import ENV_VAR, Credentials, CredentialsError, init_dev_credentials, load_credentials, resolve_folder

__all__ = ["Credentials", "CredentialsError", "ENV_VAR", "FrameContext", "alt_text", "description", "frame_context",
           "init_dev_credentials", "load_credentials", "resolve_folder"]
