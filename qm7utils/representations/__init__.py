"""Representations: a molecule ``(Z, R)`` turned into an array a model can read.

One module per representation, all with one calling convention: a molecule or a batch
``(Z, R)`` in (:func:`qm7utils.chem.as_molecules`), an array with the same leading shape out.

* :mod:`~qm7utils.representations.coulomb`: Coulomb matrices, sorted and randomly sorted, their
  triangles and spectra, distances, the convention of the stored ``X`` (chapter 2).
* :mod:`~qm7utils.representations.bag_of_bonds`: the Bag of Bonds (chapter 8).
* :mod:`~qm7utils.representations.counts`: atom, bond, bond-length, degree and ring counts.
* :mod:`~qm7utils.representations.sets`: the named feature sets of chapters 5 and 6.

Import the module you need, e.g. ``from qm7utils.representations import coulomb``; this
package imports none of them itself.
"""
