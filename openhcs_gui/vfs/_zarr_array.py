"""Raw zarr array I/O: metadata JSON, chunk keys, encode/decode with numcodecs.

The zarr backend writes its own field arrays without going through
zarr-python's write path: a chunk is encoded with the numcodecs codec in a
worker thread (Blosc and zlib release the GIL) and written atomically under
the exact key zarr expects, so zarr-python, ome-zarr-py and napari read it
back unchanged. Doing it ourselves is what lets a whole-plate write run at the
codec's own speed instead of zarr-python's (see issue 3, "Speed").

:class:`RawArray` reads back only arrays this package wrote: they carry the
:data:`OURS_ATTR` marker in their array attributes (v2 ``.zattrs`` beside
``.zarray``, v3 ``attributes`` in ``zarr.json``), and every chunk of them was
written, so a missing chunk file is an error, never zeros (issue 12 item 7).
Arrays written by anyone else are read through zarr-python
(:class:`ZarrPyArray`), which honours ``fill_value``, sharding and any codec.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

import numcodecs
import numpy as np
from numcodecs.abc import Codec

from openhcs_gui.config import ZarrConfig
from openhcs_gui.constants import ZarrChunkStrategy, ZarrCompressor
from openhcs_gui.errors import PathNotFoundError

__all__ = [
    "OURS_ATTR",
    "MissingChunkError",
    "PlaneArray",
    "RawArray",
    "ZarrPyArray",
    "make_codec",
    "open_plane_array",
    "atomic_write",
    "read_json",
]

_V3_COMPRESSORS = {"blosc", "gzip", "zstd"}

#: Array attribute that marks an array written by this package's raw writer.
OURS_ATTR = "openhcs_gui"
_MARKER: dict[str, Any] = {OURS_ATTR: {"writer": "openhcs_gui", "layout": 1}}


_MARKER_V2 = json.dumps(_MARKER).encode()


class MissingChunkError(PathNotFoundError):
    """A chunk of an array we wrote is missing: the store lost data (never read as zeros)."""


def make_codec(config: ZarrConfig, dtype: np.dtype[Any], zarr_format: int) -> Codec | None:
    """The numcodecs codec ``config`` asks for (``None`` = uncompressed).

    zstd and lz4 go through Blosc with byte shuffle when ``config.shuffle``,
    because Blosc splits a chunk into blocks and compresses them without the
    GIL. zlib is plain zlib on zarr v2 and gzip on v3 (v3 has no zlib codec).
    """
    comp = config.compressor
    if comp == ZarrCompressor.NONE:
        return None
    if comp == ZarrCompressor.ZLIB:
        if zarr_format == 3:
            return numcodecs.GZip(level=config.compression_level)
        return numcodecs.Zlib(level=config.compression_level)
    cname = "zstd" if comp == ZarrCompressor.ZSTD else "lz4"
    shuffle = numcodecs.Blosc.SHUFFLE if config.shuffle else numcodecs.Blosc.NOSHUFFLE
    return numcodecs.Blosc(cname=cname, clevel=config.compression_level, shuffle=shuffle)


def atomic_write(path: str, data: bytes | memoryview) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder + ``os.replace``.

    A reader (or a crash) never sees half a chunk. Missing parent folders are
    created on the first failure only, so the common case costs no ``stat``.
    """
    try:
        _atomic_write(path, data)
    except OSError as e:
        if e.filename is None:  # os.write does not say which file
            e.filename = path
        raise


def _atomic_write(path: str, data: bytes | memoryview) -> None:
    tmp = f"{path}.{os.getpid()}-{threading.get_ident()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(tmp, flags, 0o666)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(tmp, flags, 0o666)
    try:
        view = memoryview(data).cast("B")
        while view:
            written = os.write(fd, view)
            view = view[written:]
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)


def read_json(path: str) -> dict[str, Any] | None:
    """Parsed JSON object at ``path``, or ``None`` when the file does not exist."""
    try:
        with open(path, "rb") as f:
            value = json.loads(f.read())
    except FileNotFoundError:
        return None
    return value if isinstance(value, dict) else None


