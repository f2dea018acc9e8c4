"""The whole assembly line for one photo: cut, measure, brief, build (and optionally check).

This module is an edge, like the CLI: it reads and writes files; the stages it calls do not.

Layout written for one SKU under ``out``::

    out/<sku>/cutout.png                    RGBA cut-out at the photo's size
    out/<sku>/maps/                         depth, normals, edges, materials, maps.json
    out/<sku>/<scene>/<variant>.png         frames, each with <variant>.json and <variant>_alpha.png
    out/<sku>/run.json                      run record: input key + sha256/size of every output
    out/<sku>/run.log                       wall-clock timings (never in an image, sidecar or map file)

Resume (see :mod:`packshot.integrity`, one mechanism for both levels):

* SKU level: ``run.json`` records the key of the SKU's inputs (photo bytes, brief and its plate /
  reference files, backends, options) and the sha256 and size of every file written for it. When
  the key matches and every recorded output is intact, the SKU is up to date: nothing is decoded,
  segmented, analysed or rendered (no model work at all).
* Frame level: each sidecar records its frame's run key and the sha256/size of its PNG and alpha.
  A frame is skipped only when both match; a truncated, emptied or deleted output is redone.

The record is written last (atomically), so a run killed at any moment leaves the SKU stale and
the next run finishes it, skipping the frames that were complete.

SKU rule (:func:`sku_from_path`): the photo's file stem, NFC-normalised, with every run of
characters other than Unicode letters, digits, ``_``, ``.`` and ``-`` replaced by ``-`` and
leading/trailing ``-``/``.`` removed (``"My Product (2).JPG"`` -> ``My-Product-2``, ``ü.jpg`` ->
``ü``, ``日本.jpg`` -> ``日本``); ``sku`` when nothing is left. At most :data:`SKU_MAX_CHARS`
characters. Two photos of one run with the same SKU (compared case-insensitively) are a clash:
the second is refused, naming both paths (see :class:`SkuRegistry`).
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .documents import load_document
from .errors import EmptyProductError, InputError
from .imaging import DEFAULT_MAX_PIXELS, atomic_write_text, load_image, load_image_working
from .integrity import file_digest, input_key, is_up_to_date, make_record, verify_record
from .provenance import sha256_bytes

RUN_RECORD = "run.json"
RUN_LOG = "run.log"
SKU_MAX_CHARS = 100
"""Longest SKU (characters; also at most 200 bytes of UTF-8): it names a folder and, on export,
goes into file names with scene, variant and profile."""


@dataclass(frozen=True)
class RunConfig:
    """Settings of a pipeline run."""

    segment_backend: str = "auto"
    """Segment backend name (see ``packshot cutout --help``)."""
    render_backend: str = "studio"
    """Renderer used when a scene does not name a plate."""
    max_pixels: int = DEFAULT_MAX_PIXELS
    """Pixel limit for input photos (decompression-bomb guard)."""
    relight: bool = True
    """Run the relight pass (shadows, reflection, bounded shading)."""
    relight_model: str | None = None
    """A model relight backend run after it (``iclight:FOLDER``, :mod:`packshot.relight.model`)."""
    resume: bool = True
    """Skip frames whose sidecar records identical inputs."""
    qa: bool = False
    """Run the fidelity checks on each frame and write qa.json beside it."""
    orientation: str = "auto"
    """Turn the cut-out upright: auto (label text, then shape), keep, or 0/90/180/270 (clockwise)."""
    gate: bool = True
    """Stop a SKU whose cut-out fails the plausibility gate ("needs a prompt")."""


@dataclass
class SkuResult:
    """What one SKU produced."""

    sku: str
    photo: Path
    cutout_path: Path | None = None
    maps_dir: Path | None = None
    frames: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    verdicts: dict[str, str] = field(default_factory=dict)
    clips: list[Path] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    replaced: str | None = None
    """The photo an earlier run made this SKU's outputs from, when it was another file with other bytes."""


_SLUG = re.compile(r"[^\w.-]+")


def sku_from_path(path: str | Path) -> str:
    """A safe, readable SKU id from a photo's file name (the rule is in the module docs)."""
    stem = unicodedata.normalize("NFC", Path(path).stem)
    stem = "".join(c if unicodedata.category(c)[0] != "C" else "-" for c in stem)
    stem = _SLUG.sub("-", stem).strip("-.")
    return stem or "sku"


