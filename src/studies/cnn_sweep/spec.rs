//! The cnn_sweep spec: its types, defaults and the validation of what the
//! types cannot express (`validate`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::cifar;
use crate::data::label_noise::FlipRule;
use crate::error::Result;
use crate::nets::cnn::{checkpoint, Arch, Model};
use crate::rng::Numbering;
use crate::spec::{positive, LoadedSpec};
use crate::studies::toolkit::cnn::cnn_train_spec;
use crate::studies::toolkit::{check_unique, fail};

/// Stream keys (`rng::Numbering`): the label noise of (level, seed), shared
/// by every width; a model's init and shuffle by (level, architecture, seed).
pub(crate) const NOISE_STREAMS: Numbering = Numbering::from("cnn_sweep:label-noise", &[1000], 0);
pub(crate) const JOB_STREAMS: Numbering = Numbering::from("cnn_sweep:job", &[1000, 1000], 0);

/// The run counts `--seeds` sets (`studies::run_keys`).
pub const RUN_KEYS: &[&str] = &["train.runs"];

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CnnSweepSpec {
    pub data: DataSpec,
    pub model: ModelSpec,
    pub train: TrainSpec,
    #[serde(default)]
    pub claims: ClaimSpec,
    #[serde(default)]
    pub figures: FigureSpec,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// CIFAR-10 binary folder, relative to the working directory (`--data` overrides).
    #[serde(default = "crate::studies::toolkit::cnn::default_dir")]
    pub dir: String,
    /// Original CIFAR-10 class ids kept, relabelled 0..k-1 in this order.
    #[serde(default = "crate::studies::toolkit::cnn::default_classes")]
    pub classes: Vec<u8>,
    /// Training images (the first ones of the kept classes, in file order).
    pub train: usize,
    pub test: usize,
    /// Label-noise levels: fraction of training labels moved to a wrong class.
    #[serde(default = "default_noise")]
    pub label_noise: Vec<f64>,
    #[serde(default = "default_flip")]
    pub flip_rule: FlipRule,
}

fn default_noise() -> Vec<f64> {
    vec![0.0]
}
fn default_flip() -> FlipRule {
    FlipRule::Bernoulli
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The course CNN's (k, h1, h2), one model per entry.
    pub archs: Vec<[usize; 3]>,
}

cnn_train_spec! {
    /// `[train]`: the epoch budget and the SGD step of every width (and the
    /// shared keys of `cnn_train_spec!`).
    pub struct TrainSpec {
        /// The epoch budget of every width; with `budget = "table1"` the
        /// largest of the per-width budgets (validated), which bounds memory.
        pub epochs: usize,
        /// Whose epoch budget each width trains for.
        #[serde(default)]
        pub budget: Budget,
        pub batch: usize,
        pub lr: f32,
        /// Measure the whole sets every this many epochs (and at the last).
        #[serde(default = "one")]
        pub eval_every: usize,
        /// Write checkpoints (DIR/checkpoints/<run>.safetensors) at the end of
        /// each run, and also every `checkpoint_every` epochs
        /// (<run>.epoch<E>.safetensors): the resume points of a killed run.
        #[serde(default)]
        pub checkpoints: bool,
        /// Start every run from this safetensors checkpoint (PyTorch state_dict names).
        #[serde(default)]
        pub init_from: Option<String>,
    }
}

/// The epoch budget of each width.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Budget {
    /// `train.epochs` for every width (a fixed protocol).
    #[default]
    Fixed,
    /// Each width its own row's `epochs` of `claims.table1` (every width
    /// needs a row): the course project's own budgets.
    Table1,
}

impl CnnSweepSpec {
    /// The epochs architecture `model.archs[a]` trains for.
    pub fn epochs_of(&self, a: usize) -> usize {
        match self.train.budget {
            Budget::Fixed => self.train.epochs,
            Budget::Table1 => {
                let arch = &self.model.archs[a];
                let row = self.claims.table1.iter().find(|r| r.arch == *arch);
                row.expect("validated: every width has a Table 1 row")
                    .epochs
            }
        }
    }

