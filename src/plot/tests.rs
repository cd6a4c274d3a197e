use super::*;

/// A panel's notes close its legend as rows of words alone (no glyph),
/// after the series, even with a single series, and the figure shows
/// them.
#[test]
fn a_panels_notes_close_its_legend() {
    let one = Series {
        label: "a".into(),
        x: vec![1.0, 2.0],
        y: vec![1.0, 2.0],
        ..Default::default()
    };
    let mut panel = LinePanel {
        series: vec![one.clone()],
        notes: vec!["cells short of runs are left out".into()],
        ..Default::default()
    };
    let last = |p: &LinePanel| line_entries(p).last().cloned().unwrap();
    let note = last(&panel);
    assert!(note.note && note.glyph == legend::Glyph::Blank, "{note:?}");
    assert_eq!(note.label, "cells short of runs are left out");
    panel.series.push(Series {
        label: "b".into(),
        ..one
    });
    assert_eq!(line_entries(&panel).len(), 3);
    assert_eq!(last(&panel), note);
    let dir = tempfile::tempdir().unwrap();
    line_panels(&dir.path().join("notes"), &[panel], 1).unwrap();
    let svg = fs::read_to_string(dir.path().join("notes.svg")).unwrap();
    assert!(svg.contains("cells short of runs are left out"), "{svg}");
}

