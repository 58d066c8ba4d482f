"""brats_tutorial: the package behind the brats-tutorial course.

Modules by job (the file answers the question):

- ``constants``: labels, regions, modalities, slice window, shapes
- ``labels``: file labels {0, 1, 2, 4} to classes {0, 1, 2, 3} and region masks
- ``errors``: ``BratsDataError``, the one exception for bad input
- ``discovery``, ``loading``: finding and reading BraTS cases
- ``validation``: the data-set integrity report
- ``synthetic_anatomy``: the synthetic brain, tumour and modalities of one case, in memory
- ``synthetic``: synthetic data sets on disk (BraTS 2020 layout); ``realism``: their comparison
  with real data
- ``data_sources``: real data when configured, synthetic otherwise; ``download``: BraTS 2020
  from Kaggle or a zip
- ``preprocessing``, ``cache``, ``splits``: slices, normalisation, resizing, the cache, patient splits
- ``tf_data``, ``py_dataset``: input pipelines (``tf.data``; backend-agnostic ``PyDataset``);
  ``batches``: what both do to a batch; ``slice_context``: 2.5D inputs (neighbouring slices as
  channels); ``augmentation``: flips and the rich augmentation
- ``model``, ``losses``, ``training_metrics``, ``device``: the U-Net (softmax classes or sigmoid
  regions) and what trains it
- ``training``, ``profiles``: ``train(...)`` and the quick / cpu / full profiles
- ``run_folder``: a training run's folder (split, settings, configuration, log, models, whether
  it finished); ``settings_key``: how folders are named after settings
- ``course``: what the chapters call (data, split and cache, the trained model)
- ``volume_metrics``, ``evaluation``: per-patient 3D metrics, the BraTS-style summary and the
  tables read from it (best, median and worst case)
- ``inference``: whole-case prediction (with test-time mirroring) written as NIfTI;
  ``postprocessing``: small components and small enhancing tumour
- ``measured_results``: the benchmark results the package ships (``results/*.csv``)
- ``figures``: everything that draws, a sub-package: ``slice_display`` (colours, one slice and
  its labels), ``case_figures``, ``data_figures``, ``result_figures`` (training and
  evaluation) and ``viewer`` (slice viewer and animation)
- ``original_recipe``: the original notebook's recipe, rebuilt for the comparison in chapter 5
- ``atomic``, ``backend``: writing files atomically; starting Keras quietly
- ``cli``: the ``brats-tutorial`` command line

Submodules are imported on demand so that ``import brats_tutorial`` stays light (no TensorFlow).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("brats_tutorial")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
