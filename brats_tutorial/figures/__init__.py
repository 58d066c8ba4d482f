"""Figures and slice viewers for the chapters: everything in the package that draws.

The modules, from the pieces up:

- ``slice_display``: colours (labels, regions), legends, an axial slice turned for display and
  drawn with its labels or region outlines; the panels a figure draws into
- ``case_figures``: one case: its modalities side by side, its BraTS regions
- ``data_figures``: the data set and preprocessing: tumour extent along the axial axis,
  intensity histograms, nearest versus bilinear resizing of a mask
- ``result_figures``: learning curves, per-case score boxes, prediction against reference, the
  original notebook's scores against region Dice
- ``viewer``: a slice viewer (ipywidgets) for a live notebook, an animation for the static book

Nothing outside this sub-package draws, and what is not drawing lives outside it: the tables
behind the result figures (the case rows of a score table, which cases are best, median and
worst) are in :mod:`brats_tutorial.evaluation`.

Conventions, the same in every figure:

- Label and region colours come from :data:`slice_display.LABEL_COLOURS` and
  :data:`slice_display.REGION_COLOURS` only.
- An axial slice is shown through :func:`slice_display.display_slice`: anterior up, the patient's
  left on the image's left.
- Functions that draw one panel take an optional ``ax``; functions that draw several take an
  optional ``axes``. Every figure function returns the :class:`~matplotlib.figure.Figure` and
  gives each panel a title and axis labels.

In a notebook a figure made here is shown once at the end of the cell by the inline backend;
assign the result (``figure = case_figures.show_modalities(case, 80)``) or end the line with
``;`` so that it is not shown a second time as the cell's value.

Import the modules themselves (``from brats_tutorial.figures import case_figures``): this file
imports nothing, so ``import brats_tutorial.figures`` stays light.
"""