def check_sku(sku: str, photo: str | Path) -> None:
    """Raise :class:`InputError` (naming the photo) when ``sku`` cannot name a SKU folder."""
    if not sku or sku in (".", "..") or "/" in sku or "\\" in sku or any(unicodedata.category(c)[0] == "C" for c in sku):
        raise InputError(photo, f"SKU {sku!r} is not a valid folder name")
    if len(sku) > SKU_MAX_CHARS or len(sku.encode("utf-8")) > 2 * SKU_MAX_CHARS:
        raise InputError(photo, f"SKU from the file name is {len(sku)} characters long; at most {SKU_MAX_CHARS} "
                                f"are allowed (rename the file)")


class SkuRegistry:
    """SKUs claimed by the photos of one run, so two photos never write into one SKU folder.

    :meth:`check` before the work refuses a photo whose SKU (compared case-insensitively, as
    on macOS and Windows filesystems) belongs to another photo; :meth:`claim` after the work
    succeeded reserves it. A photo that failed never reserves its SKU.
    """

    def __init__(self) -> None:
        self._owners: dict[str, Path] = {}

    def owner(self, sku: str) -> Path | None:
        return self._owners.get(sku.casefold())

    def check(self, sku: str, photo: str | Path) -> None:
        owner = self.owner(sku)
        if owner is not None and Path(owner).resolve() != Path(photo).resolve():
            raise InputError(photo, f"its SKU {sku!r} is already used by {owner} in this run; both would write "
                                    f"<out>/{sku}/ (rename one of the two files)")

    def claim(self, sku: str, photo: str | Path) -> None:
        self._owners.setdefault(sku.casefold(), Path(photo))


def _frame_key(photo_hash: str, spec: Any, config: RunConfig) -> str:
    fields = {
        "photo": photo_hash,
        "scene": spec.scene,
        "variant": spec.variant,
        "canvas": list(spec.canvas),
        "seed": spec.seed,
        "preset": spec.preset,
        "scene_provenance": spec.provenance,
        "segment": config.segment_backend,
        "render": config.render_backend,
        "relight": config.relight,
        "orientation": config.orientation,
        **({"relight_model": config.relight_model} if config.relight_model else {}),
    }
    return sha256_bytes(json.dumps(fields, sort_keys=True, default=str).encode())


def sku_key(photo_sha256: str, brief: Any, config: RunConfig, master_sha256: str | None = None) -> str:
    """Key of everything a SKU's outputs depend on; computed without decoding the photo."""
    from . import __version__

    scenes = []
    for scene in getattr(brief, "scenes", ()):
        plate = getattr(scene, "plate", None)
        scenes.append({"plate": plate.sha256 if plate is not None else None,
                       "references": [r.sha256 for r in getattr(scene, "references", ())]})
    return input_key({
        "packshot": __version__, "photo": photo_sha256, "brief": getattr(brief, "sha256", ""),
        "brief_name": getattr(brief, "name", ""), "scenes": scenes, "segment": config.segment_backend,
        "render": config.render_backend, "relight": config.relight, "qa": config.qa, "master": master_sha256,
    })


def read_run_record(sku_dir: str | Path) -> dict[str, Any] | None:
    """The SKU's run record (``run.json``), or None when missing or unreadable."""
    try:
        data = load_document(Path(sku_dir) / RUN_RECORD, "run record", fmt="json")[0]
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class FileRecords:
    """Where :func:`process_photo` keeps SKU run records by default: ``<out>/<sku>/run.json``.

    Any object with the same two methods can replace it (a job store keeping the records in a
    database): ``load(out, sku) -> dict | None`` and ``save(out, sku, record) -> None``. A record
    is the plain dict of :func:`packshot.integrity.make_record` (paths relative to ``out/sku``)
    with the extra fields ``photo``, ``frames``, ``flags`` (and ``verdicts`` with qa)."""

    def load(self, out: Path, sku: str) -> dict[str, Any] | None:
        return read_run_record(Path(out) / sku)

    def save(self, out: Path, sku: str, record: dict[str, Any]) -> None:
        atomic_write_text(Path(out) / sku / RUN_RECORD, json.dumps(record, indent=2, sort_keys=True) + "\n")