class PlaneArray(Protocol):
    """An opened image array that reads and writes 2-D planes by axis index."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]

    def read_plane(self, index: tuple[int, ...]) -> np.ndarray:
        """Plane at ``index`` (one int per non-``y, x`` axis)."""
        ...


@dataclass
class RawArray:
    """A zarr v2 or v3 array read and written chunk by chunk without zarr-python.

    Parameters
    ----------
    path
        Folder of the array (holds ``.zarray`` or ``zarr.json``).
    shape, chunks, dtype
        As in the array metadata; chunks must cover whole ``y, x`` planes.
    codec
        numcodecs codec, or ``None`` for raw bytes.
    zarr_format
        2 or 3.
    separator
        Chunk key separator (``"/"`` nests folders; ``"."`` is flat).
    v3_prefix
        v3 "default" chunk key encoding puts ``c`` in front of the key.
    """

    path: str
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype[Any]
    codec: Codec | None
    zarr_format: int = 2
    separator: str = "/"
    v3_prefix: bool = True
    dimension_names: tuple[str, ...] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    # ------------------------------------------------------------ creation
    @classmethod
    def for_field(
        cls, path: str, shape: tuple[int, ...], dtype: np.dtype[Any],
        config: ZarrConfig, zarr_format: int, axes: tuple[str, ...] = ("c", "z", "y", "x"),
    ) -> RawArray:
        """A field array (``axes``, e.g. ``(c, z, y, x)``) laid out as ``config.chunk_strategy`` says."""
        if config.chunk_strategy == ZarrChunkStrategy.WELL:
            chunks = tuple(shape)
        else:
            chunks = (*(1,) * (len(shape) - 2), shape[-2], shape[-1])
        dt = np.dtype(dtype).newbyteorder("<") if np.dtype(dtype).itemsize > 1 else np.dtype(dtype)
        return cls(path, tuple(shape), chunks, dt, make_codec(config, dt, zarr_format),
                   zarr_format, "/", True, tuple(axes))

    def resized(self, shape: tuple[int, ...], chunks: tuple[int, ...]) -> RawArray:
        """Same array with a new shape/chunk grid (metadata only; caller moves data)."""
        return RawArray(self.path, tuple(shape), tuple(chunks), self.dtype, self.codec,
                        self.zarr_format, self.separator, self.v3_prefix, self.dimension_names)

    def metadata(self) -> dict[str, Any]:
        """The ``.zarray`` (v2) or ``zarr.json`` (v3) document zarr-python writes."""
        fill: Any = self.dtype.type(0).item()
        if self.zarr_format == 2:
            return {
                "chunks": list(self.chunks),
                "compressor": self.codec.get_config() if self.codec is not None else None,
                "dimension_separator": self.separator,
                "dtype": self.dtype.str,
                "fill_value": fill,
                "filters": None,
                "order": "C",
                "shape": list(self.shape),
                "zarr_format": 2,
            }
        codecs: list[dict[str, Any]] = [{"name": "bytes", "configuration": {"endian": "little"}}]
        if self.codec is not None:
            codecs.append(_v3_codec_json(self.codec, self.dtype))
        meta: dict[str, Any] = {
            "shape": list(self.shape),
            "data_type": self.dtype.name,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(self.chunks)}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": self.separator}},
            "fill_value": fill,
            "codecs": codecs,
            "attributes": dict(_MARKER),
            "zarr_format": 3,
            "node_type": "array",
            "storage_transformers": [],
        }
        if self.dimension_names is not None:
            meta["dimension_names"] = list(self.dimension_names)
        return meta

    def write_metadata(self) -> None:
        """Write the array metadata file atomically, with our marker in its attributes.

        On zarr v2 the marker's ``.zattrs`` goes first, so an array whose
        ``.zarray`` exists is always recognised as ours.
        """
        if self.zarr_format == 2:
            atomic_write(os.path.join(self.path, ".zattrs"), _MARKER_V2)
        name = ".zarray" if self.zarr_format == 2 else "zarr.json"
        doc = json.dumps(self.metadata()).encode()
        atomic_write(os.path.join(self.path, name), doc)

    # --------------------------------------------------------------- chunks
    def chunk_path(self, index: tuple[int, ...]) -> str:
        """File path of the chunk at grid position ``index``."""
        key = self.separator.join(str(i) for i in index)
        if self.zarr_format == 3 and self.v3_prefix:
            key = f"c{self.separator}{key}"
        return os.path.join(self.path, *key.split("/"))

    def encode(self, chunk: np.ndarray) -> bytes | memoryview:
        """Encoded bytes of one full chunk (C order, little endian)."""
        data = np.ascontiguousarray(chunk, dtype=self.dtype)
        if self.codec is None:
            return data.data.cast("B")
        return self.codec.encode(data)  # type: ignore[no-any-return]

    def write_chunk(self, index: tuple[int, ...], chunk: np.ndarray) -> None:
        """Encode and atomically write one chunk (runs in a worker thread)."""
        atomic_write(self.chunk_path(index), self.encode(chunk))

    def read_chunk(self, index: tuple[int, ...]) -> np.ndarray:
        """Decoded chunk at ``index``.

        Raises
        ------
        MissingChunkError
            The chunk file does not exist: every chunk of an array we wrote
            was written, so its absence is lost data, not the fill value.
        """
        out = np.empty(self.chunks, dtype=self.dtype)
        path = self.chunk_path(index)
        try:
            with open(path, "rb") as f:
                if self.codec is None:
                    f.readinto(out.data.cast("B"))
                    return out
                raw = f.read()
        except FileNotFoundError as e:
            raise MissingChunkError(f"The chunk file {path} is missing.") from e
        self.codec.decode(raw, out=out)
        return out

    def plane_location(self, index: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(chunk grid index, index inside the chunk) of the plane at ``index``."""
        lead = self.chunks[:-2]
        grid = tuple(i // c for i, c in zip(index, lead, strict=True)) + (0, 0)
        inner = tuple(i % c for i, c in zip(index, lead, strict=True))
        return grid, inner

    def read_plane(self, index: tuple[int, ...]) -> np.ndarray:
        """The 2-D plane at ``index`` (a fresh array the caller owns)."""
        grid, inner = self.plane_location(index)
        chunk = self.read_chunk(grid)
        plane: np.ndarray = chunk[inner]
        if chunk.ndim > 2 and chunk.shape[:-2] != (1,) * (chunk.ndim - 2):
            plane = plane.copy()  # don't pin the whole decoded chunk
        if not plane.dtype.isnative:
            plane = plane.astype(plane.dtype.newbyteorder("="))
        return plane

    # -------------------------------------------------------------- opening
    @classmethod
    def from_metadata(cls, path: str, meta: dict[str, Any], zarr_format: int) -> RawArray | None:
        """A raw reader for ``meta``, or ``None`` when the layout needs zarr-python."""
        shape, dims = tuple(meta["shape"]), None
        if len(shape) < 2:
            return None
        if zarr_format == 2:
            if meta.get("order", "C") != "C" or meta.get("filters"):
                return None
            chunks, dtype = tuple(meta["chunks"]), np.dtype(meta["dtype"])
            comp = meta.get("compressor")
            codec = numcodecs.get_codec(comp) if comp else None
            sep, prefix = meta.get("dimension_separator", "."), False
        else:
            parsed = _parse_v3(meta)
            if parsed is None:
                return None
            chunks, dtype, codec, sep, prefix = parsed
            names = meta.get("dimension_names")
            dims = tuple(names) if names else None
        if dtype.hasobject or chunks[-2:] != shape[-2:]:
            return None
        return cls(path, shape, chunks, dtype, codec, zarr_format, sep, prefix, dims)


def _v3_codec_json(codec: Codec, dtype: np.dtype[Any]) -> dict[str, Any]:
    cfg = codec.get_config()
    if cfg["id"] == "blosc":
        shuffle = {0: "noshuffle", 1: "shuffle", 2: "bitshuffle"}[cfg["shuffle"]]
        return {"name": "blosc", "configuration": {
            "typesize": dtype.itemsize, "cname": cfg["cname"], "clevel": cfg["clevel"],
            "shuffle": shuffle, "blocksize": cfg.get("blocksize", 0)}}
    if cfg["id"] == "gzip":
        return {"name": "gzip", "configuration": {"level": cfg["level"]}}
    raise ValueError(f"Codec {cfg['id']!r} has no zarr v3 equivalent here.")


def _parse_v3(meta: dict[str, Any]) -> tuple[Any, ...] | None:
    """(chunks, dtype, codec, separator, prefix) for plain v3 arrays, else None."""
    grid = meta.get("chunk_grid", {})
    if grid.get("name") != "regular" or meta.get("storage_transformers"):
        return None
    try:
        dtype = np.dtype(meta["data_type"])
    except TypeError:
        return None
    codecs = meta.get("codecs", [])
    if not codecs or codecs[0].get("name") != "bytes":
        return None
    if codecs[0].get("configuration", {}).get("endian", "little") != "little" and dtype.itemsize > 1:
        return None
    codec: Codec | None = None
    if len(codecs) == 2 and codecs[1].get("name") in _V3_COMPRESSORS:
        name, cfg = codecs[1]["name"], codecs[1].get("configuration", {})
        if name == "blosc":
            shuffle = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}[cfg.get("shuffle", "noshuffle")]
            codec = numcodecs.Blosc(cname=cfg["cname"], clevel=cfg["clevel"], shuffle=shuffle)
        elif name == "gzip":
            codec = numcodecs.GZip(level=cfg.get("level", 5))
        else:
            codec = numcodecs.Zstd(level=cfg.get("level", 0))
    elif len(codecs) != 1:
        return None
    enc = meta.get("chunk_key_encoding", {"name": "default"})
    sep = enc.get("configuration", {}).get("separator")
    prefix = enc.get("name") == "default"
    sep = sep or ("/" if prefix else ".")
    dt = dtype.newbyteorder("<") if dtype.itemsize > 1 else dtype
    return tuple(grid["configuration"]["chunk_shape"]), dt, codec, sep, prefix


