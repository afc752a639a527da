"""The offline MNIST loader."""

import numpy as np
import pytest

from helpers import data


@pytest.fixture(scope="module")
def digits():
    return data.load_digits()


def test_real_digits_offline(digits):
    assert digits.images.shape == (5000, 28, 28)
    assert digits.images.dtype == np.uint8
    assert np.bincount(digits.labels).tolist() == [500] * 10


def test_shuffled_with_a_fixed_seed(digits):
    # The file ships sorted by class; the first 50 labels must not all be 0.
    assert len(set(digits.labels[:50].tolist())) > 5
    images, labels = data._parse_offline()
    assert np.array_equal(labels, digits.labels) and np.array_equal(images, digits.images)


def test_parsed_once_then_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("CONV_COURSE_CACHE", str(tmp_path))
    first = data._offline_cached()
    cached = list(tmp_path.glob("mnist-5k-*.npz"))
    assert len(cached) == 1
    monkeypatch.setattr(data, "_parse_offline", lambda: pytest.fail("parsed again despite the cache"))
    second = data._offline_cached()
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])


def test_digit_scaled_and_labelled(digits):
    seven = data.digit(7, 3)
    assert tuple(seven.shape) == (28, 28)
    assert 0.0 <= float(seven.min()) and float(seven.max()) <= 1.0
    assert np.array_equal((seven.numpy() * 255).round().astype(np.uint8), digits.of(7)[3])


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="0 to 9"):
        data.digit(12)
    with pytest.raises(IndexError, match="500 examples"):
        data.digit(3, 900)
    with pytest.raises(ValueError, match="offline"):
        data.load_digits("floppy")


def test_as_tensors_relabels_a_subset(digits):
    x, y = data.as_tensors(digits, labels=(3, 7))
    assert tuple(x.shape) == (1000, 1, 28, 28)
    assert sorted(set(y.tolist())) == [0, 1]
    assert int((y == 1).sum()) == 500
