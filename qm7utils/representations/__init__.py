"""Representations: a molecule ``(Z, R)`` turned into an array a model can read.

One module per representation, all with one calling convention: nuclear charges ``Z`` of
shape ``(n,)`` or ``(b, n)`` (0 for padding) and coordinates ``R`` in Bohr of shape ``Z.shape +
(3,)`` in, an array with the same leading shape out.

* :mod:`~qm7utils.representations.coulomb`: Coulomb matrices, sorted and randomly sorted, their
  triangles and spectra, distances, the convention of the stored ``X`` (chapter 2).
* :mod:`~qm7utils.representations.bag_of_bonds`: the Bag of Bonds (chapter 8).
* :mod:`~qm7utils.representations.counts`: atom, bond, bond-length, degree and ring counts.
* :mod:`~qm7utils.representations.sets`: the named feature sets of chapters 5 and 6.
* :mod:`~qm7utils.representations.invariance`: which representations survive a rotation, a
  translation and a renumbering of the atoms (chapter 2).

Import the module you need, e.g. ``from qm7utils.representations import coulomb``; this
package imports none of them itself.
"""
