"""The closed-form oracles reproduce published exact values: Erlang B and C, M/M/1, M/M/c/K, Pollaczek-Khinchine."""

import itertools
import math
import random
from decimal import Decimal

import oracles as o
import pytest


def assert_printed(value, text):
    """``value`` rounds to ``text``: it lies within half a unit of the last printed digit."""
    printed = Decimal(text)
    half_unit = 0.5 * 10.0 ** printed.as_tuple().exponent
    assert abs(value - float(printed)) <= half_unit * (1 + 1e-9), (value, text)


# --- Erlang C table (mu = 1) ---------------------------------------------------------------------

ERLANG_C_TABLE = [
    # c, lam, P(wait), Wq, W, p50 T, p95 T, p99 T
    (1, 0.8, "0.8", "4", "5", "3.46574", "14.97866", "23.02585"),
    (10, 9, "0.668732", "0.668732", "1.668732", "1.32909", "4.36087", "6.24988"),
    (50, 47.5, "0.629095", "0.251638", "1.251638", "0.97216", "3.34400", "4.95523"),
    (100, 90, "0.216940", "0.021694", "1.021694", "0.71693", "3.01955", "4.62899"),
    (1000, 900, "5.9267e-4", "5.9267e-6", "1.0000059", "0.69315", "2.99574", "4.60518"),
    (1000, 990, "0.659080", "0.065908", "1.065908", "0.76375", "3.06641", "4.67584"),
]


@pytest.mark.parametrize("c, lam, p_wait, wq, w, p50, p95, p99", ERLANG_C_TABLE)
def test_erlang_c_table(c, lam, p_wait, wq, w, p50, p95, p99):
    m = o.mmc(c, lam, 1.0)
    assert_printed(m.p_wait, p_wait)
    assert_printed(m.wq, wq)
    assert_printed(m.w, w)
    assert_printed(m.sojourn_quantile(0.50), p50)
    assert_printed(m.sojourn_quantile(0.95), p95)
    assert_printed(m.sojourn_quantile(0.99), p99)
    assert o.erlang_c(c, lam) == pytest.approx(m.p_wait, rel=1e-15)


def test_mm1_row_is_exact():
    m = o.mmc(1, 0.8, 1.0)
    assert (m.p_wait, m.wq, m.w) == pytest.approx((0.8, 4.0, 5.0), rel=1e-12)
    assert o.mm1_w(0.8, 1.0) == pytest.approx(5.0, rel=1e-12)
    assert o.mm1_wq(0.8, 1.0) == pytest.approx(4.0, rel=1e-12)
    for p in (0.5, 0.95, 0.99):
        exact = -math.log(1 - p) / 0.2
        assert o.mm1_sojourn_quantile(0.8, 1.0, p) == pytest.approx(exact, rel=1e-12)
        assert m.sojourn_quantile(p) == pytest.approx(exact, rel=1e-12)


def test_suite_oracles_quoted_in_the_note():
    assert_printed(o.mmc(10, 9, 1).sojourn_quantile(0.99), "6.24988")
    big = o.mmc(1000, 900, 1)  # section 4 baseline: Wq 5.93e-6, P(wait) 5.93e-4, W 1.0000059, p99 4.6052
    assert_printed(big.wq, "5.93e-6")
    assert_printed(big.p_wait, "5.93e-4")
    assert_printed(big.sojourn_quantile(0.99), "4.6052")
    assert big.p_wait < 2e-3
    assert 1 / 1700 == pytest.approx(big.p_wait, rel=0.01)  # "only 1 request in 1,700 waits"


# --- Erlang B, M/M/c/K, Pollaczek-Khinchine ------------------------------------------------------

@pytest.mark.parametrize("c, a, text", [(10, 9, "0.167963"), (100, 90, "0.0269574"), (1000, 900, "5.9299e-5")])
def test_erlang_b_values(c, a, text):
    assert_printed(o.erlang_b(c, a), text)


def test_erlang_b_matches_the_direct_sum():
    for c, a in [(1, 0.5), (5, 3.0), (10, 9.0), (30, 40.0)]:
        direct = (a**c / math.factorial(c)) / sum(a**k / math.factorial(k) for k in range(c + 1))
        assert o.erlang_b(c, a) == pytest.approx(direct, rel=1e-12)
    assert o.erlang_b(0, 5.0) == 1.0
    assert o.erlang_b(7, 0.0) == 0.0


