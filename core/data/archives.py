"""The pinned dataset archives: official URL, published digest, size (or a bound), and where each was published.

``mirror`` (or ``$CLAR_DOWNLOAD_MIRROR``) replaces the scheme, host and port of every official URL and prefixes its
path: with mirror ``http://host:8000/m`` the URL ``https://download.tensorflow.org/data/x.tgz`` becomes
``http://host:8000/m/data/x.tgz``. Official hosts are reached over https.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from core.errors import DownloadError

MIRROR_ENV = "CLAR_DOWNLOAD_MIRROR"


@dataclass(frozen=True)
class Archive:
    """One pinned archive.

    Attributes:
        url: official download URL.
        filename: name of the archive file on disk.
        sha256: published SHA-256 hex digest, or None where none is published.
        size: published size in bytes, or None where none is published.
        md5: published MD5 hex digest, used only where no SHA-256 is published (it still detects corruption
            and truncation; it is not collision resistant).
        part: short name of this archive within its dataset (e.g. ``"train"``).
        strip: leading folder inside the archive to remove (e.g. ``"ESC-50-master"``); "" keeps paths as is.
        dest: sub-folder of ``<root>/<name>/`` that receives the archive's contents.
        source: where the pinned values were published (cited in reports).
        max_size: where no size is published, an upper bound in bytes (not a pin): a server that sends more
            is cut off there, so a hostile or broken host cannot fill the disk.
        max_extracted: upper bound in bytes on the archive's unpacked contents (a zip or tar bomb is refused
            before or while it is unpacked).
    """

    url: str
    filename: str
    sha256: str | None = None
    size: int | None = None
    md5: str | None = None
    part: str = "all"
    strip: str = ""
    dest: str = ""
    source: str = ""
    max_size: int | None = None
    max_extracted: int | None = None

    def __post_init__(self) -> None:
        if not (self.sha256 or self.md5):
            raise DownloadError(f"{self.url}: no published digest pinned (sha256 or md5); refusing to define it")

    @property
    def size_limit(self) -> int | None:
        """The most bytes to accept from the server: the pinned size, else the bound."""
        return self.size if self.size is not None else self.max_size

    @property
    def extracted_limit(self) -> int:
        """The most bytes the archive may unpack to: the bound, else 20 times the archive plus 1 GiB."""
        if self.max_extracted is not None:
            return self.max_extracted
        base = self.size_limit if self.size_limit is not None else 1 << 30
        return 20 * base + (1 << 30)


# ----------------------------------------------------------------------------------------------------------
# Pinned archives. NEVER edit a digest or size without citing where it was published.
# ----------------------------------------------------------------------------------------------------------
_TFDS = "tensorflow/datasets"
ARCHIVES: dict[str, list[Archive]] = {
    # ESC-50: no SHA-256 or size is published for the official archive. The MD5 below is published twice,
    # identically: soundata (soundata/datasets/esc50.py, REMOTES["all"]) and HEAR
    # (hearbenchmark/hear-preprocess, hearpreprocess/secrettasks/hearsecrettasks/esc50.py, download_urls).
    # GitHub builds this zip from the master branch: if upstream ever changes master, the digest changes and
    # the download is refused rather than silently accepted.
    "esc50": [
        Archive(
            url="https://github.com/karoldvl/ESC-50/archive/master.zip",
            filename="ESC-50-master.zip",
            md5="7771e4b9d86d0945acce719c7a59305a",
            strip="ESC-50-master",
            max_size=2 << 30,  # a bound, not a pin: the archive is about 0.6 GiB
            max_extracted=4 << 30,
            source="soundata esc50.py REMOTES; hear-preprocess hearsecrettasks/esc50.py (MD5 only)",
        )
    ],
    # Speech Commands v0.02: size and SHA-256 from TensorFlow Datasets,
    # tensorflow_datasets/url_checksums/speech_commands.txt (commit 333639b37af6c6fedf3610a4a2d42f1c6ef6f7d5).
    "speech_commands": [
        Archive(
            url="https://download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
            filename="speech_commands_v0.02.tar.gz",
            size=2428923189,
            sha256="af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58",
            source=f"{_TFDS} url_checksums/speech_commands.txt",
        )
    ],
    # NSynth json/wav archives: no SHA-256 or size is published (TensorFlow Datasets pins only the TFRecord
    # archives). The MD5s are published by HEAR: hearbenchmark/hear-preprocess, hearpreprocess/nsynth_pitch.py,
    # generic_task_config["download_urls"].
    "nsynth": [
        Archive(
            url=f"https://download.magenta.tensorflow.org/datasets/nsynth/nsynth-{split}.jsonwav.tar.gz",
            filename=f"nsynth-{split}.jsonwav.tar.gz",
            md5=md5,
            part=split,
            source="hear-preprocess hearpreprocess/nsynth_pitch.py (MD5 only)",
            max_size=bound,  # a bound, not a pin: no size is published
            max_extracted=2 * bound,
        )
        for split, md5, bound in (
            ("train", "fde6665a93865503ba598b9fac388660", 48 << 30),
            ("valid", "87e94a00a19b6dbc99cf6d4c0c0cae87", 4 << 30),
            ("test", "5e6f8719bf7e16ad0a00d518b78af77d", 2 << 30),
        )
    ],
    # FSDD v1.0.10, the release with 6 speakers x 10 digits x 50 takes = 3000 clips (the official 2700/300
    # split: takes 0-4 are test). Size and SHA-256 of the GitHub tag archive (tag v1.0.10 = commit
    # d6938f9bf1545aa66d8489fc9f1385a7abd64282) as published by ryan-voitiskis/lossytrace,
    # research/sources/evidence/fsdd-v1.0.10-observed-20260802.json ("archive_binding"; commit
    # cc456127dc45cce80778184367b4447857758c6c). TensorFlow Datasets pins only the older v1.0.9 tarball
    # (tensorflow_datasets/audio/spoken_digit/checksums.tsv: 11975353 bytes, sha256 8bc44cde...100c0), which
    # TFDS describes as 5 speakers and 2500 recordings, so it would not give the 2700/300 split.
    "fsdd": [
        Archive(
            url="https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v1.0.10.zip",
            filename="free-spoken-digit-dataset-1.0.10.zip",
            size=16419872,
            sha256="c680098f5d2355ba7cc4bd8b0ca9e0a24c00ebe3b4c552208889a4d28d4fbc2b",
            strip="free-spoken-digit-dataset-1.0.10",
            source="ryan-voitiskis/lossytrace research/sources/evidence/fsdd-v1.0.10-observed-20260802.json",
        )
    ],
}


# Datasets that ship inside another dataset's archive: downloading them fetches (and lays out) the parent.
ALIASES = {"esc10": "esc50", "sc09": "speech_commands"}


# ----------------------------------------------------------------------------------------------------------
# URLs
# ----------------------------------------------------------------------------------------------------------
def mirror_url(url: str, mirror: str | None) -> str:
    """``url`` with its scheme and host replaced by ``mirror``'s, and ``mirror``'s path prefixed to its path."""
    if not mirror:
        return url
    m = urllib.parse.urlsplit(mirror)
    if m.scheme not in ("http", "https") or not m.netloc:
        raise DownloadError(f"mirror {mirror!r}: expected an http(s) URL such as http://host:8000/prefix")
    u = urllib.parse.urlsplit(url)
    path = m.path.rstrip("/") + u.path
    return urllib.parse.urlunsplit((m.scheme, m.netloc, path, u.query, ""))
