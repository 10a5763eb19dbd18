"""Maps of embeddings in 2D or 3D, UMAP or PCA, cached on disk with the fitted reducer; new clips placed on them.

:func:`embedding_map` reduces an embedding matrix [N, D] to [N, 2] or [N, 3]. The result is cached under
``cache_dir()/maps/`` by a key that hashes the matrix's bytes and the parameters, so the same embeddings and
settings are mapped once (a UMAP of 3000 clips takes seconds; the cache answers in milliseconds).

* **UMAP** (umap-learn, imported only when a UMAP is asked for: numba compiles it on first use). The fitted reducer
  is pickled beside the map so that :meth:`EmbeddingMap.place` can put a new clip on the same map with the reducer's
  own ``transform``. A pickle runs code when loaded, so the file is signed with an HMAC-SHA256 keyed by a secret
  made for this cache folder (``maps/.key``, mode 0600) and loaded only when the signature matches: a reducer file
  copied in from elsewhere, or edited, is refused and fitted again.
* **PCA**: the top principal axes of the centred matrix (SVD), stored as plain arrays; each axis's sign is fixed so
  that its largest coefficient is positive.

``n_neighbors`` larger than the clips allow is lowered to N - 1, and the map's ``note`` says so. A cache file that
cannot be read is rebuilt, with a note.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import uuid
import warnings
import zipfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ConfigError
from core.paths import cache_dir

METHODS = ("umap", "pca")
METRICS = ("cosine", "euclidean", "correlation", "manhattan")
MAP_FORMAT = 1
"""Bumped when what a map file holds changes; older files then miss."""
MAX_REDUCER_BYTES = 1024**3
"""A reducer file larger than this is not read (it is fitted again)."""


@dataclass(frozen=True)
class MapParams:
    """How to map.

    Attributes:
        method: ``umap`` or ``pca``.
        dims: 2 or 3.
        n_neighbors: UMAP's neighbourhood size (clips), at least 2.
        min_dist: UMAP's minimum distance between mapped points, in [0, 1].
        metric: UMAP's distance in the embedding space (one of :data:`METRICS`).
        seed: UMAP's random state (a seeded UMAP is reproducible, and single-threaded).
    """

    method: str = "umap"
    dims: int = 2
    n_neighbors: int = 15
    min_dist: float = 0.1
    metric: str = "cosine"
    seed: int = 0

    def checked(self, n: int) -> tuple[MapParams, str]:
        """These parameters made valid for ``n`` clips, and a note when ``n_neighbors`` had to be lowered.

        Raises:
            ConfigError: an unknown method or metric, dims not 2 or 3, parameters out of range, too few clips.
        """
        if self.method not in METHODS:
            raise ConfigError(f"map method {self.method!r}: choose {' or '.join(METHODS)}")
        if self.dims not in (2, 3):
            raise ConfigError(f"map dims {self.dims}: choose 2 or 3")
        if self.method == "pca":
            if n < 2:
                raise ConfigError(f"a PCA map needs at least 2 clips, got {n}")
            return MapParams("pca", self.dims), ""
        if self.metric not in METRICS:
            raise ConfigError(f"UMAP metric {self.metric!r}: choose one of {', '.join(METRICS)}")
        if not 0.0 <= float(self.min_dist) <= 1.0:
            raise ConfigError(f"UMAP min_dist {self.min_dist}: must be in [0, 1]")
        if int(self.n_neighbors) < 2:
            raise ConfigError(f"UMAP n_neighbors {self.n_neighbors}: must be at least 2")
        if n < 3:
            raise ConfigError(f"a UMAP map needs at least 3 clips, got {n}")
        note = ""
        k = int(self.n_neighbors)
        if k > n - 1:
            note = f"n_neighbors {k} is more than the {n - 1} other clips: {n - 1} used"
            k = n - 1
        return replace(self, n_neighbors=k, min_dist=float(self.min_dist), seed=int(self.seed)), note


@dataclass
class EmbeddingMap:
    """Embeddings mapped to 2D or 3D.

    Attributes:
        coords: float32 [N, dims], one row per embedding row.
        params: the parameters used (``n_neighbors`` as lowered for few clips).
        key: the cache key.
        from_cache: whether the map came from the cache.
        note: what changed from the request, and why a cache file was not used; empty otherwise.
        explained: PCA: the share of the variance each axis holds; None for UMAP.
    """

    coords: np.ndarray
    params: MapParams
    key: str
    from_cache: bool = False
    note: str = ""
    explained: np.ndarray | None = None
    _pca: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _reducer: Any = field(default=None, repr=False)

    def place(self, embeddings: np.ndarray) -> np.ndarray:
        """New rows [M, D] of the same embedding space mapped onto this map: float32 [M, dims].

        UMAP uses the fitted reducer's ``transform`` (loaded from the cache when this map came from it); PCA
        projects onto the same axes.

        Raises:
            ConfigError: rows of the wrong width or with non-finite values.
        """
        x = np.asarray(embeddings, dtype=np.float32)
        if x.ndim == 1:
            x = x[None]
        if self._pca is not None:
            mean, axes = self._pca
            if x.ndim != 2 or x.shape[1] != mean.size or not np.isfinite(x).all():
                raise ConfigError(f"embeddings to place must be finite [M, {mean.size}], got shape {x.shape}")
            return ((x - mean) @ axes.T).astype(np.float32)
        reducer = self._reducer if self._reducer is not None else _load_reducer(self.key)
        self._reducer = reducer
        width = reducer._raw_data.shape[1]
        if x.ndim != 2 or x.shape[1] != width or not np.isfinite(x).all():
            raise ConfigError(f"embeddings to place must be finite [M, {width}], got shape {x.shape}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(reducer.transform(x), dtype=np.float32)


def _folder() -> Path:
    d = cache_dir() / "maps"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _secret() -> bytes:
    """This cache folder's signing key (made on first use, readable by its owner only; remade when unreadable)."""
    path = _folder() / ".key"
    try:
        key = path.read_bytes()
        if len(key) == 32:
            return key
    except OSError:
        pass
    key = secrets.token_bytes(32)  # a new key: every reducer signed with the old one is fitted again
    tmp = path.with_name(f".key-{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    os.replace(tmp, path)
    return key


def map_key(embeddings: np.ndarray, params: MapParams) -> str:
    """The cache key of ``embeddings`` mapped with ``params`` (already :meth:`MapParams.checked`)."""
    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    h = hashlib.sha256(f"v{MAP_FORMAT}|{x.shape}|{json.dumps(asdict(params), sort_keys=True)}|".encode())
    h.update(x.tobytes())
    return h.hexdigest()[:32]


def _paths(key: str) -> tuple[Path, Path]:
    d = _folder()
    return d / f"{key}.npz", d / f"{key}.umap.pkl"


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _load_reducer(key: str) -> Any:
    """The signed UMAP reducer of map ``key``. Raises ConfigError when it is missing, too large or not ours."""
    import pickle

    npz, pkl = _paths(key)
    try:
        with np.load(npz, allow_pickle=False) as z:
            signature = str(z["signature"])
        if pkl.stat().st_size > MAX_REDUCER_BYTES:
            raise ValueError(f"larger than {MAX_REDUCER_BYTES} bytes")
        blob = pkl.read_bytes()
        good = hmac.new(_secret(), blob, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(good, signature):
            raise ValueError("its signature does not match (it was not written by this cache)")
        return pickle.loads(blob)  # signed by this cache's own key just above
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as e:
        why = " ".join(str(e).split())
        raise ConfigError(f"the UMAP reducer of map {key} cannot be used ({why}); map again") from None


def _load(key: str, params: MapParams, n: int) -> EmbeddingMap:
    npz, _ = _paths(key)
    with np.load(npz, allow_pickle=False) as z:
        if str(z["key"]) != key:
            raise ValueError("it belongs to other embeddings or settings")
        coords = z["coords"].astype(np.float32)
        pca = (z["mean"].astype(np.float32), z["axes"].astype(np.float32)) if params.method == "pca" else None
        explained = z["explained"].astype(np.float64) if params.method == "pca" else None
        if params.method == "umap":
            _ = str(z["signature"])
    if coords.shape != (n, params.dims) or not np.isfinite(coords).all():
        raise ValueError(f"coordinates of shape {coords.shape} (expected {n} x {params.dims}, finite)")
    return EmbeddingMap(coords, params, key, True, explained=explained, _pca=pca)


def _pca(x: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(coords, mean, axes [dims, D], explained variance ratio) of ``x`` [N, D], in float64 then float32."""
    xd = x.astype(np.float64)
    mean = xd.mean(axis=0)
    _, s, vt = np.linalg.svd(xd - mean, full_matrices=False)
    axes = vt[:dims]
    if len(axes) < dims:  # fewer clips than dims: the extra axes are empty
        axes = np.vstack([axes, np.zeros((dims - len(axes), x.shape[1]))])
    signs = np.sign(axes[np.arange(dims), np.abs(axes).argmax(axis=1)])
    axes = axes * np.where(signs == 0, 1.0, signs)[:, None]
    var = s**2
    explained = np.zeros(dims)
    explained[: min(dims, len(var))] = (var / var.sum() if var.sum() > 0 else var)[:dims]
    coords = (xd - mean) @ axes.T
    return coords.astype(np.float32), mean.astype(np.float32), axes.astype(np.float32), explained


def _umap(x: np.ndarray, p: MapParams) -> tuple[np.ndarray, Any]:
    import umap  # numba compiles on first use: imported only when a UMAP is asked for

    reducer = umap.UMAP(
        n_components=p.dims,
        n_neighbors=p.n_neighbors,
        min_dist=p.min_dist,
        metric=p.metric,
        random_state=p.seed,
        init="spectral" if len(x) > p.dims + 1 else "random",  # spectral needs more points than dims + 1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state": a seeded UMAP is single-threaded
        coords = reducer.fit_transform(x)
    return np.asarray(coords, dtype=np.float32), reducer


def embedding_map(embeddings: np.ndarray, params: MapParams = MapParams(), *, use_cache: bool = True) -> EmbeddingMap:
    """``embeddings`` [N, D] mapped to ``params.dims`` dimensions, from the cache when it has them.

    Raises:
        ConfigError: embeddings that are not a finite [N, D] matrix; parameters :meth:`MapParams.checked` refuses.
    """
    x = np.asarray(embeddings, dtype=np.float32)
    if x.ndim != 2 or not np.isfinite(x).all():
        raise ConfigError(f"embeddings to map must be a finite [N, D] matrix, got shape {x.shape}")
    params, note = params.checked(len(x))
    key = map_key(x, params)
    npz, pkl = _paths(key)
    notes = [note] if note else []
    if use_cache and npz.is_file():
        try:
            found = _load(key, params, len(x))
            found.note = "; ".join(notes)
            return found
        except (ValueError, OSError, KeyError, zipfile.BadZipFile, EOFError) as e:
            notes.append(f"the cached map ({npz.name}) could not be used ({' '.join(str(e).split())}); mapped again")
    arrays: dict[str, Any] = {"key": np.asarray(key), "params": np.asarray(json.dumps(asdict(params)))}
    if params.method == "pca":
        coords, mean, axes, explained = _pca(x, params.dims)
        result = EmbeddingMap(coords, params, key, explained=explained, _pca=(mean, axes))
        arrays.update(mean=mean, axes=axes, explained=explained)
    else:
        import pickle

        coords, reducer = _umap(x, params)
        result = EmbeddingMap(coords, params, key, _reducer=reducer)
        if use_cache:
            blob = pickle.dumps(reducer, protocol=pickle.HIGHEST_PROTOCOL)
            arrays["signature"] = np.asarray(hmac.new(_secret(), blob, hashlib.sha256).hexdigest())
            _atomic_write(pkl, lambda f: f.write(blob))
    result.note = "; ".join(notes)
    if use_cache:
        arrays["coords"] = result.coords
        _atomic_write(npz, lambda f: np.savez(f, **arrays))  # written last: a map file means its reducer is there
    return result