@pytest.mark.parametrize("a", [0.5, 9.0, 90.0, 900.0])
def test_erlang_b_decreases_in_c(a):
    values = [o.erlang_b(c, a) for c in range(int(2 * a) + 20)]
    assert all(later < earlier for earlier, later in itertools.pairwise(values))


def test_erlang_c_exceeds_erlang_b():
    for c, a in [(1, 0.8), (10, 9), (50, 47.5), (1000, 900)]:
        assert o.erlang_c(c, a) > o.erlang_b(c, a)


@pytest.mark.parametrize("lam, block", [(9, "0.0295101"), (12, "0.179666")])
def test_mm10_20_blocking(lam, block):
    m = o.mmck(10, 20, lam, 1.0)
    assert_printed(m.p_block, block)
    assert m.l == pytest.approx(m.lam_eff * m.w, rel=1e-12)  # Little's law
    assert m.lq == pytest.approx(m.lam_eff * m.wq, rel=1e-12)
    assert m.utilisation == pytest.approx((m.l - m.lq) / 10, rel=1e-12)


def test_mm10_20_wait_at_lam_12():
    assert_printed(o.mmck(10, 20, 12, 1.0).wq, "0.63597")


def test_mmck_tends_to_mmc_as_k_grows():
    central = o.mmc(10, 9, 1.0)
    gaps = [abs(o.mmck(10, k, 9, 1.0).wq - central.wq) for k in (10, 20, 40, 80, 160)]
    assert all(later < earlier for earlier, later in itertools.pairwise(gaps))
    far = o.mmck(10, 500, 9, 1.0)
    assert far.p_block < 1e-20
    assert far.wq == pytest.approx(central.wq, rel=1e-12)
    assert far.w == pytest.approx(central.w, rel=1e-12)
    assert far.lq == pytest.approx(central.lq, rel=1e-12)


def test_mmck_without_a_queue_is_erlang_b_even_for_large_c():
    for c, a in [(10, 9.0), (100, 90.0), (1000, 900.0)]:
        m = o.mmck(c, c, a, 1.0)
        assert m.p_block == pytest.approx(o.erlang_b(c, a), rel=1e-9)
        assert m.wq == 0.0
    overloaded = o.mmck(2, 5, 10.0, 1.0)  # finite, so rho > 1 is fine
    assert 0.5 < overloaded.p_block < 1


@pytest.mark.parametrize("scv, wq", [(1.0, "4"), (0.0, "2"), (o.lognormal_scv(1.0), "5.436564")])
def test_pollaczek_khinchine_at_rho_0_8(scv, wq):
    assert_printed(o.pk_mg1(0.8, 1.0, scv), wq)


def test_pollaczek_khinchine_exact_cases():
    assert o.pk_mg1(0.8, 1.0, 1.0) == pytest.approx(o.mm1_wq(0.8, 1.0), rel=1e-12)
    assert o.pk_mg1(0.8, 1.0, 0.0) == pytest.approx(2.0, rel=1e-12)
    assert o.lognormal_scv(1.0) == pytest.approx(math.e - 1, rel=1e-15)
    assert_printed(o.pk_mg1(0.8, 1.0, o.lognormal_scv(1.0)), "5.4366")


def test_halfin_whitt_is_only_a_sanity_check():
    assert_printed(o.halfin_whitt_c(1000, 0.9), "8.5e-4")


# --- M/M/c tails ---------------------------------------------------------------------------------

# (10, 9) has theta = c*mu - lam == mu exactly: the limit case of the sojourn tail.
TAIL_CASES = [(1, 0.8), (2, 1.0), (10, 9), (50, 47.5), (1000, 990), (1000, 900), (3, 0.5)]


@pytest.mark.parametrize("c, lam", TAIL_CASES)
def test_sojourn_tail_starts_at_one_and_decreases(c, lam):
    m = o.mmc(c, lam, 1.0)
    assert m.sojourn_tail(0.0) == 1.0
    assert m.sojourn_tail(-1.0) == 1.0
    grid = [0.05 * i for i in range(1, 1200)]
    tails = [m.sojourn_tail(t) for t in grid]
    assert all(0 <= later < earlier <= 1 for earlier, later in itertools.pairwise([1.0] + tails))
    assert m.wait_tail(0.0) == pytest.approx(m.p_wait)


def _integral(f, upper, steps=20000):
    h = upper / steps
    inner = sum((4 if i % 2 else 2) * f(i * h) for i in range(1, steps))
    return h / 3 * (f(0.0) + inner + f(upper))


