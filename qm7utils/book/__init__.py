"""The book's machinery, apart from the science code a reader imports.

:mod:`~qm7utils.book.params` declares and checks each notebook's parameters and their defaults,
:mod:`~qm7utils.book.results` writes and validates the ``results/*.json`` files (only a run with
the defaults writes the committed ones), :mod:`~qm7utils.book.run` reruns the notebooks with
papermill (``python -m qm7utils.book.run``; a failed or trial run never replaces a committed
notebook),
:mod:`~qm7utils.book.progress` draws progress bars that stay out of stored outputs and
:mod:`~qm7utils.book.display` renders figures and source listings in Jupyter and in the HTML book.
"""
