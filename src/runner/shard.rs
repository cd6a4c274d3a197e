//! Which jobs a process runs (`--shard I/N`, SLURM arrays) and the run
//! counts that make up a run's identity (`--seeds`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One of N shards of every sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Parse `I/N` (0 <= I < N), `slurm` (I = SLURM_ARRAY_TASK_ID, N =
    /// SLURM_ARRAY_TASK_COUNT, in an array 0..N-1) or `slurm/N` (I =
    /// SLURM_ARRAY_TASK_ID, N given: also right when some indices are
    /// resubmitted alone, `sbatch --array=2`, where SLURM's count is theirs).
    pub fn parse(text: &str) -> Result<Shard> {
        let var = |k: &str| {
            std::env::var(k).map_err(|_| Error::bad(format!("--shard {text}: environment variable {k} is not set (run inside a SLURM job array)")))
        };
        let (i, n) = if text == "slurm" {
            let (id, count) = (var("SLURM_ARRAY_TASK_ID")?, var("SLURM_ARRAY_TASK_COUNT")?);
            // Only an array 0..N-1 has N = its task count; refuse the others
            // (a resubmitted `--array=2` has count 1) rather than shard wrongly.
            let num = |k: &str| {
                std::env::var(k)
                    .ok()
                    .and_then(|v| v.trim().parse::<usize>().ok())
            };
            let (min, max, n) = (
                num("SLURM_ARRAY_TASK_MIN"),
                num("SLURM_ARRAY_TASK_MAX"),
                count.trim().parse::<usize>().ok(),
            );
            if let (Some(min), Some(max), Some(n)) = (min, max, n) {
                if min != 0 || max.checked_add(1) != Some(n) {
                    return Err(Error::bad(format!(
                        "--shard slurm: this array runs tasks {min}-{max} ({n} in all), not 0 to N-1, so N is unknown (a resubmission such as `sbatch --array=2`); use --shard slurm/N, N = the full array's size"
                    )));
                }
            }
            (
                (id, "SLURM_ARRAY_TASK_ID"),
                (count, "SLURM_ARRAY_TASK_COUNT"),
            )
        } else if let Some(n) = text.strip_prefix("slurm/") {
            (
                (var("SLURM_ARRAY_TASK_ID")?, "SLURM_ARRAY_TASK_ID"),
                (n.to_string(), "N"),
            )
        } else {
            let (i, n) = text.split_once('/').ok_or_else(|| {
                Error::bad(format!(
                    "--shard {text:?}: expected I/N (e.g. 0/4), slurm or slurm/N"
                ))
            })?;
            ((i.to_string(), "I"), (n.to_string(), "N"))
        };
        // Each number named by where it came from, so that a bad SLURM
        // variable is named (review finding, 2026-12-07).
        let parse = |(s, from): &(String, &str)| {
            s.trim().parse::<usize>().map_err(|_| {
                Error::bad(format!(
                    "--shard {text:?}: {from} = {s:?} is not a whole number"
                ))
            })
        };
        let (index, count) = (parse(&i)?, parse(&n)?);
        Shard { index, count }.checked().map_err(|e| {
            let from = match (i.1, n.1) {
                ("I", "N") => String::new(),
                (i, n) => format!(" (I from {i}, N from {n})"),
            };
            Error::bad(format!("--shard {text:?}: {e}{from}"))
        })
    }

    /// The most shards of one run: more than any cluster's array limit,
    /// few enough that `merge` can list them.
    pub const MAX_COUNT: usize = 100_000;

    /// This shard if 0 <= I < N <= MAX_COUNT, else what is wrong.
    pub fn checked(self) -> std::result::Result<Shard, String> {
        let Shard { index, count } = self;
        if count == 0 || index >= count {
            return Err(format!("need 0 <= I < N, got I = {index}, N = {count}"));
        }
        if count > Self::MAX_COUNT {
            return Err(format!(
                "N = {count} shards is more than {}",
                Self::MAX_COUNT
            ));
        }
        Ok(self)
    }

    pub(crate) fn owns(&self, job: usize) -> bool {
        job % self.count == self.index
    }
}

/// The effective runs of a run: the value of each of its study's run keys in
/// its resolved spec. Part of a run's identity: `--resume` and `merge`
/// refuse units made for other runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Runs(pub(crate) BTreeMap<String, i64>);

impl Runs {
    /// The runs of spec `table` (a parsed resolved spec) of study `study`.
    pub fn of(study: &str, table: &toml::Table) -> Runs {
        Runs(
            crate::spec::integers_at(table, crate::studies::run_keys(study))
                .into_iter()
                .collect(),
        )
    }

    /// The runs of a resolved spec's text (empty when it does not parse).
    pub fn of_text(study: &str, text: &str) -> Runs {
        text.parse::<toml::Table>()
            .map(|t| Runs::of(study, &t))
            .unwrap_or_default()
    }
}

impl std::fmt::Display for Runs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut values = self.0.values();
        match values.next() {
            None => write!(f, "one run per configuration"),
            Some(first) if values.all(|v| v == first) => write!(f, "runs = {first}"),
            Some(_) => {
                let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                write!(f, "{}", parts.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_name_their_values() {
        let table = |t: &str| t.parse::<toml::Table>().unwrap();
        let same = Runs::of(
            "xor_cluster",
            &table("[[panels]]\nruns = 2\n[[panels]]\nruns = 2"),
        );
        assert_eq!(same.to_string(), "runs = 2");
        let mixed = Runs::of(
            "xor_cluster",
            &table("[[panels]]\nruns = 6\n[[panels]]\nruns = 4"),
        );
        assert_eq!(mixed.to_string(), "panels[0].runs = 6, panels[1].runs = 4");
        assert_eq!(Runs::default().to_string(), "one run per configuration");
    }
}