def _photo_digest(photo: Path) -> dict[str, Any] | None:
    """sha256 of a regular photo file, or None (a missing or special file is left to load_image's error)."""
    try:
        if not photo.is_file():
            return None
        return file_digest(photo)
    except OSError:
        return None


def process_photo(photo: str | Path, brief: Any, out_dir: str | Path, sku: str | None = None,
                  config: RunConfig = RunConfig(), master: str | Path | None = None,
                  records: Any = None) -> SkuResult:
    """Run every stage for one photo and write its cut-out, maps and frames under ``out_dir/<sku>``.

    Parameters
    ----------
    photo : path of the product photo.
    brief : a parsed :class:`packshot.condition.Brief`.
    out_dir : output root.
    sku : SKU id; the photo's stem when None.
    config : :class:`RunConfig`.
    master : optional master artwork for the fidelity checks (with ``config.qa``).
    records : where SKU run records are kept (:class:`FileRecords`, the default, or a job store
        with the same ``load`` / ``save`` methods).

    Raises
    ------
    InputError
        The photo cannot be read, or no product was found in it.
    """
    from .condition import condition

    photo = Path(photo)
    sku = sku or sku_from_path(photo)
    check_sku(sku, photo)
    out = Path(out_dir)
    result = SkuResult(sku=sku, photo=photo)
    records = records if records is not None else FileRecords()
    sku_dir = out / sku
    result.cutout_path = sku_dir / "cutout.png"
    result.maps_dir = sku_dir / "maps"

    # up to date? decided from the recorded key and output hashes, before any decoding or model work
    digest = _photo_digest(photo)
    master_digest = _photo_digest(Path(master)) if master else None
    master_sha = master_digest["sha256"] if master_digest else None
    key = sku_key(digest["sha256"], brief, config, master_sha) if digest is not None else None
    record = records.load(out, sku)
    if record is not None and record.get("photo") not in (None, str(photo)) and record.get("key") != key:
        result.replaced = str(record.get("photo"))
    if config.resume and key is not None and _resume_sku(result, record, key, sku_dir):
        return result

    prep = _cut_out_and_measure(photo, sku_dir, config, result)
    if digest is None or prep.photo_sha256 != digest["sha256"]:  # replaced since it was hashed: key its bytes
        key = sku_key(prep.photo_sha256, brief, config, master_sha)
    specs = condition(brief, prep.cutout, prep.maps, sku)
    master_rgb = load_image(master).rgb if master else None
    outputs: list[Path] = [result.cutout_path, *(p for n, p in sorted(prep.map_paths.items()) if n != "log")]
    done, pending = _split_resumed(out, specs, prep.photo_sha256, config, result, master_rgb)
    result.timings["render"] = _render_pending(out, pending, prep, config, result, master_rgb, done)
    frames: list[Path] = [done[i] for i in sorted(done)]
    outputs += _frame_outputs(frames, config)
    if any(getattr(scene, "motion", None) for scene in brief.scenes):  # clips: see packshot.motion.io
        outputs += _write_clips(out, brief, prep, sku, config, master_rgb, result)
    if key is not None:
        # the record last: its presence (with intact outputs) means the SKU is complete
        records.save(out, sku, _sku_record(key, outputs, sku_dir, photo, frames, result))
    _log_timings(sku_dir, photo, result.timings)
    return result


def _resume_sku(result: SkuResult, record: dict[str, Any] | None, key: Any, sku_dir: Path) -> bool:
    """True (and ``result`` filled from the record) when the SKU's recorded key matches and every
    recorded output, frames included, is intact: nothing needs doing."""
    frames_ok = record is not None and isinstance(record.get("frames"), list) and \
        all(isinstance(f, str) and f in (record.get("outputs") or {}) for f in record["frames"])
    if not (frames_ok and is_up_to_date(record, key, sku_dir)):
        return False
    result.skipped = [sku_dir / rel for rel in record.get("frames", [])]
    result.flags = list(record.get("flags", []))
    result.verdicts = {str(sku_dir / k): v for k, v in record.get("verdicts", {}).items()}
    result.clips = [sku_dir / rel for rel in record.get("clips", []) if isinstance(rel, str)]
    return True


@dataclass
class _Prepared:
    """What the frames of one photo are rendered from: the upright, settled cut-out and its maps."""

    photo: Path
    photo_sha256: str
    factor: int
    """Working-resolution scale factor of the photo (1 when analysed at full size)."""
    cutout: Any
    maps: Any
    map_paths: dict[str, Path]
    review: Any
    pose: Any
    see_through: dict | None
    turned: bool
    """The cut-out was turned, laid level or made see-through: frames are at the working resolution."""


