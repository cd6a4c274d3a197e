//! Rank statistics of the studies' trend claims: Spearman's rho with its
//! permutation test, and a permutation test for failures along ordered groups.

/// Average ranks (1-based; tied values share the mean of their ranks).
pub fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut start = 0;
    while start < order.len() {
        // The first of a run always counts itself, so a NaN (equal to
        // nothing, itself included) gets a rank of its own instead of a tie
        // of length 0 that would never move `start`.
        let tie = 1 + order[start + 1..]
            .iter()
            .take_while(|&&k| v[k] == v[order[start]])
            .count();
        // Positions start..start+tie (0-based) share rank start + (tie + 1)/2.
        let shared = start as f64 + (tie as f64 + 1.0) / 2.0;
        for &k in &order[start..start + tie] {
            ranks[k] = shared;
        }
        start += tie;
    }
    ranks
}

/// Spearman's rank correlation rho: the Pearson correlation of the average
/// ranks of x and y (pairs (x_i, y_i)). NaN when there are fewer than 3
/// pairs, either side is constant (no ranking to correlate) or holds a NaN.
pub fn spearman_rho(x: &[f64], y: &[f64]) -> f64 {
    match CentredRanks::of(x, y) {
        Some(r) => r.rho(r.dot(&r.y)),
        None => f64::NAN,
    }
}

/// The ranks of paired samples minus their mean (N + 1)/2: multiples of 1/2,
/// so their products and sums over a few thousand pairs are exact in f64.
struct CentredRanks {
    x: Vec<f64>,
    y: Vec<f64>,
}

impl CentredRanks {
    /// `None` where rho is undefined (see `spearman_rho`).
    fn of(x: &[f64], y: &[f64]) -> Option<CentredRanks> {
        assert_eq!(x.len(), y.len(), "spearman_rho: paired samples");
        if x.len() < 3 || x.iter().chain(y).any(|v| v.is_nan()) {
            return None;
        }
        let mean = (x.len() as f64 + 1.0) / 2.0;
        let centre =
            |v: &[f64]| -> Vec<f64> { average_ranks(v).iter().map(|r| r - mean).collect() };
        let r = CentredRanks {
            x: centre(x),
            y: centre(y),
        };
        (dot(&r.x, &r.x) > 0.0 && dot(&r.y, &r.y) > 0.0).then_some(r)
    }

    /// sum_i x_i b_i: rho's numerator for the pairing b of the y ranks.
    fn dot(&self, b: &[f64]) -> f64 {
        dot(&self.x, b)
    }

    /// rho from its numerator (the denominator does not depend on the pairing).
    fn rho(&self, numerator: f64) -> f64 {
        numerator / (self.dot(&self.x) * dot(&self.y, &self.y)).sqrt()
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| u * v).sum()
}

/// Pairs up to which `spearman_decrease` enumerates every pairing (8! = 40320).
const EXACT_PAIRS: usize = 8;

/// Random pairings `spearman_decrease` draws beyond `EXACT_PAIRS` pairs.
const RANDOM_PAIRINGS: usize = 100_000;

/// Spearman's rho of paired x, y and the one-sided p-value of a decreasing
/// trend: P(rho' <= rho) when the y values are paired with the x values at
/// random (under independence every pairing is equally likely), ties in x
/// or y taken as they are. rho' <= rho exactly when the numerator
/// sum_i cx_i cy_pi(i) of the centred ranks is <= the observed one (the
/// denominator does not depend on the pairing; the sums are exact).
/// Up to 8 pairs the p-value is exact, over all N! pairings (p >= 1/N!).
/// Beyond, it comes from 100000 random pairings drawn from a fixed stream,
/// by the +1 rule, (count + 1)/(100000 + 1), which keeps the test's level;
/// cost 100000 N. Returns (rho, p), both NaN where rho is undefined.
///
/// Why not Student's t approximation t = rho sqrt((N - 2)/(1 - rho^2)): with
/// few pairs, and with x taking few distinct values, its p-values are several
/// times too small (x = (20, 20, 40, 40, 40), y falling: 0.029 against the
/// exact 0.100), and at |rho| = 1 it gives 0.
pub fn spearman_decrease(x: &[f64], y: &[f64]) -> (f64, f64) {
    let Some(r) = CentredRanks::of(x, y) else {
        return (f64::NAN, f64::NAN);
    };
    let observed = r.dot(&r.y);
    let rho = r.rho(observed);
    let p = if x.len() <= EXACT_PAIRS {
        exact_share_at_most(&r, observed)
    } else {
        random_share_at_most(&r, observed, RANDOM_PAIRINGS)
    };
    (rho, p)
}

