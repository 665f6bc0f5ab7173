"""The point-cloud wing: numpy in, numpy out, no deep-learning framework.

- :mod:`~topohelpers.clouds.weights`: convolution kernels and dense layers as point clouds;
- :mod:`~topohelpers.clouds.patches`: 3×3 patches, their contrast, the DCT basis, natural patches;
- :mod:`~topohelpers.clouds.filtration`: the density filtration p(k, p);
- :mod:`~topohelpers.clouds.ideal`: the primary circle, three circles and Klein bottle of ideal
  filters.
"""

from .filtration import K_SCALES, cloud_k, density_filtration, knn_distance, scaled_k
from .ideal import (
    circle_filters,
    fit_klein_bottle,
    fit_primary_circle,
    fit_three_circle,
    klein_bottle,
    klein_filter,
    klein_filters,
    primary_circle,
    primary_filter,
    three_circle,
)
from .patches import d_norm, dct_basis, natural_patches, normalize_patches
from .weights import dense_vectors, filters_to_kernel, normalize, spatial_filters
