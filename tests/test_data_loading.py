"""Tests of load_dataset's choice of source: data_dir, $OPTVERIFY_DATA_DIR, embedded subset."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from experiments.data import DataError, find_source, load_dataset
from experiments.data.fakes import write_fake_cifar_python, write_fake_jpeg_npz


@pytest.fixture(autouse=True)
def clean_env(monkeypatch) -> None:
    monkeypatch.delenv("OPTVERIFY_DATA_DIR", raising=False)
    monkeypatch.delenv("OPTVERIFY_CACHE_DIR", raising=False)


@pytest.fixture(scope="module")
def subset_cache(tmp_path_factory) -> Path:
    # Shared by the tests that end at the embedded subset: it is decoded once, then
    # read back from this cache.
    return tmp_path_factory.mktemp("subset-cache")


@pytest.fixture
def npz_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    directory.mkdir()
    write_fake_jpeg_npz(directory / "cifar10-jpeg.npz")
    return directory


def test_default_is_the_embedded_subset_with_a_log_line(subset_cache: Path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="experiments.data"):
        data = load_dataset(cache_dir=subset_cache)
    assert data.is_subset and len(data.train_labels) == 5000
    assert "embedded subset" in caplog.text and "OPTVERIFY_DATA_DIR is not set" in caplog.text


def test_data_dir_with_the_jpeg_npz(npz_dir: Path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="experiments.data"):
        data = load_dataset("cifar10", data_dir=npz_dir, verify_sha256=False)
    assert not data.is_subset and data.source == str(npz_dir / "cifar10-jpeg.npz")
    assert len(data.train_labels) == 12
    assert f"full set: 12 train / 6 test, 3 classes, 32x32) from {npz_dir}" in caplog.text


def test_data_dir_may_be_the_npz_file_itself(npz_dir: Path) -> None:
    data = load_dataset(data_dir=npz_dir / "cifar10-jpeg.npz", verify_sha256=False)
    assert len(data.test_labels) == 6


def test_known_file_name_is_checksummed(npz_dir: Path) -> None:
    with pytest.raises(DataError, match="sha256"):
        load_dataset(data_dir=npz_dir)


def test_environment_variable_points_at_the_data(
    npz_dir: Path, subset_cache: Path, monkeypatch
) -> None:
    monkeypatch.setenv("OPTVERIFY_DATA_DIR", str(npz_dir))
    assert not load_dataset(verify_sha256=False).is_subset
    assert load_dataset(subset=True, cache_dir=subset_cache).is_subset  # an explicit request wins


def test_environment_without_the_data_set_falls_back_with_a_warning(
    tmp_path: Path, subset_cache: Path, monkeypatch, caplog
) -> None:
    monkeypatch.setenv("OPTVERIFY_DATA_DIR", str(tmp_path))
    with caplog.at_level(logging.INFO, logger="experiments.data"):
        data = load_dataset("cifar10", cache_dir=subset_cache)
    assert data.is_subset
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning and "has no cifar10 data" in warning[0].getMessage()
    with pytest.raises(DataError, match=r"cifar10 not found via \$OPTVERIFY_DATA_DIR"):
        load_dataset("cifar10", subset=False)
    with pytest.raises(DataError, match="cifar100 not found"):
        load_dataset("cifar100")


def test_python_release_directories(tmp_path: Path) -> None:
    write_fake_cifar_python(tmp_path, "cifar10", per_file=2)
    write_fake_cifar_python(tmp_path, "cifar100", per_file=3)
    c10 = load_dataset("CIFAR-10", data_dir=tmp_path)
    assert c10.source.endswith("cifar-10-batches-py") and len(c10.train_labels) == 10
    c100 = load_dataset("cifar100", data_dir=tmp_path / "cifar-100-python")
    assert c100.num_classes == 100 and len(c100.test_labels) == 3
    assert find_source("cifar100", tmp_path).kind == "cifar_python"


def test_explicit_data_dir_without_data_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"")
    with pytest.raises(DataError, match="cifar10 not found via data_dir") as info:
        load_dataset("cifar10", data_dir=tmp_path)
    assert "cifar-10-batches-py/" in str(info.value) and "needs unpacking" in str(info.value)


def test_full_data_demanded_but_absent() -> None:
    with pytest.raises(DataError, match="OPTVERIFY_DATA_DIR is not set"):
        load_dataset("cifar10", subset=False)
    with pytest.raises(DataError, match="tinyimagenet: no data_dir given"):
        load_dataset("tinyimagenet")


def test_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="do not also pass data_dir"):
        load_dataset(data_dir=tmp_path, subset=True)
    with pytest.raises(ValueError, match="unknown data set"):
        load_dataset("mnist")
    with pytest.raises(DataError, match="cifar100: there is no embedded subset"):
        load_dataset("cifar100", subset=True)


def test_cache_dir_from_the_environment(npz_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OPTVERIFY_CACHE_DIR", str(tmp_path / "cache"))
    assert load_dataset(data_dir=npz_dir, verify_sha256=False).info["cache"] == "miss"
    assert load_dataset(data_dir=npz_dir, verify_sha256=False).info["cache"] == "hit"