/// Asserts that `<stem>.png` and `<stem>.svg` were written, non-empty,
/// with no temporary file left next to them.
pub(super) fn check(stem: &Path) {
    let png = stem.with_file_name(format!(
        "{}.png",
        stem.file_name().unwrap().to_string_lossy()
    ));
    let svg = stem.with_file_name(format!(
        "{}.svg",
        stem.file_name().unwrap().to_string_lossy()
    ));
    assert!(png.is_file(), "{} missing", png.display());
    assert!(svg.is_file(), "{} missing", svg.display());
    assert!(fs::metadata(&png).unwrap().len() > 0);
    assert!(fs::metadata(&svg).unwrap().len() > 0);
    let leftovers: Vec<_> = fs::read_dir(stem.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn no_panels_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let err = line_panels(&dir.path().join("none"), &[], 2).unwrap_err();
    assert!(err.to_string().contains("none.png"), "{err}");
}

/// Panels share one legend when one panel's entries hold every other
/// panel's, in order (a panel without the decision boundary yet); not
/// when a panel has an entry of its own, the order differs, or a panel
/// has no legend (a single series).
#[test]
fn a_legend_is_shared_when_one_panel_holds_the_others_entries() {
    let panel = |labels: &[&str]| LinePanel {
        series: (labels.iter())
            .map(|&l| Series {
                label: l.into(),
                x: vec![1.0, 2.0],
                y: vec![1.0, 2.0],
                // One colour per label, whatever the panel.
                color: ["points", "boundary", "x"].iter().position(|&k| k == l),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let shared = |panels: &[LinePanel]| {
        (Fig::Lines(panels).shared_legend())
            .map(|(e, _)| e.into_iter().map(|e| e.label).collect::<Vec<_>>())
    };
    let (a, b, x) = ("points", "boundary", "x");
    assert_eq!(
        shared(&[panel(&[a, b]), panel(&[a, x, b])]),
        Some(vec![a.into(), x.into(), b.into()])
    );
    assert_eq!(shared(&[panel(&[b, a]), panel(&[a, x, b])]), None);
    assert_eq!(shared(&[panel(&[a, x]), panel(&[a, b])]), None);
    assert_eq!(shared(&[panel(&[a]), panel(&[a, b])]), None);
    assert_eq!(
        shared(&[panel(&[a, b]), panel(&[a, b])]),
        Some(vec![a.into(), b.into()])
    );
    // Notes of their own: the figure names the series, each panel its notes.
    let noted = |note: &str| LinePanel {
        notes: vec![note.into()],
        ..panel(&[a, b])
    };
    let sharing =
        |panels: &[LinePanel]| (Fig::Lines(panels).shared_legend()).map(|(e, own)| (e.len(), own));
    assert_eq!(
        shared(&[noted("n1"), noted("n2")]),
        Some(vec![a.into(), b.into()])
    );
    assert_eq!(sharing(&[noted("n1"), noted("n2")]), Some((2, true)));
    assert_eq!(sharing(&[noted("n1"), noted("n1")]), Some((3, false)));
    assert_eq!(sharing(&[noted("n1"), panel(&[a, x])]), None);
}

/// The font size of the first SVG text element whose text starts with
/// `text` (a wrapped title's first line).
fn font_size_of(svg: &str, text: &str) -> f64 {
    let at = svg.find(&format!(">\n{text}")).expect("the text is drawn");
    let head = &svg[svg[..at].rfind("<text").unwrap()..at];
    let size = head.split("font-size=\"").nth(1).unwrap();
    size[..size.find('"').unwrap()].parse().unwrap()
}

/// A long title shrinks every title of its figure to its size (here
/// to `MIN_TEXT_PX`, where it wraps), so the panels' titles match;
/// alone, the short title is drawn larger.
#[test]
fn every_panel_of_a_figure_has_the_same_title_size() {
    let (short, long) = ("short", "a much longer title ".repeat(4));
    let panel = |title: &str| LinePanel {
        title: title.into(),
        series: vec![Series {
            label: "curve".into(),
            x: vec![0.0, 1.0],
            y: vec![0.0, 1.0],
            ..Default::default()
        }],
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    line_panels(
        &dir.path().join("two"),
        &[panel(short), panel(long.trim_end())],
        2,
    )
    .unwrap();
    let svg = fs::read_to_string(dir.path().join("two.svg")).unwrap();
    let (a, b) = (font_size_of(&svg, short), font_size_of(&svg, "a much"));
    assert_eq!(a, b, "the titles of one figure differ in size");
    line_panels(&dir.path().join("one"), &[panel(short)], 2).unwrap();
    let svg = fs::read_to_string(dir.path().join("one.svg")).unwrap();
    // (The SVG states sizes in points: px / 1.24.)
    let full = font_size_of(&svg, short);
    assert!(a < full && full > 0.0, "shared {a}, alone {full}");
}

/// Every (font size, text) of an SVG's text elements.
fn texts(svg: &str) -> Vec<(f64, String)> {
    (svg.split("<text").skip(1))
        .map(|t| {
            let size = t.split("font-size=\"").nth(1).unwrap();
            let size: f64 = size[..size.find('"').unwrap()].parse().unwrap();
            let body = &t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()];
            (size, body.trim().to_string())
        })
        .collect()
}

/// Titles and axis descriptions too long for their panels keep
/// `MIN_TEXT_PX` and are broken into lines (they shrank to 16-18 px,
/// 4.5 pt printed, in three-panel figures); every word is drawn, and no
/// text of the figure is smaller than the notes.
#[test]
fn long_titles_and_axis_labels_wrap_at_the_smallest_size() {
    let words = "the train MSE over the least-squares residual of the same data";
    let panel = |k: usize| LinePanel {
        title: format!("panel {k}: {words}, median over runs"),
        x_label: format!("lambda, the initial scale, {words}"),
        y_label: words.into(),
        series: vec![Series {
            label: "curve".into(),
            x: vec![1.0, 2.0],
            y: vec![1.0, 2.0],
            ..Default::default()
        }],
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    line_panels(
        &dir.path().join("three"),
        &[panel(0), panel(1), panel(2)],
        3,
    )
    .unwrap();
    let svg = fs::read_to_string(dir.path().join("three.svg")).unwrap();
    let texts = texts(&svg);
    let pt = |px: f64| px / 1.24 - 1e-9;
    for (size, text) in &texts {
        assert!(*size >= pt(style::NOTE_PX), "{text} at {size}");
    }
    for word in words.split(' ').chain(["lambda,", "panel", "median"]) {
        let drawn = (texts.iter()).filter(|(_, t)| t.split(' ').any(|w| w == word));
        assert!(drawn.count() >= 3, "{word} is missing");
    }
    let long = (texts.iter()).filter(|(_, t)| t.contains("least-squares") || t.contains("median"));
    for (size, text) in long {
        assert!(*size >= pt(style::MIN_TEXT_PX), "{text} at {size}");
    }
}

/// A reference series is grey and dashed without markers, in the plot
/// and in the legend, whatever it asks for; a measured series beside
/// it keeps its palette colour.
#[test]
fn a_reference_series_is_grey_and_dashed() {
    let curve = |label: &str, reference: bool| Series {
        label: label.into(),
        x: vec![1.0, 10.0],
        y: vec![1.0, 100.0],
        markers: true,
        color: Some(1),
        reference,
        ..Default::default()
    };
    let series = [curve("measured", false), curve("n^2 guide", true)];
    let l = line::looks(&series);
    assert_eq!(
        (l[0].color, l[0].marker.is_some()),
        (style::series_color(1), true)
    );
    assert_eq!(
        l[1],
        line::Look {
            color: style::REF_GREY,
            dashed: true,
            marker: None
        }
    );
    let panel = LinePanel {
        series: series.to_vec(),
        ..Default::default()
    };
    let entries = line_entries(&panel);
    assert!(
        matches!(entries[1].glyph, legend::Glyph::Curve { color, dashed: true, marker: None, .. } if color == style::REF_GREY),
        "{entries:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    line_panels(&dir.path().join("guide"), &[panel], 1).unwrap();
    let svg = fs::read_to_string(dir.path().join("guide.svg")).unwrap();
    let grey = format!(
        "#{:02X}{:02X}{:02X}",
        style::REF_GREY.0,
        style::REF_GREY.1,
        style::REF_GREY.2
    );
    assert!(svg.contains(&grey), "no grey stroke");
}

/// The SVG text of one line panel.
fn svg_of(panel: LinePanel) -> String {
    let dir = tempfile::tempdir().unwrap();
    line_panels(&dir.path().join("fig"), &[panel], 2).unwrap();
    fs::read_to_string(dir.path().join("fig.svg")).unwrap()
}

/// A reference line with curves on it at both ends and on both sides
/// is named in the legend, not written over the curves; a free one
/// keeps its label on the line.
#[test]
fn a_covered_reference_label_goes_to_the_legend() {
    let x: Vec<f64> = (0..=40).map(f64::from).collect();
    let panel = |level: f64| LinePanel {
        y_range: Some((0.0, 2.0)),
        series: [0.97, 1.03]
            .iter()
            .map(|&y| Series {
                label: format!("curve at {y}"),
                x: x.clone(),
                y: vec![y; x.len()],
                ..Default::default()
            })
            .collect(),
        hlines: vec![HLine {
            y: level,
            label: "noise level".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    // The x of the text element that reads `content`.
    let text_x = |svg: &str, content: &str| -> String {
        let element = (svg.split("<text").skip(1))
            .find(|t| t.contains(&format!(">\n{content}\n</text>")))
            .unwrap_or_else(|| panic!("no text {content}: {svg}"));
        element["x=\"".len() + element.find("x=\"").unwrap()..]
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    // Covered: the line's name is a legend entry, aligned with the curves'.
    let covered = svg_of(panel(1.0));
    assert_eq!(covered.matches("noise level").count(), 1, "{covered}");
    assert_eq!(
        text_x(&covered, "noise level"),
        text_x(&covered, "curve at 0.97")
    );
    // Free: the label sits on the line, outside the legend.
    let free = svg_of(panel(0.3));
    assert_eq!(free.matches("noise level").count(), 1, "{free}");
    assert_ne!(text_x(&free, "noise level"), text_x(&free, "curve at 0.97"));
}