def _cut_out_and_measure(photo: Path, sku_dir: Path, config: RunConfig, result: SkuResult) -> _Prepared:
    """Segment the photo, gate and turn the cut-out upright, settle its pose, measure its maps and
    write ``cutout.png`` and the maps (timings and flags into ``result``)."""
    from .render import settle_cutout
    from .segment.fullres import save_cutout_full
    from .segment.hands import prompted, segment_prompted
    from .segment.io import save_cutout
    from .segment.review import load_prompt_file, require_passed, review_cutout, write_review
    from .understand import understand
    from .understand.io import save_maps

    t0 = time.perf_counter()
    # photos over imaging.WORKING_PIXELS are analysed at a working resolution; cutout.png is
    # still written at the photo's size (segment.fullres) and frames record full-size placement
    work = load_image_working(photo, max_pixels=config.max_pixels)
    image, factor = work.image, work.factor
    prompt = _scaled_prompt(load_prompt_file(photo), factor)  # <photo stem>.prompt.json beside the photo, if any
    cutout = segment_prompted(image, prompt, backend=config.segment_backend)  # + its exclude_hands
    result.timings["segment"] = time.perf_counter() - t0
    if cutout.is_empty:
        raise EmptyProductError(photo, "no product found in the photo (the cut-out is empty)")
    # the gate (a failing cut-out is not rendered: "needs a prompt"), then the upright turn
    t0 = time.perf_counter()
    review = review_cutout(cutout, orientation=config.orientation, gate=config.gate, prompted=prompted(prompt))
    write_review(sku_dir, review, photo)
    result.timings["review"] = time.perf_counter() - t0
    require_passed(review, photo)
    turned = review.orientation.turn % 360 != 0
    # pose (render.pose): a product lying askew is laid level (or stood up) so it rests on the support
    cutout, pose = settle_cutout(review.cutout)
    turned = turned or pose.changed
    t0 = time.perf_counter()
    maps = understand(cutout)
    result.timings["understand"] = time.perf_counter() - t0
    # glass: the new scene shows through (render.transmission); the cut-out rendered from is saved
    cutout, see_through = _see_through(cutout, maps)
    turned = turned or bool(see_through and see_through.get("applied"))
    if not turned:
        save_cutout_full(result.cutout_path, cutout, work)
    else:  # turned upright: the cut-out the frames are rendered from (at the working resolution)
        save_cutout(result.cutout_path, cutout)
    del work  # the full-resolution pixels are not needed past the cut-out
    map_paths = save_maps(result.maps_dir, maps, cutout)
    result.flags = [*review.flags, *(f.code for f in maps.flags)]
    return _Prepared(photo=photo, photo_sha256=image.sha256, factor=factor, cutout=cutout, maps=maps,
                     map_paths=map_paths, review=review, pose=pose, see_through=see_through, turned=turned)


def _split_resumed(out: Path, specs: Any, source: str, config: RunConfig, result: SkuResult,
                   master_rgb: Any) -> tuple[dict[int, Path], list[tuple[int, Any, str]]]:
    """The frames already written with intact outputs (by spec index; listed in ``result.skipped``
    and, with ``config.qa``, checked when a run without qa wrote them) and those still to render
    as ``(index, spec, run key)``."""
    done: dict[int, Path] = {}
    pending: list[tuple[int, Any, str]] = []
    for i, spec in enumerate(specs):
        fkey = _frame_key(source, spec, config)
        existing = _existing_frame(out, spec, fkey) if config.resume else None
        if existing is None:
            pending.append((i, spec, fkey))
            continue
        result.skipped.append(existing)
        done[i] = existing
        if config.qa and not existing.with_name(f"{existing.stem}_qa.json").exists():  # rendered by a run without qa
            result.verdicts[str(existing)] = _qa_frame(existing.with_suffix(".json"), master_rgb, config.max_pixels)
    return done, pending


def _batch_groups(pending: list[tuple], config: RunConfig) -> list[list[tuple]]:
    """Consecutive pending frames of one scene together, at most the renderer's batch per group
    (each item holds its spec just before its run key, its last element)."""
    groups: list[list[tuple]] = []
    for item in pending:
        last = groups[-1] if groups else None
        if last and last[0][-2].scene == item[-2].scene and len(last) < _batch_size(item[-2], config):
            last.append(item)
        else:
            groups.append([item])
    return groups


