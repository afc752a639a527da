"""The receptive-field helpers on real architectures: torchvision's AlexNet, VGG16 and ResNet-50.

Weights are not needed (a field belongs to the architecture), so the models are built
offline with random weights. The published fields (Araujo, Norris and Sim, "Computing
receptive fields of convolutional neural networks", Distill 2019) are 195 pixels for
AlexNet and 212 for VGG16 at the end of their convolutional part. torchvision's ResNet-50
puts the stride of each downsampling block in its 3x3 convolution ("v1.5"), which gives
427 (the table's 483 is the TF-slim v1 layout, stride in the 1x1 convolution); 427 is
checked here against the recurrence walked by hand, block by block, main path only (the
1x1 shortcut reads a subset of the same pixels).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

torchvision = pytest.importorskip("torchvision")

from helpers import explorers as ex  # noqa: E402
from helpers import receptive  # noqa: E402

torch.set_num_threads(1)


def _resnet50_by_hand() -> int:
    size, jump = 7, 2           # conv1: 7x7, stride 2
    size, jump = size + 2 * jump, jump * 2  # max pool 3x3, stride 2
    for blocks, stride in [(3, 1), (4, 2), (6, 2), (3, 2)]:
        for b in range(blocks):
            size += 2 * jump     # the block's 3x3 convolution, at the jump before its stride
            if b == 0:
                jump *= stride
    return size


@pytest.fixture(scope="module")
def trunks():
    return {
        "alexnet": (torchvision.models.alexnet().features, 195, 400),
        "vgg16": (torchvision.models.vgg16().features, 212, 400),
        "resnet50": (nn.Sequential(*list(torchvision.models.resnet50().children())[:-2]), _resnet50_by_hand(), 640),
    }


def _middle_field(model: nn.Module, size: int) -> receptive.Box:
    with torch.no_grad():
        h = model(torch.zeros(1, 3, size, size)).shape[-1]
    box = receptive.model_field(model, size, size, h // 2, h // 2, channels=3)
    assert box is not None and box.top > 0 and box.bottom < size - 1, "the field must not touch the border"
    return box


@pytest.mark.parametrize("name", ["alexnet", "vgg16", "resnet50"])
def test_model_gradient_measures_the_published_field(trunks, name):
    model, published, size = trunks[name]
    box = _middle_field(model, size)
    assert (box.height, box.width) == (published, published)
    assert _resnet50_by_hand() == 427


@pytest.mark.parametrize("name", ["alexnet", "vgg16"])
def test_the_explorers_formula_box_is_the_published_field(trunks, name):
    model, published, size = trunks[name]
    with torch.no_grad():
        h = model(torch.zeros(1, 3, size, size)).shape[-1]
    geometry = ex.layer_geometry(model)
    box = ex.receptive_box(geometry, len(geometry) - 1, h // 2, h // 2)
    assert box.height == box.width == published
    assert box == _middle_field(model, size)  # same place, not only the same size


def test_the_explorer_refuses_a_residual_network_by_name(trunks):
    model = trunks["resnet50"][0]
    with pytest.raises(ValueError, match=r"layer 5\.0 \(Bottleneck\) is not a plain chain"):
        ex.layer_geometry(model)


def test_max_pooling_is_measured_over_its_whole_window():
    model = nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3))
    box = receptive.model_field(model, 20, 20, 3, 3)
    assert (box.height, box.width) == (8, 8)  # 3 + (2 - 1) * 1 + (3 - 1) * 2


def test_batch_norm_with_running_statistics_does_not_switch_the_field_off():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 3))
    model[1].running_mean.fill_(1e6)  # trained statistics that put every value below the ReLU's threshold
    box = receptive.model_field(model, 12, 12, 4, 4)
    assert box == receptive.Box(4, 8, 4, 8)
    assert model[1].running_mean[0] == 1e6  # the model itself is untouched


class _FunctionalMax(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3)

    def forward(self, x):
        return F.max_pool2d(self.conv(x), 2)


def test_max_pooling_called_as_a_function_is_refused_clearly():
    with pytest.raises(ValueError, match="calls max pooling directly"):
        receptive.model_gradient(_FunctionalMax(), 12, 12, 1, 1)


def test_a_model_that_needs_its_channels_is_measured_in_full():
    model = nn.Sequential(nn.Conv2d(1, 3, 3, stride=2), nn.ReLU(), nn.Conv2d(3, 4, 3, stride=2), nn.Flatten(),
                          nn.Linear(4 * 2 * 2, 5))
    grad = receptive.model_gradient(model, 11, 11, 0, 0)
    assert receptive.box_of(grad != 0) == receptive.Box(0, 10, 0, 10)  # a Linear reads every cell
