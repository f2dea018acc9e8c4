"""Planning: manifest rows x brief scenes x variants x profiles -> units with input/config hashes,
and the tasks the engines run.

Keys chain through the graph, so a change reaches exactly the units downstream of it::

    cutout  = H(photo sha256, segment backend, prompt (a box drawn in review wins), pixel limit)
    maps    = H(cutout)
    frame   = H(maps, scene digest, variant, size, renderer, relight[, seed of a re-render request])
    qa      = H(frame, master sha256)
    export  = H(frame, profile definition, upscaler, destination)

A scene's digest covers that scene of the brief only (with its defaults applied): changing
one scene's lighting changes that scene's frame keys and nothing else. The package version is
in every key (a new packshot may draw different pixels).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from .. import __version__
from .store import Unit


def digest(*parts: Any) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([__version__, *parts], sort_keys=True, default=_default).encode())
    return h.hexdigest()


def _default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    return repr(value)


def scene_digest(scene: Any) -> str:
    """Hash of one scene of a brief (defaults applied); plates and references by their sha256."""
    fields = {}
    for f in dataclasses.fields(scene):
        value = getattr(scene, f.name)
        if f.name == "plate":
            value = None if value is None else {"path": value.path, "sha256": value.sha256}
        elif f.name == "references":
            value = [{"path": r.path, "sha256": r.sha256} for r in value]
        elif f.name == "pose" and value == "auto":
            continue  # the default joins no key (existing keys stay valid); "keep" changes the scene's frames
        fields[f.name] = value
    return digest("scene", fields)


def profile_digest(profile: Any) -> str:
    d = profile.to_dict() if hasattr(profile, "to_dict") else dataclasses.asdict(profile)
    return digest("profile", d)


@dataclass(frozen=True)
class RunSettings:
    """Settings of a catalogue run that change outputs (everything here is in some key)."""

    segment_backend: str = "auto"
    """Segment backend (a manifest row may override it)."""
    render_backend: str = "studio"
    """Renderer for scenes without a plate."""
    relight: bool = True
    """Run the relight pass."""
    qa: bool = True
    """Check every frame against its cut-out and master artwork."""
    qa_overlay: bool = True
    """Write the QA overlay image beside each QA report."""
    max_pixels: int = 100_000_000
    """Pixel limit for input photos."""
    upscaler: str | None = "realesrgan"
    """Super-resolution for exports below a profile's minimum (None: plain interpolation)."""
    template: str = "{sku}_{scene}_{variant}_{profile}.{ext}"
    """Export file name template."""
    dest: str | None = None
    """Extra fsspec destination for exported files (they always go to DIR/export too)."""
    credentials: str | None = None
    """Credentials folder: sign Content Credentials (C2PA) into every exported file (see
    :mod:`packshot.credentials`); profiles with ``keeps_metadata: false`` also get a ``.c2pa``
    sidecar. Signed files carry the signing time, so their bytes differ from run to run."""
    orientation: str = "auto"
    """Turn the cut-out upright: auto (label text, then shape), keep, or 0/90/180/270 (clockwise)."""
    gate: bool = True
    """Stop a SKU whose cut-out fails the plausibility gate ("needs a prompt")."""
    relight_model: str | None = None
    """A model relight backend run after the embedded pass (``iclight:FOLDER``)."""
    seed: int | None = None
    """A seed for every scene in place of the brief's (``--seed``), or None."""

    def scene(self, scene: Any) -> Any:
        """The brief's scene as this run paints it (``seed`` applied)."""
        return scene if self.seed is None else dataclasses.replace(scene, seed=int(self.seed))


@dataclass(frozen=True)
class FrameJob:
    """What to do for one frame inside a scene task."""

    frame: str
    """Frame id ``sku/scene/variant``."""
    variant: str
    render: bool
    qa: bool
    profiles: tuple[str, ...]
    """Profiles to export (the ones whose export unit is not up to date)."""
    frame_key: str
    seed: int | None = None
    """Seed in place of the scene's (an applied re-render request), or None."""


@dataclass(frozen=True)
class PrepTask:
    """Cut-out and maps of one SKU's photo."""

    sku: str
    photo: str
    """Path under DIR (``sources/<sha256>.<ext>``)."""
    out_dir: str
    segment_backend: str
    prompt: Any
    max_pixels: int
    cutout: bool
    maps: bool
    cutout_unit: str
    maps_unit: str
    cutout_key: str
    orientation: str = "auto"
    gate: bool = True

    @property
    def unit_ids(self) -> tuple[str, ...]:
        return tuple(u for u, need in ((self.cutout_unit, self.cutout), (self.maps_unit, self.maps)) if need)