def _relit(frame: Any, cutout: Any, maps: Any, config: RunConfig) -> Any:
    """A rendered frame through the run's relight passes (the render itself is not kept)."""
    from .relight import relight_with

    if config.relight:
        frame = relight_with("bounded", frame, cutout, maps, overwrite_input=True)  # the render is not kept
    if config.relight_model:
        frame = relight_with(config.relight_model, frame, cutout, maps)
    return frame


def _render_pending(out: Path, pending: list[tuple[int, Any, str]], prep: _Prepared, config: RunConfig,
                    result: SkuResult, master_rgb: Any, done: dict[int, Path]) -> float:
    """Render, relight, save (and with ``config.qa`` check) the pending frames; each PNG goes into
    ``done`` by spec index and ``result.frames``. Returns the seconds spent rendering (qa not counted).

    The frames of one scene go to a batching renderer (diffusion) together, at most its batch at a
    time, so the variants of a scene are painted in one model call; other renderers get one frame
    at a time (a large canvas is never held several times over)."""
    from .render import declared_shadow, frame_at_photo_scale, render_many
    from .render.io import save_frame

    t_render = 0.0
    extra = {"transmission": prep.see_through} if prep.see_through is not None else {}
    for group in _batch_groups(pending, config):
        t0 = time.perf_counter()
        rendered = render_many([spec for _, spec, _ in group], prep.cutout, prep.maps, backend=config.render_backend)
        rendered.reverse()
        for i, spec, fkey in group:
            frame = rendered.pop()  # the list lets go of each frame: a large one is not held through qa
            frame = _relit(frame, prep.cutout, prep.maps, config)
            shadow = declared_shadow(frame)  # a flat-lay's shadow layer is written with it, for qa
            frame = frame.without_layers()  # only saved from here: its layers are not held through the save
            frame = _with_provenance(frame_at_photo_scale(frame, 1 if prep.turned else prep.factor),
                                     run_key=fkey, photo=str(prep.photo), photo_sha256=prep.photo_sha256,
                                     orientation=prep.review.orientation.as_record(), pose=prep.pose.as_record(),
                                     **extra)
            sidecar = Path(save_frame(out, frame, result.cutout_path, shadow=shadow))
            png = sidecar.with_suffix(".png")
            del frame, shadow  # written: qa reads the files (a large canvas would otherwise be held twice)
            done[i] = png
            result.frames.append(png)
            if config.qa:
                t_render += time.perf_counter() - t0
                t0 = time.perf_counter()
                result.verdicts[str(png)] = _qa_frame(sidecar, master_rgb, config.max_pixels)
                result.timings["qa"] = result.timings.get("qa", 0.0) + time.perf_counter() - t0
                t0 = time.perf_counter()
        del rendered
        t_render += time.perf_counter() - t0
    return t_render


def _frame_outputs(frames: list[Path], config: RunConfig) -> list[Path]:
    """The files each frame wrote (PNG, sidecar, alpha and, with qa, its report and overlay when present)."""
    from .render.io import alpha_path

    outputs: list[Path] = []
    for png in frames:
        outputs += [png, png.with_suffix(".json"), alpha_path(png)]
        if config.qa:
            outputs += [p for p in (png.with_name(f"{png.stem}_qa.json"), png.with_name(f"{png.stem}_qa_overlay.png"))
                        if p.exists()]
    return outputs


def _write_clips(out: Path, brief: Any, prep: _Prepared, sku: str, config: RunConfig, master_rgb: Any,
                 result: SkuResult) -> list[Path]:
    """Write the brief's motion clips (:mod:`packshot.motion.io`); returns the files they wrote."""
    from .motion.io import write_scene_clips

    outputs: list[Path] = []
    t0 = time.perf_counter()
    for clip in write_scene_clips(out, brief, prep.cutout, prep.maps, sku, prep.photo_sha256, config.render_backend,
                                  config.relight, config.qa, master_rgb, config.resume):
        result.clips.append(clip.files[0])
        outputs += [Path(f) for f in clip.files if Path(f).exists()]
        result.verdicts[str(clip.files[0])] = clip.verdict
    result.timings["motion"] = time.perf_counter() - t0
    return outputs


