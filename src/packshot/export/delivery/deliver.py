"""Export: frames -> fixed, encoded, tagged, named files at a destination, plus manifest and feeds.

For each frame and each profile: fix the pixels for the profile (the compliance fixer: white
background, fill, size, upscaling), encode (JPEG / PNG / WebP with an sRGB ICC profile), write
provenance metadata, name the file from a template and route it to an fsspec destination. A
manifest records what went where; optional Google / Meta feeds list the public image links.

This module is an edge (like the CLI): it reads frames and writes files. One bad frame, or one
file the destination refuses, is reported and the rest of the batch goes on.

Hot path, per frame: the frame is decoded once; profiles that ask the fixer for the same thing
apart from the output size (same aspect, fill, background and edge rules) share one fixer call at
the largest of their sizes, and the smaller sizes are area-resampled from it in linear light
(except where the fixer kept an already compliant frame as it is: each other size is then
checked, and kept or fixed, on its own); encodes run in a thread pool (Pillow and OpenCV release
the GIL). Each size is resampled from the fixed image directly, not from a smaller size already
made: a chain of area resamplings (2000 -> 1600 -> ... -> 400 px) would save ~0.09 CPU s of 12
profiles but moves sharp edges by up to 91 levels (PSNR 40-50 dB against the direct resize).
"""

from __future__ import annotations

import dataclasses
import math
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ... import __version__
from ...errors import InputError, PackshotError
from ...framerecord import find_records, frame_png, is_frame_record, read_record, resolve
from ...imaging import load_image, load_mask
from ...provenance import sha256_array, sha256_file
from . import feeds as feeds_mod
from .encode import MIN_QUALITY_FOR_BYTE_LIMIT, Encoded, encode_fixed, linear_to_srgb8_fast, output_format  # noqa: F401
from .metadata import FORMATS, digital_source_type
from .naming import DEFAULT_TEMPLATE, NameAllocator
from .routing import Destination, DestinationError, RetryPolicy, write_manifest

SOURCE_KINDS = ("embedded", "diffusion", "capture")

MANIFEST_NAME = "packshot-manifest.json"
"""Name of the manifest at the destination."""



# ---------------------------------------------------------------------------------------------
# frames
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportFrame:
    """A frame ready for export.

    Attributes
    ----------
    rgb : ndarray
        float32 H x W x 3 linear light in [0, 1].
    alpha : ndarray or None
        float32 H x W product alpha in [0, 1] (where the product is), None when unknown.
    sku, scene, variant : str
        Identity of the frame (naming, feeds, metadata).
    source_kind : str
        "embedded", "diffusion" or "capture" (chooses the IPTC DigitalSourceType).
    provenance : mapping
        The frame's provenance (from its sidecar).
    source : str
        Where the frame came from (for messages and the manifest).
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    sku: str
    scene: str
    variant: str
    source_kind: str
    provenance: Mapping[str, Any] = field(default_factory=dict)
    source: str = "<memory>"
    pixels_sha256: str | None = None
    """sha256 of the frame's image file when it came from one (cheaper than hashing the array)."""

    @property
    def key(self) -> str:
        return f"{self.sku}/{self.scene}/{self.variant}"

    def input_hash(self) -> str:
        """Hash identifying the frame's pixels: its file's sha256, else the array's."""
        return self.pixels_sha256 or sha256_array(self.rgb)


def is_sidecar(path: Path) -> bool:
    """Whether ``path`` is a frame sidecar JSON (:func:`packshot.framerecord.is_frame_record`)."""
    return is_frame_record(path)


