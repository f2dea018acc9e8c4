"""``python -m packshot.demo``: the whole pipeline on a generated sample catalogue.

Generates five products (bottle, box, jar, can, pouch) with printed labels, runs the demo brief
(three scenes x two variants) through every stage, checks each frame against its master
artwork, exports the hero frames for Amazon (main image) and Meta (square) and checks the delivered
files against those profiles, renders one short clip for the first SKU from
``examples/briefs/motion.yaml`` (with the ``motion`` extra), and writes ``<out>/index.html``, a
contact sheet to open in a browser (the clip plays in it).
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BRIEF = REPO / "examples" / "briefs" / "demo.yaml"
MOTION_BRIEF = REPO / "examples" / "briefs" / "motion.yaml"


EXPORT_PROFILES = ("amazon-main", "meta-square")


def demo_credentials(out: Path):
    """A development CA and signer in ``out/credentials`` (made once, remade when unusable), or
    None when the ``credentials`` extra (c2pa-python) is not installed."""
    try:
        import c2pa  # noqa: F401

        from .credentials import CredentialsError, init_dev_credentials, load_credentials
    except ImportError:
        return None
    folder = out / "credentials"
    try:
        return load_credentials(folder)
    except CredentialsError:
        return init_dev_credentials(folder, overwrite=True)


def _check_credentials(path: Path) -> str:
    """``"c2pa: valid, untrusted signer"`` (packshot verify and c2pa's own Reader agree) or a failure."""
    import c2pa

    from .credentials.verify import verify_file

    v = verify_file(path)
    with c2pa.Reader(str(path)) as reader:
        state = reader.get_validation_state()
    if not v.valid or state not in ("Valid", "Trusted"):
        return f"fail: Content Credentials {state or 'missing'}: {'; '.join(v.problems) or v.error}"
    return "c2pa valid, " + ("trusted signer" if v.trusted else "untrusted signer")


def export_hero_frames(out: Path, sidecars: list[Path], product_text: dict | None = None) -> list[dict]:
    """Export the hero frames for marketplaces, signed with a development CA, and check each
    delivered file against its profile and its Content Credentials."""
    from .export.compliance.check import check_image
    from .export.delivery.deliver import export_frames
    from .export.compliance.profiles import get_profile

    dest = out / "export"
    creds = demo_credentials(out)
    if creds is None:
        print("Content Credentials: not signed (install the 'credentials' extra: c2pa-python)", file=sys.stderr)
    else:
        print(f"Content Credentials: signing with {creds.describe()}")
    result = export_frames(sidecars, EXPORT_PROFILES, dest, local_manifest=out / "export-manifest.json",
                           credentials=creds, product_text=product_text)
    rows = []
    for f in result.files:
        path = dest / f.path
        report = check_image(path, get_profile(f.profile))
        failed = [r.rule for r in report.rules if r.status == "fail"]
        verdict = "pass" if report.passed else "fail: " + ", ".join(failed)
        c2pa_status = _check_credentials(path) if creds is not None else "not signed"
        if c2pa_status.startswith("fail") and verdict == "pass":
            verdict = c2pa_status
        rows.append({"rel": path.relative_to(out).as_posix(), "label": f"{f.sku} / {f.profile}",
                     "verdict": verdict, "credentials": c2pa_status, "alt": f.alt_text,
                     "signer": creds.describe() if creds is not None else None})
    for failure in result.failures:
        rows.append({"rel": "", "label": str(getattr(failure, "frame", failure)), "verdict": f"fail: {failure}"})
    return rows


def render_demo_clip(out: Path, sku: str, brief_path: Path, photo: str | Path) -> dict:
    """One short clip for one SKU from the motion brief, from the cut-out and maps already written."""
    from .condition import load_brief
    from .imaging import load_image
    from .motion.io import write_scene_clips
    from .segment.io import load_cutout
    from .understand.io import load_maps

    sku_dir = out / "frames" / sku
    cutout = load_cutout(sku_dir / "cutout.png")
    maps = load_maps(sku_dir / "maps")
    (clip,) = write_scene_clips(out / "clips", load_brief(brief_path), cutout, maps, sku, load_image(photo).sha256,
                                check=True)
    files = {p.suffix: p.relative_to(out).as_posix() for p in clip.files}
    temporal = clip.record.get("qa", {}).get("temporal", {}).get("checks", {})
    return {"sku": sku, "mp4": files.get(".mp4"), "webm": files.get(".webm"), "poster": files.get(".jpg"),
            "verdict": clip.verdict, "frames": clip.record.get("frames"), "motion": clip.record.get("motion", {}),
            "flicker": temporal.get("flicker", {}).get("max"), "jitter": temporal.get("jitter", {}).get("max_px")}


def build_contact_sheet(out: Path, rows: list[dict], exports: list[dict] | None = None,
                        clips: list[dict] | None = None) -> Path:
    """Write ``out/index.html``: per SKU the photo, the cut-out, the overview and every frame."""
    from .imaging import atomic_write_text

    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>packshot demo</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:24px;background:#f4f4f4;color:#222}"
        "h2{margin:28px 0 8px}.row{display:flex;flex-wrap:wrap;gap:10px}"
        "figure{margin:0;background:#fff;padding:6px;border-radius:6px;box-shadow:0 1px 3px #0002}"
        "img{width:220px;height:auto;display:block}figcaption{font-size:12px;margin-top:4px;max-width:220px}"
        ".pass{color:#1a7f37}.review{color:#b26b00}.fail{color:#c62828}.flags{font-size:13px;color:#555}"
        ".badge{display:inline-block;padding:1px 6px;border-radius:9px;color:#fff;background:#b26b00;font-size:11px;"
        "font-weight:600}</style>",
        "</head><body><h1>packshot demo</h1>",
        "<p>Generated products, cut out, measured, placed in the scenes of the demo brief, relit and checked "
        "against their master artwork. Product pixels are locked; only the bounded relight changes them.</p>",
    ]
    for row in rows:
        parts.append(f"<h2>{html.escape(row['sku'])}</h2>")
        if row.get("error"):
            parts.append(f"<p class='fail'>failed: {html.escape(row['error'])}</p>")
            continue
        if row.get("flags"):
            parts.append(f"<p class='flags'>risk flags: {html.escape(', '.join(row['flags']))}</p>")
        if "orientation-uncertain" in (row.get("flags") or ()):
            parts.append("<p><span class='badge'>orientation uncertain</span> which way is up could not be told: "
                         "rendered as shot</p>")
        parts.append("<div class='row'>")
        for label, rel in row["assets"]:
            parts.append(f"<figure><img src='{html.escape(rel)}' loading='lazy'><figcaption>{html.escape(label)}</figcaption></figure>")
        for frame in row["frames"]:
            verdict = frame.get("verdict", "")
            cls = verdict if verdict in ("pass", "review", "fail") else ""
            parts.append(
                f"<figure><a href='{html.escape(frame['rel'])}'><img src='{html.escape(frame['rel'])}' loading='lazy'></a>"
                f"<figcaption>{html.escape(frame['label'])} <b class='{cls}'>{html.escape(verdict)}</b></figcaption></figure>"
            )
        parts.append("</div>")
    if exports:
        parts.append("<h2>marketplace export (hero frames), each file checked against its profile</h2>")
        signer = next((e.get("signer") for e in exports if e.get("signer")), None)
        parts.append("<p class='flags'>Content Credentials (C2PA): " + (
            f"every file is signed by {html.escape(signer)}. This development signer is UNTRUSTED: C2PA readers "
            "report it as such; check a file with <code>packshot verify FILE</code>." if signer else
            "not signed (install the 'credentials' extra).") + "</p><div class='row'>")
        for e in exports:
            cls = "pass" if e["verdict"] == "pass" else "fail"
            img = (f"<img src='{html.escape(e['rel'])}' alt='{html.escape(e.get('alt') or '')}' loading='lazy'>"
                   if e["rel"] else "")
            creds = f"<br><small>{html.escape(e['credentials'])}</small>" if e.get("credentials") else ""
            parts.append(f"<figure>{img}<figcaption>{html.escape(e['label'])} "
                         f"<b class='{cls}'>{html.escape(e['verdict'])}</b>{creds}</figcaption></figure>")
        parts.append("</div>")
    for c in clips or []:
        cls = c["verdict"] if c["verdict"] in ("pass", "review", "fail") else "fail"
        kinds = " + ".join(c["motion"].get("kinds", []))
        parts.append(f"<h2>motion clip: {html.escape(c['sku'])}</h2><div class='row'><figure>"
                     f"<video width='270' controls autoplay muted loop playsinline poster='{html.escape(c['poster'])}'>"
                     f"<source src='{html.escape(c['webm'])}' type='video/webm'>"
                     f"<source src='{html.escape(c['mp4'])}' type='video/mp4'></video>"
                     f"<figcaption>{html.escape(kinds)}, {c['frames']} frames, product pixels locked; flicker "
                     f"{c['flicker']} deltaE, path error {c['jitter']} px <b class='{cls}'>{html.escape(c['verdict'])}</b>"
                     f"</figcaption></figure></div>")
    parts.append("</body></html>")
    index = out / "index.html"
    atomic_write_text(index, "\n".join(parts))
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="packshot.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--brief", type=Path, default=DEFAULT_BRIEF)
    parser.add_argument("--size", type=int, default=768, help="Side of the generated sample photos.")
    parser.add_argument("--motion-brief", type=Path, default=MOTION_BRIEF,
                        help="Brief of the one clip rendered for the first SKU ('' to skip; needs PyAV).")
    args = parser.parse_args(argv)

    from .condition import load_brief
    from .pipeline import RunConfig, process_photo
    from .samples import make_catalogue

    t_start = time.perf_counter()
    out: Path = args.out
    samples_dir = out / "samples"
    catalogue = make_catalogue(samples_dir, size=(args.size, args.size))
    brief = load_brief(args.brief)
    config = RunConfig(qa=True)
    rows = []
    failures = 0
    for item in catalogue:
        sku = item["sku"]
        try:
            result = process_photo(item["photo"], brief, out / "frames", sku=sku, config=config, master=item["master"])
        except Exception as exc:  # the demo reports a failing SKU and goes on, like a batch
            failures += 1
            rows.append({"sku": sku, "error": f"{type(exc).__name__}: {exc}"})
            print(f"{sku}: FAILED {exc}", file=sys.stderr)
            continue
        frames = []
        for path in result.frames + result.skipped:
            rel = path.relative_to(out).as_posix()
            qa_json = path.with_name(path.stem + "_qa.json")
            verdict = result.verdicts.get(str(path), "")
            if not verdict and qa_json.exists():
                verdict = json.loads(qa_json.read_text()).get("verdict", "")
            frames.append({"rel": rel, "label": f"{path.parent.name} / {path.stem}", "verdict": verdict})
        assets = [("photo", Path(item["photo"]).relative_to(out).as_posix()),
                  ("cut-out", result.cutout_path.relative_to(out).as_posix())]
        overview = result.maps_dir / "overview.png"
        if overview.exists():
            assets.append(("understand overview", overview.relative_to(out).as_posix()))
        rows.append({"sku": sku, "flags": result.flags, "assets": assets, "frames": sorted(frames, key=lambda f: f["rel"])})
        print(f"{sku}: {len(result.frames)} frames, {len(result.skipped)} up to date "
              f"({', '.join(f'{k} {v:.1f}s' for k, v in result.timings.items())})")
    from .framerecord import find_records

    records, broken = find_records(out / "frames")  # a broken hero record is exported to fail with its reason
    heroes = sorted(p for p in [*records, *(q for q, _ in broken)]
                    if p.parent.name == "hero-white" and p.stem == "v0" and p.parents[2] == out / "frames")
    # catalogue titles for the alt text ("Meridian Cold Brew bottle on a seamless white sweep...")
    titles = {item["sku"]: {"title": f"{item['label'][0].title()} {item['label'][1]} {item['sku'].split('-')[0]}"}
              for item in catalogue if item.get("label")}
    exports = export_hero_frames(out, heroes, titles) if heroes else []
    failures += sum(1 for e in exports if e["verdict"] != "pass")
    clips = []
    first = next((r for r in rows if not r.get("error")), None)
    import importlib.util

    if str(args.motion_brief) not in ("", ".") and first is not None and importlib.util.find_spec("av") is None:
        print("clip skipped: video needs PyAV (pip install 'packshot[motion]')", file=sys.stderr)
    elif str(args.motion_brief) not in ("", ".") and first is not None:
        try:
            photo = next(i["photo"] for i in catalogue if i["sku"] == first["sku"])
            clips.append(render_demo_clip(out, first["sku"], args.motion_brief, photo))
            print(f"{first['sku']}: clip {clips[-1]['mp4']} ({clips[-1]['verdict']})")
        except Exception as exc:  # reported like a failing SKU; the stills are still delivered
            failures += 1
            print(f"{first['sku']}: clip FAILED {type(exc).__name__}: {exc}", file=sys.stderr)
        failures += sum(1 for c in clips if c["verdict"] == "fail")
    index = build_contact_sheet(out, rows, exports, clips)
    print(f"wrote {index} in {time.perf_counter() - t_start:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