    /// How the budgets read in statements and titles: "40 epochs" or "its Table 1 epochs".
    pub fn budget_text(&self) -> String {
        match self.train.budget {
            Budget::Fixed => format!("{} epochs", self.train.epochs),
            Budget::Table1 => "each width's Table 1 epochs".to_string(),
        }
    }
}

fn one() -> usize {
    1
}

/// A row of the course project's Table 1 (seed 003).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableRow {
    pub arch: [usize; 3],
    /// Their best-epoch train error and last-10-epochs mean test error
    /// (accuracies floored to whole percent), and their epochs.
    pub train_error: f64,
    pub test_error: f64,
    pub epochs: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimSpec {
    #[serde(default)]
    pub table1: Vec<TableRow>,
    #[serde(default = "default_table_source")]
    pub table1_source: String,
    /// Coverage of the prediction interval each Table 1 row is judged with
    /// (`table1::table1_claims`; a constant 0.95 in the code until session 65).
    #[serde(default = "default_table1_confidence")]
    pub table1_confidence: f64,
    /// Their accuracies are floored to whole percent, so their test error
    /// overstates ours by up to this: each row's interval reaches that much
    /// lower (a constant 0.01 in the code until session 65).
    #[serde(default = "default_table1_resolution")]
    pub table1_resolution: f64,
    /// The reported lower bound on the interpolation threshold (parameters), if claimed.
    #[serde(default)]
    pub interpolation_above: Option<f64>,
    /// Training error that counts as interpolation.
    #[serde(default)]
    pub interpolation_error: f64,
    /// The two-sided interpolation threshold, if claimed: the first width
    /// (by parameters) that interpolates lies within this many widths of
    /// `model.archs` of the first `table1` row reporting that training error.
    #[serde(default)]
    pub interpolation_rows: Option<usize>,
    /// Judge the double-descent peak at 0% noise too (`claims::find_peak`).
    #[serde(default = "yes")]
    pub zero_noise_peak: bool,
    /// The peak's location window: within this factor of the threshold
    /// width's parameter count, [p / ratio, p ratio].
    #[serde(default = "default_ratio")]
    pub peak_ratio: f64,
    /// The threshold width (effective model complexity reaches n, Nakkiran
    /// et al.): the smallest whose mean final training error (labels
    /// trained on) is <= this.
    #[serde(default = "default_epsilon")]
    pub peak_epsilon: f64,
    /// The peak's prominence must reach this many standard errors of a
    /// difference of two cells' medians.
    #[serde(default = "default_k")]
    pub peak_k: f64,
    /// The seed sd that standard error is built from (`scale::seed_sd`).
    #[serde(default)]
    pub peak_scale: PeakScale,
    /// The course project's 0%-noise peak range [low, high] in parameters,
    /// if claimed (`reported_peak::claim`, on its last-10-epochs metric).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_peak: Option<[f64; 2]>,
}

/// How the seed sd behind the peak's standard error pools the widths.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeakScale {
    /// sqrt of the df-weighted mean of the widths' variances (`scale::pooled_sd`):
    /// efficient, but one collapsed run (a constant predictor among trained
    /// ones) sets it.
    #[default]
    Pooled,
    /// The median over widths of each width's sd, over its expectation
    /// factor (`scale::median_sd`): unmoved by a minority of widths with
    /// a collapsed run.
    Median,
}

impl ClaimSpec {
    /// The `table1` rows that report interpolation: training error at most
    /// `interpolation_error` (their threshold is the one of fewest parameters).
    pub fn interpolating_rows(&self) -> impl Iterator<Item = &TableRow> {
        self.table1
            .iter()
            .filter(|r| r.train_error <= self.interpolation_error)
    }
}

