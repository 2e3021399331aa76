"""Glicko-2 ratings (Glickman, "Example of the Glicko-2 system"), used with items as players.

Easy2Hard-Bench rates item difficulty this way: every (model, item) outcome is a game the model
wins when it answers correctly, so an item's rating rises with each model it defeats.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SCALE = 173.7178


def _g(phi: np.ndarray) -> np.ndarray:
    return 1.0 / np.sqrt(1.0 + 3.0 * phi ** 2 / math.pi ** 2)


def _volatility(sigma, phi, delta, v, tau, eps=1e-6):
    """Step 5 of the algorithm (Illinois iteration), vectorised over players."""
    a = np.log(sigma ** 2)

    def f(x):
        ex = np.exp(x)
        return (ex * (delta ** 2 - phi ** 2 - v - ex) / (2 * (phi ** 2 + v + ex) ** 2)
                - (x - a) / tau ** 2)

    big_a = a.copy()
    big_b = np.where(delta ** 2 > phi ** 2 + v, np.log(np.maximum(delta ** 2 - phi ** 2 - v, 1e-300)),
                     np.nan)
    need = np.isnan(big_b)
    k = np.ones_like(a)
    while need.any():
        cand = a - k * tau
        ok = f(cand) >= 0
        big_b = np.where(need & ok, cand, big_b)
        need = need & ~ok
        k = k + 1
    fa, fb = f(big_a), f(big_b)
    for _ in range(200):
        active = np.abs(big_b - big_a) > eps  # each player stops at its own convergence
        if not active.any():
            break
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.where(active, big_a + (big_a - big_b) * fa / (fb - fa), big_b)
        fc = f(c)
        swap = fc * fb <= 0
        big_a, fa = (np.where(active & swap, big_b, big_a),
                     np.where(active, np.where(swap, fb, fa / 2), fa))
        big_b, fb = np.where(active, c, big_b), np.where(active, fc, fb)
    return np.exp(big_a / 2)


def update(rating, rd, vol, opp_rating, opp_rd, score, *, tau: float = 0.5,
           player: np.ndarray | None = None, n_players: int | None = None):
    """One rating period. Scalars (one player, list of games) or arrays with ``player`` indices.

    Returns (rating, rd, volatility) arrays; players without games only have their RD grown.
    """
    rating, rd, vol = (np.atleast_1d(np.asarray(v, float)) for v in (rating, rd, vol))
    opp_rating, opp_rd, score = (np.asarray(v, float) for v in (opp_rating, opp_rd, score))
    player = np.zeros(len(score), int) if player is None else np.asarray(player)
    n = len(rating) if n_players is None else n_players
    mu, phi = (rating - 1500) / SCALE, rd / SCALE
    mu_j, phi_j = (opp_rating - 1500) / SCALE, opp_rd / SCALE
    g = _g(phi_j)
    e = 1.0 / (1.0 + np.exp(-g * (mu[player] - mu_j)))
    v_inv = np.bincount(player, g ** 2 * e * (1 - e), minlength=n)
    s = np.bincount(player, g * (score - e), minlength=n)
    played = v_inv > 0
    v_played = 1.0 / np.where(played, v_inv, 1.0)  # players without games: no v, no delta
    v = np.where(played, v_played, np.inf)
    delta = np.where(played, v_played * s, 0.0)
    new_vol = vol.copy()
    if played.any():
        new_vol[played] = _volatility(vol[played], phi[played], delta[played], v[played], tau)
    phi_star = np.sqrt(phi ** 2 + new_vol ** 2)
    new_phi = np.where(played, 1.0 / np.sqrt(1.0 / phi_star ** 2 + v_inv), phi_star)
    new_mu = np.where(played, mu + new_phi ** 2 * s, mu)
    return 1500 + SCALE * new_mu, SCALE * new_phi, new_vol


def rate_items(items: pd.DataFrame, *, periods: int = 1, tau: float = 0.5, init_rd: float = 350,
               init_vol: float = 0.06, seed: int = 0,
               initial: pd.DataFrame | None = None) -> pd.DataFrame:
    """Glicko-2 ratings of models and items from ``model, item_id, score`` outcomes.

    Scores in [0, 1] are the model's result against the item (1 = model wins). The games,
    sorted by model and item, are shuffled and split into ``periods`` rating periods; within a period all ratings update at once.
    ``initial`` (``kind, name, rating, rd, volatility``, e.g. an earlier output) sets players'
    starting values; the others start at 1500 / ``init_rd`` / ``init_vol``.
    Returns ``kind, name, rating, rd, volatility``.
    """
    df = items[["model", "item_id", "score"]].dropna()
    # the shuffle starts from a canonical order, so the table's row order does not matter
    df = df.assign(model=df["model"].astype(str), item_id=df["item_id"].astype(str)
                   ).sort_values(["model", "item_id"], kind="stable")
    models, m_idx = np.unique(df["model"].astype(str), return_inverse=True)
    item_ids, i_idx = np.unique(df["item_id"].astype(str), return_inverse=True)
    n_m = len(models)
    idx_a, idx_b = m_idx, i_idx + n_m
    score = df["score"].to_numpy(float)
    n = n_m + len(item_ids)
    kind = np.array(["model"] * n_m + ["item"] * len(item_ids))
    names = np.concatenate([models, item_ids])
    rating, rd, vol = np.full(n, 1500.0), np.full(n, float(init_rd)), np.full(n, float(init_vol))
    if initial is not None:
        start = initial.set_index(["kind", "name"])
        for i, key in enumerate(zip(kind, names)):
            if key in start.index:
                rating[i], rd[i], vol[i] = start.loc[key, ["rating", "rd", "volatility"]]
    order = np.random.default_rng(seed).permutation(len(score))
    for chunk in np.array_split(order, periods):
        players = np.concatenate([idx_a[chunk], idx_b[chunk]])
        opps = np.concatenate([idx_b[chunk], idx_a[chunk]])
        sc = np.concatenate([score[chunk], 1 - score[chunk]])
        rating, rd, vol = update(rating, rd, vol, rating[opps], rd[opps], sc, tau=tau,
                                 player=players, n_players=n)
    return pd.DataFrame({"kind": kind, "name": names, "rating": rating, "rd": rd,
                         "volatility": vol})
