"""Tables of mixed column types: in as DataFrames, out as rows with their dtypes."""

import pickle
import warnings

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

import skaae  # noqa: E402
from skaae import (  # noqa: E402
    AAEClassifier,
    AAEClustering,
    AAEEmbedding,
    AdversarialAutoencoder,
    VariationalAutoencoder,
)
from skaae.tabular import TableTransformer  # noqa: E402

FAST = dict(max_iter=2, hidden_layer_sizes=(16,), random_state=0)


def make_table(n=120, seed=0):
    """A small table with every kind of column and missing values in several."""
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], n)
    size = pd.Categorical(rng.choice(["S", "M", "L"], n), categories=["S", "M", "L"], ordered=True)
    income = rng.lognormal(10, 1, n)
    income[rng.random(n) < 0.2] = np.nan
    age = pd.array(rng.integers(18, 90, n), dtype="Int32")
    age[rng.random(n) < 0.1] = pd.NA
    city = pd.Series(rng.choice(["Oslo", "Rome", None], n, p=[0.45, 0.45, 0.1]), dtype=object)
    return pd.DataFrame(
        {
            "colour": pd.Series(colour, dtype="category"),
            "size": size,
            "income": income,
            "age": age,
            "member": rng.random(n) < 0.3,
            "flag": rng.integers(0, 2, n).astype(float),
            "city": city,
            "count": rng.poisson(3, n),
        }
    )


def check_same_schema(rows, table):
    assert isinstance(rows, pd.DataFrame)
    assert list(rows.columns) == list(table.columns)
    for name in table.columns:
        assert rows[name].dtype == table[name].dtype, name
        if isinstance(table[name].dtype, pd.CategoricalDtype):
            assert list(rows[name].cat.categories) == list(table[name].cat.categories)
            assert rows[name].cat.ordered == table[name].cat.ordered
        else:
            present = set(rows[name].dropna().tolist())
            assert present <= set(table[name].dropna().tolist()) or name in ("income", "age")


# ------------------------------------------------------------ the transformer
def test_table_transformer_round_trip_keeps_values_dtypes_and_missing_cells():
    table = make_table()
    transformer = TableTransformer().fit(table)
    encoded = transformer.transform(table)
    assert encoded.dtype == np.float32
    assert encoded.shape == (len(table), transformer.n_features_out_)
    back = transformer.inverse_transform(encoded)
    check_same_schema(back, table)
    for name in ("colour", "size", "member", "flag", "city", "count"):
        pd.testing.assert_series_equal(back[name], table[name], check_names=False)
    pd.testing.assert_series_equal(back["age"].isna(), table["age"].isna())
    assert np.nanmax(np.abs(back["income"] - table["income"]) / table["income"]) < 1e-3
    pd.testing.assert_series_equal(back["income"].isna(), table["income"].isna())


def test_table_transformer_layout_names_and_kinds():
    transformer = TableTransformer().fit(make_table())
    kinds = {column["name"]: column["kind"] for column in transformer.columns_}
    assert kinds == {
        "colour": "categorical",
        "size": "categorical",
        "income": "numeric",
        "age": "numeric",
        "member": "categorical",
        "flag": "categorical",  # two distinct values: binary_columns="categorical"
        "city": "categorical",
        "count": "numeric",
    }
    names = transformer.get_feature_names_out()
    assert len(names) == transformer.n_features_out_
    assert "income_missing" in names and "city=<missing>" in names and "size=M" in names
    numeric = TableTransformer(binary_columns="numeric").fit(make_table())
    assert {c["name"]: c["kind"] for c in numeric.columns_}["flag"] == "numeric"


