"""The parameter and attribute docs that several estimators share, written once.

An estimator's docstring names a shared entry with ``%(name)s`` on a line of
its own (or a group of them, ``%(training_parameters)s``);
:func:`fill_docs` puts the entry there, with the estimator's own default
where it differs from the one written here.
"""

import ast
import inspect
import re

__all__ = ["fill_docs"]

PARAMETERS = {
    "posterior": """\
posterior : {"deterministic", "gaussian", "universal"}, default="deterministic"
    Kind of encoder q(z|x): z = f(x); z = mu(x) + sigma(x) * eps; or
    z = f(x, eta) with noise eta fed to the encoder. ``transform`` returns
    f(x), mu(x), or the mean over 16 fixed draws of eta (see
    :doc:`/user_guide/encoders`).""",
    "hidden_layer_sizes": """\
hidden_layer_sizes : int, tuple of int or "auto", default=(256, 256)
    Hidden layers of the encoder; the decoder mirrors them. ``"auto"``:
    ``(256, 256)``, or ``(128, 128)`` for a table (see ``table``), which
    synthesises rows as well at a third of the cost.""",
    "discriminator_layer_sizes": """\
discriminator_layer_sizes : int or tuple of int, default=(64, 64)
    Hidden layers of the discriminator, small because it sees only the
    low-dimensional codes and a large one pulls apart the map's fine
    structure (the paper's: ``(1000, 1000)``).""",
    "reconstruction_loss": """\
reconstruction_loss : {"auto", "bce", "mse", "per_column"}, default="auto"
    ``"bce"``: binary cross-entropy, for data in [0, 1] such as pixels.
    ``"mse"``: squared error on standardised features (the output is
    scaled back). ``"auto"``: ``"bce"`` when all of X lies in [0, 1], else
    ``"mse"``, and ``"per_column"`` for a table (see ``table``); the choice
    is stored in ``reconstruction_loss_``.""",
    "activation": """\
activation : {"silu", "relu", "leaky_relu", "tanh"}, default="silu"
    Activation of the hidden layers of every network. The paper's
    networks use ``"relu"``.""",
    "learning_rate": """\
learning_rate : float, default=3e-3
    Adam step size of the encoder and decoder. The reconstruction and
    generator phases share this optimiser, so that ``adversarial_weight``
    alone sets their balance (see :doc:`/user_guide/adversarial_autoencoder`).""",
    "discriminator_learning_rate": """\
discriminator_learning_rate : float, default=1e-3
    Adam step size of the discriminator.""",
    "adversarial_weight": """\
adversarial_weight : float or "auto", default="auto"
    Weight of the generator loss against the reconstruction loss: higher
    matches the prior more tightly at some cost in reconstruction; too high
    collapses the map. ``"auto"``: 0.01, which keeps the reconstruction in
    charge; 1.0 with label regularisation, to pin the labelled codes to
    their components; 3.0 for a table (see ``table``), so that prior draws
    decode to realistic rows. (The models with a categorical part have
    their own default.) See :doc:`/user_guide/adversarial_autoencoder`.""",
    "discriminator_noise": """\
discriminator_noise : float, default=0.3
    Standard deviation of the Gaussian noise added to the discriminator's
    inputs, in units of the prior's standard deviation. It keeps the
    discriminator smooth and the training stable; 0 disables it.""",
    "neighbor_weight": """\
neighbor_weight : float or "auto", default="auto"
    Weight of the neighbourhood term (:class:`skaae.regularisers.Neighbourhood`):
    rows that are near neighbours in the data are pulled together in the
    map (UMAP's layout cross entropy) and share their category or, with
    labels on a mixture, their component, so that labels spread along them.
    ``"auto"``: 3 for codes of at most 3 dimensions, where it gives clearly
    better maps, else 0 (it costs reconstruction), and 0 with
    ``conditional=True``; 3 for the clustering and the embedding, 1 for the
    classifier (0 on a table). 0 trains the paper's model. The neighbour
    search, once per ``fit``, grows with the square of the rows (see
    :doc:`/user_guide/paper_models`).""",
    "n_neighbors": """\
n_neighbors : int, default=5
    Neighbours of each row in the neighbourhood term (each epoch, each
    row is paired with one of them, drawn at random).""",
    "batch_size": """\
batch_size : int or "auto", default="auto"
    Mini-batch size; ``"auto"`` is ``min(128, n_samples)``.""",
    "max_iter": """\
max_iter : int or "auto", default="auto"
    Number of epochs (passes over the data). ``"auto"``: 300; for a table
    (see ``table``), enough epochs for about 1,000 mini-batches (3,000 with
    label regularisation), between 10 and 300, since its synthetic rows
    improve little after that (see :doc:`/user_guide/tabular`).""",
    "early_stopping": """\
early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the data and stop when its
    reconstruction loss has not improved by ``tol`` for
    ``n_iter_no_change`` epochs.""",
    "validation_fraction": """\
validation_fraction : float, default=0.1
    Fraction held out for early stopping.""",
    "n_iter_no_change": """\
n_iter_no_change : int, default=10
    Patience of early stopping, in epochs.""",
    "tol": """\
tol : float, default=1e-4
    Minimum improvement of the validation loss that resets the patience.""",
    "random_state": """\
random_state : int, RandomState instance or None, default=None
    Seeds weight initialisation, shuffling, prior draws and noise: an int
    gives identical fits on the CPU, without touching torch's or numpy's
    global generators (see :doc:`/user_guide/model_selection`).""",
    "device": """\
device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
    Where to train and infer; ``"auto"`` picks CUDA when available.""",
    "verbose": """\
verbose : int, default=0
    0: silent. 1: one progress line (epoch, latest losses, prior match,
    elapsed time and time left), redrawn in place on a terminal or in a
    notebook, and printed now and then in a log. 2: a line per epoch with
    its whole ``history_`` record.""",
    "warm_start": """\
warm_start : bool, default=False
    When True, ``fit`` trains the current networks for ``max_iter`` more
    epochs instead of starting afresh; if it raises, the model is left as
    it was before the call.""",
    "max_grad_norm": """\
max_grad_norm : float or None, default=None
    When set, each optimiser step clips the global norm of its gradients
    to this value (``torch.nn.utils.clip_grad_norm_``). None: no clipping.""",
    "on_divergence": """\
on_divergence : {"raise", "rollback"}, default="raise"
    What a non-finite training loss does. ``"raise"``: a
    :class:`~skaae.TrainingDivergedError`, and a fresh fit is left
    unfitted. ``"rollback"``: restore the model of the last finished epoch,
    warn and stop, fitted (see :doc:`/user_guide/stability`).""",
    "callbacks": """\
callbacks : list or None, default=None
    Objects with some of the methods ``on_fit_begin(estimator)``,
    ``on_epoch_end(estimator, record)`` (True stops training) and
    ``on_fit_end(estimator)``, e.g. those of :mod:`skaae.callbacks`.
    ``clone`` deep-copies them; :func:`skaae.save` does not store them (see
    :doc:`/user_guide/stability`).""",
    "precision": """\
precision : {"float32", "bfloat16"}, default="float32"
    Precision of the networks' forward passes. ``"bfloat16"`` (mixed
    precision) is faster with large networks on hardware with bfloat16
    units, at a small cost in quality, and many times slower without them
    (``fit`` warns); see :doc:`/user_guide/stability`.""",
    "average_weights": """\
average_weights : bool or "auto", default=False
    Whether the fitted model is a moving average of the weights over about
    the last 1,000 steps, steadier than the last step of the noisy
    adversarial game (see :doc:`/user_guide/stability`). ``"auto"``: True
    for a table (see ``table``), False otherwise.""",
    "augmentation": """\
augmentation : callable or None, default=None
    A random transformation ``augmentation(x, generator)`` of the training
    mini-batches, e.g. :class:`~skaae.augmentation.RandomShift` for images:
    the encoder sees each batch transformed and the decoder reconstructs it
    as given, so the codes learn to ignore the transformation (see
    :doc:`/user_guide/extending`).""",
    "table": """\
table : "auto", TableTransformer or None, default="auto"
    How a table of mixed column types becomes the networks' input, and
    ``inverse_transform``'s and ``sample``'s rows a table again (see
    :doc:`/user_guide/tabular`). ``"auto"``: a ``TableTransformer()`` for a
    DataFrame with a categorical, string, boolean or object column or a
    missing value. A :class:`~skaae.tabular.TableTransformer`: that one
    (cloned), for any input. None: the input as it is.""",
}