def collect_frames(inputs: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders expand (recursively, sorted) to the frame sidecars inside them, or,
    when a folder holds no sidecar at all, to its product images (plain packshots or cut-outs);
    masks, maps, cut-outs and overlays packshot wrote are never taken for product images.

    Raises
    ------
    InputError
        A path that does not exist, or a folder with neither a frame sidecar nor an image in it.
        (A frame sidecar that cannot be read is listed: exporting it fails, naming the reason.)
    """
    from ...imaging import SUPPORTED_SUFFIXES
    from ...render import is_byproduct_image

    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            good, broken = find_records(p)
            # an unreadable sidecar stays in the list: its export fails with the reason (the others go on)
            found = sorted([*good, *(q for q, _ in broken)])
            if not found:
                found = sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in SUPPORTED_SUFFIXES
                               and not is_byproduct_image(q))
            if not found:
                raise InputError(p, "folder holds no frame sidecar (<variant>.json beside <variant>.png) and no "
                                    "product image")
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise InputError(p, "does not exist")
    return out


def input_files(path: str | Path) -> list[Path]:
    """The files an export of ``path`` reads (a sidecar: itself, its frame, alpha and cut-out)."""
    p = Path(path)
    files = [p]
    if p.suffix.lower() == ".json":
        try:
            data = read_record(p)
        except InputError:  # unreadable: exporting it fails with the reason; the PNG beside it stays protected
            return files + [p.with_suffix(".png")]
        files.append(frame_png(p, data))
        for key in ("product_alpha", "cutout"):
            if isinstance(data.get(key), str):
                files.append(p.parent / data[key])
    return files


def load_export_frame(path: str | Path, pixels: tuple[np.ndarray, np.ndarray] | None = None) -> ExportFrame:
    """Read a frame for export: a render sidecar JSON or a plain image (a cut-out on white).

    A sidecar (the frame record :func:`packshot.render.io.save_frame` writes, see
    :mod:`packshot.framerecord`) gives the frame PNG beside it, its product alpha and its source kind. A plain image is a "capture": its alpha channel (a cut-out) is composited onto
    white; its SKU is the file stem, scene "main", variant "1".

    ``pixels``: the sidecar's frame PNG and product alpha as already decoded by the caller (linear
    RGB and alpha at the frame's size, as :func:`packshot.imaging.load_image` and
    :func:`packshot.imaging.load_mask` read them: a catalogue's QA of the same frame), used
    instead of decoding both again; the export frame is the same.

    Raises
    ------
    InputError
        Missing files, a sidecar without the fields export needs, an unknown source kind.
    """
    p = Path(path)
    if pixels is not None and p.suffix.lower() == ".json":
        return _decoded_sidecar_frame(p, *pixels)
    if p.suffix.lower() != ".json":
        img = load_image(p)
        rgb, alpha = img.rgb, img.alpha
        if alpha is not None:  # a cut-out: onto white, as a plain packshot
            rgb = (rgb * alpha[..., None] + (1.0 - alpha[..., None])).astype(np.float32)
        return ExportFrame(rgb=rgb, alpha=alpha, sku=p.stem, scene="main", variant="1", source_kind="capture",
                           provenance={"stage": "capture", "inputs": {"image": img.sha256}}, source=str(p),
                           pixels_sha256=img.sha256)
    try:
        from ...render import load_frame
    except ImportError:  # the render package without its io module: read the documented sidecar here
        return _read_sidecar_frame(p)
    frame = load_frame(p)
    if frame.source_kind not in SOURCE_KINDS:
        raise InputError(p, f"field 'source_kind': '{frame.source_kind}' is not one of {', '.join(SOURCE_KINDS)}")
    png = frame_png(p, read_record(p))
    return dataclasses.replace(frame_from_render(frame, source=str(p)), pixels_sha256=sha256_file(png))


def _decoded_sidecar_frame(p: Path, rgb: np.ndarray, alpha: np.ndarray) -> ExportFrame:
    """The :class:`ExportFrame` :func:`load_export_frame` reads from sidecar ``p`` (through
    :func:`packshot.render.load_frame` and :func:`frame_from_render`), with its pixels given."""
    data = read_record(p)
    png = frame_png(p, data)
    h, w = rgb.shape[:2]
    if [w, h] != [int(v) for v in data["size"]] or np.shape(alpha) != (h, w):
        raise InputError(png, f"frame is {w}x{h} but its sidecar says {data['size'][0]}x{data['size'][1]}")
    kind = data.get("source_kind", "embedded")
    if kind not in SOURCE_KINDS:
        raise InputError(p, f"field 'source_kind': '{kind}' is not one of {', '.join(SOURCE_KINDS)}")
    provenance = dict(data.get("provenance", {}))
    cut = data.get("cutout")
    provenance["sidecar"] = {"path": str(p), "cutout": str((p.parent / cut).resolve()) if cut else None}
    variant = data["variant"] or f"v{int(data.get('variant_index', 0))}"
    return ExportFrame(rgb=rgb, alpha=alpha, sku=str(data["sku"]), scene=str(data["scene"]), variant=str(variant),
                       source_kind=kind, provenance=provenance, source=str(p), pixels_sha256=sha256_file(png))


def _read_sidecar_frame(p: Path) -> ExportFrame:
    data = read_record(p)
    kind = data.get("source_kind", "embedded")
    if kind not in SOURCE_KINDS:
        raise InputError(p, f"field 'source_kind': '{kind}' is not one of {', '.join(SOURCE_KINDS)}")
    img = load_image(frame_png(p, data))
    alpha = load_mask(resolve(p, data["product_alpha"]), size=img.size)
    return ExportFrame(rgb=img.rgb, alpha=alpha, sku=str(data["sku"]), scene=str(data["scene"]),
                       variant=str(data["variant"]), source_kind=kind, provenance=data.get("provenance") or {},
                       source=str(p), pixels_sha256=img.sha256)


def frame_from_render(frame: Any, source: str = "<memory>") -> ExportFrame:
    """An :class:`ExportFrame` from a :class:`packshot.types.Frame` (its variant name as render
    named the file, e.g. ``v0`` or ``v0_1080x1350``)."""
    spec = frame.spec
    variant = (spec.provenance or {}).get("variant_name") or f"v{spec.variant}"
    return ExportFrame(rgb=frame.rgb, alpha=frame.product_alpha, sku=str(spec.sku), scene=str(spec.scene),
                       variant=str(variant), source_kind=frame.source_kind,
                       provenance=dict(frame.provenance or {}), source=source)


def _as_export_frame(item: Any) -> ExportFrame:
    if isinstance(item, ExportFrame):
        return item
    if isinstance(item, (str, Path)):
        return load_export_frame(item)
    if hasattr(item, "spec") and hasattr(item, "product_alpha"):
        return frame_from_render(item)
    raise InputError("frames", f"cannot export a {type(item).__name__}; give sidecar paths, images or Frames")


def _describe_source(item: Any) -> str:
    if isinstance(item, (str, Path)):
        return str(item)
    if isinstance(item, ExportFrame):
        return item.source
    spec = getattr(item, "spec", None)
    return f"{spec.sku}/{spec.scene}/{spec.variant}" if spec is not None else repr(item)[:60]



# ---------------------------------------------------------------------------------------------
# pixels: fixer (encoding: packshot.export.delivery.encode)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fixed:
    """The fixer's output for one profile as export uses it."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    upscaled: bool
    provenance: Mapping[str, Any]


FixFunction = Callable[[np.ndarray, "np.ndarray | None", Any], Any]


def default_fixer(upscaler: str | None = "realesrgan") -> FixFunction:
    """The compliance fixer (:func:`packshot.export.compliance.fixer.fix_for_profile`) with ``upscaler``
    ("realesrgan", "bicubic", or None for plain interpolation)."""
    from ..compliance.fixer import fix_for_profile
    from ..compliance.upscale import UPSCALERS

    if upscaler is not None and upscaler not in UPSCALERS.names():
        raise InputError("--upscaler", f"'{upscaler}' is not one of {', '.join(UPSCALERS.names())}, none")

    def fix(rgb, alpha, profile):
        return fix_for_profile(rgb, alpha, profile, upscaler=upscaler)

    return fix


def _fix(fixer: FixFunction, frame: ExportFrame, profile: Any) -> Fixed:
    result = fixer(frame.rgb, frame.alpha, profile)
    rgb = getattr(result, "rgb", None)
    if rgb is None:
        raise TypeError(f"the fixer returned {type(result).__name__} without an 'rgb' image")
    alpha = getattr(result, "alpha", None)
    provenance = dict(getattr(result, "provenance", {}) or {})
    upscaled = bool(getattr(result, "upscaled", False) or provenance.get("upscaled", False))
    return Fixed(rgb=np.asarray(rgb, np.float32), alpha=alpha, upscaled=upscaled, provenance=provenance)


# Fields of a profile that change what the fixer does other than the output size (what fixer.py
# reads, plus the white-background rules it may come to read). Profiles that agree on these and
# on the aspect ratio of their size share one fixer call at the largest size. The fixer's
# decision to super-resolve depends on the minimum side (kept in the key) and on the enlargement,
# which only grows with the size: a smaller member never needs an upscale the largest did not get.
_FIX_FIELDS = ("background", "fill_target", "safe_zone", "min_longest_side", "background_tolerance",
               "edge_clearance")


def _fix_key(profile: Any) -> tuple:
    w, h = profile.size
    g = math.gcd(int(w), int(h))
    return (w // g, h // g) + tuple(repr(getattr(profile, f, None)) for f in _FIX_FIELDS)


def plan_fixes(profiles: Sequence[Any]) -> list[tuple[Any, list[Any]]]:
    """Group profiles that need the same fix apart from size: ``[(largest, [members...]), ...]``."""
    groups: dict[tuple, list[Any]] = {}
    for p in profiles:
        groups.setdefault(_fix_key(p), []).append(p)
    return [(max(members, key=lambda p: p.size[0] * p.size[1]), members) for members in groups.values()]



# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportedFile:
    """One file that arrived at the destination."""

    frame: str
    """``sku/scene/variant``."""
    source: str
    """The input the frame was read from."""
    sku: str
    scene: str
    variant: str
    profile: str
    path: str
    """Path relative to the destination."""
    url: str
    """Full URL (or local path)."""
    bytes: int
    sha256: str
    width: int
    height: int
    format: str
    quality: int | None
    source_kind: str
    digital_source_type: str
    upscaled: bool
    provenance_digest: str
    attempts: int
    public_url: str | None = None
    """Public link (``public_url`` + path) when a public base URL was given."""
    provenance: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """The export's provenance record; its digest is in the file's XMP."""
    signed: bool = False
    """Whether the file carries a signed C2PA manifest (Content Credentials)."""
    c2pa_sidecar: str | None = None
    """Path (relative to the destination) of the ``.c2pa`` sidecar, for profiles that strip metadata."""
    alt_text: str = ""
    """Accessibility text written into the file (IPTC AltTextAccessibility)."""


@dataclass(frozen=True)
class ExportFailure:
    """Something that did not arrive, and why."""

    source: str
    """The input (frame sidecar or image) concerned, or the destination for manifest / feed."""
    profile: str | None
    """The profile concerned; None when the whole frame failed."""
    error: str


@dataclass(frozen=True)
class ExportResult:
    """What an export did."""

    destination: str
    files: tuple[ExportedFile, ...]
    failures: tuple[ExportFailure, ...]
    manifest_url: str | None = None
    local_manifest: Path | None = None
    feed_urls: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


# ---------------------------------------------------------------------------------------------
# the export
# ---------------------------------------------------------------------------------------------
def resolve_profiles(profiles: Iterable[Any]) -> list[Any]:
    """Profile names, YAML paths or Profile objects -> Profile objects (unknown names fail early)."""
    from ..compliance.profiles import get_profile

    out: list[Any] = []
    seen: set[str] = set()
    for p in profiles:
        prof = p if hasattr(p, "size") and hasattr(p, "name") else get_profile(p)
        if prof.name in seen:
            raise InputError("--profile", f"'{prof.name}' is given twice")
        seen.add(prof.name)
        output_format(prof)
        out.append(prof)
    if not out:
        raise InputError("--profile", "give at least one profile")
    return out


def export_frames(frames: Iterable[Any], profiles: Iterable[Any], dest: str | Path | Destination,
                  template: str = DEFAULT_TEMPLATE, feed: str | Sequence[str] | None = None,
                  public_url: str | None = None, on_collision: str = "suffix", retry: RetryPolicy = RetryPolicy(),
                  storage_options: Mapping[str, Any] | None = None, local_manifest: str | Path | None = None,
                  manifest_name: str = MANIFEST_NAME, workers: int = 2, fixer: FixFunction | None = None,
                  on_progress: Callable[[str, Sequence[ExportFailure]], None] | None = None,
                  credentials: Any = None, product_text: Mapping[str, Mapping[str, str]] | None = None,
                  ) -> ExportResult:
    """Export frames for marketplace profiles to a destination.

    Parameters
    ----------
    frames : iterable
        Frame sidecar JSON paths, plain images (cut-outs on white), :class:`packshot.types.Frame`
        or :class:`ExportFrame` objects. Read one at a time; a frame that fails is reported.
    profiles : iterable
        Profile names (``amazon-main``), YAML profile paths or Profile objects. An unknown one
        fails the export before anything is written.
    dest : str, Path or Destination
        fsspec URL or local folder (see :mod:`packshot.export.delivery.routing`).
    template : str
        File name template (see :mod:`packshot.export.delivery.naming`).
    feed : str or sequence of str, optional
        "google" and / or "meta": write feeds under ``feeds/`` at the destination.
    public_url : str, optional
        Base URL the destination is served from; needed for feeds and recorded in the manifest.
    on_collision : str
        "suffix" or "error" (see :class:`packshot.export.delivery.naming.NameAllocator`).
    retry : RetryPolicy
        Upload retries.
    storage_options : mapping, optional
        fsspec options for ``dest``.
    local_manifest : path, optional
        Also write the manifest here (it is always written at the destination).
    manifest_name : str
        Name of the manifest at the destination.
    workers : int
        Threads for fixing, encoding and uploading.
    fixer : callable, optional
        ``fixer(rgb_linear, alpha, profile) -> object with .rgb`` (default
        :func:`packshot.export.compliance.fixer.fix_for_profile`).
    on_progress : callable, optional
        Called after each frame with its source and its failures (empty when all went through).
    credentials : path or Credentials, optional
        Sign a C2PA manifest into every file (see :mod:`packshot.credentials`); checked before
        anything is written. Profiles with ``keeps_metadata: false`` also get a ``.c2pa`` sidecar.
    product_text : mapping, optional
        SKU -> ``{"title", "alt_text"}`` for the accessibility text (alt text overrides).

    Returns
    -------
    ExportResult
        Files written, failures, where the manifest and feeds went.

    Raises
    ------
    InputError
        Unknown profile, bad template, a feed without ``public_url``.
    DestinationError
        The destination cannot be written at all (checked before any frame is read).
    """
    t0 = time.perf_counter()
    plan = _plan_export(frames, profiles, dest, template, feed, public_url, on_collision, retry, storage_options,
                        local_manifest, fixer, credentials, product_text)
    files, failures = _export_each(plan, public_url, workers, on_progress)
    return _finish_export(plan, files, failures, template, public_url, manifest_name, local_manifest, t0)


@dataclass(frozen=True)
class _ExportPlan:
    """What :func:`export_frames` checked and set up before any frame is read."""

    profiles: list[Any]
    feed_kinds: list[str]
    namer: NameAllocator
    signing: Any
    destination: Destination
    frames: list[Any]
    fix: FixFunction
    groups: list[tuple[Any, list[Any]]]
    order: dict[str, int]


def _plan_export(frames, profiles, dest, template, feed, public_url, on_collision, retry, storage_options,
                 local_manifest, fixer, credentials, product_text) -> _ExportPlan:
    """Step 1: profiles, feeds, naming and credentials checked, the destination preflighted and
    told the inputs it must not overwrite; the fixer groups planned (nothing written yet)."""
    from ...credentials.export_hook import ExportCredentials

    profile_list = resolve_profiles(profiles)
    feed_kinds = _checked_feed_kinds(feed, public_url)
    namer = NameAllocator(template=template, on_collision=on_collision)
    signing = ExportCredentials(credentials, product_text)  # bad credentials stop here, before any write
    destination = dest if isinstance(dest, Destination) else Destination(dest, storage_options, retry=retry)
    destination.preflight()
    frames = list(frames)
    _guard_inputs(frames, destination, local_manifest)
    return _ExportPlan(profile_list, feed_kinds, namer, signing, destination, frames, fixer or default_fixer(),
                       plan_fixes(profile_list), {p.name: i for i, p in enumerate(profile_list)})


def _export_each(plan: _ExportPlan, public_url: str | None, workers: int,
                 on_progress: Callable[[str, Sequence[ExportFailure]], None] | None
                 ) -> tuple[list[ExportedFile], list[ExportFailure]]:
    """Step 2: every frame for every profile (:func:`_export_one`), one frame at a time; the
    files that arrived and the failures."""
    files: list[ExportedFile] = []
    failures: list[ExportFailure] = []
    with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
        for index, item in enumerate(plan.frames, start=1):
            source = _describe_source(item)
            frame_failures = _export_one(item, index, source, plan.groups, plan.order, plan.fix, plan.namer,
                                         plan.destination, public_url, pool, files, failures, plan.signing)
            if on_progress is not None:
                on_progress(source, frame_failures)
    return files, failures


def _finish_export(plan: _ExportPlan, files: list[ExportedFile], failures: list[ExportFailure], template: str,
                   public_url: str | None, manifest_name: str, local_manifest: str | Path | None,
                   t0: float) -> ExportResult:
    """Step 3: the feeds and the manifest at the destination (failures of either recorded), and
    the result."""
    destination = plan.destination
    feed_urls = _write_feeds(plan.feed_kinds, files, destination, public_url, failures)
    manifest = build_manifest(destination, template, plan.profiles, files, failures, public_url, feed_urls)
    manifest_url, local = _deliver_manifest(manifest, destination, manifest_name, local_manifest, failures)
    return ExportResult(destination=destination.display, files=tuple(files), failures=tuple(failures),
                        manifest_url=manifest_url, local_manifest=local, feed_urls=tuple(feed_urls),
                        seconds=time.perf_counter() - t0)


def _checked_feed_kinds(feed: str | Sequence[str] | None, public_url: str | None) -> list[str]:
    """The feed kinds asked for, each known and with the public URL it needs (else InputError)."""
    feed_kinds = [feed] if isinstance(feed, str) else list(feed or [])
    for kind in feed_kinds:
        if kind not in feeds_mod.FEED_KINDS:
            raise InputError("--feed", f"'{kind}' is not one of {', '.join(feeds_mod.FEED_KINDS)}")
        feeds_mod.check_public_url(public_url, kind)
    return feed_kinds


def _guard_inputs(frames: Sequence[Any], destination: Destination, local_manifest: str | Path | None) -> None:
    """No export writes over one of its inputs (a frame, its sidecar, alpha or cut-out): the
    destination is told them, and the local manifest path is checked against them."""
    inputs = [f for item in frames if isinstance(item, (str, Path)) for f in input_files(item)]
    destination.protect(inputs)
    if local_manifest is not None:
        from ...integrity import InputGuard

        InputGuard(inputs).check(local_manifest)


def _write_feeds(feed_kinds: Sequence[str], files: Sequence[ExportedFile], destination: Destination,
                 public_url: str | None, failures: list[ExportFailure]) -> list[str]:
    """Write each feed at the destination; returns their URLs (a feed that fails goes into ``failures``)."""
    feed_urls: list[str] = []
    for kind in feed_kinds:
        try:
            built = feeds_mod.build_feed(kind, [feeds_mod.FeedImage(f.sku, f.profile, f.path, f.alt_text,
                                                                      f.c2pa_sidecar) for f in files],
                                         public_url or "")
            feed_urls.append(destination.put_text(built.path, built.text, built.content_type).url)
        except PackshotError as exc:
            failures.append(ExportFailure(source=f"{kind} feed", profile=None, error=str(exc)))
    return feed_urls


def _deliver_manifest(manifest: Any, destination: Destination, manifest_name: str,
                      local_manifest: str | Path | None,
                      failures: list[ExportFailure]) -> tuple[str | None, Path | None]:
    """Write the manifest at the destination (and locally); returns its URL and the local path
    (None where not written: a failure goes into ``failures``)."""
    try:
        delivered, local = write_manifest(manifest, destination, manifest_name, local_manifest)
        return delivered.url, local
    except (PackshotError, OSError) as exc:
        failures.append(ExportFailure(source=destination.display, profile=None, error=f"manifest: {exc}"))
        local = Path(local_manifest) if local_manifest is not None and Path(local_manifest).exists() else None
        return None, local


def export_frame_files(frame: Any, profiles: Iterable[Any], destination: str | Path | Destination,
                       template: str = DEFAULT_TEMPLATE, upscaler: str | None = "realesrgan",
                       fixer: FixFunction | None = None, workers: int = 1, credentials: Any = None,
                       ) -> tuple[list[ExportedFile], list[ExportFailure]]:
    """Export one frame for each profile to ``destination``, without feeds or a manifest (the
    catalogue runner records what went where in its job store and writes one manifest at the end).

    The frame is decoded once; profiles that differ only in size share one fix (see
    :func:`plan_fixes`). Returns the files written and the failures (one per profile that failed).
    ``credentials`` (a folder, Credentials or an ``ExportCredentials`` made once for many frames)
    signs every file as :func:`export_frames` does.
    """
    from ...credentials.export_hook import ExportCredentials

    signing = None
    if credentials is not None:
        signing = credentials if isinstance(credentials, ExportCredentials) else ExportCredentials(credentials)
    profile_list = resolve_profiles(profiles)
    destination = destination if isinstance(destination, Destination) else Destination(destination)
    namer = NameAllocator(template=template, on_collision="error")
    files: list[ExportedFile] = []
    failures: list[ExportFailure] = []
    with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
        _export_one(frame, 1, _describe_source(frame), plan_fixes(profile_list),
                    {p.name: i for i, p in enumerate(profile_list)}, fixer or default_fixer(upscaler), namer,
                    destination, None, pool, files, failures, signing)
    return files, failures


def _export_one(item, index, source, groups, order, fix, namer, destination, public_url, pool,
                files: list[ExportedFile], failures: list[ExportFailure], signing: Any = None) -> list[ExportFailure]:
    """Export one frame for every profile; appends to ``files`` / ``failures``; returns its failures.

    Steps: read the frame; fix each group of profiles and encode its members
    (:func:`_fix_and_encode`); name the files in profile order (:func:`_name_outputs`); upload
    them (:func:`_upload_outputs`)."""
    mine: list[ExportFailure] = []
    try:
        frame = _as_export_frame(item)
        frame_hash = frame.input_hash()
        extras = signing.for_frame(frame) if signing is not None else None
    except Exception as exc:  # one bad frame never stops the batch
        mine.append(ExportFailure(source=source, profile=None, error=_message(exc)))
        failures.extend(mine)
        return mine
    outcomes = _fix_and_encode(frame, frame_hash, extras, groups, fix, pool)
    named = _name_outputs(frame, index, source, outcomes, order, namer, mine)
    _upload_outputs(frame, source, named, destination, public_url, extras, pool, files, mine)
    failures.extend(mine)
    return mine


def _fix_and_encode(frame: ExportFrame, frame_hash: str, extras: Any, groups, fix: FixFunction, pool
                    ) -> dict[str, Any]:
    """Profile name -> :class:`Encoded` or the exception it failed with.

    Each group is fixed once and its members are encoded as soon as its fix is done (the pool
    never idles while another group is still being fixed). Outcomes are keyed by profile and read
    back in profile order by the caller, so names and failures do not depend on thread timing."""
    outcomes: dict[str, Any] = {}
    fix_futures = {pool.submit(_fix, fix, frame, largest): (largest, members) for largest, members in groups}
    encode_futures = {}
    for future in as_completed(fix_futures):
        largest, members = fix_futures[future]
        try:
            fixed = future.result()
        except Exception as exc:
            for profile in members:
                outcomes[profile.name] = exc
            continue
        for profile in members:
            if profile is not largest and _kept(fixed) and tuple(profile.size) != tuple(largest.size):
                # the frame was kept as it is (already compliant) after a check at the largest size:
                # each other size is kept only after its own check (else fixed), never assumed
                encode_futures[profile.name] = pool.submit(_fix_then_encode, fix, frame, profile, frame_hash, extras)
                continue
            encode_futures[profile.name] = pool.submit(encode_fixed, frame, profile, fixed, largest.name, frame_hash,
                                                       extras)
    for name, future in encode_futures.items():
        try:
            outcomes[name] = future.result()
        except Exception as exc:
            outcomes[name] = exc
    return outcomes


def _kept(fixed: Fixed) -> bool:
    """Whether the fixer kept the frame as it was (``params.mode == "kept"``: already compliant)."""
    params = fixed.provenance.get("params")
    return isinstance(params, Mapping) and params.get("mode") == "kept"


def _fix_then_encode(fix: FixFunction, frame: ExportFrame, profile: Any, frame_hash: str, extras: Any) -> Encoded:
    """One profile fixed on its own (at its own size) and encoded."""
    return encode_fixed(frame, profile, _fix(fix, frame, profile), profile.name, frame_hash, extras)


def _name_outputs(frame: ExportFrame, index: int, source: str, outcomes: Mapping[str, Any], order, namer,
                  mine: list[ExportFailure]) -> list[tuple[str, Encoded]]:
    """File names for the encoded outputs, in profile order; failures appended to ``mine``."""
    named = []
    for profile_name in sorted(outcomes, key=order.__getitem__):
        encoded = outcomes[profile_name]
        if isinstance(encoded, Exception):
            mine.append(ExportFailure(source=source, profile=profile_name, error=_message(encoded)))
            continue
        fields = {"sku": frame.sku, "scene": frame.scene, "variant": frame.variant, "profile": profile_name,
                  "ext": FORMATS[encoded.format], "width": encoded.size[0], "height": encoded.size[1],
                  "kind": frame.source_kind, "index": index}
        try:
            named.append((namer.allocate(fields, owner=f"{frame.key} {profile_name}"), encoded))
        except PackshotError as exc:
            mine.append(ExportFailure(source=source, profile=profile_name, error=str(exc)))
    return named


def _upload_outputs(frame: ExportFrame, source: str, named: list[tuple[str, Encoded]], destination: Destination,
                    public_url: str | None, extras: Any, pool, files: list[ExportedFile],
                    mine: list[ExportFailure]) -> None:
    """Put every named output (and its ``.c2pa`` sidecar) at the destination; record what arrived."""
    def upload(job):
        path, encoded = job
        try:
            if encoded.c2pa_store is not None:  # the profile strips metadata: the manifest also as a sidecar
                from ...credentials.export_hook import sidecar_path

                destination.put(sidecar_path(path), encoded.c2pa_store)
            return destination.put(path, encoded.data)
        except Exception as exc:
            return exc

    for (path, encoded), delivered in zip(named, pool.map(upload, named)):
        if isinstance(delivered, Exception):
            mine.append(ExportFailure(source=source, profile=encoded.profile, error=_message(delivered)))
            continue
        files.append(ExportedFile(
            frame=frame.key, source=source, sku=frame.sku, scene=frame.scene, variant=frame.variant,
            profile=encoded.profile, path=delivered.path, url=delivered.url, bytes=delivered.bytes,
            sha256=delivered.sha256, width=encoded.size[0], height=encoded.size[1], format=encoded.format,
            quality=encoded.quality, source_kind=frame.source_kind,
            digital_source_type=digital_source_type(frame.source_kind), upscaled=encoded.upscaled,
            provenance_digest=encoded.digest, attempts=delivered.attempts,
            public_url=feeds_mod.public_link(public_url, delivered.path) if public_url else None,
            provenance=encoded.provenance, signed=extras is not None and extras.signer is not None,
            c2pa_sidecar=_sidecar(delivered.path) if encoded.c2pa_store is not None else None,
            alt_text=extras.alt_text if extras is not None else "",
        ))


def _sidecar(path: str) -> str:
    from ...credentials.export_hook import sidecar_path

    return sidecar_path(path)


def _message(exc: BaseException) -> str:
    if isinstance(exc, (PackshotError, OSError, ValueError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def build_manifest(destination: Destination, template: str, profiles: Sequence[Any], files: Sequence[ExportedFile],
                   failures: Sequence[ExportFailure], public_url: str | None, feed_urls: Sequence[str]) -> dict:
    """The manifest: what went where (sizes, sha256), what failed, and each file's provenance."""
    return {
        "packshot_version": __version__,
        "destination": destination.display,
        "template": template,
        "profiles": [p.name for p in profiles],
        "public_url": public_url,
        "files": [dataclasses.asdict(f) for f in files],
        "failures": [dataclasses.asdict(f) for f in failures],
        "feeds": list(feed_urls),
    }


__all__ = ["ExportFrame", "ExportResult", "ExportedFile", "ExportFailure", "collect_frames", "export_frame_files",
           "export_frames",
           "load_export_frame", "plan_fixes", "resolve_profiles", "linear_to_srgb8_fast", "DestinationError"]
