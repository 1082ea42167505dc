"""Models of the book, one submodule per family (imported on demand, so that importing
:mod:`qm7utils` stays fast and does not load Keras or JAX):

* :mod:`qm7utils.models.baseline`: the dressed-atom model (one energy per element), the
  reference every chapter compares with;
* :mod:`qm7utils.models.classical`: the deck's linear SVM and XGBoost models (chapters 5-6);
* :mod:`qm7utils.models.networks`: the Keras 3 architectures on the JAX backend (chapter 7);
* :mod:`qm7utils.models.training`: how those networks are trained (config, scalers, loop);
* :mod:`qm7utils.models.recipes`: the chapter-7 trainings of the small dense networks;
* :mod:`qm7utils.models.message_passing`: the message-passing network (SchNet-style) and its
  compiled training step (chapter 8);
* :mod:`qm7utils.models.kernels`: kernel ridge regression (chapter 9).
"""
