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
    Kind of encoder q(z|x). ``"deterministic"``: z = f(x), and
    ``transform`` returns f(x). ``"gaussian"``: z = mu(x) + sigma(x) * eps,
    and ``transform`` returns mu(x). ``"universal"``: z = f(x, eta) with
    noise eta fed to the encoder, and ``transform`` returns the mean of
    f(x, eta) over 16 fixed draws of eta. With the two stochastic kinds it
    is the codes drawn from q(z|x), not their means, that match the prior.""",
    "hidden_layer_sizes": """\
hidden_layer_sizes : int, tuple of int or "auto", default=(256, 256)
    Hidden layers of the encoder; the decoder mirrors them. The paper's
    MNIST networks are ``(1000, 1000)``. ``"auto"``: ``(256, 256)``, and
    ``(128, 128)`` for a table (see ``table``), which synthesises rows as
    well at a third of the cost.""",
    "discriminator_layer_sizes": """\
discriminator_layer_sizes : int or tuple of int, default=(64, 64)
    Hidden layers of the discriminator. It sees only the low-dimensional
    codes, and a small one cannot pull apart the fine structure of the
    map. The paper's: ``(1000, 1000)``.""",
    "reconstruction_loss": """\
reconstruction_loss : {"auto", "bce", "mse", "per_column"}, default="auto"
    ``"bce"``: binary cross-entropy, for data in [0, 1] (e.g. pixel
    intensities). ``"mse"``: mean squared error on features standardised
    to zero mean and unit variance (the output is scaled back).
    ``"auto"``: ``"bce"`` when every value of X lies in [0, 1], else
    ``"mse"``, and ``"per_column"`` (one term per column, see ``table``)
    for a table; the choice is stored in ``reconstruction_loss_``.""",
    "activation": """\
activation : {"silu", "relu", "leaky_relu", "tanh"}, default="silu"
    Activation of the hidden layers of every network. The paper's
    networks use ``"relu"``.""",
    "learning_rate": """\
learning_rate : float, default=3e-3
    Adam step size of the encoder and decoder. The reconstruction and
    generator phases share this one optimiser, so that the balance of the
    two is set by ``adversarial_weight`` (two optimisers on the same
    weights let the codes drift away from the prior).""",
    "discriminator_learning_rate": """\
discriminator_learning_rate : float, default=1e-3
    Adam step size of the discriminator.""",
    "adversarial_weight": """\
adversarial_weight : float or "auto", default="auto"
    Weight of the generator loss relative to the reconstruction loss
    (both are means per sample, the reconstruction loss also per
    feature). Higher matches the prior more tightly at some cost in
    reconstruction; too high collapses the map. ``"auto"``: 1.0 for
    label regularisation (``fit(X, y)`` with a prior of several
    components, not ``conditional``), where the adversary pins the
    labelled codes to their components; 3.0 for a table (see ``table``),
    whose reconstruction loss weighs each column as much as an image's
    loss weighs one pixel, so that a stronger adversary is needed for
    prior draws to decode to realistic rows; 0.01 otherwise, which keeps
    the reconstruction in charge while still matching the prior. (For the
    models with a categorical part, ``"auto"`` is their own default.)""",
    "discriminator_noise": """\
discriminator_noise : float, default=0.3
    Standard deviation of the Gaussian noise added to the discriminator's
    inputs, in units of the prior's standard deviation. It keeps the
    discriminator smooth and the training stable; 0 disables it.""",
    "neighbor_weight": """\
neighbor_weight : float or "auto", default="auto"
    Weight of the neighbourhood term (:class:`skaae.regularisers.Neighbourhood`):
    rows that are near neighbours in the data are pulled together in the
    model's map and other rows of the mini-batch pushed apart (UMAP's
    layout cross entropy), so that the map keeps the data's local
    structure while the adversary keeps it on the prior. With label
    regularisation on a mixture, neighbours also agree on their
    component and the labelled codes are pinned to their class's
    component, so the labels spread along the neighbours as in label
    spreading. ``"auto"`` is 3 for codes of at most 3 dimensions, where
    it gives clearly better 2-D maps, and 0 for longer codes (where it
    costs reconstruction) and with ``conditional=True`` (whose code is a
    style meant to carry no class). 0 trains the paper's model exactly.
    (The models with a categorical part have their own ``"auto"``: 3 for
    the clustering and the embedding, 1 for the classifier, 0 for the
    classifier on a table.)
    The neighbours are searched once per ``fit``, exactly up to 65,536
    rows and within random groups of that many beyond; dense data of 100
    features or more is searched in its top 50 principal components.""",
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
    (see ``table``), enough epochs for about 1,000 mini-batches (3,000
    with label regularisation, where each class, a rare one too, has to
    fill its component of the prior), between 10 and 300: a table's
    synthetic rows are as good after a thousand steps as after many
    more, and a default fit then takes seconds.""",
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
    Seeds weight initialisation, shuffling, prior draws and noise. An int
    gives identical results on the CPU, and fitting never reseeds or
    advances torch's or numpy's global generators (``None`` draws one seed
    from numpy's global generator, as scikit-learn does).""",
    "device": """\
device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
    Where to train and infer; ``"auto"`` picks CUDA when available.""",
    "verbose": """\
verbose : int, default=0
    0: silent. 1: one progress line (epoch, latest losses, prior match,
    elapsed time and time left), redrawn in place on a terminal or in a
    notebook; in a log, a file or a pipe, plain lines instead: the first
    epoch, about one every 10 s or 10 % of the epochs (the rarer) and the
    last. 2: a line per epoch with every number of its ``history_`` record.""",
    "warm_start": """\
warm_start : bool, default=False
    When True, ``fit`` continues training the current networks for
    ``max_iter`` more epochs instead of starting afresh. A warm-start
    ``fit`` that raises leaves the model as it was before the call
    (weights, optimiser state, ``history_``, ``n_iter_``).""",
    "max_grad_norm": """\
max_grad_norm : float or None, default=None
    When set, each optimiser step clips the global norm of its gradients
    to this value (``torch.nn.utils.clip_grad_norm_``). None: no clipping.""",
    "on_divergence": """\
on_divergence : {"raise", "rollback"}, default="raise"
    What a non-finite training loss does. ``"raise"``: a
    :class:`~skaae.TrainingDivergedError`; a fresh fit is left unfitted,
    a warm start as it was before the call. ``"rollback"``: restore the
    model of the last finished epoch, warn (``RuntimeWarning``) and stop;
    the estimator stays fitted (with the initial networks and
    ``n_iter_=0`` if the first epoch diverged).""",
    "callbacks": """\
callbacks : list or None, default=None
    Objects called during ``fit``: any object with some of the methods
    ``on_fit_begin(estimator)``, ``on_epoch_end(estimator, record)``
    (return True to stop training) and ``on_fit_end(estimator)``; see
    :mod:`skaae.callbacks` (``Checkpoint``, ``EarlyStopping``). They are
    parameters: ``clone`` deep-copies them, so a callback must be
    deep-copyable (and picklable, to pickle the estimator), or be passed
    afresh to each estimator. :func:`skaae.save` does not store them.""",
    "precision": """\
precision : {"float32", "bfloat16"}, default="float32"
    Precision of the networks' forward passes in training and inference.
    ``"bfloat16"``: mixed precision (``torch.autocast``), the matrix
    products in bfloat16 while the weights, the optimiser and the losses
    stay in float32: faster with large networks on CPUs with bfloat16
    units (AVX512-BF16, AMX) and on GPUs from NVIDIA Ampere on, at a
    small cost in quality. A CPU without bfloat16 units emulates the
    products, many times slower than float32: ``fit`` warns there. The
    outputs keep the dtype of the input either way.""",
    "average_weights": """\
average_weights : bool or "auto", default=False
    Whether the fitted model is an exponential moving average of the
    encoder's and decoder's weights (and the cluster heads') over the
    last thousand or so optimiser steps, as ``SGDClassifier(average=True)``
    averages its coefficients. Adversarial training moves the weights by
    noisy steps to the end, so the average is steadier. Training goes on
    from the live weights; everything outside ``fit``, callbacks and
    ``history_``'s prior match included, sees the average. Costs one
    pass over the weights per step. ``"auto"``: True for a table (see
    ``table``), whose synthetic rows it makes markedly closer to the
    real ones, False otherwise.""",
    "augmentation": """\
augmentation : callable or None, default=None
    A random transformation of the training mini-batches,
    ``augmentation(x, generator) -> tensor`` (see
    :mod:`skaae.augmentation`): for images,
    ``skaae.augmentation.RandomShift(image_shape)``. The encoder sees
    each batch transformed and the decoder reconstructs it as given, so
    the codes learn to ignore the transformation. It sees each batch in
    the units of X and must draw its randomness from ``generator`` (for
    ``random_state``) and return a new tensor of the same shape; ``fit``
    checks it on a first batch. Only training uses it (``history_``'s
    prior match too, taken on training codes); ``transform``,
    ``predict`` and validation see X as given. None: no augmentation.""",
    "table": """\
table : "auto", TableTransformer or None, default="auto"
    How a table of mixed column types becomes the networks' input (see
    :class:`skaae.tabular.TableTransformer`): categorical columns one-hot,
    numeric ones through a quantile transform, missing values as
    indicators, reconstructed with one loss term per column
    (``reconstruction_loss_="per_column"``); ``inverse_transform`` and
    ``sample`` then return rows with the table's columns and dtypes.
    ``"auto"``: a ``TableTransformer()`` for a DataFrame with a
    categorical, string, boolean or object column or a missing value;
    other input as it is. A ``TableTransformer``: that one (cloned) for
    any input, e.g. with ``categorical_features`` naming integer-coded
    columns. None: input as it is (a DataFrame must then be numeric and
    complete).""",
}

ATTRIBUTES = {
    "reconstruction_loss_": """\
reconstruction_loss_ : str
    The reconstruction loss used: ``"bce"``, ``"mse"``, or ``"per_column"``
    for a table (see ``table``).""",
    "history_": """\
history_ : list of dict
    One record per epoch: ``epoch``, the epoch's mean of each training loss
    (``reconstruction_loss``, then the regularisers': ``discriminator_loss``
    and ``generator_loss`` of an adversary, ``supervised_loss``,
    ``neighbor_loss``, a VAE's ``kl_divergence``), ``prior_match`` (energy
    distance between the epoch's last 1,000 codes and as many prior draws,
    in units of the prior's standard deviation; 0 is a perfect match),
    ``prior_match_1nn`` (leave-one-out 1-nearest-neighbour accuracy at
    telling the same codes from the prior draws; 0.5 is a perfect match,
    and it sees local mismatch that the energy distance blurs), ``time``
    (seconds) and, with early stopping, ``validation_loss``.""",
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