def test_table_transformer_draws_categories_at_their_rates():
    table = make_table(n=2000)
    transformer = TableTransformer().fit(table)
    # Every row the same probabilities: the training share of each level.
    encoded = transformer.transform(table).mean(axis=0, keepdims=True).repeat(4000, axis=0)
    drawn = transformer.inverse_transform(encoded, random_state=0)
    expected = table["colour"].value_counts(normalize=True)
    observed = drawn["colour"].value_counts(normalize=True)
    np.testing.assert_allclose(observed[expected.index], expected, atol=0.03)
    assert abs(drawn["income"].isna().mean() - table["income"].isna().mean()) < 0.03
    # Without a generator: the most likely level only.
    assert transformer.inverse_transform(encoded)["colour"].nunique() == 1


def test_table_transformer_quantile_transform_copes_with_skew():
    table = make_table(n=1000)
    transformer = TableTransformer().fit(table)
    names = list(transformer.get_feature_names_out())
    income = transformer.transform(table)[:, names.index("income")]  # normal scores
    present = ~table["income"].isna().to_numpy()
    assert abs(np.mean(income[present])) < 0.05 and abs(np.std(income[present]) - 1) < 0.1
    standard = TableTransformer(numeric_transform="standard").fit(table)
    back = standard.inverse_transform(standard.transform(table))
    np.testing.assert_allclose(back["income"], table["income"], rtol=1e-4)


