"""The blob store behind one small interface: a folder under MPPI_VAR_DIR by default, an S3-compatible store when
``MPPI_S3_BUCKET`` is set. Uploads stream in with their sha256 computed on the way; bytes never cross RabbitMQ.
Uploads wait under ``staging/<account>/`` until a submission takes them; ``usage`` tells what an account holds there,
``sweep`` removes what was abandoned."""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 64 * 1024
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,500}$")
STAGING = "staging/"
# uploads of forms never sent (a browser closed half-way, a request cut off) stay in staging this long: twice the
# day a web form keeps its answers, so nothing a citizen may still send is swept; older ones count for nobody
STAGING_MAX_AGE = 2 * 24 * 3600


class BlobTooLarge(Exception):
    """The stream went past the size limit; nothing was kept."""


@dataclass(frozen=True)
class BlobRef:
    key: str
    size: int
    sha256: str
    content_type: str


class BlobStore(Protocol):
    def put(self, key: str, stream: BinaryIO, *, content_type: str, max_size: int | None = None) -> BlobRef: ...
    def open(self, key: str) -> Iterator[bytes]: ...
    def head(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def move(self, src: str, dst: str) -> None: ...
    def delete(self, key: str) -> None: ...
    def sweep(self, prefix: str, *, older_than: float) -> int: ...
    def usage(self, prefix: str, *, newer_than: float = 0.0) -> tuple[int, int]: ...


def staging_of(account_id: str) -> str:
    """The folder of one account's uploads waiting to be sent (``staging/<account>/``)."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "", account_id)[:64]
    if not safe:
        raise ValueError("an account id is needed to stage uploads")
    return f"{STAGING}{safe}/"


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid blob key {key!r}")
    return key


class LocalBlobStore:
    """Blobs as files under one absolute folder shared by every local process; writes are atomic renames."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, stream: BinaryIO, *, content_type: str, max_size: int | None = None) -> BlobRef:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if max_size is not None and size > max_size:
                        raise BlobTooLarge(key)
                    digest.update(chunk)
                    out.write(chunk)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        return BlobRef(key=key, size=size, sha256=digest.hexdigest(), content_type=content_type)

    def open(self, key: str) -> Iterator[bytes]:
        with open(self._path(key), "rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk

    def head(self, key: str) -> bytes:
        """The first bytes of a blob, to recognise its type by content."""
        with open(self._path(key), "rb") as f:
            return f.read(8192)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def move(self, src: str, dst: str) -> None:
        target = self._path(dst)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(src), target)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def sweep(self, prefix: str, *, older_than: float) -> int:
        """Delete the blobs under ``prefix`` last written before the epoch time ``older_than``; how many."""
        top = self._path(prefix.rstrip("/"))
        if not top.is_dir():
            return 0
        swept = 0
        for folder, _, names in os.walk(top, topdown=False):
            for name in names:
                path = Path(folder) / name
                try:
                    if path.stat().st_mtime < older_than:
                        path.unlink()
                        swept += 1
                except FileNotFoundError:
                    continue  # taken by a submission meanwhile
            if folder != str(top):
                try:
                    os.rmdir(folder)  # only when empty
                except OSError:
                    pass
        return swept

    def usage(self, prefix: str, *, newer_than: float = 0.0) -> tuple[int, int]:
        """How many blobs under ``prefix`` were last written at or after the epoch time ``newer_than``, and their
        bytes; uploads still streaming in count with what they wrote so far."""
        count = size = 0
        for folder, _, names in os.walk(self._path(prefix.rstrip("/"))):
            for name in names:
                try:
                    stat = os.stat(os.path.join(folder, name))
                except FileNotFoundError:
                    continue  # taken or deleted meanwhile
                if stat.st_mtime >= newer_than:
                    count, size = count + 1, size + stat.st_size
        return count, size


class S3BlobStore:
    """An S3-compatible bucket (AWS, MinIO, moto's server) through boto3; uploads are multipart-streamed."""

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, client=None):
        import boto3

        self.bucket = bucket
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url)

    def put(self, key: str, stream: BinaryIO, *, content_type: str, max_size: int | None = None) -> BlobRef:
        check_key(key)
        hashing = _HashingReader(stream, max_size)
        try:
            self.client.upload_fileobj(hashing, self.bucket, key, ExtraArgs={"ContentType": content_type})
        except BlobTooLarge:
            self.delete(key)
            raise
        return BlobRef(key=key, size=hashing.size, sha256=hashing.digest.hexdigest(), content_type=content_type)

    def open(self, key: str) -> Iterator[bytes]:
        body = self.client.get_object(Bucket=self.bucket, Key=check_key(key))["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def head(self, key: str) -> bytes:
        obj = self.client.get_object(Bucket=self.bucket, Key=check_key(key), Range="bytes=0-8191")
        return obj["Body"].read()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=check_key(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def move(self, src: str, dst: str) -> None:
        self.client.copy_object(Bucket=self.bucket, Key=check_key(dst), CopySource={"Bucket": self.bucket, "Key": src})
        self.delete(src)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def sweep(self, prefix: str, *, older_than: float) -> int:
        """Delete the blobs under ``prefix`` last written before the epoch time ``older_than``; how many."""
        swept = 0
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            old = [{"Key": o["Key"]} for o in page.get("Contents", []) if o["LastModified"].timestamp() < older_than]
            if old:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": old, "Quiet": True})
                swept += len(old)
        return swept

    def usage(self, prefix: str, *, newer_than: float = 0.0) -> tuple[int, int]:
        """How many blobs under ``prefix`` were last written at or after the epoch time ``newer_than``, and their
        bytes (uploads still streaming in are not listed yet)."""
        count = size = 0
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for o in page.get("Contents", []):
                if o["LastModified"].timestamp() >= newer_than:
                    count, size = count + 1, size + o["Size"]
        return count, size


class _HashingReader:
    """A file-like wrapper that hashes and counts what boto3 reads, and stops at the size limit."""

    def __init__(self, stream: BinaryIO, max_size: int | None):
        self.stream, self.max_size = stream, max_size
        self.digest, self.size = hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        chunk = self.stream.read(n)
        self.size += len(chunk)
        if self.max_size is not None and self.size > self.max_size:
            raise BlobTooLarge()
        self.digest.update(chunk)
        return chunk


def from_settings(var_dir: Path, env: dict[str, str] | None = None) -> BlobStore:
    env = os.environ if env is None else env
    bucket = env.get("MPPI_S3_BUCKET")
    if bucket:
        return S3BlobStore(bucket, endpoint_url=env.get("MPPI_S3_ENDPOINT_URL") or None)
    return LocalBlobStore(var_dir / "blobs")
