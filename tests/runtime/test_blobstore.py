"""Both blob stores behave alike: the local folder, and S3 against moto's real HTTP S3 server on loopback; what an
account holds in staging is counted alike in both."""
import hashlib
import io
import os
import time

import boto3
import pytest
from moto.server import ThreadedMotoServer

from devtools.platform import free_port
from mppi.runtime.blobstore import BlobTooLarge, LocalBlobStore, S3BlobStore, from_settings, staging_of


@pytest.fixture(scope="module")
def s3_endpoint():
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalBlobStore(tmp_path)
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"mppi-{request.node.name.split('[')[0][-20:].replace('_', '-')}".lower()
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return S3BlobStore(bucket, endpoint_url=endpoint)


def test_a_blob_round_trips_with_its_size_and_sha256(store):
    data = os.urandom(300_000)
    ref = store.put("staging/a1/ktp.pdf", io.BytesIO(data), content_type="application/pdf")
    assert (ref.size, ref.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert b"".join(store.open("staging/a1/ktp.pdf")) == data
    assert store.head("staging/a1/ktp.pdf") == data[:8192]
    assert store.exists("staging/a1/ktp.pdf")
    store.move("staging/a1/ktp.pdf", "documents/t/a1/ktp")
    assert not store.exists("staging/a1/ktp.pdf") and b"".join(store.open("documents/t/a1/ktp")) == data
    store.delete("documents/t/a1/ktp")
    assert not store.exists("documents/t/a1/ktp")


def test_a_stream_over_the_limit_is_refused_and_nothing_is_kept(store):
    with pytest.raises(BlobTooLarge):
        store.put("staging/big.bin", io.BytesIO(b"x" * 200_001), content_type="application/pdf", max_size=200_000)
    assert not store.exists("staging/big.bin")


def test_keys_cannot_escape_the_store(store):
    for key in ["../etc/passwd", "/abs", "a/../../b", ""]:
        with pytest.raises(ValueError):
            store.put(key, io.BytesIO(b"x"), content_type="text/plain")


def test_settings_choose_the_folder_unless_a_bucket_is_named(tmp_path):
    assert isinstance(from_settings(tmp_path, {}), LocalBlobStore)
    assert isinstance(from_settings(tmp_path, {"MPPI_S3_BUCKET": "b", "MPPI_S3_ENDPOINT_URL": "http://127.0.0.1:1"}),
                      S3BlobStore)


def test_a_sweep_deletes_only_what_is_older_than_asked_and_only_under_its_prefix(store):
    for key in ("staging/t/a/1.pdf", "staging/t/b/2.pdf", "documents/t/x/1"):
        store.put(key, io.BytesIO(b"%PDF-1.4"), content_type="application/pdf")
    assert store.sweep("staging/", older_than=time.time() - 3600) == 0
    assert store.exists("staging/t/a/1.pdf")
    assert store.sweep("staging/", older_than=time.time() + 60) == 2
    assert not store.exists("staging/t/a/1.pdf") and not store.exists("staging/t/b/2.pdf")
    assert store.exists("documents/t/x/1")
    assert store.sweep("nothing-here/", older_than=time.time() + 60) == 0


def test_usage_counts_the_files_and_bytes_under_a_prefix_written_since_a_time(store):
    folder = staging_of("acc1")
    assert store.usage(folder) == (0, 0)
    store.put(f"{folder}a-kk-1", io.BytesIO(b"x" * 1000), content_type="application/pdf")
    store.put(f"{folder}b/kk-copy-2", io.BytesIO(b"x" * 500), content_type="application/pdf")
    store.put(f"{staging_of('acc2')}c-kk-3", io.BytesIO(b"x" * 700), content_type="application/pdf")
    assert store.usage(folder) == (2, 1500)
    assert store.usage(folder, newer_than=time.time() - 3600) == (2, 1500)
    assert store.usage(folder, newer_than=time.time() + 60) == (0, 0), "older ones count for nobody"
    store.delete(f"{folder}a-kk-1")
    assert store.usage(folder) == (1, 500)
    assert store.usage(staging_of("acc2")) == (1, 700)


def test_an_account_stages_in_a_folder_of_its_own_that_no_id_can_leave():
    assert staging_of("9f0c2d1e") == "staging/9f0c2d1e/"
    assert staging_of("../../documents") == "staging/documents/"
    with pytest.raises(ValueError):
        staging_of("../")