@dataclass
class ZarrPyArray:
    """Fallback reader: a zarr-python array opened once and kept (sharding, tiles, F order)."""

    array: Any
    shape: tuple[int, ...] = ()
    dtype: np.dtype[Any] = field(default_factory=lambda: np.dtype("u1"))
    dimension_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        self.shape = tuple(self.array.shape)
        self.dtype = np.dtype(self.array.dtype)

    def read_plane(self, index: tuple[int, ...]) -> np.ndarray:
        """The 2-D plane at ``index``."""
        return np.asarray(self.array[index])


def open_plane_array(path: str) -> RawArray | ZarrPyArray | None:
    """Open the array at ``path`` (v2 or v3) for plane reads, or ``None`` if absent.

    Arrays carrying our marker get the raw reader; every other array is read
    through zarr-python, so foreign stores keep their exact semantics.
    """
    meta = read_json(os.path.join(path, ".zarray"))
    fmt = 2
    if meta is None:
        meta = read_json(os.path.join(path, "zarr.json"))
        fmt = 3
        if meta is None or meta.get("node_type") != "array":
            return None
        attrs = meta.get("attributes") or {}
    else:
        attrs = read_json(os.path.join(path, ".zattrs")) or {}
    raw = RawArray.from_metadata(path, meta, fmt) if OURS_ATTR in attrs else None
    if raw is not None:
        return raw
    import zarr

    return ZarrPyArray(zarr.open_array(path, mode="r", zarr_format=2 if fmt == 2 else 3))