# ------------------------------------------------------------ the estimators
@pytest.mark.parametrize(
    "estimator",
    [
        AdversarialAutoencoder(**FAST),
        VariationalAutoencoder(**FAST),
        AAEEmbedding(**FAST),
        AAEClustering(n_clusters=3, **FAST),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_estimator_takes_a_table_and_gives_rows_back(estimator):
    table = make_table()
    model = clone(estimator).fit(table)
    assert model.reconstruction_loss_ == "per_column"
    assert model.n_features_in_ == table.shape[1]
    assert list(model.feature_names_in_) == list(table.columns)
    codes = model.transform(table)
    assert codes.shape == (len(table), model.n_components) and np.isfinite(codes).all()
    if isinstance(model, AAEClustering):  # the style codes, in each sample's cluster
        check_same_schema(model.inverse_transform(codes, y=model.predict(table)), table)
    else:
        check_same_schema(model.inverse_transform(codes), table)
    if hasattr(model, "sample"):
        check_same_schema(model.sample(50, random_state=0), table)


def test_classifier_takes_a_table():
    table = make_table()
    y = np.where(table["member"], "yes", "no")
    model = AAEClassifier(**FAST).fit(table, y)
    assert model.predict(table).shape == (len(table),)
    check_same_schema(model.sample(20, random_state=0, y="yes"), table)


def test_numeric_input_is_unchanged():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    frame = pd.DataFrame(X, columns=list("abcd"))
    model = AdversarialAutoencoder(**FAST).fit(frame)
    assert model.table_transformer_ is None and model.reconstruction_loss_ == "mse"
    assert isinstance(model.inverse_transform(model.transform(frame)), np.ndarray)
    array_model = AdversarialAutoencoder(**FAST).fit(X)
    np.testing.assert_array_equal(array_model.transform(X), model.transform(frame))


def test_numeric_table_with_missing_values_gives_arrays_with_nan():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=list("abc"))
    frame.loc[rng.random(200) < 0.3, "b"] = np.nan
    model = AdversarialAutoencoder(**FAST).fit(frame)
    assert model.table_transformer_ is not None
    samples = model.sample(500, random_state=0)
    assert isinstance(samples, np.ndarray) and samples.shape == (500, 3)
    assert np.isnan(samples[:, 1]).any() and not np.isnan(samples[:, [0, 2]]).any()
    frames = model.set_output(transform="pandas").sample(5, random_state=0)
    assert isinstance(frames, pd.DataFrame) and list(frames.columns) == list("abc")


def test_set_output_pandas_gives_frames_from_numeric_models():
    X = pd.DataFrame(np.random.default_rng(0).random((60, 3)), columns=["p", "q", "r"])
    model = AdversarialAutoencoder(**FAST).set_output(transform="pandas").fit(X)
    rows = model.inverse_transform(model.transform(X).to_numpy())
    assert isinstance(rows, pd.DataFrame) and list(rows.columns) == ["p", "q", "r"]


@pytest.mark.parametrize("table", [False, True], ids=["numeric", "mixed"])
def test_dataframes_in_and_out_raise_no_warning(table):
    """pandas 3 hands out read-only arrays: torch must not warn that they are not writable."""
    X = make_table() if table else pd.DataFrame(np.random.default_rng(0).random((60, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = AdversarialAutoencoder(**FAST).set_output(transform="pandas").fit(X)
        codes = model.transform(X)
        assert isinstance(codes, pd.DataFrame)
        rows = model.inverse_transform(codes)
    assert isinstance(rows, pd.DataFrame) and rows.shape == X.shape


def test_table_sample_is_reproducible_and_draws_missing_values():
    table = make_table(n=300)
    model = AdversarialAutoencoder(**{**FAST, "max_iter": 5}).fit(table)
    first, second = model.sample(400, random_state=3), model.sample(400, random_state=3)
    pd.testing.assert_frame_equal(first, second)
    assert 0 < first["income"].isna().mean() < 0.6


def test_columns_in_another_order_are_found_by_name():
    table = make_table()
    model = AdversarialAutoencoder(**FAST).fit(table)
    shuffled = table[list(reversed(table.columns))]
    np.testing.assert_array_equal(model.transform(shuffled), model.transform(table))
    with pytest.raises(ValueError, match=r"missing \['city'\]"):
        model.transform(table.drop(columns="city"))


def test_table_in_pipeline_grid_search_pickle_and_save(tmp_path):
    table = make_table()
    pipe = Pipeline([("aae", AdversarialAutoencoder(**FAST))])
    search = GridSearchCV(pipe, {"aae__n_components": [2, 3]}, cv=2).fit(table)
    assert search.best_params_["aae__n_components"] in (2, 3)
    model = AdversarialAutoencoder(**FAST).fit(table)
    codes = model.transform(table)
    unpickled = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(unpickled.transform(table), codes)
    path = tmp_path / "table.skaae"
    skaae.save(model, path)
    loaded = skaae.load(path)
    np.testing.assert_array_equal(loaded.transform(table), codes)
    pd.testing.assert_frame_equal(
        loaded.sample(30, random_state=1), model.sample(30, random_state=1)
    )
    explicit = AdversarialAutoencoder(table=TableTransformer(n_quantiles=50), **FAST).fit(table)
    skaae.save(explicit, path)
    assert skaae.load(path).table.n_quantiles == 50


def test_fit_is_reproducible_on_a_table():
    table = make_table()
    a = AdversarialAutoencoder(**FAST).fit(table).transform(table)
    b = AdversarialAutoencoder(**FAST).fit(table).transform(table)
    np.testing.assert_array_equal(a, b)


def test_explicit_table_for_integer_coded_categories_in_an_array():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.integers(0, 4, 100), rng.normal(size=100)])
    model = AdversarialAutoencoder(table=TableTransformer(categorical_features=[0]), **FAST)
    model.fit(X)
    rows = model.sample(50, random_state=0)
    assert isinstance(rows, np.ndarray)
    assert set(np.unique(rows[:, 0])) <= {0.0, 1.0, 2.0, 3.0}


# ------------------------------------------------------------ bad input
def test_bad_tables_get_clear_errors_and_warnings():
    table = make_table()
    with pytest.raises(ValueError, match="dates or durations"):
        TableTransformer().fit(table.assign(when=pd.Timestamp("2020-01-01")))
    mixed = table.assign(mixed=pd.Series([1, "a"] * 60, dtype=object))
    with pytest.raises(ValueError, match="mixes values of types"):
        AdversarialAutoencoder(**FAST).fit(mixed)
    ids = pd.DataFrame({"id": [f"c{i}" for i in range(200)], "x": np.arange(200.0) % 7})
    with pytest.warns(UserWarning, match="looks like an identifier"):
        TableTransformer().fit(ids)
    with pytest.raises(ValueError, match="table=None"):
        AdversarialAutoencoder(table=None, **FAST).fit(table)
    with pytest.raises(ValueError, match="column by column"):
        AdversarialAutoencoder(reconstruction_loss="mse", **FAST).fit(table)


def test_unseen_categories_are_encoded_as_none_with_a_warning():
    table = make_table()
    model = AdversarialAutoencoder(**FAST).fit(table)
    other = table.copy()
    other["city"] = other["city"].where(other.index % 2 == 0, "Lima")
    with pytest.warns(UserWarning, match="not seen at fit"):
        codes = model.transform(other)
    assert np.isfinite(codes).all()


def test_constant_and_all_missing_columns_come_back_as_they_were():
    table = make_table().assign(const=5.0, empty=np.nan, label="same")
    model = AdversarialAutoencoder(**FAST).fit(table)
    rows = model.sample(20, random_state=0)
    assert (rows["const"] == 5.0).all() and rows["empty"].isna().all()
    assert (rows["label"] == "same").all()


def test_a_warning_free_table_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AdversarialAutoencoder(**FAST).fit(make_table()).sample(10, random_state=0)


# ------------------------------------------------------------ conditions
@pytest.mark.parametrize("estimator", [AdversarialAutoencoder, VariationalAutoencoder])
def test_sample_with_conditions_keeps_them_in_every_row(estimator):
    table = make_table(n=300)
    model = estimator(**FAST).fit(table)
    rows = model.sample(200, random_state=0, conditions={"colour": "blue", "member": True})
    assert len(rows) == 200 and list(rows.columns) == list(table.columns)
    assert (rows["colour"] == "blue").all() and rows["member"].all()
    assert rows.index.equals(pd.RangeIndex(200))
    again = model.sample(200, random_state=0, conditions={"colour": "blue", "member": True})
    pd.testing.assert_frame_equal(rows, again)


def test_sample_conditions_are_checked():
    table = make_table()
    model = AdversarialAutoencoder(**FAST).fit(table)
    with pytest.raises(ValueError, match="not a column"):
        model.sample(5, conditions={"shade": "blue"})
    with pytest.raises(ValueError, match="numeric"):
        model.sample(5, conditions={"income": 3.0})
    with pytest.raises(ValueError, match="not a category"):
        model.sample(5, conditions={"colour": "purple"})
    numeric = AdversarialAutoencoder(**FAST).fit(np.random.default_rng(0).random((50, 3)))
    with pytest.raises(ValueError, match="fitted on a table"):
        numeric.sample(5, conditions={"x0": 1.0})


# ------------------------------------------------------------ defaults
class StopAfterFirstEpoch:
    def on_epoch_end(self, estimator, record):
        return True


@pytest.mark.parametrize(
    "n_rows, batch_size, expected",
    [(400, 10, 25), (100, 100, 300), (1000, 2, 10)],
)
def test_max_iter_auto_runs_about_1000_batches_on_a_table(capsys, n_rows, batch_size, expected):
    model = AdversarialAutoencoder(
        hidden_layer_sizes=(4,), batch_size=batch_size, verbose=1, random_state=0
    )
    model.set_params(callbacks=[StopAfterFirstEpoch()]).fit(make_table(n=n_rows))
    assert f"Epoch 1/{expected}," in capsys.readouterr().out


def test_max_iter_auto_is_300_epochs_on_an_array(capsys):
    X = np.random.default_rng(0).random((20, 3))
    model = AdversarialAutoencoder(hidden_layer_sizes=(4,), verbose=1, random_state=0)
    model.set_params(callbacks=[StopAfterFirstEpoch()]).fit(X)
    assert "Epoch 1/300," in capsys.readouterr().out


def test_hidden_layer_sizes_auto_is_narrower_for_a_table():
    table = make_table()
    X = np.random.default_rng(0).random((40, 3))
    fast = {key: value for key, value in FAST.items() if key != "hidden_layer_sizes"}
    on_table = AdversarialAutoencoder(**fast).fit(table)
    on_array = AdversarialAutoencoder(**fast).fit(X)
    widths = [
        [layer.out_features for layer in model.decoder_.modules() if hasattr(layer, "out_features")]
        for model in (on_table, on_array)
    ]
    assert widths[0][:2] == [128, 128] and widths[1][:2] == [256, 256]


def test_auto_weights_on_a_table_and_on_an_array():
    table = make_table()
    fitted = AdversarialAutoencoder(**FAST).fit(table)
    explicit = dict(adversarial_weight=3.0, average_weights=True)
    reference = AdversarialAutoencoder(**explicit, **FAST).fit(table)
    np.testing.assert_array_equal(fitted.transform(table), reference.transform(table))
    other = AdversarialAutoencoder(adversarial_weight=3.0, average_weights=False, **FAST)
    assert not np.array_equal(other.fit(table).transform(table), fitted.transform(table))
    X = np.random.default_rng(0).random((60, 4))
    on_array = AdversarialAutoencoder(**FAST).fit(X).transform(X)
    explicit = dict(adversarial_weight=0.01, average_weights=False)
    np.testing.assert_array_equal(
        on_array, AdversarialAutoencoder(**explicit, **FAST).fit(X).transform(X)
    )


def test_a_table_transformer_refuses_sparse_input():
    import scipy.sparse as sp

    X = sp.random(20, 4, density=0.5, format="csr", random_state=0)
    with pytest.raises(ValueError, match="not sparse"):
        AdversarialAutoencoder(table=TableTransformer(), **FAST).fit(X)
    with pytest.raises(ValueError, match="needs a table"):
        AdversarialAutoencoder(reconstruction_loss="per_column", **FAST).fit(X)


def test_max_iter_auto_trains_label_regularisation_longer(capsys):
    table = make_table(n=400)
    y = np.where(table["member"], 1, 0)
    model = AdversarialAutoencoder(
        prior="mixture", hidden_layer_sizes=(4,), batch_size=40, verbose=1, random_state=0
    )
    model.set_params(callbacks=[StopAfterFirstEpoch()]).fit(table, y)
    assert "Epoch 1/300," in capsys.readouterr().out  # 10 batches an epoch: 3,000 in 300
    model.set_params(batch_size=10).fit(table, y)
    assert "Epoch 1/75," in capsys.readouterr().out


def test_classifier_prior_follows_imbalanced_labelled_classes():
    rng = np.random.default_rng(0)
    X = rng.random((200, 4))
    y = np.r_[np.zeros(150, dtype=int), np.ones(50, dtype=int)]
    y[::2] = -1
    model = AAEClassifier(**FAST).fit(X, y)
    np.testing.assert_allclose(model.categorical_prior_.weights, [0.75, 0.25])
    draws = model.categorical_prior_.sample(4000, random_state=0)
    assert abs(draws[:, 1].mean() - 0.25) < 0.03
    balanced = AAEClassifier(**FAST).fit(X, np.r_[np.zeros(100, int), np.ones(100, int)])
    assert balanced.categorical_prior_.weights is None


def test_classifier_on_a_table_leaves_the_neighbourhood_term_out():
    table = make_table()
    y = np.where(table["member"], "yes", "no").astype(object)
    y[::2] = -1
    fitted = AAEClassifier(**FAST).fit(table, y)
    assert list(fitted.classes_) == ["no", "yes"]
    assert "neighbor_loss" not in fitted.history_[0]
    X = np.random.default_rng(0).random((60, 4))
    on_array = AAEClassifier(**FAST).fit(X, np.r_[np.zeros(30, int), np.ones(30, int)])
    assert "neighbor_loss" in on_array.history_[0]


def test_duplicated_column_names_are_refused_by_name():
    table = make_table()[["colour", "income"]]
    table.columns = ["a", "a"]
    with pytest.raises(ValueError, match="duplicated column names"):
        AdversarialAutoencoder(**FAST).fit(table)