ATTRIBUTES = {
    "reconstruction_loss_": """\
reconstruction_loss_ : str
    The reconstruction loss used: ``"bce"``, ``"mse"``, or ``"per_column"``
    for a table (see ``table``).""",
    "history_": """\
history_ : list of dict
    One record per epoch: ``epoch``, the mean of each training loss,
    ``prior_match`` (energy distance of the epoch's last 1,000 codes to the
    prior, 0 at a perfect match), ``prior_match_1nn`` (their 1-NN
    two-sample accuracy, 0.5 at a perfect match), ``time`` (seconds) and,
    with early stopping, ``validation_loss`` (see
    :doc:`/user_guide/adversarial_autoencoder`).""",
    "table_transformer_": """\
table_transformer_ : TableTransformer or None
    The fitted table transformer (see ``table``); None when X went to the
    networks as it is.""",
    "n_iter_": """\
n_iter_ : int
    Number of epochs run.""",
    "n_features_in_": """\
n_features_in_ : int
    Number of features seen during fit.""",
    "feature_names_in_": """\
feature_names_in_ : ndarray of shape (`n_features_in_`,)
    Names of the features seen during fit, when X has string column names.""",
    "networks_": """\
encoder_, decoder_, discriminator_ : torch.nn.Module
    The trained networks.""",
    "style_prior_": """\
prior_ : Prior
    The prior of the style code, bound to ``n_components``.""",
    "categorical_prior_": """\
categorical_prior_ : CategoricalPrior
    The prior Cat(1/k) of the categorical part, over the k classes or
    clusters.""",
    "categorical_discriminator_": """\
categorical_discriminator_ : torch.nn.Module
    The discriminator of the categorical part (``discriminator_`` is the
    style's).""",
}

