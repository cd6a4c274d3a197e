use std::path::Path;
pub struct Series {
    pub label: String,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub band: Option<(Vec<f64>, Vec<f64>)>,
    pub dashed: bool,
    pub markers: bool,
}
pub struct HLine {
    pub y: f64,
    pub label: String,
}
pub struct LinePanel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    pub x_range: Option<(f64, f64)>,
    pub y_range: Option<(f64, f64)>,
    pub series: Vec<Series>,
    pub hlines: Vec<HLine>,
}
pub fn line_panels(_stem: &Path, _panels: &[LinePanel], _cols: usize) -> crate::error::Result<()> {
    Ok(())
}
pub struct HistPanel {
    pub title: String,
    pub x_label: String,
    pub groups: Vec<(String, Vec<f64>)>,
    pub bins: usize,
}
pub fn hist_panels(_stem: &Path, _panels: &[HistPanel], _cols: usize) -> crate::error::Result<()> {
    Ok(())
}
pub struct ScatterPanel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub points: Vec<(f64, f64, usize)>,
    pub class_labels: [String; 2],
    pub field: Option<(Vec<f64>, Vec<f64>, Vec<Vec<f64>>)>,
}
pub fn scatter_panels(
    _stem: &Path,
    _panels: &[ScatterPanel],
    _cols: usize,
) -> crate::error::Result<()> {
    Ok(())
}
pub struct HeatmapPanel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_values: Vec<f64>,
    pub y_values: Vec<f64>,
    pub values: Vec<Vec<f64>>,
    pub value_label: String,
    pub value_range: Option<(f64, f64)>,
    pub log_x: bool,
    pub log_y: bool,
    pub overlays: Vec<Series>,
}
pub fn heatmap_panels(
    _stem: &Path,
    _panels: &[HeatmapPanel],
    _cols: usize,
) -> crate::error::Result<()> {
    Ok(())
}