@pytest.mark.parametrize("c, lam", TAIL_CASES)
def test_tails_integrate_to_the_means(c, lam):
    m = o.mmc(c, lam, 1.0)
    assert _integral(m.sojourn_tail, 50 / min(m.theta, m.mu)) == pytest.approx(m.w, rel=1e-7)
    assert _integral(m.wait_tail, 50 / m.theta) == pytest.approx(m.wq, rel=1e-7)


def test_sojourn_tail_is_continuous_across_theta_equal_mu():
    at = o.mmc(10, 9.0, 1.0)
    for lam in (9.0 - 1e-7, 9.0 + 1e-7):
        near = o.mmc(10, lam, 1.0)
        for t in (0.1, 1.0, 5.0, 20.0):
            assert near.sojourn_tail(t) == pytest.approx(at.sojourn_tail(t), rel=1e-5)
    for t in (0.5, 3.0):  # the limit itself: e^{-t}(1 + C t) when theta == mu == 1
        assert at.sojourn_tail(t) == pytest.approx(math.exp(-t) * (1 + at.p_wait * t), rel=1e-14)


def test_mm1_sojourn_tail_is_exponential_even_far_out():
    m = o.mmc(1, 0.999, 1.0)  # theta << mu: exercises the direct branch at large t
    for t in (1.0, 100.0, 1000.0, 5000.0):
        assert m.sojourn_tail(t) == pytest.approx(math.exp(-0.001 * t), rel=1e-9)


@pytest.mark.parametrize("c, lam", TAIL_CASES)
def test_quantiles_invert_the_tails(c, lam):
    m = o.mmc(c, lam, 1.0)
    assert m.sojourn_quantile(0.0) == 0.0
    for p in (0.1, 0.5, 0.9, 0.95, 0.99, 0.999):
        assert m.sojourn_tail(m.sojourn_quantile(p)) == pytest.approx(1 - p, rel=1e-9)
        q = m.wait_quantile(p)
        if p <= 1 - m.p_wait:
            assert q == 0.0
        else:
            assert q > 0 and m.wait_tail(q) == pytest.approx(1 - p, rel=1e-9)
    assert o.mmc(10, 9, 1).wait_quantile(0.3) == 0.0  # 1 - C = 0.331


def test_bad_arguments_are_refused():
    for call in (lambda: o.mmc(10, 10, 1.0), lambda: o.erlang_c(0, 0.5), lambda: o.mmck(10, 9, 1, 1),
                 lambda: o.pk_mg1(1.0, 1.0, 1.0), lambda: o.en_m1_wait(10, 1.0, 1.0),
                 lambda: o.supermarket(1.0, 2), lambda: o.mmc(2, 1, 1).sojourn_quantile(1.0),
                 lambda: o.nginx_swrr([1, 0], 3), lambda: o.batch_means_ci([1.0] * 5, 20)):
        with pytest.raises(ValueError):
            call()


# --- routing -------------------------------------------------------------------------------------

@pytest.mark.parametrize("lam, d, text", [
    (0.9, 1, "10"), (0.9, 2, "2.614057"), (0.9, 3, "2.027856"),
    (0.99, 1, "100"), (0.99, 2, "5.431997"), (0.99, 3, "3.857847"),
])
def test_supermarket(lam, d, text):
    assert_printed(o.supermarket(lam, d), text)


def test_supermarket_improves_with_d_and_converges():
    values = [o.supermarket(0.95, d) for d in range(1, 8)]
    assert all(later < earlier for earlier, later in itertools.pairwise(values))
    assert o.supermarket(0.9, 1) == pytest.approx(10.0, rel=1e-12)
    assert o.supermarket(0.99, 2, terms=30) == o.supermarket(0.99, 2)
    assert o.supermarket(0.0, 2) == 1.0


@pytest.mark.parametrize("n, text", [(100, "5.2268"), (1000, "5.1835")])
def test_round_robin_agents_are_en_m1(n, text):
    wq, w = o.en_m1_wait(n, 0.9, 1.0)
    assert_printed(w, text)
    assert w == pytest.approx(wq + 1.0, rel=1e-15)