@dataclass(frozen=True)
class SceneTask:
    """Frames, QA and exports of one scene of one SKU."""

    sku: str
    scene: str
    brief: str
    """Path of the brief file."""
    out_dir: str
    master: str | None
    """Master artwork under DIR, or None."""
    settings: RunSettings
    frames: tuple[FrameJob, ...]
    profiles: tuple[str, ...]
    """Every profile of this SKU (for the export order)."""
    unit_ids: tuple[str, ...] = ()
    after: str | None = None
    """Prep task this one waits for (its SKU id), or None when the cut-out is up to date."""
    title: str = ""
    """The SKU's title from the manifest (the alt text of signed exports names it)."""
    photo: str | None = None
    """The photo's own path, recorded in each frame's provenance (``packshot run``), or None."""


@dataclass
class Plan:
    units: list[Unit] = field(default_factory=list)
    todo: set[str] = field(default_factory=set)
    prep: dict[str, PrepTask] = field(default_factory=dict)
    scenes: list[SceneTask] = field(default_factory=list)
    row_errors: list[Any] = field(default_factory=list)
    skus: list[dict] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)
    """Export units held back for review (not in ``todo``): unit id -> why."""

    @property
    def total(self) -> int:
        return len(self.units)


def unit_id(kind: str, sku: str, *rest: str) -> str:
    return f"{kind}:{'/'.join((sku,) + tuple(rest))}"


def up_to_date(current: Mapping[str, tuple[str, str, str]], out_dir: Path, uid: str, key: str,
               verify: bool = False) -> bool:
    """Done with the same key, and every recorded output intact.

    Intact is :func:`packshot.integrity.verify_outputs` (size, then sha256). A file whose size and
    mtime are the ones recorded when it was written is trusted without reading it (so a rerun of
    a large catalogue takes seconds), unless ``verify``; any other file is hashed.
    """
    from ..integrity import verify_outputs

    have = current.get(uid)
    if not have or have[0] != key or have[1] != "done":
        return False
    try:
        outputs = json.loads(have[2] or "{}")
    except ValueError:
        return False
    if not outputs:
        return False
    to_hash = {}
    for rec in outputs.values():
        p = out_dir / rec["path"]
        try:
            st = p.stat()
        except OSError:
            return False
        if st.st_size != rec.get("bytes", -1):
            return False
        if verify or st.st_mtime_ns != rec.get("mtime_ns"):
            to_hash[rec["path"]] = {"sha256": rec.get("sha256", ""), "size": rec.get("bytes", -1)}
    return not (to_hash and verify_outputs(to_hash, out_dir))


def build_plan(rows: Sequence[Any], briefs: Mapping[str, Any], default_brief: str, default_profiles: Sequence[str],
               settings: RunSettings, out_dir: Path, current: Mapping[str, tuple[str, str, str]],
               sources: Mapping[str, dict], force: bool = False, verify: bool = False,
               decisions: Mapping[str, Mapping[str, Any]] | None = None,
               overrides: Mapping[tuple[str, str], Any] | None = None) -> Plan:
    """Units and tasks for every SKU row.

    Parameters
    ----------
    rows : manifest :class:`~packshot.catalogue.manifest.SkuRow` objects.
    briefs : brief path -> parsed Brief (every brief a row names, and the default).
    sources : sku -> {"photo": rel path, "photo_sha256", "master": rel path or None, "master_sha256"}.
    current : the store's ``{unit id: (key, status, outputs)}``.
    decisions : the newest review decision of each frame (the job store's ``decisions`` rows); used
        for SKUs whose review is required (see :mod:`packshot.catalogue.review`).
    overrides : applied re-render requests: ``{(frame id, "seed"): int, (sku, "prompt"): {"box": ...}}``.
    """
    planner = _Planner(settings, out_dir, current, force, verify, decisions or {}, overrides or {})
    for row in rows:
        planner.add_row(row, briefs, default_brief, default_profiles, sources[row.sku])
    return planner.plan


@dataclass
class _Row:
    """What the units of one SKU row share while it is planned."""

    row: Any
    src: dict
    brief_path: str
    cut_id: str
    maps_id: str
    maps_key: str
    need_maps: bool
    gated: bool
    profiles: tuple[str, ...]
    profile_keys: dict[str, tuple[str, str]]
    """Resolved profile name -> (name as the row gave it, profile digest)."""