/// Spearman's rho of paired x, y and the one-sided p-value of an increasing
/// trend, P(rho' >= rho): the decrease test of -y, its rho negated back
/// (as 0 - rho, so that a rho of 0 stays +0).
pub fn spearman_increase(x: &[f64], y: &[f64]) -> (f64, f64) {
    let falling: Vec<f64> = y.iter().map(|v| -v).collect();
    let (minus_rho, p) = spearman_decrease(x, &falling);
    (0.0 - minus_rho, p)
}

/// The share of all N! pairings (Heap's algorithm) whose numerator is
/// <= `observed`.
fn exact_share_at_most(r: &CentredRanks, observed: f64) -> f64 {
    let mut y = r.y.clone();
    let n = y.len();
    let (mut at_most, mut total) = (0u64, 0u64);
    let mut count = |y: &[f64]| {
        total += 1;
        if r.dot(y) <= observed {
            at_most += 1;
        }
    };
    count(&y);
    let mut c = vec![0usize; n];
    let mut i = 1;
    while i < n {
        if c[i] < i {
            let j = if i % 2 == 0 { 0 } else { c[i] };
            y.swap(j, i);
            count(&y);
            c[i] += 1;
            i = 1;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    at_most as f64 / total as f64
}

/// (count + 1)/(pairings + 1) over `pairings` random pairings whose
/// numerator is <= `observed` (the observed pairing counted once).
fn random_share_at_most(r: &CentredRanks, observed: f64, pairings: usize) -> f64 {
    use rand::seq::SliceRandom;
    let mut rng = crate::rng::stream(0, r.x.len() as u64, "spearman-random-pairings");
    let mut y = r.y.clone();
    let mut at_most = 0usize;
    for _ in 0..pairings {
        y.shuffle(&mut rng);
        if r.dot(&y) <= observed {
            at_most += 1;
        }
    }
    (at_most + 1) as f64 / (pairings + 1) as f64
}

/// One-sided test that a failure becomes rarer along ordered groups
/// (`groups[g]` = (failures, runs) of group g, in the order of the factor):
/// the statistic U = sum over groups a < b of (F_a S_b - S_a F_b), with F
/// failures and S = runs - F successes (Kendall's S between the group order
/// and success; the Jonckheere-Terpstra statistic for a two-valued outcome,
/// centred), and its permutation p-value P(U' >= U) when the runs' outcomes
/// are exchangeable across groups, from `permutations` random relabellings
/// by `rng` and the +1 rule (p >= 1/(permutations + 1)).
/// Returns (U, p); p is NaN when no run or every run failed (U is then 0
/// under every relabelling: nothing to rank). Cost: permutations x runs.
pub fn fewer_failures_along(
    groups: &[(usize, usize)],
    permutations: usize,
    rng: &mut crate::rng::Rng,
) -> (f64, f64) {
    use rand::seq::SliceRandom;
    let statistic = |fails: &[usize]| -> f64 {
        let mut u = 0.0;
        for a in 0..groups.len() {
            for b in a + 1..groups.len() {
                let (fa, fb) = (fails[a] as f64, fails[b] as f64);
                let (sa, sb) = (groups[a].1 as f64 - fa, groups[b].1 as f64 - fb);
                u += fa * sb - sa * fb;
            }
        }
        u
    };
    let observed: Vec<usize> = groups.iter().map(|g| g.0).collect();
    let u = statistic(&observed);
    let total: usize = groups.iter().map(|g| g.1).sum();
    let failed: usize = observed.iter().sum();
    if failed == 0 || failed == total {
        return (u, f64::NAN);
    }
    let mut outcomes: Vec<bool> = (0..total).map(|i| i < failed).collect();
    let mut at_least = 0usize;
    let mut fails = vec![0; groups.len()];
    for _ in 0..permutations {
        outcomes.shuffle(rng);
        let mut start = 0;
        for (g, &(_, runs)) in groups.iter().enumerate() {
            fails[g] = outcomes[start..start + runs].iter().filter(|&&f| f).count();
            start += runs;
        }
        // U is a sum of products of counts: exact in f64, so >= compares exactly.
        if statistic(&fails) >= u {
            at_least += 1;
        }
    }
    (u, (at_least + 1) as f64 / (permutations + 1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_ties_and_give_a_nan_its_own_rank() {
        assert_eq!(
            average_ranks(&[3.0, 1.0, 3.0, 2.0]),
            vec![3.5, 1.0, 3.5, 2.0]
        );
        // Used to loop for ever: a NaN ties with nothing, itself included.
        assert_eq!(average_ranks(&[1.0, f64::NAN, 2.0]).len(), 3);
        assert!(spearman_rho(&[1.0, f64::NAN, 2.0], &[1.0, 2.0, 3.0]).is_nan());
        assert!(spearman_decrease(&[1.0, 2.0, 3.0], &[1.0, f64::NAN, 2.0])
            .1
            .is_nan());
    }

    /// Exact p-values from enumerating every pairing in exact rational
    /// arithmetic (Python's itertools and fractions, outside this code).
    #[test]
    fn spearman_decrease_is_exact_up_to_eight_pairs() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let down = [9.0, 7.0, 7.5, 4.0, 2.0, 1.0];
        let (rho, p) = spearman_decrease(&x, &down);
        assert!(
            (rho - (1.0 - 6.0 * 68.0 / (6.0 * 35.0))).abs() < 1e-12,
            "{rho}"
        );
        assert_eq!(rho, spearman_rho(&x, &down));
        assert!((p - 1.0 / 120.0).abs() < 1e-15, "{p}");
        // A perfect trend over N pairs is one pairing in N!, not p = 0.
        assert!(
            (spearman_decrease(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]).1 - 1.0 / 6.0).abs() < 1e-15
        );
        let (rho, p) = spearman_decrease(&[1.0, 2.0, 3.0, 4.0], &[4.0, 3.0, 2.0, 1.0]);
        assert_eq!(rho, -1.0);
        assert!((p - 1.0 / 24.0).abs() < 1e-15, "{p}");
        // Few distinct x (the n grid of a study): Student's t gave 0.029 and 0.011.
        let (_, p) = spearman_decrease(&[20.0, 20.0, 40.0, 40.0, 40.0], &[5.0, 4.0, 3.0, 2.0, 1.0]);
        assert!((p - 0.1).abs() < 1e-15, "{p}");
        let x6 = [20.0, 20.0, 20.0, 40.0, 40.0, 40.0];
        let (_, p) = spearman_decrease(&x6, &[6.0, 5.0, 4.0, 3.0, 2.0, 1.0]);
        assert!((p - 0.05).abs() < 1e-15, "{p}");
        // A rising trend: its decrease p-value is near 1, and the increase
        // test of it is the decrease test of the falling one, rho negated.
        let up = [1.0, 2.0, 4.0, 3.0, 5.0, 6.0];
        assert!(spearman_decrease(&x, &up).1 > 0.95);
        let (rho_up, p_up) = spearman_increase(&x, &up);
        let (rho_down, p_down) = spearman_decrease(&x, &up.map(|v| -v));
        assert_eq!((rho_up, p_up), (-rho_down, p_down));
        assert!(p_up < 0.05, "{p_up}");
        assert!(spearman_rho(&x, &[1.0; 6]).is_nan());
        assert!(spearman_decrease(&[1.0, 2.0], &[2.0, 1.0]).1.is_nan());
    }

    /// The random pairings against the exact count on 8 pairs (exact share
    /// 0.9145089 by enumeration in Python); 100000 draws: sd 0.0009.
    #[test]
    fn random_pairings_agree_with_the_exact_share() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let y = [3.0, 1.0, 4.0, 1.5, 5.0, 9.0, 2.0, 6.0];
        let r = CentredRanks::of(&x, &y).expect("defined");
        let observed = r.dot(&r.y);
        let exact = exact_share_at_most(&r, observed);
        assert!((exact - 0.914_508_928_571_428_6).abs() < 1e-12, "{exact}");
        let random = random_share_at_most(&r, observed, RANDOM_PAIRINGS);
        assert!((random - exact).abs() < 0.005, "{random} vs {exact}");
        // More than 8 pairs takes the random pairings: a strong trend over 12.
        let x12: Vec<f64> = (0..12).map(f64::from).collect();
        let y12: Vec<f64> = x12
            .iter()
            .map(|v| -v + if *v == 5.0 { 2.5 } else { 0.0 })
            .collect();
        let (rho, p) = spearman_decrease(&x12, &y12);
        assert!(rho < -0.95 && p > 0.0 && p < 1e-4, "{rho} {p}");
    }
}
