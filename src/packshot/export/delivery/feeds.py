"""Product image feeds: a Google Merchant Center TSV and a Meta (Facebook / Instagram) catalogue CSV.

Both are supplemental feeds keyed by product ``id`` (the SKU) that set ``image_link`` (the
main image) and ``additional_image_link`` (the others, comma-separated). Image links are the
exported files' paths below a public base URL (``--public-url``), percent-encoded.

Which image is the main one: the feed's profile (``google-shopping`` for Google,
``meta-square`` for Meta, else the first profile exported) picks one file per frame; frames keep
the order they were given in, so the first frame of a SKU is its main image.
Google allows 10 additional images, Meta 20; extra ones are left out (and counted).

Extra columns (only when some listed image has them, so a feed without them is unchanged):

- ``image_alt_text``: the main image's accessibility text (the IPTC Alt Text packshot embeds,
  generated from the title, label text and scene, or the per-SKU override). Neither Merchant
  Center nor Meta defines an image alt-text attribute in these image feeds: the column is
  packshot's own (platforms report an unknown column of a supplemental feed and ignore it);
  it is there for the shop and the CMS that build the product page from the feed.
- ``c2pa_manifest_link`` / ``additional_c2pa_manifest_link``: for profiles with
  ``keeps_metadata: false`` (the platform strips embedded metadata, so the manifest is written as
  a ``.c2pa`` sidecar), the public link of each image's sidecar, in the same order as
  ``image_link`` / ``additional_image_link``; empty where an image has no sidecar.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Iterable, Sequence
from urllib.parse import quote

from ...errors import InputError

FEED_KINDS = ("google", "meta")

PREFERRED_PROFILE = {"google": ("google-shopping", "google"), "meta": ("meta-square", "meta")}
"""Feed kind -> profiles whose files it prefers (exact name, then name prefix)."""

MAX_ADDITIONAL = {"google": 10, "meta": 20}
"""How many additional image links each platform accepts."""

FEED_FILE = {"google": "feeds/google_merchant_images.tsv", "meta": "feeds/meta_catalogue_images.csv"}
"""Where each feed goes, relative to the destination."""

FEED_COLUMNS = ("id", "image_link", "additional_image_link")
ALT_TEXT_COLUMN = "image_alt_text"
MANIFEST_COLUMNS = ("c2pa_manifest_link", "additional_c2pa_manifest_link")


@dataclass(frozen=True)
class FeedImage:
    """One exported image as a feed sees it."""

    sku: str
    profile: str
    path: str
    """Path relative to the destination ('/'-separated)."""
    alt_text: str = ""
    """The image's accessibility text ("" when none)."""
    c2pa_sidecar: str | None = None
    """Path (relative to the destination) of its ``.c2pa`` sidecar, when the profile strips metadata."""


@dataclass(frozen=True)
class Feed:
    """A feed ready to write."""

    kind: str
    profile: str
    text: str
    rows: int
    dropped_links: int
    """Additional image links left out because of the platform's limit."""

    @property
    def path(self) -> str:
        return FEED_FILE[self.kind]

    @property
    def content_type(self) -> str:
        return "text/tab-separated-values" if self.kind == "google" else "text/csv"


def public_link(public_url: str, path: str) -> str:
    """``public_url`` + '/' + the percent-encoded relative ``path``."""
    base = str(public_url).rstrip("/")
    return f"{base}/{quote(path, safe='/-_.~')}"


def check_public_url(public_url: str | None, kind: str) -> str:
    """Validate the base URL a feed needs; raises InputError naming ``--public-url``."""
    if not public_url:
        raise InputError("--public-url", f"a {kind} feed needs the public base URL the images will be served from "
                                         "(e.g. https://cdn.example.com/packshots)")
    if not public_url.startswith(("https://", "http://")):
        raise InputError("--public-url", f"'{public_url}' must start with https:// (or http://): feeds need web links")
    return public_url


def choose_profile(kind: str, profiles: Sequence[str]) -> str:
    """The profile whose files a feed of ``kind`` lists (see the module docstring)."""
    if not profiles:
        raise InputError("--profile", "no profile was exported, so there is nothing to put in a feed")
    exact, prefix = PREFERRED_PROFILE[kind]
    if exact in profiles:
        return exact
    for name in profiles:
        if name.startswith(prefix):
            return name
    return profiles[0]


def build_feed(kind: str, images: Iterable[FeedImage], public_url: str, profile: str | None = None) -> Feed:
    """Build a feed from exported images (in frame order).

    Parameters
    ----------
    kind : str
        "google" (TSV) or "meta" (CSV).
    images : iterable of FeedImage
        Every exported file, in the order of the frames.
    public_url : str
        Base URL the destination is served from.
    profile : str, optional
        Profile whose files to list; default :func:`choose_profile`.
    """
    if kind not in FEED_KINDS:
        raise InputError("--feed", f"'{kind}' is not one of {', '.join(FEED_KINDS)}")
    check_public_url(public_url, kind)
    images = list(images)
    profiles = list(dict.fromkeys(im.profile for im in images))
    profile = profile or choose_profile(kind, profiles)
    by_sku: dict[str, list[tuple[str, str, str]]] = {}
    for im in images:
        if im.profile == profile:
            links = by_sku.setdefault(im.sku, [])
            link = public_link(public_url, im.path)
            if link not in [entry[0] for entry in links]:
                side = public_link(public_url, im.c2pa_sidecar) if im.c2pa_sidecar else ""
                links.append((link, _clean(im.alt_text or ""), side))
    with_alt = any(entry[1] for links in by_sku.values() for entry in links[:1])
    with_sidecars = any(entry[2] for links in by_sku.values() for entry in links)
    limit = MAX_ADDITIONAL[kind]
    dropped = 0
    buf = io.StringIO()
    if kind == "google":
        writer = csv.writer(buf, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    else:
        writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(FEED_COLUMNS + ((ALT_TEXT_COLUMN,) if with_alt else ()) + (MANIFEST_COLUMNS if with_sidecars else ()))
    for sku, links in by_sku.items():
        main, extra = links[0], links[1:limit + 1]
        dropped += max(0, len(links) - 1 - limit)
        row = [_clean(sku), main[0], ",".join(e[0] for e in extra)]
        if with_alt:
            row.append(main[1])
        if with_sidecars:
            row += [main[2], ",".join(e[2] for e in extra)]
        writer.writerow(row)
    return Feed(kind=kind, profile=profile, text=buf.getvalue(), rows=len(by_sku), dropped_links=dropped)


def _clean(value: str) -> str:
    # tabs and line breaks would break a TSV row; Merchant Center ids are single-line text
    return " ".join(str(value).split())