class _Planner:
    """Builds a :class:`Plan` row by row (the steps of :func:`build_plan`)."""

    def __init__(self, settings: RunSettings, out_dir: Path, current: Mapping[str, tuple[str, str, str]],
                 force: bool, verify: bool, decisions: Mapping[str, Mapping[str, Any]],
                 overrides: Mapping[tuple[str, str], Any]) -> None:
        self.settings, self.out_dir, self.current = settings, out_dir, current
        self.force, self.verify = force, verify
        self.decisions, self.overrides = decisions, overrides
        self.plan = Plan()
        self._profiles: dict[str, tuple[str, str]] = {}

    def prof(self, name: str) -> tuple[str, str]:
        """A profile's canonical name and digest (each profile resolved once)."""
        from ..export import get_profile

        if name not in self._profiles:
            p = get_profile(name)
            self._profiles[name] = (p.name, profile_digest(p))
        return self._profiles[name]

    def need(self, uid: str, key: str) -> bool:
        return self.force or not up_to_date(self.current, self.out_dir, uid, key, self.verify)

    def add_row(self, row: Any, briefs: Mapping[str, Any], default_brief: str, default_profiles: Sequence[str],
                src: dict) -> None:
        """The units and tasks of one SKU row (a row naming scenes its brief lacks is a row error)."""
        from .manifest import RowError
        from .review import review_required

        brief_path = str(row.brief) if row.brief else default_brief
        brief = briefs[brief_path]
        scenes = list(brief.scenes)
        if row.scenes:
            names = {s.name for s in scenes}
            unknown = [s for s in row.scenes if s not in names]
            if unknown:
                self.plan.row_errors.append(RowError(str(row.data.get("__source__", "manifest")), row.row, "scenes",
                                                     f"not in the brief {brief_path}: {', '.join(unknown)}", row.sku))
                return
            scenes = [s for s in scenes if s.name in row.scenes]
        cut_id, maps_id, maps_key, need_maps = self._prep_units(row, src)
        names_given = row.profiles or default_profiles
        ctx = _Row(row, src, brief_path, cut_id, maps_id, maps_key, need_maps, review_required(row, brief),
                   tuple(self.prof(p)[0] for p in names_given),
                   {self.prof(p)[0]: (p, self.prof(p)[1]) for p in names_given})
        for scene in map(self.settings.scene, scenes):
            self._add_scene(ctx, scene)

    def _prep_units(self, row: Any, src: dict) -> tuple[str, str, str, bool]:
        """The cut-out and maps units of a row (and its prep task when either is to be made);
        returns their ids, the maps key and whether the maps are made."""
        from .manifest import parse_prompt

        settings, plan = self.settings, self.plan
        seg = row.segment or settings.segment_backend
        prompt = row.prompt
        if (row.sku, "prompt") in self.overrides:  # a box drawn in the review app wins over the manifest's
            prompt = parse_prompt(self.overrides[(row.sku, "prompt")])
        # orientation and gate join the key only when not the defaults (existing keys stay valid)
        turn = (({"orientation": settings.orientation, "gate": settings.gate},)
                if (settings.orientation, settings.gate) != ("auto", True) else ())
        cut_key = digest("cutout", src["photo_sha256"], seg, prompt.key() if prompt else None, settings.max_pixels,
                         *turn)
        maps_key = digest("maps", cut_key)
        cut_id, maps_id = unit_id("cutout", row.sku), unit_id("maps", row.sku)
        plan.units.append(Unit(cut_id, "cutout", row.sku, cut_key, (), input_hash=src["photo_sha256"],
                               config_hash=digest(seg, prompt.key() if prompt else None, settings.max_pixels,
                                                  *turn)))
        plan.units.append(Unit(maps_id, "maps", row.sku, maps_key, (cut_id,), input_hash=cut_key,
                               config_hash=digest("maps")))
        need_cut = self.need(cut_id, cut_key)
        need_maps = need_cut or self.need(maps_id, maps_key)
        if need_cut or need_maps:
            plan.prep[row.sku] = PrepTask(row.sku, src["photo"], str(self.out_dir), seg, prompt, settings.max_pixels,
                                          need_cut, need_maps, cut_id, maps_id, cut_key,
                                          settings.orientation, settings.gate)
            if need_cut:
                plan.todo.add(cut_id)
            plan.todo.add(maps_id)
        return cut_id, maps_id, maps_key, need_maps

    def _add_scene(self, ctx: _Row, scene: Any) -> None:
        """The frame, qa and export units of one scene, and its task when any is to be done."""
        from ..condition import variant_name

        row, settings = ctx.row, self.settings
        sdig = scene_digest(scene)
        backend = "plate" if scene.plate is not None else settings.render_backend
        jobs: list[FrameJob] = []
        ids: list[str] = []
        several = len(scene.sizes) > 1
        for v in range(scene.variants):
            for size in scene.sizes:
                vname = variant_name(v, size, several)
                fid = f"{row.sku}/{scene.name}/{vname}"
                seed = self.overrides.get((fid, "seed"))
                seed = None if seed is None else int(seed)
                fparts: list[Any] = [ctx.maps_key, sdig, v, list(size), backend, settings.relight]
                if seed is not None:
                    fparts.append({"seed": seed})
                if settings.relight_model:
                    fparts.append({"relight_model": settings.relight_model})
                job = self._add_frame(ctx, scene.name, vname, fid, seed, fparts, ids)
                if job is not None:
                    jobs.append(job)
        if jobs:
            self.plan.todo.update(ids)
            self.plan.scenes.append(SceneTask(
                sku=row.sku, scene=scene.name, brief=ctx.brief_path, out_dir=str(self.out_dir),
                master=ctx.src.get("master"), settings=settings, frames=tuple(jobs), profiles=ctx.profiles,
                unit_ids=tuple(sorted(ids)), after=row.sku if row.sku in self.plan.prep else None,
                title=getattr(row, "title", "") or "", photo=(row.data or {}).get("run_photo")))

    def _add_frame(self, ctx: _Row, scene: str, vname: str, fid: str, seed: int | None, fparts: list[Any],
                   ids: list[str]) -> FrameJob | None:
        """The units of one frame (frame, qa, one export per profile); the ids to do go into ``ids``.
        Returns the frame's job, or None when nothing of it is to be done."""
        from .review import hold_reason

        row, settings, plan, src = ctx.row, self.settings, self.plan, ctx.src
        fkey = digest("frame", *fparts)
        frame_uid = unit_id("frame", row.sku, scene, vname)
        plan.units.append(Unit(frame_uid, "frame", row.sku, fkey, (ctx.cut_id, ctx.maps_id), scene, vname,
                               frame=fid, input_hash=ctx.maps_key, config_hash=digest(*fparts[1:])))
        render = ctx.need_maps or self.need(frame_uid, fkey)
        qa = False
        if settings.qa:
            qkey = digest("qa", fkey, src.get("master_sha256"), settings.qa_overlay)
            qa_uid = unit_id("qa", row.sku, scene, vname)
            plan.units.append(Unit(qa_uid, "qa", row.sku, qkey, (frame_uid,), scene, vname,
                                   frame=fid, input_hash=fkey,
                                   config_hash=digest(src.get("master_sha256"), settings.qa_overlay)))
            qa = render or self.need(qa_uid, qkey)
            if qa:
                ids.append(qa_uid)
        held = hold_reason(self.decisions.get(fid), fkey, render) if ctx.gated else None
        todo_profiles = self._add_exports(ctx, scene, vname, fid, fkey, frame_uid, render, held, ids)
        if render:
            ids.append(frame_uid)
        if render or qa or todo_profiles:
            return FrameJob(fid, vname, render, qa, tuple(todo_profiles), fkey, seed)
        return None

    def _add_exports(self, ctx: _Row, scene: str, vname: str, fid: str, fkey: str, frame_uid: str, render: bool,
                     held: Any, ids: list[str]) -> list[str]:
        """One export unit per profile of a frame; returns the profiles (as the row named them) to export."""
        row, settings = ctx.row, self.settings
        # credentials join the key only when given: unsigned runs keep their keys
        # (signed exports embed the alt text, which names the title)
        signed = ((("credentials", settings.credentials, getattr(row, "title", "") or ""),)
                  if settings.credentials else ())
        todo_profiles = []
        for pname in ctx.profiles:
            spec, pdig = ctx.profile_keys[pname]
            ekey = digest("export", fkey, pdig, settings.upscaler, settings.template, settings.dest, *signed)
            e_uid = unit_id("export", row.sku, scene, vname, pname)
            self.plan.units.append(Unit(e_uid, "export", row.sku, ekey, (frame_uid,), scene, vname, pname, fid,
                                        input_hash=fkey, config_hash=digest(pdig, settings.upscaler,
                                                                            settings.template, settings.dest,
                                                                            *signed)))
            if held is not None:
                self.plan.held[e_uid] = held
            elif render or self.need(e_uid, ekey):
                todo_profiles.append(spec)
                ids.append(e_uid)
        return todo_profiles


__all__ = ["FrameJob", "Plan", "PrepTask", "RunSettings", "SceneTask", "build_plan", "digest", "profile_digest",
           "scene_digest", "unit_id", "up_to_date"]