fn default_table_source() -> String {
    "course project (github ItayAbuhazera/OverparameterizationProject), Table 1".into()
}
fn default_table1_confidence() -> f64 {
    0.95
}
fn default_table1_resolution() -> f64 {
    0.01
}
fn yes() -> bool {
    true
}
fn default_ratio() -> f64 {
    3.0
}
fn default_epsilon() -> f64 {
    0.1
}
fn default_k() -> f64 {
    2.0
}

impl Default for ClaimSpec {
    fn default() -> Self {
        ClaimSpec {
            table1: Vec::new(),
            table1_source: default_table_source(),
            table1_confidence: default_table1_confidence(),
            table1_resolution: default_table1_resolution(),
            interpolation_above: None,
            interpolation_error: 0.0,
            interpolation_rows: None,
            zero_noise_peak: true,
            peak_ratio: default_ratio(),
            peak_epsilon: default_epsilon(),
            peak_k: default_k(),
            peak_scale: PeakScale::default(),
            reported_peak: None,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureSpec {
    /// Architectures (indices into model.archs) drawn in the test-error-vs-epoch figure;
    /// empty = the smallest, the middle and the largest.
    #[serde(default)]
    pub epoch_archs: Vec<usize>,
}

pub(super) fn arch_of(a: &[usize; 3]) -> Arch {
    Arch::CourseCnn {
        k: a[0],
        h1: a[1],
        h2: a[2],
    }
}

pub(super) fn params_of(a: &[usize; 3], classes: usize) -> usize {
    Model::for_arch(&arch_of(a), classes)
        .map(|m| m.param_count())
        .unwrap_or(0)
}

/// Validation of everything the types cannot express; returns the resolved spec text.
pub fn validate(spec: &LoadedSpec) -> Result<String> {
    let s: CnnSweepSpec = spec.study_section()?;
    cifar::check_classes(&s.data.classes).map_err(|m| spec.bad_value("data.classes", m))?;
    if s.data.train == 0 || s.data.test == 0 {
        return fail(spec, "data", "train and test must be >= 1".into());
    }
    for (i, &eta) in s.data.label_noise.iter().enumerate() {
        if !(0.0..1.0).contains(&eta) {
            return fail(
                spec,
                &format!("data.label_noise[{i}]"),
                format!("{eta} is outside [0, 1)"),
            );
        }
        if eta > 0.0 && s.data.classes.len() < 2 {
            return fail(
                spec,
                "data.label_noise",
                "label noise needs at least two classes".into(),
            );
        }
    }
    if s.data.label_noise.is_empty() {
        return fail(
            spec,
            "data.label_noise",
            "list at least one level (0.0 for none)".into(),
        );
    }
    if s.model.archs.is_empty() {
        return fail(spec, "model.archs", "list at least one [k, h1, h2]".into());
    }
    for (i, a) in s.model.archs.iter().enumerate() {
        if a.contains(&0) {
            return fail(
                spec,
                &format!("model.archs[{i}]"),
                format!("{a:?}: k, h1 and h2 must be >= 1"),
            );
        }
    }
    check_unique(spec, "data.label_noise[{}]", &s.data.label_noise)?;
    let labels: Vec<String> = s.model.archs.iter().map(|a| arch_of(a).label()).collect();
    check_unique(spec, "model.archs[{}]", &labels)?;
    let t = &s.train;
    if t.epochs == 0 || t.batch == 0 || t.eval_every == 0 {
        return fail(
            spec,
            "train",
            "epochs, batch and eval_every must be >= 1".into(),
        );
    }
    if !positive(f64::from(t.lr)) {
        return fail(spec, "train.lr", format!("{} must be positive", t.lr));
    }
    t.check_sgd(spec)?;
    if let Some(path) = &t.init_from {
        let (tensors, _) =
            checkpoint::read(Path::new(path)).map_err(|e| spec.bad_value("train.init_from", e))?;
        for a in &s.model.archs {
            let m = Model::for_arch(&arch_of(a), s.data.classes.len())?;
            checkpoint::check_matches(&m, &tensors, Path::new(path)).map_err(|e| {
                spec.bad_value("train.init_from", format!("{e} (architecture {a:?})"))
            })?;
        }
    }
    for (i, row) in s.claims.table1.iter().enumerate() {
        if !s.model.archs.contains(&row.arch) {
            return fail(
                spec,
                &format!("claims.table1[{i}].arch"),
                format!("{:?} is not in model.archs", row.arch),
            );
        }
    }
    check_claims(spec, &s)?;
    for (i, &a) in s.figures.epoch_archs.iter().enumerate() {
        if a >= s.model.archs.len() {
            return fail(
                spec,
                &format!("figures.epoch_archs[{i}]"),
                format!("{a} is not an index of model.archs"),
            );
        }
    }
    Ok(spec.resolved_toml(&s))
}

/// The peak's settings, and the Table 1 budgets (`train.budget`): every
/// width has its Table 1 row and `train.epochs` is the largest budget.
fn check_claims(spec: &LoadedSpec, s: &CnnSweepSpec) -> Result<()> {
    let c = &s.claims;
    if !(c.peak_ratio.is_finite() && c.peak_ratio >= 1.0) {
        let msg = format!("{} must be finite and >= 1", c.peak_ratio);
        return fail(spec, "claims.peak_ratio", msg);
    }
    if !(c.table1_confidence > 0.0 && c.table1_confidence < 1.0) {
        let msg = format!("{} is outside (0, 1)", c.table1_confidence);
        return fail(spec, "claims.table1_confidence", msg);
    }
    if !(c.table1_resolution.is_finite() && c.table1_resolution >= 0.0) {
        let msg = format!("{} must be finite and >= 0", c.table1_resolution);
        return fail(spec, "claims.table1_resolution", msg);
    }
    if !(0.0..1.0).contains(&c.peak_epsilon) {
        let msg = format!("{} is outside [0, 1)", c.peak_epsilon);
        return fail(spec, "claims.peak_epsilon", msg);
    }
    if let Some([low, high]) = c.reported_peak {
        if !(low.is_finite() && high.is_finite() && 0.0 <= low && low < high) {
            let msg = format!("[{low}, {high}] must be finite with 0 <= low < high");
            return fail(spec, "claims.reported_peak", msg);
        }
        if !s.data.label_noise.contains(&0.0) {
            let msg = "the reported peak is a 0%-noise claim: add 0.0 to data.label_noise".into();
            return fail(spec, "claims.reported_peak", msg);
        }
    }
    if !positive(c.peak_k) {
        let msg = format!("{} must be finite and > 0", c.peak_k);
        return fail(spec, "claims.peak_k", msg);
    }
    if c.interpolation_rows.is_some() && c.interpolating_rows().next().is_none() {
        let msg = format!(
            "no claims.table1 row reports a training error <= interpolation_error = {}, so there is no threshold to be near",
            c.interpolation_error
        );
        return fail(spec, "claims.interpolation_rows", msg);
    }
    if s.train.budget == Budget::Table1 {
        for (i, a) in s.model.archs.iter().enumerate() {
            let Some(row) = c.table1.iter().find(|r| r.arch == *a) else {
                let msg = format!(
                    "{a:?} has no claims.table1 row, so no budget (train.budget = \"table1\")"
                );
                return fail(spec, &format!("model.archs[{i}]"), msg);
            };
            if row.epochs == 0 {
                return fail(spec, "claims.table1", format!("{a:?}: epochs must be >= 1"));
            }
        }
        let longest = (0..s.model.archs.len()).map(|a| s.epochs_of(a)).max();
        if longest != Some(s.train.epochs) {
            let msg = format!(
                "{} is not the longest Table 1 budget of model.archs ({})",
                s.train.epochs,
                longest.unwrap_or(0)
            );
            return fail(spec, "train.epochs", msg);
        }
    }
    Ok(())
}
