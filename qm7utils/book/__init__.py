"""The book's machinery, apart from the science code a reader imports.

:mod:`~qm7utils.book.params` declares and checks each notebook's parameters,
:mod:`~qm7utils.book.results` writes and validates the ``results/*.json`` files,
:mod:`~qm7utils.book.run` reruns the notebooks with papermill (``python -m qm7utils.book.run``),
:mod:`~qm7utils.book.progress` draws progress bars that stay out of stored outputs and
:mod:`~qm7utils.book.display` renders figures and source listings in Jupyter and in the HTML book.
"""
