"""Writing and reading clips through PyAV (FFmpeg's libraries inside its wheel; no system ffmpeg).

H.264 (libx264, yuv420p, ``+faststart`` so the index sits before the media and a browser can
play while downloading) in ``.mp4`` and VP9 (libvpx) in ``.webm``. Frames are converted from
linear light to 8-bit sRGB with a table built from :func:`packshot.imaging.linear_to_srgb`
(the one place that defines the conversion), to BT.709 limited-range YUV once, and handed to
every encoder; nothing touches disk but the finished files, each written to a temporary name
and renamed (atomic).

PyAV is the optional extra ``motion`` (``pip install "packshot[motion]"``): its wheel bundles
libx264, which is GPL (see the README), so the default install does not pull it in.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import InputError
from ..imaging import linear_to_srgb8_fast as _linear_to_srgb8_table

CODECS = {"h264": ("libx264", "mp4"), "vp9": ("libvpx-vp9", "webm")}
"""Codec name -> (FFmpeg encoder, container)."""
SUFFIX_CODEC = {".mp4": "h264", ".webm": "vp9"}


def require_av():
    """Import PyAV or raise a one-line error naming the extra to install."""
    try:
        import av  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("video needs PyAV: pip install 'packshot[motion]'") from exc
    return av


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def linear_to_srgb8_fast(rgb: np.ndarray) -> np.ndarray:
    """8-bit sRGB of a linear H x W x 3 frame through a 16,384-step table (no dither: the
    encoder's quantisation would undo it): :func:`packshot.imaging.linear_to_srgb8_fast` with
    ``dither=False``."""
    return _linear_to_srgb8_table(rgb, dither=False)


@dataclass(frozen=True)
class EncodeSettings:
    """How the clips are encoded."""

    h264_crf: int = 18
    """libx264 constant rate factor (lower = better, 18 is visually lossless for most content)."""
    h264_preset: str = "veryfast"
    """libx264 speed preset."""
    vp9_crf: int = 32
    """libvpx-vp9 constant quality (lower = better)."""
    vp9_cpu_used: int = 8
    """libvpx-vp9 speed (realtime deadline), 0 slow .. 8 fastest."""
    threads: int = 2
    """Encoder threads per codec."""


class ClipWriter:
    """Encode frames to several files at once (``.mp4`` H.264, ``.webm`` VP9).

    Use as a context manager; :meth:`write` takes a linear float32 H x W x 3 frame. On success
    the files appear atomically at their paths; on an error none of them is left behind.
    """

    def __init__(self, paths: Sequence[str | Path], size: tuple[int, int], fps: int,
                 settings: EncodeSettings = EncodeSettings(), silent_audio: bool = False,
                 video_bitrate: int | None = None):
        av = require_av()
        w, h = int(size[0]), int(size[1])
        if w % 2 or h % 2:
            raise ValueError(f"size {w}x{h}: yuv420p video needs even width and height")
        if not isinstance(fps, int) or fps < 1:
            raise ValueError(f"fps must be a whole number >= 1, got {fps!r}")
        self.size, self.fps, self.settings = (w, h), fps, settings
        self.paths = [Path(p) for p in paths]
        self._outputs: list[tuple[Any, Any, Path, Path]] = []
        self._count = 0
        self._audio: list[tuple[Any, Any]] = []
        self._queue = None
        self._worker = None
        self._error: list[BaseException] = []
        try:
            for p in self.paths:
                codec = SUFFIX_CODEC.get(p.suffix.lower())
                if codec is None:
                    raise ValueError(f"{p}: unknown video suffix; use one of {', '.join(SUFFIX_CODEC)}")
                p.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=p.suffix, dir=p.parent)
                os.close(fd)
                os.chmod(tmp, _file_mode())  # mkstemp's 0600 would make the clip private
                encoder, fmt = CODECS[codec]
                options = {"fflags": "+bitexact"}
                if fmt == "mp4":
                    options["movflags"] = "+faststart"
                container = av.open(tmp, "w", format=fmt, options=options)
                stream = container.add_stream(encoder, rate=fps)
                stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
                cc = stream.codec_context
                cc.thread_count = settings.threads
                cc.color_range = 1  # limited ("tv") range, what players expect
                cc.colorspace = 1  # BT.709 matrix
                cc.color_primaries = 1
                cc.color_trc = 1  # BT.709 tag: what web players expect for sRGB-encoded frames
                if codec == "h264":
                    opts = {"preset": settings.h264_preset, "profile": "high", "flags": "+bitexact"}
                    if video_bitrate:  # a platform's bitrate floor: constant bitrate (filler keeps it up)
                        stream.bit_rate = int(video_bitrate)
                        b = str(int(video_bitrate))
                        opts.update({"x264-params": "nal-hrd=cbr:force-cfr=1", "minrate": b, "maxrate": b,
                                     "bufsize": str(2 * int(video_bitrate))})
                    else:
                        opts["crf"] = str(settings.h264_crf)
                else:
                    opts = {"deadline": "realtime", "cpu-used": str(settings.vp9_cpu_used), "row-mt": "1",
                            "flags": "+bitexact"}
                    if video_bitrate:
                        stream.bit_rate = int(video_bitrate)
                    else:
                        opts.update({"crf": str(settings.vp9_crf), "b": "0"})
                stream.options = opts
                if silent_audio:
                    audio = container.add_stream("aac" if fmt == "mp4" else "libopus", rate=48000)
                    audio.codec_context.layout = "stereo"
                    self._audio.append((container, audio))
                self._outputs.append((container, stream, Path(tmp), p))
        except BaseException:
            self._abort()
            raise

    def write(self, rgb_linear: np.ndarray) -> None:
        """Encode one linear-light float32 H x W x 3 frame (the array may be reused at once)."""
        self.write_srgb8(linear_to_srgb8_fast(rgb_linear))

    def write_srgb8(self, srgb8: np.ndarray) -> None:
        """Encode one 8-bit sRGB H x W x 3 frame.

        The encoders run in one worker thread (FFmpeg releases the GIL), so the next frame is
        rendered while this one is encoded; at most two frames wait in between.
        """
        h, w = srgb8.shape[:2]
        if (w, h) != self.size:
            raise ValueError(f"frame {self._count} is {w}x{h}, the clip is {self.size[0]}x{self.size[1]}")
        self._raise_worker_error()
        if self._worker is None:
            import queue
            import threading

            self._queue = queue.Queue(maxsize=2)
            self._worker = threading.Thread(target=self._encode_loop, name="packshot-clip-encoder", daemon=True)
            self._worker.start()
        self._queue.put((self._count, np.ascontiguousarray(srgb8)))
        self._count += 1

    def _encode_loop(self) -> None:
        import av

        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error:
                continue  # drain after a failure
            index, srgb8 = item
            try:
                frame = av.VideoFrame.from_ndarray(srgb8, format="rgb24")
                yuv = frame.reformat(format="yuv420p", dst_colorspace="itu709", dst_color_range="MPEG")
                for container, stream, _, _ in self._outputs:
                    yuv.pts = index
                    for packet in stream.encode(yuv):
                        container.mux(packet)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                self._error.append(exc)

    def _stop_worker(self) -> None:
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join()
            self._worker = None

    def _raise_worker_error(self) -> None:
        if self._error:
            raise RuntimeError(f"encoding failed: {self._error[0]}") from self._error[0]

    @property
    def frames_written(self) -> int:
        return self._count

    def _write_silence(self) -> None:
        import av

        total = int(round(self._count / self.fps * 48000))
        for container, stream in self._audio:
            n = stream.codec_context.frame_size or 1024
            pts = 0
            while pts < total:
                frame = av.AudioFrame.from_ndarray(np.zeros((2, n), np.float32), format="fltp", layout="stereo")
                frame.sample_rate = 48000
                frame.pts = pts
                pts += n
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)

    def close(self) -> list[Path]:
        self._stop_worker()
        if self._error:
            self._abort()
            raise RuntimeError(f"encoding failed: {self._error[0]}") from self._error[0]
        if self._count == 0:
            self._abort()
            raise ValueError("no frames were written: a clip needs at least one frame")
        self._write_silence()
        for container, stream, _, _ in self._outputs:
            for packet in stream.encode():
                container.mux(packet)
            container.close()
        done = []
        for _, _, tmp, final in self._outputs:
            os.replace(tmp, final)
            done.append(final)
        self._outputs = []
        return done

    def _abort(self) -> None:
        self._stop_worker()
        for container, _, tmp, _ in self._outputs:
            try:
                container.close()
            except Exception:  # noqa: BLE001 - cleaning up after the real error
                pass
            tmp.unlink(missing_ok=True)
        self._outputs = []

    def __enter__(self) -> "ClipWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._abort()


@dataclass(frozen=True)
class ClipFacts:
    """What a video file is, as read back by PyAV."""

    path: str
    container: str
    codec: str
    width: int
    height: int
    fps: float
    frames: int
    duration_s: float
    pix_fmt: str
    bitrate_bps: int
    bytes: int
    has_audio: bool
    audio_codec: str | None
    faststart: bool | None
    """mp4/mov: the index (moov) before the media (mdat); None for other containers."""

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


def _mp4_faststart(path: Path) -> bool | None:
    """True when the first top-level 'moov' box comes before the first 'mdat'."""
    with open(path, "rb") as f:
        pos = 0
        size_total = path.stat().st_size
        while pos + 8 <= size_total:
            f.seek(pos)
            head = f.read(16)
            size = int.from_bytes(head[:4], "big")
            kind = head[4:8]
            if size == 1:
                size = int.from_bytes(head[8:16], "big")
            if kind == b"moov":
                return True
            if kind == b"mdat":
                return False
            if size < 8:
                return None
            pos += size
    return None


def read_clip_facts(path: str | Path, count_frames: bool = True) -> ClipFacts:
    """Container, codec, size, frame rate, frame count, duration, bitrate, audio, faststart.

    The frame count is the container's (mp4 stores it) or, where it has none (webm), counted by
    decoding the video.

    Raises
    ------
    InputError
        The file is missing or is not a video PyAV can open.
    """
    av = require_av()
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "video file does not exist")
    try:
        with av.open(str(p)) as c:
            vs = [s for s in c.streams if s.type == "video"]
            if not vs:
                raise InputError(p, "has no video stream")
            v = vs[0]
            audio = [s for s in c.streams if s.type == "audio"]
            fps = float(v.average_rate or v.base_rate or 0)
            frames = int(v.frames or 0)  # the container's count (mp4 has one); else decode and count
            if frames == 0 and count_frames:
                for _ in c.decode(v):
                    frames += 1
            duration = float(c.duration / 1_000_000) if c.duration else (frames / fps if fps else 0.0)
            if v.duration is not None and v.time_base is not None:
                duration = float(v.duration * v.time_base)
            size = p.stat().st_size
            bitrate = int(c.bit_rate or (size * 8 / duration if duration else 0))
            fmt = c.format.name
            codec = v.codec_context.name
            return ClipFacts(str(p), fmt, codec, int(v.codec_context.width), int(v.codec_context.height), fps,
                             frames, duration, str(v.codec_context.pix_fmt), bitrate, size, bool(audio),
                             audio[0].codec_context.name if audio else None,
                             _mp4_faststart(p) if "mp4" in fmt or "mov" in fmt else None)
    except InputError:
        raise
    except Exception as exc:  # PyAV raises its own error classes for unreadable data
        raise InputError(p, f"cannot be read as a video ({exc})") from exc


def read_frames(path: str | Path, indices: Sequence[int] | None = None) -> list[np.ndarray]:
    """Decoded frames as 8-bit sRGB H x W x 3 arrays (all, or only ``indices``)."""
    av = require_av()
    want = None if indices is None else set(int(i) for i in indices)
    out = []
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if want is None or i in want:
                out.append(frame.to_ndarray(format="rgb24"))
    return out