_FITTED = [
    "reconstruction_loss_",
    "table_transformer_",
    "history_",
    "n_iter_",
    "n_features_in_",
    "feature_names_in_",
]
_TRAINING = (
    "batch_size max_iter early_stopping validation_fraction n_iter_no_change tol random_state "
    "device verbose warm_start max_grad_norm on_divergence callbacks precision "
    "average_weights augmentation table"
).split()

GROUPS = {
    # Every parameter of how the networks train, shared by all the estimators.
    "training_parameters": _TRAINING,
    # The parameters of the adversarial models after their code's own.
    "adversarial_parameters": [name for name in PARAMETERS if name not in _TRAINING] + _TRAINING,
    "fitted_attributes": _FITTED,
    # The models with a categorical part and a style part: the same parameters.
    "shared_parameters": [name for name in PARAMETERS if name not in _TRAINING] + _TRAINING,
    "shared_attributes": [
        "style_prior_",
        "categorical_prior_",
        "categorical_discriminator_",
        "networks_",
        *_FITTED,
    ],
}


def fill_docs(cls):
    """Put the shared entries that ``cls``'s docstring names in their places."""
    if cls.__doc__ is None:  # python -OO strips docstrings
        return cls
    doc = inspect.cleandoc(cls.__doc__)
    entries = {**PARAMETERS, **ATTRIBUTES}

    def expand(match):
        name, indent = match.group(2), match.group(1)
        names = GROUPS.get(name, [name])
        text = "\n".join(_with_defaults_of(cls, entries[n]) for n in names)
        return "\n".join(indent + line if line else line for line in text.splitlines())

    cls.__doc__ = re.sub(r"^( *)%\((\w+)\)s$", expand, doc, flags=re.MULTILINE)
    return cls


def _with_defaults_of(cls, entry):
    """``entry`` with its ``default=`` replaced by ``cls``'s own default, where that differs."""
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(cls.__init__).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }

    def own_default(match):
        name, documented = match.group(1), match.group(3)
        try:
            unchanged = ast.literal_eval(documented) == defaults.get(name, documented)
        except (ValueError, SyntaxError):
            unchanged = True  # not a literal (e.g. "auto" quoted differently): keep the text
        if name not in defaults or unchanged:
            return match.group(0)
        return f"{name} :{match.group(2)}default={defaults[name]!r}"

    return re.sub(r"^(\w+) :(.*?)default=(\S+)$", own_default, entry, flags=re.MULTILINE)