def test_en_m1_limits():
    wq, w = o.en_m1_wait(1, 0.9, 1.0)  # E_1/M/1 = M/M/1
    assert (wq, w) == pytest.approx((o.mm1_wq(0.9, 1.0), o.mm1_w(0.9, 1.0)), rel=1e-9)
    sigma = 0.5  # D/M/1 at rho = 0.9 is the n -> infinity limit: sigma = exp(-(1 - sigma)/rho)
    for _ in range(5000):
        sigma = math.exp(-(1 - sigma) / 0.9)
    dm1 = sigma / (1 - sigma) + 1
    ws = [o.en_m1_wait(n, 0.9, 1.0)[1] for n in (1, 2, 10, 100, 1000, 10**6)]
    assert all(later < earlier for earlier, later in itertools.pairwise(ws))
    assert ws[-1] == pytest.approx(dm1, rel=1e-5) and ws[-1] > dm1
    assert o.en_m1_wait(100, 0.9, 1.0)[1] > o.supermarket(0.9, 2)  # ordering: P2C <= RR <= random
    assert o.en_m1_wait(100, 0.9, 1.0)[1] < o.supermarket(0.9, 1)


def test_envoy_p2c_vector():
    assert o.envoy_p2c_pick_probabilities([3, 0, 0, 5]) == [3 / 16, 6 / 16, 6 / 16, 1 / 16]


def _brute_force_picks(loads, choices):
    n = len(loads)
    picks = [0] * n
    for draws in itertools.product(range(n), repeat=choices):
        best = draws[0]
        for host in draws[1:]:
            if loads[host] < loads[best]:  # strict: ties keep the earlier draw
                best = host
        picks[best] += 1
    return [k / n**choices for k in picks]


@pytest.mark.parametrize("choices", [1, 2, 3])
def test_envoy_p2c_closed_form_matches_enumeration(choices):
    rng = random.Random(7)
    for _ in range(40):
        loads = [rng.randint(0, 4) for _ in range(rng.randint(1, 9))]
        exact = o.envoy_p2c_pick_probabilities(loads, choices)
        assert exact == pytest.approx(_brute_force_picks(loads, choices), abs=1e-15)
        assert math.fsum(exact) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("weights, letters", [([5, 1, 1], "aabacaa"), ([2, 1], "aba"), ([4, 2, 1], "abacaba")])
def test_nginx_smooth_wrr_vectors(weights, letters):
    assert "".join("abc"[i] for i in o.nginx_swrr(weights, len(letters))) == letters


def test_nginx_smooth_wrr_windows_and_ties():
    assert o.nginx_swrr([1, 1, 1], 6) == [0, 1, 2, 0, 1, 2]  # the first peer wins ties
    rng = random.Random(3)
    for _ in range(30):
        weights = [rng.randint(1, 6) for _ in range(rng.randint(1, 6))]
        total = sum(weights)
        picks = o.nginx_swrr(weights, 3 * total)
        for start in range(2 * total + 1):
            window = picks[start:start + total]
            assert [window.count(i) for i in range(len(weights))] == weights


# --- statistics ----------------------------------------------------------------------------------

def test_t_quantiles():
    assert o.t_quantile_975(1) == pytest.approx(12.706204736)
    assert o.t_quantile_975(19) == pytest.approx(2.093024054)
    assert o.t_quantile_975(60) == pytest.approx(2.000297822, abs=1e-8)
    assert o.t_quantile_975(120) == pytest.approx(1.979930405, abs=1e-8)
    assert o.t_quantile_975(10**7) == pytest.approx(1.959963985, abs=1e-6)
    values = [o.t_quantile_975(df) for df in range(1, 500)]
    assert all(later < earlier for earlier, later in itertools.pairwise(values))


def test_batch_means_by_hand():
    mean, half = o.batch_means_ci([float(i) for i in range(40)], batches=20)
    means = [2 * j + 0.5 for j in range(20)]
    sd = math.sqrt(sum((m - 19.5) ** 2 for m in means) / 19)
    assert mean == pytest.approx(19.5)
    assert half == pytest.approx(2.093024054 * sd / math.sqrt(20))
    assert o.batch_means_ci([99.0] + [float(i) for i in range(40)], batches=20) == (mean, half)  # front leftover dropped
    assert o.batch_means_ci([2.5] * 100) == (2.5, 0.0)


def test_batch_means_interval_covers_about_95_percent():
    rng = random.Random(20240601)
    hits = 0
    for _ in range(300):
        mean, half = o.batch_means_ci([rng.expovariate(1.0) for _ in range(400)])
        hits += abs(mean - 1.0) <= half
    assert 0.90 <= hits / 300 <= 0.99
