"""The siting scorecard: fixed normalisation, weights per tier, missing inputs, bad weight files."""

import numpy as np
import pytest

from powerfirst.errors import ValidationError
from powerfirst.models.siting.score import (
    PILLARS,
    TIERS,
    load_scorecard,
    pillar_scores,
    total_score,
)


def test_default_weights_are_normalised_per_tier():
    card = load_scorecard()
    for tier in TIERS:
        w = card.tier_weights(tier)
        assert w.shape == (len(PILLARS),) and (w >= 0).all()
        assert w.sum() == pytest.approx(1.0)
    # the tiers differ where the scorecard says they should: latency matters most at the edge
    lat = PILLARS.index("latency")
    assert card.tier_weights("edge")[lat] > card.tier_weights("regional")[lat] > card.tier_weights("training")[lat]


def test_ramps_are_linear_clipped_and_fixed():
    card = load_scorecard()
    # time_to_power.p50_months ramps from 84 (0) to 12 (1): 48 months is halfway
    s, _ = pillar_scores(card, {"p50_months": np.array([12.0, 48.0, 84.0, 6.0, 200.0])})
    np.testing.assert_allclose(s["time_to_power"], [1.0, 0.5, 0.0, 1.0, 0.0])


def test_missing_inputs_renormalise_within_the_pillar_and_are_reported():
    card = load_scorecard()
    # power_capacity combines hv distance (0.5), headroom ratio (0.3) and plants (0.2); missing -> 0.5
    layers = {"hv_distance_km": np.array([2.0, np.nan]), "headroom_ratio_log10": np.array([1.0, 1.0]),
              "plant_ratio_log10": np.array([np.nan, np.nan])}
    s, present = pillar_scores(card, layers)
    # a missing input scores the neutral 0.5, never 0 (far) nor 1: site 0 = 0.5*1 + 0.3*0.5 + 0.2*0.5;
    # site 1 = 0.5*0.5 + 0.3*0.5 + 0.2*0.5
    np.testing.assert_allclose(s["power_capacity"], [0.75, 0.5])
    assert present["power_capacity"]["hv_distance_km"].tolist() == [True, False]
    # an input absent from the layers does not apply: left out, the others renormalised
    s2, _ = pillar_scores(card, {"hv_distance_km": np.array([2.0]), "headroom_ratio_log10": np.array([1.0])})
    np.testing.assert_allclose(s2["power_capacity"], [(0.5 + 0.15) / 0.8])
    # the optional community_alignment is left out when not given
    s3, _ = pillar_scores(card, {"social_severity": np.array([0.0, 0.0]), "community_alignment": np.array([np.nan, 1.0])})
    np.testing.assert_allclose(s3["social_licence"], [1.0, 1.0])


def test_total_renormalises_over_present_pillars_and_broadcasts_over_draws():
    card = load_scorecard()
    w = card.tier_weights("training")
    scores = {p: np.array([0.5, np.nan]) for p in PILLARS}
    scores["time_to_power"] = np.array([1.0, 1.0])
    t = total_score(scores, w)
    i = PILLARS.index("time_to_power")
    assert t[0] == pytest.approx(0.5 + 0.5 * w[i])
    assert t[1] == pytest.approx(1.0)  # only one pillar present: its own score
    draws = {p: np.tile(v[:, None], (1, 3)) for p, v in scores.items()}
    td = total_score(draws, np.tile(w, (3, 1)))
    np.testing.assert_allclose(td, np.tile(t[:, None], (1, 3)))


def _write(tmp_path, text):
    f = tmp_path / "w.yaml"
    f.write_text(text)
    return f


def test_bad_weight_files_name_the_key(tmp_path):
    full = "\n".join(f"    {p}: 1" for p in PILLARS)
    with pytest.raises(ValidationError) as e:
        load_scorecard(_write(tmp_path, "weights:\n  training:\n" + full.replace("latency: 1", "latency: -2")))
    assert "weights.training.latency: weights must be >= 0, found -2" in str(e.value)
    with pytest.raises(ValidationError) as e:
        load_scorecard(_write(tmp_path, "weights:\n  training:\n" + full + "\n    latncy: 1"))
    assert "unknown pillar 'latncy' (did you mean latency?)" in str(e.value)
    with pytest.raises(ValidationError) as e:
        load_scorecard(_write(tmp_path, "weights:\n  training:\n" + full.replace(": 1", ": 0")))
    assert "the weights sum to 0; they must sum to a positive number" in str(e.value)
    with pytest.raises(ValidationError) as e:
        load_scorecard(_write(tmp_path, "weights:\n  trainng:\n" + full))
    assert "unknown tier 'trainng' (did you mean training?)" in str(e.value)
    with pytest.raises(ValidationError) as e:
        load_scorecard(_write(tmp_path, "weights:\n  edge:\n    latency: 3\n"))
    assert "weights.edge: no weight for time_to_power" in str(e.value)
    with pytest.raises(ValidationError) as e:
        load_scorecard(_write(tmp_path, "wieghts: {}\n"))
    assert "unknown block 'wieghts' (did you mean weights?)" in str(e.value)
    with pytest.raises(ValidationError) as e:
        load_scorecard(_write(tmp_path, "weights: [1, 2\n"))
    assert "not valid YAML" in str(e.value)


def test_an_override_changes_only_what_it_names(tmp_path):
    full = "\n".join(f"    {p}: {'5' if p == 'time_to_power' else '1'}" for p in PILLARS)
    card = load_scorecard(_write(tmp_path, "weights:\n  training:\n" + full + "\n"))
    w = card.tier_weights("training")
    assert w[PILLARS.index("time_to_power")] == pytest.approx(5 / 12)
    base = load_scorecard()
    np.testing.assert_allclose(card.tier_weights("edge"), base.tier_weights("edge"))
    assert card.normalisation == base.normalisation
