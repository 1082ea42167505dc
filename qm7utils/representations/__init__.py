"""Representations: a molecule ``(Z, R)`` turned into an array a model can read.

One module per representation. The molecular ones take a molecule or a batch ``(Z, R)``
(:func:`qm7utils.chem.as_molecules`) and return an array with the same leading shape; the
atomic ones (``atomwise``, ``fchl19``) return one row per atom.

* :mod:`~qm7utils.representations.coulomb`: Coulomb matrices, sorted and randomly sorted, their
  triangles and spectra, distances, the convention of the stored ``X`` (chapter 2).
* :mod:`~qm7utils.representations.bag_of_bonds`: the Bag of Bonds (chapter 9).
* :mod:`~qm7utils.representations.counts`: atom, bond, bond-length, degree and ring counts.
* :mod:`~qm7utils.representations.sets`: the named feature sets of chapters 5 and 6.
* :mod:`~qm7utils.representations.atomwise`: per-atom Coulomb-matrix environments and random
  row-norm sorting, for the networks of chapter 7.
* :mod:`~qm7utils.representations.neighbours`: molecules as neighbour graphs, distances in a
  radial basis, and batches packed without padding, for the network of chapter 8.
* :mod:`~qm7utils.representations.fchl19`: FCHL19 atomic environments (qmllib) and their
  compression, for the local kernel of chapter 9.

Import the module you need, e.g. ``from qm7utils.representations import coulomb``; this
package imports none of them itself.
"""