def _sku_record(key: Any, outputs: list[Path], sku_dir: Path, photo: Path, frames: list[Path],
                result: SkuResult) -> dict[str, Any]:
    """The SKU's run record: its key, the digests of its outputs, frames, flags, clips and verdicts."""
    verdicts = {_rel(Path(k), sku_dir): v for k, v in sorted(result.verdicts.items())}
    extra: dict[str, Any] = {}
    if result.clips:
        extra["clips"] = [_rel(c, sku_dir) for c in result.clips]
    if verdicts:
        extra["verdicts"] = verdicts
    return make_record(key, outputs, sku_dir, photo=str(photo), frames=[_rel(p, sku_dir) for p in frames],
                       flags=result.flags, **extra)


def _see_through(cutout: Any, maps: Any) -> tuple[Any, dict | None]:
    """A product flagged ``transparent``: its cut-out with the old backdrop taken out of the glass
    (:func:`packshot.render.transmission.see_through_cutout`) and the record (``applied`` False and
    the reason when nothing changed); any other product: as is and None."""
    if not maps.has_flag("transparent"):
        return cutout, None
    from .render import see_through_cutout

    boxes = tuple(line.box for line in maps.text) if maps.text else ()
    new, info = see_through_cutout(cutout, boxes)
    info = {k: v for k, v in info.items() if k != "config"}  # the record (why nothing changed, when so)
    return (new, info) if info.get("applied") else (cutout, info)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _log_timings(sku_dir: Path, photo: Path, timings: dict[str, float]) -> None:
    """Append this run's wall-clock timings to ``<sku>/run.log`` (a log, not an output: it differs run to run)."""
    line = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "photo": str(photo),
                       "timings_s": {k: round(v, 4) for k, v in timings.items()}}, sort_keys=True)
    try:
        sku_dir.mkdir(parents=True, exist_ok=True)
        with open(sku_dir / RUN_LOG, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    except OSError:
        pass


def _batch_size(spec: Any, config: RunConfig) -> int:
    """How many frames of one scene go to the renderer together: the renderer's registered
    ``batch`` trait (the diffusion renderer paints variants in one model call), else 1."""
    from .render import RENDERERS

    name = "plate" if spec.plate is not None else (spec.provenance.get("renderer") or config.render_backend)
    return max(1, int(RENDERERS.trait(name, "batch", 1)))


def _scaled_prompt(prompt: Any, factor: int) -> Any:
    """A prompt file's box and points (photo pixels) in the working image's pixels."""
    if prompt is None or factor == 1:
        return prompt
    import dataclasses

    box = None if prompt.box is None else tuple(int(round(v / factor)) for v in prompt.box)
    points = tuple((x / factor, y / factor, label) for x, y, label in prompt.points)
    return dataclasses.replace(prompt, box=box, points=points)


def _with_provenance(frame: Any, **extra: Any) -> Any:
    import dataclasses

    prov = dict(frame.provenance)
    prov.update(extra)
    return dataclasses.replace(frame, provenance=prov)


def _existing_frame(out: Path, spec: Any, key: str) -> Path | None:
    """The PNG of a frame already written for ``spec`` with run key ``key`` whose recorded
    outputs (PNG and alpha, sha256 and size in its sidecar) are intact; else None."""
    from .render.io import frame_paths

    from .framerecord import read_record

    png, sidecar = frame_paths(out, spec)
    try:
        data = read_record(sidecar)
    except (OSError, ValueError):  # missing, broken or of a newer version: the frame is redone
        return None
    record = {"key": (data.get("provenance") or {}).get("run_key", ""), "outputs": data.get("outputs")}
    if verify_record(record, sidecar.parent, key) or png.name not in (data.get("outputs") or {}):
        return None
    return png


def check_frame(sidecar: str | Path, master_rgb: Any = None, overlay: bool = True,
                max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Any:
    """Run the fidelity checks on one written frame; write ``<variant>_qa.json`` (and the overlay)
    beside it, atomically. Returns the :class:`packshot.types.QAReport`."""
    from .qa.frames import check_frame_file

    report, _ = check_frame_file(Path(sidecar), master_rgb, overlay=overlay, max_pixels=max_pixels)
    return report


def _qa_frame(sidecar: Path, master_rgb: Any, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> str:
    # the cut-out is at the photo's size: it is read under the run's own pixel limit
    return check_frame(sidecar, master_rgb, max_pixels=max_pixels).verdict


# ---------------------------------------------------------------------------------------------
# Parts of the line on their own, for ``packshot render`` (frames from a cut-out written earlier)
# and ``packshot inspect`` (cut out and measure, no frames). Same run keys and resume as
# :func:`process_photo`: a frame or an inspected folder whose record matches its inputs and whose
# outputs are intact is not made again.
# ---------------------------------------------------------------------------------------------
INSPECT_RECORD = "inspect.json"


def _folder_key(folder: Path) -> dict[str, Any]:
    """sha256 and size of every file in a folder (not recursive), by name: a key part for a maps folder."""
    return {p.name: file_digest(p) for p in sorted(Path(folder).iterdir()) if p.is_file() and p.suffix != ".log"}


def render_cutout(cutout_path: str | Path, brief: Any, out_dir: str | Path, sku: str | None = None,
                  config: RunConfig = RunConfig(), maps_dir: str | Path | None = None,
                  master: str | Path | None = None) -> SkuResult:
    """Render, relight (and with ``config.qa`` check) the brief's frames around a cut-out PNG written
    earlier (``packshot cutout``, or ``<sku>/cutout.png`` of a run), into ``out_dir/<sku>/<scene>/``.

    The maps come from ``maps_dir`` (written by ``packshot inspect`` or a run; they must be at the
    cut-out's size), else they are measured from the cut-out. Each frame's run key covers the
    cut-out's bytes, the maps, the scene and the backends; with ``config.resume`` a frame whose
    sidecar records that key, with intact outputs, is skipped (listed in ``skipped``).
    ``config.segment_backend``, ``orientation`` and ``gate`` are not used (the cut-out is given).

    Raises
    ------
    InputError
        The cut-out cannot be read (or has no alpha, or is empty), or the maps belong to another cut-out.
    """
    from .condition import condition
    from .render import declared_shadow, render_many
    from .render.io import save_frame

    cutout_path = Path(cutout_path)
    sku = sku or sku_from_path(cutout_path)
    check_sku(sku, cutout_path)
    out = Path(out_dir)
    result = SkuResult(sku=sku, photo=cutout_path, cutout_path=cutout_path,
                       maps_dir=Path(maps_dir) if maps_dir is not None else None)
    t0 = time.perf_counter()
    cutout, maps, maps_key = _load_cutout_and_maps(cutout_path, maps_dir)
    result.timings["understand"] = time.perf_counter() - t0
    result.flags = [f.code for f in maps.flags]
    source = input_key({"cutout": file_digest(cutout_path)["sha256"], "maps": maps_key})
    master_rgb = load_image(master, max_pixels=config.max_pixels).rgb if master else None

    _, indexed = _split_resumed(out, condition(brief, cutout, maps, sku), source, config, result, master_rgb)
    pending = [(spec, fkey) for _, spec, fkey in indexed]
    t0 = time.perf_counter()
    for group in _batch_groups(pending, config):  # a scene's frames together, up to the renderer's batch
        rendered = render_many([spec for spec, _ in group], cutout, maps, backend=config.render_backend)
        for (spec, fkey), frame in zip(group, rendered):
            frame = _relit(frame, cutout, maps, config)
            shadow = declared_shadow(frame)  # a flat-lay's shadow layer is written with it, for qa
            frame = _with_provenance(frame.without_layers(), run_key=fkey)
            sidecar = Path(save_frame(out, frame, cutout_path, shadow=shadow))
            del frame
            result.frames.append(sidecar.with_suffix(".png"))
            if config.qa:
                result.verdicts[str(sidecar.with_suffix(".png"))] = _qa_frame(sidecar, master_rgb, config.max_pixels)
        del rendered
    result.timings["render"] = time.perf_counter() - t0
    return result


def _load_cutout_and_maps(cutout_path: Path, maps_dir: str | Path | None) -> tuple[Any, Any, Any]:
    """The cut-out PNG, its maps (read from ``maps_dir``, else measured) and the maps' key part
    (the folder's file digests, or ``"measured"``)."""
    from .segment.io import load_cutout
    from .understand import understand
    from .understand.io import load_maps

    cutout = load_cutout(cutout_path)
    if cutout.is_empty:
        raise EmptyProductError(cutout_path, "the cut-out is empty (fully transparent): no product to render")
    if maps_dir is None:
        return cutout, understand(cutout), "measured"
    maps = load_maps(maps_dir)
    if maps.depth.shape != cutout.alpha.shape:
        raise InputError(maps_dir, f"maps are {maps.depth.shape[1]}x{maps.depth.shape[0]} but the cut-out is "
                                   f"{cutout.alpha.shape[1]}x{cutout.alpha.shape[0]}: they belong to another "
                                   f"cut-out")
    return cutout, maps, _folder_key(Path(maps_dir))


@dataclass
class InspectResult:
    """What :func:`inspect_photo` wrote (or found up to date) in its folder."""

    photo: Path
    folder: Path
    skipped: bool = False
    """True when the folder was up to date and nothing was redone."""
    flags: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    """The label text lines read."""
    size: tuple[int, int] | None = None


def inspect_photo(photo: str | Path, folder: str | Path, config: RunConfig = RunConfig(),
                  depth_backend: str = "inflate", ocr: bool = True) -> InspectResult:
    """Cut out one photo (or take an RGBA cut-out PNG's alpha as the product) and measure it into
    ``folder``: the maps (:func:`packshot.understand.io.save_maps`), ``overview.png`` and the record
    ``inspect.json`` (key of the photo's bytes, backends and options, sha256 of every output),
    written last. With ``config.resume`` a folder whose record matches and whose outputs are intact
    is left as it is (``skipped``). Uses ``config.segment_backend`` and ``config.max_pixels``.

    Raises
    ------
    InputError
        The photo cannot be read, or no product was found in it.
    """
    from dataclasses import replace

    from . import __version__
    from .understand import UnderstandConfig, understand
    from .understand.io import save_maps
    from .understand.overview import save_overview

    photo, folder = Path(photo), Path(folder)
    digest = _photo_digest(photo)
    fields = {"packshot": __version__, "segment": config.segment_backend, "depth": depth_backend, "ocr": bool(ocr)}
    key = input_key({**fields, "photo": digest["sha256"]}) if digest is not None else None
    if config.resume and key is not None:
        try:
            record = load_document(folder / INSPECT_RECORD, "inspect record", fmt="json")[0]
        except (OSError, ValueError):
            record = None
        if isinstance(record, dict) and is_up_to_date(record, key, folder):
            return InspectResult(photo, folder, skipped=True, flags=list(record.get("flags", [])),
                                 text=list(record.get("text", [])), size=tuple(record.get("size") or ()) or None)
    image = load_image(photo, max_pixels=config.max_pixels)
    if image.alpha is not None and float(image.alpha.min()) < 0.5:
        # an RGBA cut-out: its alpha channel is the product (its facts, if packshot wrote it,
        # come back from the PNG; the "photo" is the cut-out over its recorded backdrop)
        from .segment.io import load_cutout

        cutout = load_cutout(photo)
        cutout = replace(cutout, flags=tuple(cutout.flags) + ("input-alpha",),
                         provenance={**dict(cutout.provenance), "source": str(photo), "source_sha256": image.sha256})
    else:
        from .segment import segment

        cutout = segment(image, backend=config.segment_backend)
    del image
    if cutout.is_empty:
        raise EmptyProductError(photo, "no product found in the photo (the cut-out is empty)")
    if digest is None or key is None:  # not a regular file: key what was read
        key = input_key({**fields, "photo": cutout.provenance.get("source_sha256") or str(photo)})
    maps = understand(cutout, UnderstandConfig(depth_backend=depth_backend, ocr=ocr))
    folder.mkdir(parents=True, exist_ok=True)
    overview = save_overview(folder / "overview.png", cutout, maps,
                             title=f"{photo.name}  ({cutout.size[0]} x {cutout.size[1]} px)")
    paths = save_maps(folder, maps, cutout)
    result = InspectResult(photo, folder, flags=[f.code for f in maps.flags], text=[t.text for t in maps.text],
                           size=tuple(cutout.size))
    # the record last: its presence (with intact outputs) means the folder is complete
    record = make_record(key, [overview, *(p for n, p in sorted(paths.items()) if n != "log")], folder,
                         photo=str(photo), flags=result.flags, text=result.text, size=list(cutout.size))
    atomic_write_text(folder / INSPECT_RECORD, json.dumps(record, indent=2, sort_keys=True) + "\n")
    return result
