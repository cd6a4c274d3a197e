//! Progress of a run's units on stderr, with a remaining-time estimate
//! weighted by each unit's cost (units of one run can differ in cost a
//! hundredfold: counting units would make cheap units first, expensive
//! last look nearly done).

use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::studies::Sweep;

/// Seconds left when units of total cost `computed` took `elapsed`
/// seconds and units of cost `remaining` are still to run: elapsed x
/// remaining / computed (steady throughput per unit of cost). None before
/// any cost has been computed.
pub(crate) fn eta(elapsed: f64, computed: f64, remaining: f64) -> Option<f64> {
    (computed > 0.0).then(|| elapsed * remaining.max(0.0) / computed)
}

/// The bar (drawn only when stderr is a terminal) and, for logs (a batch
/// job, `nohup`), a plain line at most every `Progress::EVERY` as units finish.
pub(crate) struct Progress {
    bar: ProgressBar,
    label: String,
    to_log: bool,
    start: Instant,
    state: Mutex<State>,
}

struct State {
    /// Units computed in this process so far.
    done: u64,
    /// Units this process computes: all of the run's less those loaded from
    /// the unit store or left to other shards, as they are found.
    todo: u64,
    /// Cost of the units computed in this process.
    computed: f64,
    /// Cost of the units not yet finished.
    remaining: f64,
    last_log: Instant,
}

impl Progress {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(30);

    pub(crate) fn new(label: &str, sweeps: &[Sweep]) -> Self {
        use std::io::IsTerminal;
        let units: usize = sweeps.iter().map(|s| s.costs.len()).sum();
        let bar = ProgressBar::new(units as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} units, {elapsed} elapsed{msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        let now = Instant::now();
        Progress {
            bar,
            label: label.to_string(),
            to_log: !std::io::stderr().is_terminal(),
            start: now,
            state: Mutex::new(State {
                done: 0,
                todo: units as u64,
                computed: 0.0,
                remaining: sweeps.iter().flat_map(|s| &s.costs).sum(),
                last_log: now,
            }),
        }
    }

    /// A unit of cost `cost` finished: `computed` when it ran here (else
    /// it was loaded from the unit store or belongs to another shard, and
    /// only leaves the remaining cost and the bar's length: the bar counts
    /// this process's work, so a shard or a resume does not start near the
    /// end of it).
    pub(crate) fn finished(&self, cost: f64, computed: bool) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.remaining -= cost;
        if computed {
            s.done += 1;
            s.computed += cost;
        } else {
            s.todo -= 1;
            self.bar.set_length(s.todo);
        }
        let elapsed = self.start.elapsed().as_secs_f64();
        let left = eta(elapsed, s.computed, s.remaining);
        if let Some(left) = left {
            self.bar.set_message(format!(", about {left:.0} s to go"));
        }
        self.bar.set_position(s.done);
        if self.to_log && computed && s.last_log.elapsed() >= Self::EVERY {
            s.last_log = Instant::now();
            let left = left.map_or(String::new(), |l| format!(", about {l:.0} s to go"));
            eprintln!(
                "{}: {}/{} units, {elapsed:.0} s elapsed{left}",
                self.label, s.done, s.todo
            );
        }
    }

    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::{eta, Progress};
    use crate::studies::Sweep;

    /// Shard 1/4 of 8 units: the 6 units of other shards and one loaded
    /// from the store shorten the bar instead of filling it (it used to
    /// show 7/8 before this process had computed anything).
    #[test]
    fn the_bar_counts_only_this_processs_units() {
        let p = Progress::new("t", &[Sweep::new("s", vec![1.0; 8])]);
        for _ in 0..7 {
            p.finished(1.0, false);
        }
        assert_eq!((p.bar.position(), p.bar.length()), (0, Some(1)));
        p.finished(1.0, true);
        assert_eq!((p.bar.position(), p.bar.length()), (1, Some(1)));
    }

    /// Cheap units first, the expensive one last: after the cheap ones
    /// (cost 10 of 100 in 40 s) the estimate is 360 s, where counting units
    /// (10 of 11 done) would say 4 s.
    #[test]
    fn eta_weights_units_by_cost() {
        let costs = [[1.0; 10].as_slice(), &[90.0]].concat();
        let (computed, remaining) = (costs[..10].iter().sum(), costs[10..].iter().sum());
        let left = eta(40.0, computed, remaining).unwrap();
        assert!((left - 360.0).abs() < 1e-9, "{left}");
        let by_count = 40.0 / 10.0 * 1.0;
        assert!(left > 50.0 * by_count);
    }

    /// Nothing computed yet: no estimate; nothing left: zero; units loaded
    /// from the store (cost removed from `remaining` but not `computed`)
    /// do not make the rest look faster.
    #[test]
    fn eta_edges() {
        assert_eq!(eta(5.0, 0.0, 10.0), None);
        assert_eq!(eta(5.0, 10.0, 0.0), Some(0.0));
        assert_eq!(eta(5.0, 10.0, -1e-12), Some(0.0));
        // 50 of 100 loaded, 10 computed in 20 s, 40 left: 80 s.
        assert_eq!(eta(20.0, 10.0, 40.0), Some(80.0));
    }
}
