"""brats_tutorial: the package behind the brats-tutorial course.

Modules by job (the file answers the question):

- ``constants``: labels, regions, modalities, slice window, shapes
- ``labels``: file labels {0, 1, 2, 4} to classes {0, 1, 2, 3} and region masks
- ``errors``: ``BratsDataError``, the one exception for bad input
- ``discovery``, ``loading``: finding and reading BraTS cases
- ``validation``: the data-set integrity report
- ``synthetic``, ``realism``: the synthetic BraTS-like data and its comparison with real data
- ``data_sources``: real data when configured, synthetic otherwise
- ``preprocessing``, ``cache``, ``splits``: slices, normalisation, resizing, the cache, patient splits
- ``tf_data``, ``py_dataset``: input pipelines (``tf.data``; backend-agnostic ``PyDataset``)
- ``model``, ``losses``, ``training_metrics``, ``device``: the U-Net and what trains it
- ``training``, ``profiles``: ``train(...)`` and the quick / full profiles
- ``volume_metrics``, ``evaluation``: per-patient 3D metrics and the BraTS-style summary
- ``inference``: whole-case prediction written as NIfTI
- ``plots``, ``viewer``: figures and slice viewers for the chapters
- ``cli``: the ``brats-tutorial`` command line

Submodules are imported on demand so that ``import brats_tutorial`` stays light (no TensorFlow).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("brats_tutorial")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
